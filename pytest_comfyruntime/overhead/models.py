"""What an overhead measurement produces: plain pydantic v2 models, JSON-ready.

Every figure says where it came from: ``mode`` is ``"wall"`` (time, microseconds) or ``"count"``
(instructions, with the counting ``tool``); intervals carry their confidence level and the method
that made them. The report and the release gate are built on these models.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Mode = Literal["wall", "count"]
Outcome = Literal["pass", "fail", "inconclusive"]
BudgetKey = Literal["pct", "per_call_us", "instructions", "retained_kb_per_prompt"]

#: The budget keys, in the order messages list them.
BUDGET_KEYS: tuple[BudgetKey, ...] = ("pct", "per_call_us", "instructions", "retained_kb_per_prompt")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Interval(_Model):
    """A two-sided interval (a bootstrap percentile interval unless ``method`` says otherwise)."""

    low: float
    high: float
    confidence: float = Field(description="e.g. 0.95; lower after a multiple-comparison correction widens it")
    method: str = Field(description="how it was computed, e.g. 'bootstrap percentile, 2000 resamples'")


class ProbeCost(_Model):
    """What the attribution probe costs, measured in the same process before it was used."""

    engine: Literal["sys.monitoring", "sys.setprofile"]
    callback_ns: float = Field(description="median cost of one probe callback, excluded from every figure")
    residual_ns: float = Field(description="calibrated cost per probe interval left inside a measured span, "
                                           "subtracted from each call")
    events: int = Field(description="probe callbacks during the measured prompts")
    total_us: float = Field(description="time the probe itself took during the measured prompts (not charged)")


class TargetStats(_Model):
    """Time spent in what the extension installed on one target, excluding the original it calls
    (and, for async targets, time spent suspended)."""

    target: str = Field(description="e.g. 'execution.get_input_data', 'execution.PromptExecutor.execute', "
                                    "'CacheProvider my_ext.cache.Provider.on_lookup'")
    hook: str = Field(description="the installed callable, named by its code")
    is_async: bool = False
    calls: int
    total_us: float
    mean_us: float
    p50_us: float
    p99_us: float
    max_us: float
    mean_interval: Interval | None = Field(default=None, description="interval of mean_us (None under 2 calls)")
    share_pct: float = Field(description="this target's time as a percentage of prompt time (all prompts)")
    instructions_per_call: float | None = Field(default=None, description="counting mode, where the tool "
                                                                          "attributes per hook")


class PromptTiming(_Model):
    """The measured prompts of the attribution pass."""

    prompts: int
    median_us: float = Field(description="median wall time of one prompt, probe time taken out")
    hooks_us_per_prompt: float = Field(description="time in the hooks per prompt (all targets)")
    share_pct: float = Field(description="hooks_us_per_prompt as a percentage of the prompt's time")


class EndToEnd(_Model):
    """Hooks on versus hooks off, interleaved in one process."""

    mode: Mode = "wall"
    method: str = Field(description="e.g. 'ABBA blocks, ratio of block sums, median over blocks'")
    aa: bool = Field(default=False, description="an A/A run: both arms ran the same thing (the noise floor)")
    blocks: int
    runs_on: int
    runs_off: int
    prompts_per_run: int
    on_median_us: float
    off_median_us: float
    overhead_pct: float = Field(description="point estimate of (on / off - 1) x 100")
    interval: Interval = Field(description="interval of overhead_pct")


class Counts(_Model):
    """Counting mode: instructions, identical on every run of the same code."""

    tool: Literal["sys.monitoring", "valgrind"]
    unit: Literal["bytecode instructions", "machine instructions"]
    prompts: int
    on_per_prompt: float
    off_per_prompt: float
    delta_per_prompt: float
    delta_pct: float
    per_target: dict[str, float] = Field(default_factory=dict, description="instructions per call, by target "
                                                                           "(where the tool attributes)")


class Retained(_Model):
    """Memory the hooks keep: tracemalloc after garbage collection, attributed to the extension's files."""

    prompts: int
    files: list[str] = Field(description="the files (or folders) whose allocations count")
    retained_kb_per_prompt: float
    checkpoints_kb: list[float] = Field(description="retained KB at each checkpoint (equal numbers of prompts)")
    leak: bool = Field(description="growth that does not level off")
    top: list[str] = Field(default_factory=list, description="the allocating lines that grew most, 'file:line: +N KB'")


class Budget(_Model):
    """Limits for one test or target; any subset."""

    pct: float | None = Field(default=None, gt=0, description="percent of prompt time")
    per_call_us: float | None = Field(default=None, gt=0, description="microseconds per hook call")
    instructions: float | None = Field(default=None, gt=0, description="instructions per call (counting mode)")
    retained_kb_per_prompt: float | None = Field(default=None, gt=0, description="KB kept per prompt")

    def items(self) -> list[tuple[BudgetKey, float]]:
        return [(k, v) for k in BUDGET_KEYS if (v := getattr(self, k)) is not None]


class Verdict(_Model):
    """One budget judged: pass when the interval's upper bound is within it, fail when its lower
    bound is over it, inconclusive otherwise. Exact figures (counts, retained memory) have no
    interval and are never inconclusive."""

    key: BudgetKey
    target: str | None = Field(default=None, description="None: the whole prompt")
    limit: float
    value: float
    interval: Interval | None = None
    outcome: Outcome
    mode: Mode
    message: str


class OverheadResult(_Model):
    """One ``measure_overhead`` call."""

    workload: str
    backend: str
    era: str
    comfyui_version: str | None = None
    mode: Mode
    seed: int
    targets: list[TargetStats] = Field(default_factory=list)
    prompts: PromptTiming | None = None
    end_to_end: EndToEnd | None = None
    noise: EndToEnd | None = Field(default=None, description="the A/A run, when one was asked for")
    counts: Counts | None = None
    retained: Retained | None = None
    probe: ProbeCost | None = None
    verdicts: list[Verdict] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)

    @property
    def outcome(self) -> Outcome | None:
        """fail if any verdict failed, else inconclusive if any was, else pass; None: no budget."""
        outcomes = {v.outcome for v in self.verdicts}
        order: tuple[Outcome, ...] = ("fail", "inconclusive", "pass")
        for outcome in order:
            if outcome in outcomes:
                return outcome
        return None


__all__ = ["BUDGET_KEYS", "Budget", "BudgetKey", "Counts", "EndToEnd", "Interval", "Mode", "Outcome",
           "OverheadResult", "ProbeCost", "PromptTiming", "Retained", "TargetStats", "Verdict"]

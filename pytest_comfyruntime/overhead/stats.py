"""The statistics behind an overhead figure that knows its own noise.

A timing taken once says little: the same prompt run twice on one machine differs by a few
percent, and machines drift (clocks ramp, caches warm, neighbours wake up). So the workload runs
with the extension's hooks ON (arm B) and OFF (arm A) in one process, interleaved in blocks laid
out as ``ABBA`` or ``BAAB`` (:func:`schedule`): within a block both arms sit at the same average
position in time, so a linear drift cancels, and the random choice of layout cancels order effects.

Each block gives one ratio, on/off (:class:`Block`); the overhead is the median of the block ratios
as a percentage, with a bootstrap percentile interval that resamples whole blocks
(:func:`overhead_interval`). Per-call figures get an interval of their mean (:func:`mean_interval`:
a plain bootstrap for few calls, a bootstrap of batch means for many, which stays fast and respects
the correlation of consecutive calls).

A budget is judged against the interval, not the point estimate (:func:`judge`): it passes when
the interval's upper bound is within it, fails when the lower bound is over it, and is otherwise
inconclusive, which says "measure more", never a coin-flip pass or fail. Several budgets in one test
each get a Bonferroni-corrected confidence (:func:`corrected_confidence`), so that the chance of
any false verdict stays at the nominal level. Exact figures (instruction counts, retained memory)
have no interval and pass or fail directly.

Pure standard library plus the pydantic models: importing this module loads no numerical library.
Every random choice takes a caller's :class:`random.Random`, so a seed reproduces a run.
"""
from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .models import BudgetKey, Interval, Mode, Outcome, Verdict

#: The fewest blocks :func:`overhead_interval` accepts: a median and its bootstrap need a few.
MIN_BLOCKS = 3
#: :func:`mean_interval` bootstraps single calls up to this many, and this many batch means above.
MAX_BATCHES = 200
#: Block layouts: A is hooks off, B is hooks on.
LAYOUTS: tuple[str, str] = ("ABBA", "BAAB")


# --------------------------------------------------------------------------------------------
# Checks shared by the public functions
# --------------------------------------------------------------------------------------------

def _check_rng(where: str, rng: object) -> random.Random:
    if not isinstance(rng, random.Random):
        raise ValueError(f"{where}: rng must be a random.Random, got {type(rng).__name__}; "
                         f"pass random.Random(seed)")
    return rng


def _check_count(where: str, name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{where}: {name} must be an integer of at least {minimum}, got {value!r}")
    return value


def _check_confidence(where: str, confidence: object) -> float:
    if isinstance(confidence, bool) or not isinstance(confidence, (int, float)) or not 0 < confidence < 1:
        raise ValueError(f"{where}: confidence must be a fraction strictly between 0 and 1, got "
                         f"{confidence!r}; pass e.g. 0.95 for a 95% interval")
    return float(confidence)


def _check_resamples(where: str, resamples: object, confidence: float) -> int:
    """Each tail of the interval must hold at least one resample, or its bound is just the extreme."""
    needed = math.ceil(2 / (1 - confidence) - 1e-9)
    resamples = _check_count(where, "resamples", resamples, 1)
    if resamples < needed:
        raise ValueError(f"{where}: resamples={resamples} is too few for a {_pct(confidence)} interval; "
                         f"pass resamples of at least {needed}")
    return resamples


def _finite_list(where: str, name: str, values: Sequence[float]) -> list[float]:
    out = [float(v) for v in values]
    for i, v in enumerate(out):
        if not math.isfinite(v):
            raise ValueError(f"{where}: {name}[{i}] is {v!r}; every value must be a finite number "
                             f"(drop failed measurements first)")
    return out


# --------------------------------------------------------------------------------------------
# Order statistics
# --------------------------------------------------------------------------------------------

def _sorted_percentile(ordered: Sequence[float], q: float) -> float:
    """Linear interpolation between the closest ranks of already sorted values (numpy's default)."""
    position = (len(ordered) - 1) * q / 100
    below = math.floor(position)
    above = min(below + 1, len(ordered) - 1)
    fraction = position - below
    return ordered[below] + (ordered[above] - ordered[below]) * fraction


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (``q`` in [0, 100]) of ``values``, interpolating linearly between
    the two closest ranks: ``percentile(v, 0)`` is the minimum, ``50`` the median, ``100`` the
    maximum."""
    if isinstance(q, bool) or not isinstance(q, (int, float)) or not 0 <= q <= 100:
        raise ValueError(f"percentile: q must be a percentage between 0 and 100, got {q!r}; "
                         f"pass e.g. 50 for the median")
    if len(values) == 0:
        raise ValueError("percentile: values is empty; pass at least one value")
    for i, v in enumerate(values):
        if math.isnan(v):
            raise ValueError(f"percentile: values[{i}] is NaN; drop failed measurements before "
                             f"taking percentiles")
    return _sorted_percentile(sorted(values), q)


def median(values: Sequence[float]) -> float:
    """The median of ``values`` (the mean of the middle two for an even count)."""
    return percentile(values, 50)


def _median_unchecked(values: list[float]) -> float:
    values.sort()
    middle = len(values) // 2
    if len(values) % 2:
        return values[middle]
    return (values[middle - 1] + values[middle]) / 2


# --------------------------------------------------------------------------------------------
# The ABBA schedule and its blocks
# --------------------------------------------------------------------------------------------

def schedule(blocks: int, rng: random.Random) -> list[str]:
    """One layout per block, ``"ABBA"`` or ``"BAAB"`` (A: hooks off, B: hooks on).

    The layouts are balanced: as many of one as of the other (one more of either, chosen at random,
    for an odd count), in random order. Within a block both arms have the same mean position in
    time, so a linear drift cancels; over blocks, whichever arm runs first alternates at random,
    so warm-up and order effects cancel. The same seed gives the same schedule."""
    _check_count("schedule", "blocks", blocks, 1)
    _check_rng("schedule", rng)
    half = blocks // 2
    layouts = [LAYOUTS[0]] * half + [LAYOUTS[1]] * half
    if blocks % 2:
        layouts.append(rng.choice(LAYOUTS))
    rng.shuffle(layouts)
    return layouts


def _times(name: str, values: Sequence[float]) -> tuple[float, ...]:
    if len(values) == 0:
        raise ValueError(f"Block: {name} is empty; each block needs at least one run per arm")
    out = tuple(float(v) for v in values)
    for i, v in enumerate(out):
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"Block: {name}[{i}] is {v!r}; run times must be positive finite numbers")
    return out


@dataclass(frozen=True)
class Block:
    """The run times of one ABBA block (e.g. microseconds per prompt): ``off`` for the hooks-off
    runs, ``on`` for the hooks-on runs, each in the order they ran."""

    off: tuple[float, ...]
    on: tuple[float, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "off", _times("off", self.off))
        object.__setattr__(self, "on", _times("on", self.on))

    @property
    def ratio(self) -> float:
        """Mean of ``on`` over mean of ``off``: the sum ratio when both arms ran equally often."""
        return (sum(self.on) / len(self.on)) / (sum(self.off) / len(self.off))


# --------------------------------------------------------------------------------------------
# Bootstrap intervals
# --------------------------------------------------------------------------------------------

def _bootstrap(statistic: Callable[[], float], resamples: int, confidence: float) -> tuple[float, float]:
    """The percentile interval of ``resamples`` draws of ``statistic``."""
    draws = sorted(statistic() for _ in range(resamples))
    tail = (1 - confidence) / 2 * 100
    return _sorted_percentile(draws, tail), _sorted_percentile(draws, 100 - tail)


def overhead_interval(blocks: Sequence[Block], *, confidence: float = 0.95, resamples: int = 2000,
                      rng: random.Random) -> tuple[float, Interval]:
    """The overhead of hooks-on over hooks-off, in percent, with its bootstrap interval.

    Each block gives one ratio (:attr:`Block.ratio`); the point estimate is ``(median ratio - 1)
    x 100``. The interval is a bootstrap percentile interval: draw as many blocks as there are,
    with replacement, take the median of their ratios, ``resamples`` times. Resampling whole
    blocks keeps each block's pairing of on and off runs, which is what cancels drift."""
    where = "overhead_interval"
    if len(blocks) < MIN_BLOCKS:
        raise ValueError(f"{where}: got {len(blocks)} block(s); at least {MIN_BLOCKS} are needed for a "
                         f"median and its interval; run more rounds (blocks) of the measurement")
    for i, block in enumerate(blocks):
        if not isinstance(block, Block):
            raise ValueError(f"{where}: blocks[{i}] is a {type(block).__name__}, not a Block; "
                             f"build each with Block(off=..., on=...)")
    confidence = _check_confidence(where, confidence)
    resamples = _check_resamples(where, resamples, confidence)
    _check_rng(where, rng)
    ratios = [block.ratio for block in blocks]
    n = len(ratios)
    point = (_median_unchecked(list(ratios)) - 1) * 100
    low, high = _bootstrap(lambda: _median_unchecked(rng.choices(ratios, k=n)), resamples, confidence)
    method = (f"ABBA blocks; per-block ratio of on/off means; median over {n} blocks; bootstrap percentile over "
              f"blocks, {resamples} resamples")
    return point, Interval(low=(low - 1) * 100, high=(high - 1) * 100, confidence=confidence, method=method)


def _batches(values: list[float]) -> tuple[list[float], list[int]]:
    """Sums and sizes of :data:`MAX_BATCHES` consecutive batches whose sizes differ by at most one."""
    n = len(values)
    sums: list[float] = []
    sizes: list[int] = []
    for b in range(MAX_BATCHES):
        start, stop = b * n // MAX_BATCHES, (b + 1) * n // MAX_BATCHES
        sums.append(math.fsum(values[start:stop]))
        sizes.append(stop - start)
    return sums, sizes


def _random_batches(values: list[float], rng: random.Random) -> tuple[list[float], list[int]]:
    """Sums and sizes of up to :data:`MAX_BATCHES` batches, each sample put in one drawn at random
    (batches that drew no sample are left out)."""
    sums = [0.0] * MAX_BATCHES
    sizes = [0] * MAX_BATCHES
    draw = rng.random
    for v in values:
        k = int(draw() * MAX_BATCHES)
        sums[k] += v
        sizes[k] += 1
    kept = [k for k in range(MAX_BATCHES) if sizes[k]]
    return [sums[k] for k in kept], [sizes[k] for k in kept]


def _monotonic(values: list[float]) -> bool:
    """Whether ``values`` are sorted either way: timings in the order measured never are."""
    ascending = all(a <= b for a, b in zip(values, values[1:]))
    return ascending or all(a >= b for a, b in zip(values, values[1:]))


def mean_interval(samples: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000,
                  rng: random.Random) -> Interval:
    """A bootstrap percentile interval of the mean of ``samples`` (e.g. microseconds per hook call).

    Up to :data:`MAX_BATCHES` samples: a plain bootstrap (resample the samples). Above: the samples,
    in the order they were taken, are cut into :data:`MAX_BATCHES` consecutive batches and the
    batches are resampled (the mean of a resample is its total over its size). This costs the same
    for 100 000 calls as for 200, and since neighbouring calls tend to be alike (a cache warms, a
    timer ticks), resampling batches rather than single calls does not understate the noise.

    Pass the samples in the order they were measured. Sorted samples carry no time order, and
    consecutive batches of them would overstate the noise many times over, so each sample then goes
    to a batch drawn at random (with ``rng``), and the method says so."""
    where = "mean_interval"
    values = _finite_list(where, "samples", samples)
    if len(values) < 2:
        raise ValueError(f"{where}: got {len(values)} sample(s); an interval needs at least 2; "
                         f"measure more calls")
    confidence = _check_confidence(where, confidence)
    resamples = _check_resamples(where, resamples, confidence)
    _check_rng(where, rng)
    n = len(values)
    if n <= MAX_BATCHES:
        low, high = _bootstrap(lambda: sum(rng.choices(values, k=n)) / n, resamples, confidence)
        method = f"bootstrap percentile of the mean of {n} samples, {resamples} resamples"
        return Interval(low=low, high=high, confidence=confidence, method=method)
    layout = "consecutive"
    if _monotonic(values):  # the time order was lost (e.g. sorted for percentiles): batch at random
        sums, sizes = _random_batches(values, rng)
        layout = "random (the samples came sorted, not in time order)"
    else:
        sums, sizes = _batches(values)
    batches = len(sums)
    indexes = range(batches)

    def batch_mean() -> float:
        picked = rng.choices(indexes, k=batches)
        return sum(map(sums.__getitem__, picked)) / sum(map(sizes.__getitem__, picked))

    low, high = _bootstrap(batch_mean, resamples, confidence)
    size = str(min(sizes)) if min(sizes) == max(sizes) else f"{min(sizes)}-{max(sizes)}"
    method = (f"bootstrap of batch means ({batches} {layout} batches of {size} samples), "
              f"percentile, {resamples} resamples")
    return Interval(low=low, high=high, confidence=confidence, method=method)


def corrected_confidence(confidence: float, comparisons: int) -> float:
    """The Bonferroni-corrected confidence for each of ``comparisons`` budgets judged together:
    ``1 - (1 - confidence) / comparisons``, so that all of them hold at ``confidence``."""
    where = "corrected_confidence"
    confidence = _check_confidence(where, confidence)
    comparisons = _check_count(where, "comparisons", comparisons, 1)
    return 1 - (1 - confidence) / comparisons


# --------------------------------------------------------------------------------------------
# Judging a budget
# --------------------------------------------------------------------------------------------

#: What a figure is, after its value and unit, by budget key.
_WHAT: dict[str, str] = {
    "pct": "overhead",
    "per_call_us": "per call",
    "instructions": "per call",
    "retained_kb_per_prompt": "retained per prompt",
}


def _pct(confidence: float) -> str:
    return f"{confidence * 100:.4g}%"


def _num(x: float) -> str:
    """A measured figure, to about three significant digits, never in exponent notation."""
    a = abs(x)
    if a >= 100:
        return f"{x:.0f}"
    if a >= 10:
        return f"{x:.1f}"
    if a >= 1 or a == 0:
        return f"{x:.2f}"
    return f"{x:.{2 - math.floor(math.log10(a))}f}"


def _with_unit(text: str, unit: str) -> str:
    return f"{text}{unit}" if unit.startswith("%") else f"{text} {unit}"


def _signed(x: float, key: BudgetKey) -> str:
    text = _num(x)
    return f"+{text}" if key == "pct" and x > 0 else text


def _outcome(value: float, limit: float, interval: Interval | None) -> Outcome:
    if interval is None:
        return "pass" if value <= limit else "fail"
    if interval.high <= limit:
        return "pass"
    if interval.low > limit:
        return "fail"
    return "inconclusive"


_VERDICT_TEXT: dict[str, str] = {
    "pass": "is within the budget of {limit}: pass",
    "fail": "is over the budget of {limit}: fail",
    "inconclusive": ("straddles the budget of {limit}: inconclusive (the interval holds values on both "
                     "sides; more rounds would narrow it, or run on a quieter machine)"),
}


def _check_judge(key: BudgetKey, limit: float, value: float, interval: Interval | None, unit: str) -> None:
    if isinstance(limit, bool) or not isinstance(limit, (int, float)) or not (math.isfinite(limit) and limit > 0):
        raise ValueError(f"judge: the limit of budget {key!r} must be a positive finite number, got "
                         f"{limit!r}; set it to e.g. {key}=5")
    if not math.isfinite(value):
        raise ValueError(f"judge: value for budget {key!r} is {value!r}; it must be a finite number")
    if interval is not None and not interval.low <= interval.high:
        raise ValueError(f"judge: interval for budget {key!r} has low {interval.low!r} above high "
                         f"{interval.high!r}; pass the interval as computed")
    if not unit.strip():
        raise ValueError(f"judge: unit for budget {key!r} is empty; pass e.g. 'us' or '%'")


def judge(*, key: BudgetKey, limit: float, value: float, interval: Interval | None, mode: Mode,
          target: str | None = None, unit: str, samples: str = "") -> Verdict:
    """Judge one budget: pass when ``interval.high <= limit``, fail when ``interval.low > limit``,
    inconclusive otherwise. Without an interval (exact figures: instruction counts, retained memory)
    pass when ``value <= limit``, else fail. The verdict's message is one line for a test report:
    what, the value, its interval, sample sizes (``samples``) and method, the budget, the outcome."""
    _check_judge(key, limit, value, interval, unit)
    outcome = _outcome(value, limit, interval)
    subject = target if target else "the prompt"
    details: list[str] = []
    if interval is None:
        details.append("exact figure")
    else:
        bounds = f"{_signed(interval.low, key)} to {_signed(interval.high, key)}"
        details.append(f"{_pct(interval.confidence)} interval {_with_unit(bounds, unit)}")
    if samples:
        details.append(samples)
    if interval is not None:
        details.append(interval.method)
    figure = _with_unit(_signed(value, key), unit)
    verdict = _VERDICT_TEXT[outcome].format(limit=_with_unit(f"{limit:.15g}", unit))
    message = f"{subject}: {figure} {_WHAT[key]} ({'; '.join(details)}) {verdict}"
    return Verdict(key=key, target=target, limit=float(limit), value=float(value), interval=interval,
                   outcome=outcome, mode=mode, message=message)


# --------------------------------------------------------------------------------------------
# A testing aid
# --------------------------------------------------------------------------------------------

def _check_simulation(blocks: int, runs_per_arm: int, base: float, noise_sd: float, shift_pct: float,
                      drift_per_block: float) -> None:
    where = "simulate_blocks"
    _check_count(where, "blocks", blocks, 1)
    _check_count(where, "runs_per_arm", runs_per_arm, 1)
    if not (math.isfinite(base) and base > 0):
        raise ValueError(f"{where}: base must be a positive finite run time, got {base!r}")
    if not (math.isfinite(noise_sd) and noise_sd >= 0):
        raise ValueError(f"{where}: noise_sd must be a finite number of at least 0, got {noise_sd!r}")
    if not (math.isfinite(shift_pct) and shift_pct > -100):
        raise ValueError(f"{where}: shift_pct must be a finite percentage above -100, got {shift_pct!r}")
    if not (math.isfinite(drift_per_block) and 1 + drift_per_block * blocks > 0):
        raise ValueError(f"{where}: drift_per_block={drift_per_block!r} makes run times negative within "
                         f"{blocks} blocks; keep drift_per_block x blocks above -1")


def simulate_blocks(rng: random.Random, blocks: int, runs_per_arm: int, base: float, noise_sd: float,
                    shift_pct: float = 0.0, drift_per_block: float = 0.0) -> list[Block]:
    """Synthetic measurements, for tests and benchmarks of the statistics (a testing aid; nothing
    here measures anything).

    Lays out ``blocks`` blocks with :func:`schedule`; each arm gets ``runs_per_arm`` runs per block,
    split over its two slots (the first slot takes the odd run). A run takes ``base`` time, times
    ``1 + shift_pct / 100`` with hooks on, times a linear drift ``1 + drift_per_block x t`` (``t``:
    time since the start, in blocks), times lognormal noise of log-standard-deviation ``noise_sd``
    scaled to mean 1. With an even ``runs_per_arm`` the ABBA layout cancels the drift exactly."""
    _check_rng("simulate_blocks", rng)
    _check_simulation(blocks, runs_per_arm, base, noise_sd, shift_pct, drift_per_block)
    first, second = (runs_per_arm + 1) // 2, runs_per_arm // 2
    per_block = 2 * runs_per_arm
    bias = math.exp(-noise_sd * noise_sd / 2)
    out: list[Block] = []
    for b, layout in enumerate(schedule(blocks, rng)):
        arms: dict[str, list[float]] = {"A": [], "B": []}
        seen: set[str] = set()
        for arm in layout:
            count = second if arm in seen else first
            seen.add(arm)
            for _ in range(count):
                t = b + (len(arms["A"]) + len(arms["B"]) + 0.5) / per_block
                scale = 1 + shift_pct / 100 if arm == "B" else 1.0
                noise = math.exp(rng.gauss(0, noise_sd)) * bias
                arms[arm].append(base * scale * (1 + drift_per_block * t) * noise)
        out.append(Block(off=tuple(arms["A"]), on=tuple(arms["B"])))
    return out


__all__ = ["LAYOUTS", "MAX_BATCHES", "MIN_BLOCKS", "Block", "corrected_confidence", "judge", "mean_interval",
           "median", "overhead_interval", "percentile", "schedule", "simulate_blocks"]

"""The release gate: ``comfyruntime gate REPORT --budget budgets.toml [--baseline OLD.json]``.

:func:`run_gate` judges every figure of a report that a budget applies to, with the tests' rule:
**pass** when the interval's upper bound is within the limit, **fail** when its lower bound is over
it, **inconclusive** otherwise; exact figures pass or fail. Which figure each key is judged on:

* ``pct`` (whole prompt): a wall-clock result's end-to-end ``overhead_pct`` interval (hooks on versus
  off); without one, the attribution pass's ``prompts.share_pct``, a point estimate over all measured
  prompts with no interval, judged as it stands and labelled so. A counting-mode result's
  ``counts.delta_pct`` (exact).
* ``pct`` in a ``[targets]`` table: that target's ``share_pct``, with an interval scaled from its
  mean's (share = calls x mean / prompt time).
* ``per_call_us``: each target's ``mean_us`` and ``mean_interval`` (wall-clock results only: a
  counting-mode result's times are taken under the counter). A target with one call has no
  interval, so its verdict is inconclusive.
* ``instructions``: ``counts.per_target`` (or a target's ``instructions_per_call``), exact.
* ``retained_kb_per_prompt``: ``retained`` (exact); a leak fails whatever the figure.

With a baseline report, results are paired per test (same workload, backend, era and mode) and:

* instruction counts (per prompt, and per call per target) compare exactly, across machines too: a
  regression is growth of more than ``max_regression_pct`` percent (default 0: counts are identical
  on every run of the same code, so any growth is a change). Bytecode counts of different Python
  minor versions (or machine-instruction counts of different architectures) are advisory.
* wall-clock figures compare only as in-run ratios (the end-to-end ``overhead_pct`` interval, each
  target's share of prompt time), never as absolute times, and regress only beyond the measured
  noise: the new interval's low bound above the old one's high bound plus ``max_regression_pct``
  percentage points (default 0). Measured on another machine (the fingerprints differ), a
  wall-clock comparison is advisory: a warning with the reason, never exit 1.

Exit codes: 0 pass; 1 a budget broken or a regression; 2 bad usage or input (one line each, naming
the file, the field and the fix); 3 nothing to judge (nothing measured, no budget applies, or every
verdict inconclusive), so a gate that measured nothing never passes. Mixed pass and inconclusive
verdicts exit 0 with a warning per inconclusive one. With ``github_actions`` each failure, warning
and error is followed by a workflow command (``::error file=...,title=...::message``).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from ..overhead.models import Interval, OverheadResult, TargetStats
from .budgets import BudgetError, Budgets, load_budgets
from .models import Environment, Report, ReportError, load_report, pair_results
from .summary import fmt, fmt_interval, fmt_limit, label

EXIT_PASS, EXIT_FAIL, EXIT_USAGE, EXIT_NOTHING = 0, 1, 2, 3
_MEANING = {EXIT_PASS: "pass", EXIT_FAIL: "fail", EXIT_USAGE: "bad input", EXIT_NOTHING: "nothing to judge"}

Status = Literal["PASS", "FAIL", "INCONCLUSIVE", "OK", "REGRESSION", "ADVISORY", "WARNING", "NOTE", "ERROR"]
_ANNOTATE: dict[str, tuple[str, str]] = {  # status -> (command, title)
    "FAIL": ("error", "comfyruntime budget"), "REGRESSION": ("error", "comfyruntime regression"),
    "INCONCLUSIVE": ("warning", "comfyruntime budget inconclusive"),
    "ADVISORY": ("warning", "comfyruntime advisory regression"), "WARNING": ("warning", "comfyruntime gate"),
    "ERROR": ("error", "comfyruntime gate"),
}


@dataclass(frozen=True)
class GateOutcome:
    """The gate's exit code and what it prints, in order (workflow commands included)."""

    exit_code: int
    lines: list[str]


@dataclass
class _Tally:
    github_actions: bool
    lines: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, status: Status, text: str, *, file: str | None = None) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        line = f"{status} {text}"
        self.lines.append(line)
        if self.github_actions and status in _ANNOTATE:
            command, title = _ANNOTATE[status]
            self.lines.append(annotation(command, line, title=title, file=file))

    def __getitem__(self, status: Status) -> int:
        return self.counts.get(status, 0)


def _escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(text: str) -> str:
    return _escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(command: str, message: str, *, title: str, file: str | None = None) -> str:
    """A GitHub Actions workflow command, escaped: ``::error file=tests/test_x.py,title=...::message``."""
    props = ([f"file={_escape_property(file)}"] if file else []) + [f"title={_escape_property(title)}"]
    return f"::{command} {','.join(props)}::{_escape_data(message)}"


def _judge(value: float, interval: Interval | None, limit: float) -> Literal["PASS", "FAIL", "INCONCLUSIVE"]:
    if interval is None:
        return "FAIL" if value > limit else "PASS"
    if interval.high <= limit:
        return "PASS"
    return "FAIL" if interval.low > limit else "INCONCLUSIVE"


def _relation(status: str) -> str:
    return {"PASS": "within", "FAIL": "over", "INCONCLUSIVE": "straddles"}[status]


def _share_interval(stats: TargetStats) -> Interval | None:
    """A target's share of prompt time scales with its mean, so the mean's interval scales to the share's."""
    if stats.mean_interval is None or stats.mean_us <= 0:
        return None
    ratio = stats.share_pct / stats.mean_us
    mean = stats.mean_interval
    return Interval(low=mean.low * ratio, high=mean.high * ratio, confidence=mean.confidence,
                    method=f"{mean.method}, scaled from the mean's interval")


_MORE = "; fix: measure more prompts to narrow the interval (or use counting mode)"


class _Judge:
    """Budget verdicts for one report."""

    def __init__(self, budgets: Budgets, tally: _Tally) -> None:
        self.budgets = budgets
        self.tally = tally

    def verdict(self, name: str, where: str, figure: str, value: float, interval: Interval | None, limit: float,
                unit: str, *, file: str, undecidable: bool = False) -> None:
        status = "INCONCLUSIVE" if undecidable else _judge(value, interval, limit)
        text = f"{name} {where}: {figure} {_relation(status)} budget {fmt_limit(limit)}{unit}"
        self.tally.add(status, text + (_MORE if status == "INCONCLUSIVE" else ""), file=file)

    def result(self, nodeid: str, name: str, result: OverheadResult) -> None:
        file = nodeid.split("::", 1)[0]
        whole = self.budgets.for_test(nodeid)
        prompt = "(whole prompt)"
        if whole.pct is not None:
            e2e = result.end_to_end
            if result.mode == "count" and result.counts is not None:
                counts = result.counts
                self.verdict(name, prompt, f"overhead {fmt(counts.delta_pct)}% of the prompt's {counts.unit} "
                             "(exact)", counts.delta_pct, None, whole.pct, "%", file=file)
            elif result.mode == "wall" and e2e is not None and not e2e.aa:
                self.verdict(name, prompt, f"overhead {fmt(e2e.overhead_pct)}% of prompt time "
                             f"({fmt_interval(e2e.interval)})", e2e.overhead_pct, e2e.interval, whole.pct, "%",
                             file=file)
            elif result.mode == "wall" and result.prompts is not None:
                share = result.prompts.share_pct
                self.verdict(name, prompt, f"hooks {fmt(share)}% of prompt time (attribution share, a point "
                             "estimate with no interval)", share, None, whole.pct, "%", file=file)
        if whole.retained_kb_per_prompt is not None and result.retained is not None:
            kept = result.retained
            if kept.leak:
                checkpoints = ", ".join(fmt(kb) for kb in kept.checkpoints_kb)
                top = f"; grew most: {'; '.join(kept.top[:3])}" if kept.top else ""
                self.tally.add("FAIL", f"{name} {prompt}: leak: retained memory keeps growing over "
                               f"{kept.prompts} prompts (checkpoints {checkpoints} KB){top}", file=file)
            else:
                self.verdict(name, prompt, f"{fmt(kept.retained_kb_per_prompt)} KB retained per prompt (exact)",
                             kept.retained_kb_per_prompt, None, whole.retained_kb_per_prompt, " KB", file=file)
        instructions = dict(result.counts.per_target) if result.counts is not None else {}
        for stats in result.targets:
            if stats.instructions_per_call is not None:
                instructions.setdefault(stats.target, stats.instructions_per_call)
        unit = result.counts.unit if result.counts is not None else "instructions"
        for stats in result.targets:
            budget = self.budgets.for_target(nodeid, stats.target)
            if result.mode != "wall" or stats.calls == 0:
                continue
            few = stats.mean_interval is None
            no_interval = f"({stats.calls} call{'' if stats.calls == 1 else 's'}, no interval)"
            if budget.per_call_us is not None:
                shown = f"({fmt_interval(stats.mean_interval)})" if stats.mean_interval else no_interval
                self.verdict(name, stats.target, f"{fmt(stats.mean_us)} us per call {shown}", stats.mean_us,
                             stats.mean_interval, budget.per_call_us, " us", file=file, undecidable=few)
            if budget.pct is not None:
                interval = _share_interval(stats)
                shown = f"({fmt_interval(interval)})" if interval else no_interval
                self.verdict(name, stats.target, f"{fmt(stats.share_pct)}% of prompt time {shown}", stats.share_pct,
                             interval, budget.pct, "%", file=file, undecidable=few)
        for target, per_call in instructions.items():
            limit = self.budgets.for_target(nodeid, target).instructions
            if limit is not None:
                self.verdict(name, target, f"{fmt(per_call)} {unit} per call (exact)", per_call, None, limit, "",
                             file=file)


def _machine_difference(old: Environment, new: Environment) -> str:
    keys = sorted(set(old.machine_info) | set(new.machine_info))
    changed = [f"{key} {old.machine_info.get(key)!r} -> {new.machine_info.get(key)!r}" for key in keys
               if old.machine_info.get(key) != new.machine_info.get(key)]
    return "; ".join(changed) if changed else f"fingerprint {old.machine[:12]} -> {new.machine[:12]}"


def _minor(version: str) -> str:
    return ".".join(version.split(".")[:2])


class _Compare:
    """Baseline comparisons for one report."""

    def __init__(self, report: Report, baseline: Report, max_pct: float, tally: _Tally) -> None:
        self.tally = tally
        self.max_pct = max_pct
        self.made = self.advisory = 0
        new_env, old_env = report.environment, baseline.environment
        self.same_machine = new_env.machine == old_env.machine
        self.machine_reason = "" if self.same_machine else _machine_difference(old_env, new_env)
        self.counts_reason = "" if _minor(new_env.python_version) == _minor(old_env.python_version) else \
            f"Python {old_env.python_version} -> {new_env.python_version}"
        self.arch_reason = "" if new_env.machine_info.get("arch") == old_env.machine_info.get("arch") else \
            f"architecture {old_env.machine_info.get('arch')} -> {new_env.machine_info.get('arch')}"

    def _status(self, regressed: bool, advisory: bool) -> Status:
        """An advisory comparison is never decisive: a regression warns, the rest is a note."""
        self.made += 1
        if advisory:
            self.advisory += 1
            return "ADVISORY" if regressed else "NOTE"
        return "REGRESSION" if regressed else "OK"

    def count(self, name: str, where: str, what: str, new: float, old: float, *, advisory: str, file: str) -> None:
        if old > 0:
            change = f"{(new / old - 1) * 100:+.1f}%"
            regressed = new > old * (1 + self.max_pct / 100)
        else:
            change, regressed = ("unchanged", False) if new <= 0 else ("new cost", True)
        suffix = f" (advisory: {advisory})" if advisory else ""
        self.tally.add(self._status(regressed, bool(advisory)),
                       f"{name} {where}: {fmt(new)} {what}, was {fmt(old)} ({change}, allowed "
                       f"+{fmt_limit(self.max_pct)}%){suffix}", file=file)

    def ratio(self, name: str, where: str, what: str, new: float, new_iv: Interval, old: float, old_iv: Interval,
              *, file: str) -> None:
        regressed = new_iv.low > old_iv.high + self.max_pct
        why = (f"beyond the noise: low {fmt(new_iv.low)} > old high {fmt(old_iv.high)} + {fmt_limit(self.max_pct)} "
               "allowed" if regressed else "within the noise")
        suffix = "" if self.same_machine else " (advisory: measured on another machine)"
        self.tally.add(self._status(regressed, not self.same_machine),
                       f"{name} {where}: {what} {fmt(new)}% ({fmt_interval(new_iv)}), was {fmt(old)}% "
                       f"({fmt_interval(old_iv)}): {new - old:+.2f} points, {why}{suffix}", file=file)

    def pair(self, nodeid: str, name: str, new: OverheadResult, old: OverheadResult) -> None:
        file = nodeid.split("::", 1)[0]
        prompt = "(whole prompt)"
        if new.counts is not None and old.counts is not None:
            nc, oc = new.counts, old.counts
            if (nc.tool, nc.unit) != (oc.tool, oc.unit):
                self.tally.add("NOTE", f"{name}: counts not compared: {oc.tool} {oc.unit} -> {nc.tool} {nc.unit}")
            else:
                advisory = self.counts_reason or (self.arch_reason if nc.unit == "machine instructions" else "")
                self.count(name, prompt, f"{nc.unit} per prompt", nc.delta_per_prompt, oc.delta_per_prompt,
                           advisory=advisory, file=file)
                for target in sorted(set(nc.per_target) & set(oc.per_target)):
                    self.count(name, target, f"{nc.unit} per call", nc.per_target[target], oc.per_target[target],
                               advisory=advisory, file=file)
        if new.mode != "wall" or old.mode != "wall":
            return
        ne, oe = new.end_to_end, old.end_to_end
        if ne is not None and oe is not None and not ne.aa and not oe.aa:
            self.ratio(name, prompt, "overhead", ne.overhead_pct, ne.interval, oe.overhead_pct, oe.interval,
                       file=file)
        olds = {stats.target: stats for stats in old.targets}
        for stats in new.targets:
            before = olds.get(stats.target)
            new_iv = _share_interval(stats)
            old_iv = _share_interval(before) if before is not None else None
            if before is not None and new_iv is not None and old_iv is not None:
                self.ratio(name, stats.target, "share of prompt time", stats.share_pct, new_iv, before.share_pct,
                           old_iv, file=file)


def _validate_max(max_regression_pct: float | None) -> str | None:
    if max_regression_pct is None:
        return None
    if not math.isfinite(max_regression_pct) or max_regression_pct < 0:
        return (f"--max-regression: {max_regression_pct} is not a percentage >= 0; fix: pass 0 (any growth "
                "regresses) or a positive allowance such as 2")
    return None


def run_gate(report_path: Path | str, budget_path: Path | str, *, baseline_path: Path | str | None = None,
             max_regression_pct: float | None = None, github_actions: bool) -> GateOutcome:
    """Judges a report against a budgets file (and a baseline report); see the module's docstring."""
    tally = _Tally(github_actions)
    report: Report | None = None
    baseline: Report | None = None
    budgets: Budgets | None = None
    bad = _validate_max(max_regression_pct)
    if bad:
        tally.add("ERROR", bad)
    try:
        report = load_report(report_path)
    except ReportError as exc:
        tally.add("ERROR", str(exc), file=str(report_path))
    try:
        budgets = load_budgets(budget_path)
    except BudgetError as exc:
        tally.add("ERROR", str(exc), file=str(budget_path))
    if baseline_path is not None:
        try:
            baseline = load_report(baseline_path)
        except ReportError as exc:
            tally.add("ERROR", f"{exc} (the baseline)", file=str(baseline_path))
    if tally["ERROR"] or report is None or budgets is None:
        return _finish(tally, EXIT_USAGE)

    if not report.results:
        tally.add("ERROR", f"{report_path}: tests: the report measured nothing ({len(report.tests)} tests, no "
                           "overhead result); fix: run the tests that measure overhead with the report enabled",
                  file=str(report_path))
        return _finish(tally, EXIT_NOTHING)

    judge = _Judge(budgets, tally)
    compare = None
    if baseline is not None:
        compare = _Compare(report, baseline, max_regression_pct or 0.0, tally)
        if not compare.same_machine:
            tally.add("WARNING", f"wall-clock comparisons with {baseline_path} are advisory: it was measured on "
                                 f"another machine ({compare.machine_reason})")
        if compare.counts_reason:
            tally.add("WARNING", f"instruction-count comparisons with {baseline_path} are advisory: "
                                 f"{compare.counts_reason} (bytecode differs between Python versions)")
    old_tests = {entry.nodeid: entry.results for entry in baseline.tests} if baseline is not None else {}
    for entry in report.tests:
        olds: Sequence[OverheadResult | None] = pair_results(entry.results, old_tests.get(entry.nodeid, []))
        for index, (result, old) in enumerate(zip(entry.results, olds)):
            name = label(entry.nodeid, result, index, len(entry.results))
            judge.result(entry.nodeid, name, result)
            if compare is not None:
                if old is None:
                    tally.add("NOTE", f"{name}: no baseline measurement to compare with")
                else:
                    compare.pair(entry.nodeid, name, result, old)
    if baseline is not None:
        current = {entry.nodeid for entry in report.tests if entry.results}
        for entry in baseline.tests:
            if entry.results and entry.nodeid not in current:
                tally.add("NOTE", f"{entry.nodeid}: in the baseline, not measured in this report (renamed or "
                                  "removed?)")

    verdicts = tally["PASS"] + tally["FAIL"] + tally["INCONCLUSIVE"]
    decisive = tally["PASS"] + tally["FAIL"] + tally["OK"] + tally["REGRESSION"]
    tally.lines.append(f"comfyruntime gate: {verdicts} budget verdicts ({tally['PASS']} pass, {tally['FAIL']} fail, "
                       f"{tally['INCONCLUSIVE']} inconclusive)" +
                       (f"; baseline: {tally['OK'] + tally['REGRESSION']} comparisons ({tally['REGRESSION']} "
                        f"regressions), {tally['ADVISORY']} advisory regressions" if baseline is not None else ""))
    if tally["FAIL"] or tally["REGRESSION"]:
        return _finish(tally, EXIT_FAIL)
    if not decisive:
        if budgets.empty and baseline is None:
            why = (f"{budget_path}: (every table): sets no limit, so nothing was judged; fix: set at least one key "
                   "in [defaults], e.g. pct = 5")
        elif compare is not None and compare.made and compare.made == compare.advisory and not tally["INCONCLUSIVE"]:
            why = (f"every comparison with {baseline_path} is advisory ({compare.advisory}) and no budget applies; "
                   "fix: compare with a baseline measured on this machine and Python, or set budgets")
        elif tally["INCONCLUSIVE"]:
            why = (f"every verdict is inconclusive ({tally['INCONCLUSIVE']}): the intervals straddle the budgets; "
                   "fix: measure more prompts, or judge instruction counts (counting mode)")
        else:
            why = (f"nothing to judge: no figure of {report_path} has a budget in {budget_path}"
                   + (" or a baseline counterpart" if baseline is not None else "")
                   + f" (the report has: {_figures(report)}); fix: set budgets for those figures")
        tally.add("ERROR", why, file=str(budget_path))
        return _finish(tally, EXIT_NOTHING)
    return _finish(tally, EXIT_PASS)


def _figures(report: Report) -> str:
    found: list[str] = []
    for _nodeid, result in report.results:
        for present, what in ((result.end_to_end is not None, "end-to-end overhead (pct)"),
                              (result.prompts is not None and result.mode == "wall", "attribution share (pct)"),
                              (bool(result.targets) and result.mode == "wall", "per-call times (per_call_us)"),
                              (result.counts is not None, "instruction counts (pct, instructions)"),
                              (result.retained is not None, "retained memory (retained_kb_per_prompt)")):
            if present and what not in found:
                found.append(what)
    return ", ".join(found) or "no figures"


def _finish(tally: _Tally, code: int) -> GateOutcome:
    tally.lines.append(f"exit {code} ({_MEANING[code]})")
    return GateOutcome(code, tally.lines)


__all__ = ["EXIT_FAIL", "EXIT_NOTHING", "EXIT_PASS", "EXIT_USAGE", "GateOutcome", "annotation", "run_gate"]

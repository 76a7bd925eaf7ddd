"""Human views of a report: markdown (GitHub's step summary), a standalone SVG chart, and the lines
of pytest's terminal section.

:func:`markdown_summary` writes an environment line, one table per measurement (calls, mean with its
interval, p99, share of prompt time, and the test's own verdicts per hook target), the verdict list,
the change per hook against a baseline when one is given, and a Mermaid ``xychart-beta`` bar chart
of the mean cost per hook call (GitHub renders it). :func:`svg_chart` draws the same chart by hand,
for artifacts; :func:`terminal_lines` names the worst hooks and the verdicts that did not pass.

The number formatting here (:func:`fmt`, :func:`fmt_interval`) is shared with the gate, so a figure
reads the same everywhere.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from ..overhead.models import Interval, OverheadResult, TargetStats, Verdict
from .models import Report, pair_results


def fmt(value: float) -> str:
    """A figure to about three significant digits, never in exponent notation: 1520, 14.1, 3.25, 0.0412."""
    size = abs(value)
    if size >= 100:
        return f"{value:.0f}"
    if size >= 10:
        return f"{value:.1f}"
    if size == 0:
        return "0"
    if size >= 1:
        return f"{value:.2f}"
    return f"{value:.3g}"


def fmt_limit(value: float) -> str:
    """A limit as its author wrote it: 10, 2.5, 0.25."""
    return f"{value:g}"


def fmt_interval(interval: Interval) -> str:
    """``95% interval 13.2 to 15.0``."""
    return f"{interval.confidence * 100:g}% interval {fmt(interval.low)} to {fmt(interval.high)}"


def label(nodeid: str, result: OverheadResult, index: int, count: int) -> str:
    """The test a figure belongs to; with the measurement named when the test made more than one."""
    return nodeid if count <= 1 else f"{nodeid} (#{index + 1} {result.workload})"


@dataclass(frozen=True)
class HookCost:
    """One hook target's cost over a whole report: calls-weighted mean across its measurements."""

    target: str
    calls: int
    total_us: float
    worst_share_pct: float
    tests: tuple[str, ...]

    @property
    def mean_us(self) -> float:
        return self.total_us / self.calls if self.calls else 0.0


def hook_costs(report: Report) -> list[HookCost]:
    """Every hook target's cost, the most expensive per call first (wall-clock measurements only)."""
    found: dict[str, tuple[int, float, float, list[str]]] = {}
    for nodeid, result in report.results:
        if result.mode != "wall":
            continue
        for stats in result.targets:
            calls, total, share, tests = found.get(stats.target, (0, 0.0, 0.0, []))
            if nodeid not in tests:
                tests.append(nodeid)
            found[stats.target] = (calls + stats.calls, total + stats.total_us, max(share, stats.share_pct), tests)
    costs = [HookCost(target, calls, total, share, tuple(tests)) for target, (calls, total, share, tests)
             in found.items() if calls]
    return sorted(costs, key=lambda cost: (-cost.mean_us, cost.target))


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _verdict_text(verdict: Verdict) -> str:
    return f"{verdict.outcome} ({verdict.key} {fmt_limit(verdict.limit)})"


def _mean(stats: TargetStats) -> str:
    if stats.mean_interval is None:
        return fmt(stats.mean_us)
    return f"{fmt(stats.mean_us)} ({fmt(stats.mean_interval.low)} to {fmt(stats.mean_interval.high)})"


def _change(new: TargetStats, old: TargetStats | None) -> str:
    if old is None:
        return "new"
    parts = [f"share {new.share_pct - old.share_pct:+.2f} pts"]
    if old.mean_us > 0:
        parts.insert(0, f"mean {(new.mean_us / old.mean_us - 1) * 100:+.1f}%")
    if new.instructions_per_call is not None and old.instructions_per_call:
        parts.append(f"instructions {(new.instructions_per_call / old.instructions_per_call - 1) * 100:+.1f}%")
    return ", ".join(parts)


def _mermaid(costs: list[HookCost]) -> list[str]:
    names = ", ".join('"' + _short(cost.target).replace('"', "'") + '"' for cost in costs)
    top = max(cost.mean_us for cost in costs)
    return ["```mermaid", "xychart-beta", '    title "Mean cost per hook call (us)"', f"    x-axis [{names}]",
            f'    y-axis "us per call" 0 --> {fmt(top * 1.1) if top > 0 else "1"}',
            f"    bar [{', '.join(fmt(cost.mean_us) for cost in costs)}]", "```"]


def _short(target: str, width: int = 40) -> str:
    return target if len(target) <= width else "..." + target[-(width - 3):]


def _env_lines(report: Report, baseline: Report | None) -> list[str]:
    lines = [f"Measured with {report.environment.describe()}; created {report.created}."]
    if baseline is not None:
        same = baseline.environment.machine == report.environment.machine
        lines.append(f"Baseline created {baseline.created}, "
                     + ("on the same machine." if same else
                        f"on another machine ({baseline.environment.machine[:12]}): wall-clock changes are "
                        "advisory."))
    return lines


def markdown_summary(report: Report, *, baseline: Report | None = None) -> str:
    """The report as GitHub-flavoured markdown, for ``$GITHUB_STEP_SUMMARY`` or a pull-request comment."""
    out = ["## comfyruntime overhead", "", *_env_lines(report, baseline), ""]
    verdicts: list[str] = []
    measured = 0
    old_tests = {entry.nodeid: entry.results for entry in baseline.tests} if baseline is not None else {}
    for entry in report.tests:
        olds = pair_results(entry.results, old_tests.get(entry.nodeid, []))
        for index, (result, old) in enumerate(zip(entry.results, olds)):
            measured += 1
            name = label(entry.nodeid, result, index, len(entry.results))
            out.append(f"### `{_cell(name)}`")
            out.append("")
            out.append(f"{result.workload}: era {result.era}, {result.backend}, {result.mode} mode, seed {result.seed}")
            out.append("")
            if result.targets:
                header = ["hook target", "calls", "mean us (interval)", "p99 us", "share", "verdict"]
                if old is not None:
                    header.append("change vs baseline")
                out.append("| " + " | ".join(header) + " |")
                out.append("| " + " | ".join(["---", "---:", "---:", "---:", "---:", "---", "---"][:len(header)]) + " |")
                old_targets = {stats.target: stats for stats in old.targets} if old is not None else {}
                for stats in result.targets:
                    judged = [_verdict_text(v) for v in result.verdicts if v.target == stats.target]
                    row = [f"`{_cell(stats.target)}`", str(stats.calls), _mean(stats), fmt(stats.p99_us),
                           f"{fmt(stats.share_pct)}%", _cell(", ".join(judged)) or "-"]
                    if old is not None:
                        row.append(_change(stats, old_targets.get(stats.target)))
                    out.append("| " + " | ".join(row) + " |")
                out.append("")
            figures = []
            if result.end_to_end is not None:
                e2e = result.end_to_end
                figures.append(f"end to end: overhead {fmt(e2e.overhead_pct)}% ({fmt_interval(e2e.interval)})"
                               + (f", was {fmt(old.end_to_end.overhead_pct)}%" if old is not None
                                  and old.end_to_end is not None else ""))
            if result.prompts is not None:
                figures.append(f"hooks: {fmt(result.prompts.share_pct)}% of prompt time over "
                               f"{result.prompts.prompts} prompts")
            if result.counts is not None:
                counts = result.counts
                figures.append(f"counts: +{fmt(counts.delta_per_prompt)} {counts.unit} per prompt "
                               f"(+{fmt(counts.delta_pct)}%, {counts.tool})")
            if result.retained is not None:
                kept = result.retained
                figures.append(f"memory: {fmt(kept.retained_kb_per_prompt)} KB retained per prompt"
                               + (" (leak: keeps growing)" if kept.leak else ""))
            out.extend(f"- {figure}" for figure in figures)
            if figures:
                out.append("")
            for verdict in result.verdicts:
                where = verdict.target or "whole prompt"
                verdicts.append(f"- **{verdict.outcome.upper()}** `{_cell(name)}` {where}: {verdict.message}")
    if not measured:
        out.append("Nothing was measured: no test recorded an overhead result.")
        return "\n".join(out) + "\n"
    out.extend(["### Verdicts", ""])
    out.extend(verdicts or ["No budget was judged in the tests."])
    out.append("")
    costs = hook_costs(report)
    if costs:
        out.extend(["### Mean cost per hook call", "", *_mermaid(costs), ""])
    return "\n".join(out)


def svg_chart(report: Report, *, width: int = 720) -> str:
    """The mean cost per hook call as a standalone horizontal bar chart (SVG 1.1, no scripts, no fonts
    beyond the generic family)."""
    costs = hook_costs(report)
    row, top, label_w, right = 26, 40, 300, 90
    height = top + max(len(costs), 1) * row + 20
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
             "<title>Mean cost per hook call (us)</title>",
             f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
             '<text x="10" y="22" font-size="14" font-weight="bold">Mean cost per hook call (us)</text>']
    if not costs:
        parts.append(f'<text x="10" y="{top + 16}">no hook calls measured</text>')
    biggest = max((cost.mean_us for cost in costs), default=0.0) or 1.0
    span = width - label_w - right
    for i, cost in enumerate(costs):
        y = top + i * row
        bar = max(cost.mean_us / biggest * span, 1.0)
        parts.append(f"<g><title>{escape(cost.target)}: {fmt(cost.mean_us)} us per call over {cost.calls} calls"
                     "</title>")
        parts.append(f'<text x="{label_w - 8}" y="{y + 16}" text-anchor="end">{escape(_short(cost.target))}</text>')
        parts.append(f'<rect x="{label_w}" y="{y + 4}" width="{bar:.1f}" height="{row - 8}" fill="#4878d0"/>')
        parts.append(f'<text x="{label_w + bar + 6:.1f}" y="{y + 16}">{escape(fmt(cost.mean_us))} us</text></g>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def _worst_verdicts(report: Report) -> Iterable[tuple[str, Verdict]]:
    order = {"fail": 0, "inconclusive": 1, "pass": 2}
    found = [(nodeid, verdict) for nodeid, result in report.results for verdict in result.verdicts]
    return sorted(found, key=lambda item: order[item[1].outcome])


def terminal_lines(report: Report, limit: int = 5) -> list[str]:
    """pytest's terminal section: the ``limit`` costliest hooks, the verdicts that did not pass, a tally."""
    costs = hook_costs(report)
    if not report.results:
        return ["comfyruntime overhead: nothing measured"]
    lines = []
    if costs:
        lines.append(f"costliest hooks (of {len(costs)}), mean per call:")
        for cost in costs[:limit]:
            tests = cost.tests[0] + (f" and {len(cost.tests) - 1} more" if len(cost.tests) > 1 else "")
            lines.append(f"  {fmt(cost.mean_us):>8} us  {fmt(cost.worst_share_pct):>6}% of prompt  {cost.target}  "
                         f"({cost.calls} calls; {tests})")
    tally = {"pass": 0, "fail": 0, "inconclusive": 0}
    shown = 0
    for nodeid, verdict in _worst_verdicts(report):
        tally[verdict.outcome] += 1
        if verdict.outcome != "pass" and shown < limit:
            shown += 1
            lines.append(f"  {verdict.outcome.upper()} {nodeid} {verdict.target or '(whole prompt)'}: {verdict.message}")
    if sum(tally.values()):
        lines.append(f"verdicts: {tally['pass']} pass, {tally['fail']} fail, {tally['inconclusive']} inconclusive")
    else:
        lines.append("verdicts: none (no budget was set in the tests)")
    return lines


__all__ = ["HookCost", "fmt", "fmt_interval", "fmt_limit", "hook_costs", "label", "markdown_summary", "svg_chart",
           "terminal_lines"]

"""Plain-text renderings of an :class:`~.models.OverheadResult`: the per-hook table and the
message a failed, skipped or inconclusive budget shows."""
from __future__ import annotations

from .models import OverheadResult


def hook_table(result: OverheadResult) -> list[str]:
    """One row per target: calls, mean, p50, p99, max (microseconds), share of prompt time."""
    if not result.targets:
        return ["  (no hook ran during the attribution prompts)"]
    width = max(len(t.target) for t in result.targets)
    rows = [f"  {'target'.ljust(width)}  {'calls':>6}  {'mean us':>9}  {'p50 us':>9}  {'p99 us':>9}  "
            f"{'max us':>9}  {'share':>7}"]
    for t in sorted(result.targets, key=lambda t: -t.total_us):
        rows.append(f"  {t.target.ljust(width)}  {t.calls:>6}  {t.mean_us:>9.2f}  {t.p50_us:>9.2f}  {t.p99_us:>9.2f}  "
                    f"{t.max_us:>9.2f}  {t.share_pct:>6.2f}%")
    return rows


def summary_lines(result: OverheadResult) -> list[str]:
    """The measurement in a few lines: workload, per-hook table, end to end, memory, counts, probe."""
    lines = [f"overhead of the hooks on workload {result.workload!r} ({result.backend}, era {result.era}, "
             f"mode {result.mode}, seed {result.seed}):"]
    lines += hook_table(result)
    if result.prompts is not None:
        p = result.prompts
        lines.append(f"  hooks: {p.hooks_us_per_prompt:.1f} us per prompt = {p.share_pct:.2f}% of a "
                     f"{p.median_us:.0f} us prompt ({p.prompts} attribution prompts)")
    for label, e2e in (("end to end", result.end_to_end), ("A/A noise", result.noise)):
        if e2e is not None:
            i = e2e.interval
            lines.append(f"  {label}{' (A/A)' if e2e.aa and label == 'end to end' else ''}: {e2e.overhead_pct:+.2f}% "
                         f"({i.confidence:.0%} interval {i.low:+.2f}% to {i.high:+.2f}%; on {e2e.on_median_us:.0f} us, "
                         f"off {e2e.off_median_us:.0f} us per prompt; {e2e.blocks} blocks x {e2e.runs_on // max(e2e.blocks, 1)} "
                         f"runs per arm x {e2e.prompts_per_run} prompts; {i.method})")
    if result.retained is not None:
        r = result.retained
        lines.append(f"  retained: {r.retained_kb_per_prompt:.3f} KB per prompt over {r.prompts} prompts"
                     + ("; LEAK (grows without levelling off)" if r.leak else "")
                     + ("; top: " + "; ".join(r.top[:3]) if r.top else ""))
    if result.counts is not None:
        c = result.counts
        lines.append(f"  counts ({c.tool}, {c.unit}): {c.on_per_prompt:.0f} hooked vs {c.off_per_prompt:.0f} unhooked "
                     f"per prompt, {c.delta_per_prompt:+.0f} ({c.delta_pct:+.3f}%)")
    if result.probe is not None:
        pr = result.probe
        lines.append(f"  probe ({pr.engine}): {pr.events} events, {pr.callback_ns:.0f} ns each (not charged), "
                     f"residual {pr.residual_ns:.0f} ns per interval subtracted")
    lines += [f"  note: {n}" for n in result.notes]
    return lines


def overhead_message(result: OverheadResult) -> str:
    """The verdicts first (what failed, what was inconclusive), then the measurement."""
    order = {"fail": 0, "inconclusive": 1, "pass": 2}
    outcome = result.outcome or "pass"
    head = {"fail": "overhead budget broken", "inconclusive": "overhead budget inconclusive",
            "pass": "overhead within budget"}[outcome]
    lines = [f"{head}:"]
    lines += [f"  - [{v.outcome}] {v.message}" for v in sorted(result.verdicts, key=lambda v: order[v.outcome])]
    return "\n".join(lines + summary_lines(result))


__all__ = ["hook_table", "overhead_message", "summary_lines"]

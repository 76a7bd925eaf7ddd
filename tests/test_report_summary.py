"""Human views of a report: the markdown summary (tables and the Mermaid chart), the SVG chart, and
pytest's terminal lines."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from pytest_comfyruntime.overhead.models import (
    Counts,
    EndToEnd,
    Interval,
    OverheadResult,
    PromptTiming,
    Retained,
    TargetStats,
    Verdict,
)
from pytest_comfyruntime.report.models import Environment, Report, TestEntry, make_report
from pytest_comfyruntime.report.summary import fmt, hook_costs, markdown_summary, svg_chart, terminal_lines

NODE = "tests/test_h.py::test_x"
GET = "execution.get_input_data"
EXECUTE = "execution.PromptExecutor.execute"
SVG = "{http://www.w3.org/2000/svg}"


def iv(low: float, high: float) -> Interval:
    return Interval(low=low, high=high, confidence=0.95, method="bootstrap percentile, 2000 resamples")


def stats(target: str = GET, mean: float = 14.1, *, calls: int = 400, share: float = 3.0) -> TargetStats:
    return TargetStats(target=target, hook="my_ext.hooks.wrapper", calls=calls, total_us=mean * calls, mean_us=mean,
                       p50_us=mean * 0.9, p99_us=mean * 2, max_us=mean * 3, mean_interval=iv(mean * 0.9, mean * 1.1),
                       share_pct=share)


def verdict(outcome: str, target: str | None = GET, key: str = "per_call_us", limit: float = 10.0) -> Verdict:
    return Verdict(key=key, target=target, limit=limit, value=14.1, interval=iv(13.2, 15.0), outcome=outcome,  # type: ignore[arg-type]
                   mode="wall", message=f"{key} {outcome}: 14.1 against {limit}")


def result(*targets: TargetStats, verdicts: tuple[Verdict, ...] = (), workload: str = "txt2img") -> OverheadResult:
    return OverheadResult(
        workload=workload, backend="mock", era="D", mode="wall", seed=0, targets=list(targets),
        prompts=PromptTiming(prompts=100, median_us=1000.0, hooks_us_per_prompt=40.0, share_pct=4.0),
        end_to_end=EndToEnd(method="ABBA blocks", blocks=8, runs_on=16, runs_off=16, prompts_per_run=10,
                            on_median_us=1040.0, off_median_us=1000.0, overhead_pct=4.0, interval=iv(3.1, 5.2)),
        counts=None, retained=Retained(prompts=50, files=["my_ext/"], retained_kb_per_prompt=2.0,
                                       checkpoints_kb=[1.0, 2.0], leak=False),
        verdicts=list(verdicts))


def env(machine: str = "a" * 64) -> Environment:
    return Environment(python_version="3.11.7", python_implementation="CPython", platform="Linux-6.5-x86_64",
                       plugin_version="0.1.0", era="D", backend="mock", machine=machine,
                       machine_info={"cpu": "AMD EPYC", "logical_cores": 16})


def report(*entries: TestEntry, machine: str = "a" * 64) -> Report:
    return make_report(env(machine), entries, created="2025-01-31T12:00:00+00:00")


def sample() -> Report:
    return report(
        TestEntry(nodeid=NODE, results=[result(stats(), stats(EXECUTE, 3.0, share=1.0),
                                               verdicts=(verdict("fail"), verdict("pass", None, "pct", 5)))]),
        TestEntry(nodeid="tests/test_h.py::test_y", results=[result(stats(GET, 6.1, calls=100),
                                                                    verdicts=(verdict("inconclusive"),))]))


def tables(text: str) -> list[list[list[str]]]:
    """Every markdown table as rows of cells (the separator row included), checking each row's shape."""
    found: list[list[list[str]]] = []
    current: list[list[str]] = []
    for line in [*text.splitlines(), ""]:
        if line.startswith("|"):
            assert line.endswith(" |"), line
            current.append([cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:-1]])
        elif current:
            found.append(current)
            current = []
    for table in found:
        assert {len(row) for row in table} == {len(table[0])}, table  # every row as wide as the header
        assert all(re.fullmatch(r":?-{3,}:?", cell) for cell in table[1]), table[1]
    return found


def mermaid_blocks(text: str) -> list[list[str]]:
    blocks, lines = [], text.splitlines()
    for i, line in enumerate(lines):
        if line == "```mermaid":
            end = lines.index("```", i + 1)  # ValueError: the block is never closed
            blocks.append(lines[i + 1:end])
    return blocks


def test_fmt_keeps_three_significant_digits_without_exponents() -> None:
    assert [fmt(v) for v in (1520.4, 14.14, 3.0, 0.04123, 0.0, -2.5)] == ["1520", "14.1", "3.00", "0.0412", "0",
                                                                          "-2.50"]


def test_the_markdown_has_a_header_a_table_per_measurement_and_the_verdicts() -> None:
    text = markdown_summary(sample())
    assert text.startswith("## comfyruntime overhead\n\nMeasured with CPython 3.11.7 on Linux-6.5-x86_64; ")
    first, second = tables(text)
    assert first[0] == ["hook target", "calls", "mean us (interval)", "p99 us", "share", "verdict"]
    assert first[2] == [f"`{GET}`", "400", "14.1 (12.7 to 15.5)", "28.2", "3.00%", "fail (per_call_us 10)"]
    assert first[3][0] == f"`{EXECUTE}`" and first[3][-1] == "-"
    assert second[2][-1] == "inconclusive (per_call_us 10)"
    assert "- end to end: overhead 4.00% (95% interval 3.10 to 5.20)" in text
    assert f"- **FAIL** `{NODE}` {GET}: per_call_us fail: 14.1 against 10.0" in text
    assert f"- **PASS** `{NODE}` whole prompt: pct pass: 14.1 against 5" in text


def test_the_mermaid_chart_is_a_well_formed_xychart() -> None:
    (block,) = mermaid_blocks(markdown_summary(sample()))
    assert block[0] == "xychart-beta"
    assert block[1] == '    title "Mean cost per hook call (us)"'
    x_axis = re.fullmatch(r'    x-axis \[(.*)\]', block[2])
    y_axis = re.fullmatch(r'    y-axis "us per call" 0 --> ([0-9.]+)', block[3])
    bars = re.fullmatch(r"    bar \[(.*)\]", block[4])
    assert x_axis and y_axis and bars and len(block) == 5
    labels = re.findall(r'"([^"]*)"', x_axis[1])
    values = [float(v) for v in bars[1].split(", ")]
    # per hook, calls-weighted over the report: get_input_data (400 x 14.1 + 100 x 6.1) / 500 = 12.5
    assert labels == [GET, EXECUTE] and values == [12.5, 3.0]
    assert float(y_axis[1]) >= max(values)


def test_labels_cannot_break_the_table_or_the_chart() -> None:
    odd = 'CacheProvider my|ext "quoted" Provider.on_lookup'
    text = markdown_summary(report(TestEntry(nodeid=NODE, results=[result(stats(odd, 2.0))])))
    (table,) = tables(text)
    assert table[2][0] == "`CacheProvider my\\|ext \"quoted\" Provider.on_lookup`"
    (block,) = mermaid_blocks(text)
    assert block[2] == "    x-axis [\"...er my|ext 'quoted' Provider.on_lookup\"]"  # quotes swapped, cut to 40


def test_a_baseline_adds_the_change_per_hook() -> None:
    old = report(TestEntry(nodeid=NODE, results=[result(stats(GET, 10.0, share=2.0))]))
    text = markdown_summary(sample(), baseline=old)
    first, second = tables(text)
    assert first[0][-1] == "change vs baseline"
    assert first[2][-1] == "mean +41.0%, share +1.00 pts"
    assert first[3][-1] == "new"  # not in the baseline
    assert len(second[0]) == 6  # test_y has no baseline measurement: no change column
    assert "Baseline created 2025-01-31T12:00:00+00:00, on the same machine." in text
    other = report(TestEntry(nodeid=NODE, results=[result(stats(GET, 10.0))]), machine="b" * 64)
    assert "on another machine (bbbbbbbbbbbb): wall-clock changes are advisory." in markdown_summary(sample(),
                                                                                                     baseline=other)


def test_an_empty_report_says_nothing_was_measured_and_draws_no_chart() -> None:
    text = markdown_summary(report())
    assert "Nothing was measured: no test recorded an overhead result." in text
    assert not mermaid_blocks(text) and not tables(text)


def test_the_svg_chart_parses_as_xml_with_a_bar_per_hook() -> None:
    odd = "CacheProvider <my_ext> & co"
    root = ET.fromstring(svg_chart(report(TestEntry(nodeid=NODE, results=[result(stats(), stats(odd, 3.0))]))))
    assert root.tag == f"{SVG}svg" and root.get("viewBox")
    groups = root.findall(f"{SVG}g")
    assert [g.find(f"{SVG}text").text for g in groups] == [GET, odd]  # type: ignore[union-attr]
    widths = [float(g.find(f"{SVG}rect").get("width")) for g in groups]  # type: ignore[union-attr,arg-type]
    assert widths[0] > widths[1] > 0
    assert abs(widths[1] / widths[0] - 3.0 / 14.1) < 0.01  # bars scale with the mean
    empty = ET.fromstring(svg_chart(report()))
    assert "no hook calls measured" in [t.text for t in empty.iter(f"{SVG}text")]


def test_terminal_lines_name_the_worst_hooks_and_what_did_not_pass() -> None:
    lines = terminal_lines(sample(), limit=1)
    assert lines[0] == "costliest hooks (of 2), mean per call:"
    assert lines[1].split() == ["12.5", "us", "3.00%", "of", "prompt", GET, "(500", "calls;", NODE, "and", "1",
                                "more)"]
    assert lines[2] == f"  FAIL {NODE} {GET}: per_call_us fail: 14.1 against 10.0"
    assert len(lines) == 4  # limit=1: one hook, one verdict, then the tally
    assert lines[3] == "verdicts: 1 pass, 1 fail, 1 inconclusive"
    assert terminal_lines(report()) == ["comfyruntime overhead: nothing measured"]


def test_counting_mode_results_stay_out_of_the_time_chart() -> None:
    counted = OverheadResult(workload="w", backend="mock", era="D", mode="count", seed=0, targets=[stats()],
                             counts=Counts(tool="sys.monitoring", unit="bytecode instructions", prompts=1,
                                           on_per_prompt=2.0, off_per_prompt=1.0, delta_per_prompt=1.0,
                                           delta_pct=100.0))
    assert hook_costs(report(TestEntry(nodeid=NODE, results=[counted]))) == []
    assert "- counts: +1.00 bytecode instructions per prompt (+100%, sys.monitoring)" in markdown_summary(
        report(TestEntry(nodeid=NODE, results=[counted])))

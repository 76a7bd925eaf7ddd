"""Budgets files and the release gate (``comfyruntime gate``): every exit path with its message."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_comfyruntime.cli import main
from pytest_comfyruntime.overhead.models import (
    Budget,
    Counts,
    EndToEnd,
    Interval,
    OverheadResult,
    PromptTiming,
    Retained,
    TargetStats,
)
from pytest_comfyruntime.report.budgets import BudgetError, budget_schema, load_budgets, parse_budgets
from pytest_comfyruntime.report.gate import GateOutcome, annotation, run_gate
from pytest_comfyruntime.report.models import Environment, Report, TestEntry, make_report, write_report

REPO = Path(__file__).resolve().parents[1]
NODE = "tests/test_h.py::test_x"
GET = "execution.get_input_data"
EXECUTE = "execution.PromptExecutor.execute"


# -- factories --------------------------------------------------------------------------------------

def iv(low: float, high: float) -> Interval:
    return Interval(low=low, high=high, confidence=0.95, method="bootstrap percentile, 2000 resamples")


def stats(target: str = GET, mean: float = 14.1, low: float | None = 13.2, high: float = 15.0, *, calls: int = 400,
          share: float = 3.0, instructions: float | None = None) -> TargetStats:
    return TargetStats(target=target, hook="my_ext.hooks.wrapper", calls=calls, total_us=mean * calls, mean_us=mean,
                       p50_us=mean * 0.9, p99_us=mean * 2, max_us=mean * 3,
                       mean_interval=iv(low, high) if low is not None else None, share_pct=share,
                       instructions_per_call=instructions)


def e2e(pct: float, low: float, high: float) -> EndToEnd:
    return EndToEnd(method="ABBA blocks", blocks=8, runs_on=16, runs_off=16, prompts_per_run=10,
                    on_median_us=1000 * (1 + pct / 100), off_median_us=1000.0, overhead_pct=pct, interval=iv(low, high))


def counts(delta: float = 5000.0, per_target: dict[str, float] | None = None) -> Counts:
    return Counts(tool="sys.monitoring", unit="bytecode instructions", prompts=10, on_per_prompt=105000.0,
                  off_per_prompt=100000.0, delta_per_prompt=delta, delta_pct=delta / 1000,
                  per_target=per_target if per_target is not None else {GET: 1200.0})


def retained(kb: float = 2.0, *, leak: bool = False) -> Retained:
    return Retained(prompts=50, files=["my_ext/"], retained_kb_per_prompt=kb, checkpoints_kb=[10.0, 20.0, 30.0],
                    leak=leak, top=["my_ext/cache.py:12: +28 KB"] if leak else [])


def result(*targets: TargetStats, mode: str = "wall", end_to_end: EndToEnd | None = None, count: Counts | None = None,
           kept: Retained | None = None, workload: str = "txt2img") -> OverheadResult:
    prompts = PromptTiming(prompts=100, median_us=1000.0, hooks_us_per_prompt=40.0, share_pct=4.0) if targets \
        else None
    return OverheadResult(workload=workload, backend="mock", era="D", mode=mode, seed=0, targets=list(targets),  # type: ignore[arg-type]
                          prompts=prompts, end_to_end=end_to_end, counts=count, retained=kept)


def env(machine: str = "a" * 64, cpu: str = "AMD EPYC", python: str = "3.11.7") -> Environment:
    return Environment(python_version=python, python_implementation="CPython", platform="Linux-6.5-x86_64",
                       plugin_version="0.1.0", era="D", backend="mock", machine=machine,
                       machine_info={"cpu": cpu, "arch": "x86_64", "logical_cores": 16})


def report_file(tmp_path: Path, *results: OverheadResult, name: str = "report.json", nodeid: str = NODE,
                environment: Environment | None = None) -> Path:
    report = make_report(environment or env(), [TestEntry(nodeid=nodeid, results=list(results))])
    return write_report(report, tmp_path / name)


def budget_file(tmp_path: Path, text: str, name: str = "budgets.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def gate(tmp_path: Path, report: Path, budget: str | Path, **kwargs: object) -> GateOutcome:
    budget_path = budget if isinstance(budget, Path) else budget_file(tmp_path, budget)
    kwargs.setdefault("github_actions", False)
    return run_gate(report, budget_path, **kwargs)  # type: ignore[arg-type]


# -- budgets files ----------------------------------------------------------------------------------

def test_the_bundled_example_parses_and_resolves_overrides() -> None:
    budgets = load_budgets(REPO / "fixtures" / "budgets.toml")
    assert budgets.defaults == Budget(pct=5, per_call_us=50, retained_kb_per_prompt=64)
    # a test table over a target table over [defaults], key by key; parameter ids stripped
    assert budgets.for_target("tests/test_perf.py::test_txt2img[mock-D]", GET) == Budget(per_call_us=25,
                                                                                         instructions=2000)
    assert budgets.for_target("tests/test_other.py::test_y", GET) == Budget(per_call_us=10, instructions=2000)
    assert budgets.for_target("tests/test_other.py::test_y", EXECUTE) == Budget(pct=3, per_call_us=50)
    assert budgets.for_test("tests/test_perf.py::test_big_batch") == Budget(pct=5, per_call_us=50,
                                                                            retained_kb_per_prompt=256)
    assert budgets.for_test("tests/test_perf.py::test_txt2img") == Budget(pct=2, per_call_us=25,
                                                                          retained_kb_per_prompt=64)


def test_a_file_table_covers_its_tests_and_the_more_specific_table_wins() -> None:
    budgets = parse_budgets('[tests."tests/t.py"]\npct = 4\nper_call_us = 9\n'
                            '[tests."tests/t.py::TestC::test_y"]\npct = 1\n')
    assert budgets.for_test("tests/t.py::TestC::test_y[a-b]") == Budget(pct=1, per_call_us=9)
    assert budgets.for_test("tests/t.py::test_z") == Budget(pct=4, per_call_us=9)
    assert budgets.for_test("tests/u.py::test_z") == Budget()
    assert not budgets.empty and parse_budgets("[defaults]\n").empty


@pytest.mark.parametrize("text, expected", [
    ("[defaults]\npct = 5\nper_call_us = \n", "budgets.toml: line 3, column "),
    ("[default]\npct = 5\n", "budgets.toml: default: unknown table; fix: did you mean defaults?"),
    ("[defaults]\nper_call_ms = 5\n", "budgets.toml: defaults.per_call_ms: unknown key; fix: did you mean per_call_us?"),
    ('[targets."execution.get_input_data"]\ninstruction = 5\n',
     'budgets.toml: targets."execution.get_input_data".instruction: unknown key; fix: did you mean instructions?'),
    ("[defaults]\npct = 0\n", "budgets.toml: defaults.pct: 0 is not a positive number; fix: write a positive limit"),
    ('[tests."t.py::t"]\nper_call_us = -3.5\n', 'budgets.toml: tests."t.py::t".per_call_us: -3.5 is not a positive'),
    ("[defaults]\npct = nan\n", "budgets.toml: defaults.pct: nan is not a positive number"),
    ('[defaults]\npct = "5"\n', 'budgets.toml: defaults.pct: "5" is a string, not a number; fix: write a positive '
                                "number without quotes, e.g. pct = 10"),
    ("[defaults]\npct = true\n", "budgets.toml: defaults.pct: true is a boolean, not a number"),
    ("pct = 5\n", "budgets.toml: pct: a budget key outside any table; fix: put it under [defaults]"),
    ("[targets.execution.get_input_data]\npct = 1\n", "budgets.toml: targets.execution.get_input_data: a nested "
     'table, so the hook target name was split at a dot; fix: quote the whole name, e.g. '
     '[targets."execution.get_input_data"]'),
    ('[targets."x"]\nretained_kb_per_prompt = 1\n', 'budgets.toml: targets.x.retained_kb_per_prompt: retained memory '
     "is measured for the whole extension, not per hook target; fix: move it to [defaults]"),
    ("targets = 3\n", "budgets.toml: targets: an integer, not a table"),
    ("defaults = [1]\n", "budgets.toml: defaults: an array, not a table"),
    ('[tests]\n"a::b" = 3\n', 'budgets.toml: tests."a::b": an integer, not a table'),
])
def test_every_budget_error_is_one_line_naming_file_field_and_fix(text: str, expected: str) -> None:
    with pytest.raises(BudgetError) as exc:
        parse_budgets(text, "budgets.toml")
    message = str(exc.value)
    assert message.startswith(expected), message
    assert "\n" not in message and "; fix: " in message


def test_a_missing_budgets_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BudgetError, match=r"nope\.toml: file: no such file; fix: check the path"):
        load_budgets(tmp_path / "nope.toml")


def test_the_budget_schema_describes_the_three_tables() -> None:
    schema = budget_schema()
    assert set(schema["properties"]) == {"defaults", "targets", "tests"}
    assert schema["additionalProperties"] is False
    budget = schema["$defs"]["Budget"]
    assert set(budget["properties"]) == {"pct", "per_call_us", "instructions", "retained_kb_per_prompt"}
    assert budget["additionalProperties"] is False
    json.dumps(schema)


# -- exit 0 and 1: budgets --------------------------------------------------------------------------

def test_exit_0_when_every_budget_holds(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats(mean=8.1, low=7.2, high=9.0), end_to_end=e2e(2.0, 1.5, 2.6),
                                          kept=retained(2.0)))
    outcome = gate(tmp_path, report, "[defaults]\nper_call_us = 10\npct = 5\nretained_kb_per_prompt = 4\n")
    assert outcome.exit_code == 0, outcome.lines
    assert f"PASS {NODE} {GET}: 8.10 us per call (95% interval 7.20 to 9.00) within budget 10 us" in outcome.lines
    assert (f"PASS {NODE} (whole prompt): overhead 2.00% of prompt time (95% interval 1.50 to 2.60) within budget 5%"
            in outcome.lines)
    assert f"PASS {NODE} (whole prompt): 2.00 KB retained per prompt (exact) within budget 4 KB" in outcome.lines
    assert outcome.lines[-2] == "comfyruntime gate: 3 budget verdicts (3 pass, 0 fail, 0 inconclusive)"
    assert outcome.lines[-1] == "exit 0 (pass)"
    assert not any(line.startswith("::") for line in outcome.lines)


def test_exit_1_names_test_target_figure_and_limit(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats(), stats(EXECUTE, 3.0, 2.5, 3.5)))
    outcome = gate(tmp_path, report, f'[defaults]\nper_call_us = 10\n[targets."{EXECUTE}"]\nper_call_us = 2\n')
    assert outcome.exit_code == 1
    assert f"FAIL {NODE} {GET}: 14.1 us per call (95% interval 13.2 to 15.0) over budget 10 us" in outcome.lines
    assert f"FAIL {NODE} {EXECUTE}: 3.00 us per call (95% interval 2.50 to 3.50) over budget 2 us" in outcome.lines
    assert outcome.lines[-1] == "exit 1 (fail)"


def test_a_target_override_rescues_a_target_and_a_test_override_wins_over_it(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats()))
    lenient = f'[defaults]\nper_call_us = 10\n[targets."{GET}"]\nper_call_us = 20\n'
    assert gate(tmp_path, report, lenient).exit_code == 0
    strict = lenient + f'[tests."{NODE}"]\nper_call_us = 12\n'
    assert gate(tmp_path, report, strict).exit_code == 1


def test_instructions_retained_memory_and_a_leak_are_exact(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(mode="count", count=counts(per_target={GET: 1520.0}), kept=retained(3.0)))
    outcome = gate(tmp_path, report, "[defaults]\ninstructions = 1000\nretained_kb_per_prompt = 4\npct = 10\n")
    assert outcome.exit_code == 1
    assert f"FAIL {NODE} {GET}: 1520 bytecode instructions per call (exact) over budget 1000" in outcome.lines
    assert (f"PASS {NODE} (whole prompt): overhead 5.00% of the prompt's bytecode instructions (exact) within "
            "budget 10%") in outcome.lines
    leaking = report_file(tmp_path, result(kept=retained(0.5, leak=True)), name="leak.json")
    outcome = gate(tmp_path, leaking, "[defaults]\nretained_kb_per_prompt = 4\n")
    assert outcome.exit_code == 1
    assert outcome.lines[0] == (f"FAIL {NODE} (whole prompt): leak: retained memory keeps growing over 50 prompts "
                                "(checkpoints 10.0, 20.0, 30.0 KB); grew most: my_ext/cache.py:12: +28 KB")


def test_without_an_end_to_end_run_pct_is_judged_on_the_attribution_share(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats(mean=1.0, low=0.9, high=1.1)))
    outcome = gate(tmp_path, report, "[defaults]\npct = 3\n")
    assert outcome.exit_code == 1
    assert (f"FAIL {NODE} (whole prompt): hooks 4.00% of prompt time (attribution share, a point estimate with no "
            "interval) over budget 3%") in outcome.lines


def test_a_target_pct_is_its_share_with_an_interval_scaled_from_the_mean(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats(EXECUTE, 3.0, 2.5, 3.5, share=1.0)))
    outcome = gate(tmp_path, report, f'[targets."{EXECUTE}"]\npct = 0.5\n')
    assert outcome.exit_code == 1
    assert (f"FAIL {NODE} {EXECUTE}: 1.00% of prompt time (95% interval 0.833 to 1.17) over budget 0.5%"
            in outcome.lines)


def test_mixed_pass_and_inconclusive_passes_with_a_warning(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats(mean=9.8, low=8.9, high=10.7), stats(EXECUTE, 3.0, 2.5, 3.5)))
    outcome = gate(tmp_path, report, "[defaults]\nper_call_us = 10\n", github_actions=True)
    assert outcome.exit_code == 0
    inconclusive = (f"INCONCLUSIVE {NODE} {GET}: 9.80 us per call (95% interval 8.90 to 10.7) straddles budget 10 us; "
                    "fix: measure more prompts to narrow the interval (or use counting mode)")
    assert inconclusive in outcome.lines
    assert outcome.lines[outcome.lines.index(inconclusive) + 1].startswith(
        "::warning file=tests/test_h.py,title=comfyruntime budget inconclusive::INCONCLUSIVE ")


# -- exit 1: regressions against a baseline ---------------------------------------------------------

def test_exit_1_for_an_instruction_count_regression(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(mode="count", count=counts(per_target={GET: 1200.0})), name="old.json",
                      environment=env(machine="b" * 64, cpu="Intel Xeon"))  # counts compare across machines
    new = report_file(tmp_path, result(mode="count", count=counts(per_target={GET: 1520.0})))
    outcome = gate(tmp_path, new, "[defaults]\n", baseline_path=old)
    assert outcome.exit_code == 1, outcome.lines
    assert (f"REGRESSION {NODE} {GET}: 1520 bytecode instructions per call, was 1200 (+26.7%, allowed +0%)"
            in outcome.lines)
    assert f"OK {NODE} (whole prompt): 5000 bytecode instructions per prompt, was 5000 (+0.0%, allowed +0%)" \
        in outcome.lines
    assert gate(tmp_path, new, "[defaults]\n", baseline_path=old, max_regression_pct=30).exit_code == 0


def test_bytecode_counts_of_another_python_are_advisory(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(mode="count", count=counts(per_target={GET: 1200.0})), name="old.json",
                      environment=env(python="3.12.1"))
    new = report_file(tmp_path, result(mode="count", count=counts(per_target={GET: 1520.0})))
    outcome = gate(tmp_path, new, "[defaults]\ninstructions = 2000\n", baseline_path=old)
    assert outcome.exit_code == 0, outcome.lines
    assert any(line.startswith(f"ADVISORY {NODE} {GET}: 1520 bytecode instructions per call, was 1200") and
               line.endswith("(advisory: Python 3.12.1 -> 3.11.7)") for line in outcome.lines)


def test_exit_1_for_a_wall_clock_regression_beyond_the_noise(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(end_to_end=e2e(5.1, 4.0, 6.2)), name="old.json")
    new = report_file(tmp_path, result(end_to_end=e2e(12.3, 11.0, 13.5)))
    outcome = gate(tmp_path, new, "[defaults]\n", baseline_path=old, github_actions=True)
    assert outcome.exit_code == 1
    line = (f"REGRESSION {NODE} (whole prompt): overhead 12.3% (95% interval 11.0 to 13.5), was 5.10% (95% interval "
            "4.00 to 6.20): +7.20 points, beyond the noise: low 11.0 > old high 6.20 + 0 allowed")
    assert line in outcome.lines
    assert outcome.lines[outcome.lines.index(line) + 1].startswith(
        "::error file=tests/test_h.py,title=comfyruntime regression::REGRESSION ")
    assert gate(tmp_path, new, "[defaults]\n", baseline_path=old, max_regression_pct=5).exit_code == 0


def test_a_rise_within_the_noise_is_no_regression(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(stats(share=3.0), end_to_end=e2e(5.1, 4.0, 6.2)), name="old.json")
    new = report_file(tmp_path, result(stats(share=3.2), end_to_end=e2e(5.8, 4.6, 7.0)))
    outcome = gate(tmp_path, new, "[defaults]\n", baseline_path=old)
    assert outcome.exit_code == 0, outcome.lines
    assert any(line.startswith(f"OK {NODE} (whole prompt): overhead 5.80%") and line.endswith("within the noise")
               for line in outcome.lines)
    assert any(line.startswith(f"OK {NODE} {GET}: share of prompt time 3.20%") for line in outcome.lines)


def test_a_target_share_regression_is_judged_on_scaled_intervals(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(stats(mean=5.0, low=4.8, high=5.2, share=1.0)), name="old.json")
    new = report_file(tmp_path, result(stats(mean=10.0, low=9.6, high=10.4, share=2.0)))
    outcome = gate(tmp_path, new, "[defaults]\n", baseline_path=old)
    assert outcome.exit_code == 1
    assert (f"REGRESSION {NODE} {GET}: share of prompt time 2.00% (95% interval 1.92 to 2.08), was 1.00% (95% "
            "interval 0.96 to 1.04): +1.00 points, beyond the noise: low 1.92 > old high 1.04 + 0 allowed"
            in outcome.lines)


def test_another_machine_makes_a_wall_clock_comparison_advisory(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(stats(), end_to_end=e2e(5.1, 4.0, 6.2)), name="old.json",
                      environment=env(machine="b" * 64, cpu="Intel Xeon"))
    new = report_file(tmp_path, result(stats(), end_to_end=e2e(12.3, 11.0, 13.5)))
    outcome = gate(tmp_path, new, "[defaults]\npct = 20\n", baseline_path=old, github_actions=True)
    assert outcome.exit_code == 0, outcome.lines
    warning = (f"WARNING wall-clock comparisons with {old} are advisory: it was measured on another machine "
               "(cpu 'Intel Xeon' -> 'AMD EPYC')")
    assert warning in outcome.lines
    assert any(line.startswith(f"ADVISORY {NODE} (whole prompt): overhead 12.3%") and
               line.endswith("(advisory: measured on another machine)") for line in outcome.lines)
    assert any(line.startswith("::warning title=comfyruntime gate::WARNING wall-clock comparisons")
               for line in outcome.lines)
    assert not any(line.startswith(("REGRESSION", "::error")) for line in outcome.lines)


def test_only_advisory_comparisons_and_no_budget_judge_nothing(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(end_to_end=e2e(5.1, 4.0, 6.2)), name="old.json",
                      environment=env(machine="b" * 64, cpu="Intel Xeon"))
    new = report_file(tmp_path, result(end_to_end=e2e(5.0, 4.0, 6.0)))
    outcome = gate(tmp_path, new, "[defaults]\n", baseline_path=old)
    assert outcome.exit_code == 3
    assert outcome.lines[-2] == (f"ERROR every comparison with {old} is advisory (1) and no budget applies; fix: "
                                 "compare with a baseline measured on this machine and Python, or set budgets")


def test_tests_missing_on_either_side_are_noted(tmp_path: Path) -> None:
    old = report_file(tmp_path, result(end_to_end=e2e(5.1, 4.0, 6.2)), name="old.json", nodeid="tests/t.py::gone")
    new = report_file(tmp_path, result(end_to_end=e2e(5.1, 4.0, 6.2)))
    outcome = gate(tmp_path, new, "[defaults]\npct = 10\n", baseline_path=old)
    assert outcome.exit_code == 0
    assert f"NOTE {NODE}: no baseline measurement to compare with" in outcome.lines
    assert "NOTE tests/t.py::gone: in the baseline, not measured in this report (renamed or removed?)" in outcome.lines


# -- exit 2: bad input ------------------------------------------------------------------------------

def _bad_report(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("case, expected", [
    ("missing report", r"ERROR {tmp}/nope\.json: file: no such file; fix: "),
    ("bad JSON", r"ERROR {tmp}/bad\.json: line 1 column 2: invalid JSON \(.*\); fix: "),
    ("newer schema", r"ERROR {tmp}/bad\.json: schema_version: report of schema version 2; this comfyruntime reads "
                     r"version 1; fix: upgrade pytest-comfyruntime"),
    ("bad field", r"ERROR {tmp}/bad\.json: tests\[0\]\.results\[0\]\.mode: .*; fix: "),
    ("missing budgets", r"ERROR {tmp}/nope\.toml: file: no such file; fix: "),
    ("malformed TOML", r"ERROR {tmp}/budgets\.toml: line 1, column \d+: invalid TOML \(.*\); fix: "),
    ("unknown key", r"ERROR {tmp}/budgets\.toml: defaults\.pcent: unknown key; fix: did you mean pct\?"),
    ("bad baseline", r"ERROR {tmp}/bad\.json: line 1 column 2: invalid JSON \(.*\); fix: .* \(the baseline\)"),
    ("negative allowance", r"ERROR --max-regression: -1\.0 is not a percentage >= 0; fix: "),
])
def test_exit_2_for_each_bad_input_names_file_field_and_fix(tmp_path: Path, case: str, expected: str) -> None:
    good = report_file(tmp_path, result(stats()))
    report, budget = good, budget_file(tmp_path, "[defaults]\nper_call_us = 20\n")
    kwargs: dict[str, object] = {}
    if case == "missing report":
        report = tmp_path / "nope.json"
    elif case == "bad JSON":
        report = _bad_report(tmp_path, "{nope")
    elif case == "newer schema":
        data = json.loads(good.read_text())
        report = _bad_report(tmp_path, json.dumps({**data, "schema_version": 2}))
    elif case == "bad field":
        data = json.loads(good.read_text())
        data["tests"][0]["results"][0]["mode"] = "stopwatch"
        report = _bad_report(tmp_path, json.dumps(data))
    elif case == "missing budgets":
        budget = tmp_path / "nope.toml"
    elif case == "malformed TOML":
        budget = budget_file(tmp_path, "[defaults\npct = 5\n")
    elif case == "unknown key":
        budget = budget_file(tmp_path, "[defaults]\npcent = 5\n")
    elif case == "bad baseline":
        kwargs = {"baseline_path": _bad_report(tmp_path, "{nope")}
    elif case == "negative allowance":
        kwargs = {"max_regression_pct": -1.0}
    outcome = run_gate(report, budget, github_actions=False, **kwargs)  # type: ignore[arg-type]
    assert outcome.exit_code == 2
    assert outcome.lines[-1] == "exit 2 (bad input)"
    errors = [line for line in outcome.lines if line.startswith("ERROR")]
    assert len(errors) == 1, outcome.lines
    assert re.match(expected.format(tmp=re.escape(str(tmp_path))), errors[0]), errors[0]
    assert len(errors[0].split("; fix: ", 1)[1]) > 10, errors[0]


def test_every_bad_input_is_reported_at_once_with_error_annotations(tmp_path: Path) -> None:
    outcome = run_gate(tmp_path / "r.json", tmp_path / "b.toml", github_actions=True)
    assert outcome.exit_code == 2
    assert [line.split(": file:")[0] for line in outcome.lines if line.startswith("ERROR")] == [
        f"ERROR {tmp_path}/r.json", f"ERROR {tmp_path}/b.toml"]
    assert f"::error file={tmp_path}/r.json,title=comfyruntime gate::ERROR {tmp_path}/r.json: file: no such file; " \
           "fix: check the path, or run the tests with the report enabled to write it" in outcome.lines


# -- exit 3: nothing to judge -----------------------------------------------------------------------

def test_exit_3_when_the_report_measured_nothing(tmp_path: Path) -> None:
    empty = write_report(make_report(env(), []), tmp_path / "empty.json")
    outcome = gate(tmp_path, empty, "[defaults]\npct = 5\n", github_actions=True)
    assert outcome.exit_code == 3
    assert outcome.lines[0] == (f"ERROR {empty}: tests: the report measured nothing (0 tests, no overhead result); "
                                "fix: run the tests that measure overhead with the report enabled")
    assert outcome.lines[1].startswith(f"::error file={empty},title=comfyruntime gate::ERROR ")
    assert outcome.lines[-1] == "exit 3 (nothing to judge)"
    no_results = write_report(make_report(env(), [TestEntry(nodeid=NODE, results=[])]), tmp_path / "none.json")
    assert gate(tmp_path, no_results, "[defaults]\npct = 5\n").exit_code == 3


def test_exit_3_when_every_verdict_is_inconclusive(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats(mean=9.8, low=8.9, high=10.7), stats(EXECUTE, 5.0, None, 0,
                                                                                      calls=1)))
    outcome = gate(tmp_path, report, "[defaults]\nper_call_us = 10\n")
    assert outcome.exit_code == 3
    assert (f"INCONCLUSIVE {NODE} {EXECUTE}: 5.00 us per call (1 call, no interval) straddles budget 10 us; fix: "
            "measure more prompts to narrow the interval (or use counting mode)") in outcome.lines
    assert outcome.lines[-2] == ("ERROR every verdict is inconclusive (2): the intervals straddle the budgets; fix: "
                                 "measure more prompts, or judge instruction counts (counting mode)")


def test_exit_3_when_no_budget_applies_to_any_figure(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats()))  # wall-clock only; the budget limits instructions
    outcome = gate(tmp_path, report, "[defaults]\ninstructions = 100\n")
    assert outcome.exit_code == 3
    assert outcome.lines[-2].startswith(f"ERROR nothing to judge: no figure of {report} has a budget in ")
    assert "(the report has: attribution share (pct), per-call times (per_call_us))" in outcome.lines[-2]


def test_exit_3_for_a_budgets_file_that_sets_no_limit(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats()))
    budget = budget_file(tmp_path, "# nothing yet\n[defaults]\n")
    outcome = gate(tmp_path, report, budget)
    assert outcome.exit_code == 3
    assert outcome.lines[-2] == (f"ERROR {budget}: (every table): sets no limit, so nothing was judged; fix: set at "
                                 "least one key in [defaults], e.g. pct = 5")


# -- annotations and the command line ---------------------------------------------------------------

def test_annotations_escape_what_github_would_misread() -> None:
    assert annotation("error", "5% over\nbudget", title="a: b, c", file="tests/t,x.py") == \
        "::error file=tests/t%2Cx.py,title=a%3A b%2C c::5%25 over%0Abudget"


def test_the_command_prints_errors_on_stderr_and_annotations_under_github_actions(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    report = report_file(tmp_path, result(stats()))
    budget = budget_file(tmp_path, "[defaults]\nper_call_us = 10\n")
    monkeypatch.setenv("GITHUB_ACTIONS", "true")
    assert main(["gate", str(report), "--budget", str(budget)]) == 1
    out = capsys.readouterr().out
    assert f"::error file=tests/test_h.py,title=comfyruntime budget::FAIL {NODE} {GET}: 14.1 us per call (95%25 " \
           "interval 13.2 to 15.0) over budget 10 us\n" in out
    monkeypatch.setenv("GITHUB_ACTIONS", "false")
    assert main(["gate", str(tmp_path / "nope.json"), "--budget", str(budget)]) == 2
    captured = capsys.readouterr()
    assert "nope.json: file: no such file" in captured.err and "::" not in captured.out + captured.err


def test_the_command_line_rejects_bad_usage_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    for argv in (["gate", "r.json"], ["gate", "r.json", "--budget", "b.toml", "--max-regression", "-2"],
                 ["gate", "r.json", "--budget", "b.toml", "--max-regression", "lots"], ["schema", "nodes"]):
        with pytest.raises(SystemExit) as exc:
            main(argv)
        assert exc.value.code == 2, argv
    assert "'lots' is not a number; fix: pass a percentage such as 2" in capsys.readouterr().err


def test_schema_prints_each_schema_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "budget"]) == 0
    assert set(json.loads(capsys.readouterr().out)["properties"]) == {"defaults", "targets", "tests"}
    assert main(["schema", "report"]) == 0
    assert "environment" in json.loads(capsys.readouterr().out)["properties"]


def test_the_gate_imports_neither_pytest_nor_torch(tmp_path: Path) -> None:
    report = report_file(tmp_path, result(stats(mean=8.1, low=7.2, high=9.0)))
    budget = budget_file(tmp_path, "[defaults]\nper_call_us = 10\n")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "pytest_comfyruntime.cli", "gate", str(report),
                           "--budget", str(budget)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr[-3000:]
    assert f"PASS {NODE} {GET}" in proc.stdout  # the gate ran
    imported = {line.rsplit("|", 1)[1].strip() for line in proc.stderr.splitlines() if line.startswith("import time:")}
    assert "pytest_comfyruntime.report.gate" in imported  # the parsing below sees the modules
    heavy = sorted(name for name in imported if name.split(".")[0] in {"pytest", "_pytest", "torch", "numpy", "PIL"})
    assert not heavy, heavy


def test_a_report_read_back_is_judged_the_same_as_built(tmp_path: Path) -> None:
    built = make_report(env(), [TestEntry(nodeid=NODE, results=[result(stats())])])
    path = write_report(built, tmp_path / "r.json")
    assert Report.model_validate_json(path.read_text()) == built
    assert gate(tmp_path, path, "[defaults]\nper_call_us = 10\n").exit_code == 1

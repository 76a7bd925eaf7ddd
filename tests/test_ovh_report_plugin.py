"""The overhead report as a suite writes it: the file, the chart, the summaries, the
environment hooks, and the xdist merge (a run with ``-n 2`` gives the report a run without does)."""
from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

from pytest_comfyruntime.report.models import load_report

HOOKS = '''
_orig = {}


def enable(execution):
    original = _orig["gid"] = execution.get_input_data

    def get_input_data(*args, **kwargs):
        return original(*args, **kwargs)
    execution.get_input_data = get_input_data
    return True


def disable(execution):
    execution.get_input_data = _orig.pop("gid")
'''

TESTS = '''
import pytest


@pytest.mark.parametrize("n", range(3))
def test_measured(n, comfyruntime):
    comfyruntime.measure_overhead("trivial", attribution_prompts=2 + n, blocks=6)


@pytest.mark.overhead_budget(per_call_us=100_000, workload="trivial")
def test_marked():
    pass


def test_not_measured(comfy_executor):
    pass
'''

CONFTEST = '''
def pytest_comfyruntime_update_environment(config, extra):
    extra["runner"] = "bench-1"
'''


@pytest.fixture
def suite(pytester):
    pytester.makepyfile(myhooks=HOOKS, test_suite=TESTS)
    pytester.makeconftest(CONFTEST)
    pytester.makepyprojecttoml(textwrap.dedent('''
        [tool.pytest.ini_options]
        comfyruntime_hooks = ["myhooks:enable"]
        comfyruntime_unhooks = ["myhooks:disable"]
    '''))
    return pytester


def _shape(path):
    """What must not depend on xdist: tests, their results' workloads and targets, call counts,
    verdict outcomes, and the environment (minus the creation time)."""
    report = load_report(path)
    tests = {t.nodeid: [(r.workload, [(x.target, x.calls) for x in r.targets], [v.outcome for v in r.verdicts])
                        for r in t.results] for t in report.tests}
    env = report.environment.model_dump()
    return tests, env


def test_the_report_summary_and_chart(suite, monkeypatch):
    step = suite.path / "step_summary.md"
    step.write_text("# earlier step\n")
    monkeypatch.setenv("GITHUB_STEP_SUMMARY", str(step))
    result = suite.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "A", "--comfyruntime-report",
                             "out/report.json")
    result.assert_outcomes(passed=5)
    result.stdout.fnmatch_lines(["*comfyruntime overhead*", "*execution.get_input_data*",
                                 "report: *out/report.json (chart: report.svg)"])
    report = load_report(suite.path / "out" / "report.json")
    assert [t.nodeid for t in report.tests] == sorted(
        ["test_suite.py::test_marked", *(f"test_suite.py::test_measured[{n}]" for n in range(3))])
    measured = {t.nodeid: t.results[0] for t in report.tests}
    assert [measured[f"test_suite.py::test_measured[{n}]"].targets[0].calls for n in range(3)] == [8, 12, 16]
    marked = measured["test_suite.py::test_marked"]
    assert [(v.key, v.outcome) for v in marked.verdicts] == [("per_call_us", "pass")]
    assert report.environment.extra == {"runner": "bench-1"}
    assert report.environment.era == "A" and report.environment.backend == "mock"
    raw = json.loads((suite.path / "out" / "report.json").read_text())
    assert raw["schema_version"] == 1
    ET.fromstring((suite.path / "out" / "report.svg").read_text())  # well-formed SVG
    text = step.read_text()
    assert text.startswith("# earlier step\n")  # appended, as GitHub collects every step's summary
    assert "```mermaid" in text and "| execution.get_input_data |" in text.replace("`", "")


def test_summary_to_a_path_and_nothing_written_without_measurements(suite, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    suite.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "A", "--comfyruntime-summary", "sum.md",
                    "-k", "measured and 0").assert_outcomes(passed=1)
    assert "execution.get_input_data" in (suite.path / "sum.md").read_text()
    result = suite.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "A", "-k", "not_measured")
    result.assert_outcomes(passed=1)
    assert "comfyruntime overhead" not in result.stdout.str()
    # asked for a report but nothing measured: an empty report (the gate then says "nothing to judge")
    suite.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "A", "-k", "not_measured",
                    "--comfyruntime-report", "empty.json").assert_outcomes(passed=1)
    assert load_report(suite.path / "empty.json").tests == []


def test_an_xdist_run_gives_the_report_a_run_without_xdist_gives(suite, monkeypatch):
    monkeypatch.delenv("GITHUB_STEP_SUMMARY", raising=False)
    suite.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "A",
                    "--comfyruntime-report", "single.json").assert_outcomes(passed=5)
    suite.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "A", "-n", "2",
                    "--comfyruntime-report", "xdist.json").assert_outcomes(passed=5)
    assert _shape(suite.path / "xdist.json") == _shape(suite.path / "single.json")

"""The battery's items are tests like any other: ids that can be pasted back, collected only when
the whole suite runs or they are named, selected by ``-k``/``-m``/``--deselect`` and counted right.

The battery hangs under the configuration file (here the pytester's ``tox.ini``):
``tox.ini::good_hooks::idempotent`` (``...::idempotent[mock-A]`` with several backends).
"""
from __future__ import annotations

import re

import pytest

CHECKS = ["hooks_active", "off_by_default", "conflict_detection", "exception_auto_disables",
          "teardown_restores_originals", "idempotent", "no_crosstalk", "never_mutates_prompt"]
BATTERY = [f"tox.ini::good_hooks::{check}" for check in CHECKS]
PLAIN = ["test_plain.py::test_one", "test_plain.py::test_two"]


@pytest.fixture
def project(pytester: pytest.Pytester, planted) -> pytest.Pytester:
    """A project with two plain tests and the battery on good_hooks in its ini file."""
    planted("good_hooks")
    pytester.makeini("[pytest]\ncomfyruntime_conformance = good_hooks:threads=2,repeats=5\n")
    pytester.makepyfile(test_plain="def test_one():\n    pass\n\n\ndef test_two():\n    pass\n")
    return pytester


def run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest("-p", "no:cacheprovider", *args)


def collected(pytester: pytest.Pytester, *args: str) -> list[str]:
    """The ids ``--co -q`` prints, in order."""
    result = run(pytester, "--co", "-q", *args)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str() + result.stderr.str()
    return [line for line in result.stdout.lines if "::" in line]


# -- ids: printed once, pasted back, exactly that item runs ------------------------------------
def test_an_id_printed_by_collect_only_runs_exactly_that_check(project: pytest.Pytester) -> None:
    assert collected(project) == PLAIN + BATTERY
    result = run(project, "-v", "tox.ini::good_hooks::idempotent")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["tox.ini::good_hooks::idempotent PASSED*", "*= 1 passed in *"])


def test_an_id_pasted_from_the_failure_summary_reruns_that_check(pytester: pytest.Pytester, planted) -> None:
    planted("planted_mutate")
    pytester.makeini("[pytest]\ncomfyruntime_conformance = planted_mutate:threads=2,repeats=5\n")
    first = run(pytester)
    first.assert_outcomes(passed=7, failed=1)
    failed = [m[1] for line in first.stdout.lines if (m := re.match(r"FAILED (\S+) - ", line))]
    assert failed == ["tox.ini::planted_mutate::never_mutates_prompt"], first.stdout.str()
    again = run(pytester, "-v", failed[0])
    again.assert_outcomes(failed=1)
    again.stdout.fnmatch_lines([f"{failed[0]} FAILED*", "planted_mutate breaks the principle \"hooks never mutate*"])


def test_the_collectors_ids_select_their_items(project: pytest.Pytester) -> None:
    assert collected(project, "tox.ini") == BATTERY
    assert collected(project, "tox.ini::good_hooks") == BATTERY
    assert collected(project, "test_plain.py::test_two", "tox.ini::good_hooks::no_crosstalk") == [
        "test_plain.py::test_two", "tox.ini::good_hooks::no_crosstalk"]
    result = run(project, "tox.ini::good_hooks::nonexistent")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*not found: *tox.ini::good_hooks::nonexistent*"])


# -- when the battery runs: the whole suite, or when named -------------------------------------
def test_a_named_test_runs_only_that_test(project: pytest.Pytester) -> None:
    assert collected(project, "test_plain.py::test_one") == PLAIN[:1]
    assert collected(project, "test_plain.py") == PLAIN
    result = run(project, "-v", "test_plain.py::test_one")
    result.assert_outcomes(passed=1)
    assert "tox.ini::" not in result.stdout.str()


def test_the_whole_suite_runs_the_battery_after_the_tests(project: pytest.Pytester) -> None:
    result = run(project, "-v")
    result.assert_outcomes(passed=10)
    result.stdout.fnmatch_lines([f"{nodeid} PASSED*" for nodeid in PLAIN + BATTERY])
    assert collected(project, ".") == PLAIN + BATTERY  # a directory that holds the ini file


def test_testpaths_run_the_battery_and_a_folder_of_tests_does_not(pytester: pytest.Pytester, planted) -> None:
    planted("good_hooks")
    pytester.makeini("[pytest]\ntestpaths = tests\ncomfyruntime_conformance = good_hooks\n")
    pytester.mkdir("tests")
    pytester.makepyfile(**{"tests/test_plain": "def test_one():\n    pass\n"})
    assert collected(pytester) == ["tests/test_plain.py::test_one"] + BATTERY
    assert collected(pytester, "tests") == ["tests/test_plain.py::test_one"]


def test_a_pyproject_toml_names_the_battery(pytester: pytest.Pytester, planted) -> None:
    planted("good_hooks")
    pytester.makepyprojecttoml('[tool.pytest.ini_options]\ncomfyruntime_conformance = "good_hooks"\n')
    assert collected(pytester) == [f"pyproject.toml::good_hooks::{check}" for check in CHECKS]
    assert collected(pytester, "pyproject.toml::good_hooks::hooks_active") == ["pyproject.toml::good_hooks::hooks_active"]


# -- -k, -m, --deselect and the counts ---------------------------------------------------------
def test_k_deselects_and_the_counts_add_up(project: pytest.Pytester) -> None:
    result = run(project, "--co", "-k", "idempotent")
    result.stdout.fnmatch_lines(["collected 10 items / 9 deselected / 1 selected",
                                 "*<ConformanceItem idempotent>", "*= 1/10 tests collected (9 deselected) in *"])
    result = run(project, "-k", "idempotent or test_one")
    result.assert_outcomes(passed=2, deselected=8)
    result.stdout.fnmatch_lines(["collected 10 items / 8 deselected / 2 selected"])
    result = run(project, "-k", "not conformance")
    result.assert_outcomes(passed=2, deselected=8)


def test_m_selects_or_leaves_out_the_battery(project: pytest.Pytester) -> None:
    result = run(project, "--co", "-q", "--strict-markers", "-m", "comfyruntime_conformance")
    result.stdout.fnmatch_lines(["*8/10 tests collected (2 deselected) in *"])
    assert [line for line in result.stdout.lines if "::" in line] == BATTERY
    result = run(project, "--strict-markers", "-m", "not comfyruntime_conformance")
    result.assert_outcomes(passed=2, deselected=8)


def test_deselect_takes_a_battery_id_or_prefix(project: pytest.Pytester) -> None:
    assert collected(project, "--deselect", "tox.ini::good_hooks::no_crosstalk") == [
        nodeid for nodeid in PLAIN + BATTERY if not nodeid.endswith("no_crosstalk")]
    result = run(project, "--deselect", "tox.ini::good_hooks")
    result.assert_outcomes(passed=2, deselected=8)


# -- several backends: the backend in the id, as a parametrized test has it --------------------
def test_several_backends_put_the_backend_in_the_id(project: pytest.Pytester) -> None:
    ids = collected(project, "--comfyruntime-era", "A,C")
    assert ids == PLAIN + [f"{nodeid}[{backend}]" for nodeid in BATTERY for backend in ("mock-A", "mock-C")]
    assert collected(project, "--comfyruntime-era", "A,C", "tox.ini::good_hooks::off_by_default") == [
        "tox.ini::good_hooks::off_by_default[mock-A]", "tox.ini::good_hooks::off_by_default[mock-C]"]
    result = run(project, "-v", "--comfyruntime-era", "A,C", "tox.ini::good_hooks::off_by_default[mock-C]")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["tox.ini::good_hooks::off_by_default[[]mock-C] PASSED*"])


# -- the off switch ----------------------------------------------------------------------------
def test_an_empty_command_line_value_switches_the_ini_list_off(project: pytest.Pytester) -> None:
    result = run(project, "--comfyruntime-conformance=")
    result.assert_outcomes(passed=2)
    assert "conformance battery on" not in result.stdout.str()
    assert collected(project, "--comfyruntime-conformance=") == PLAIN

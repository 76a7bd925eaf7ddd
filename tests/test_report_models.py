"""The overhead report's models: round trip, schema, merging xdist parts, load errors, the environment."""
from __future__ import annotations

import hashlib
import json
import stat
import sys
from pathlib import Path

import pytest

from pytest_comfyruntime.overhead.models import EndToEnd, Interval, OverheadResult, TargetStats
from pytest_comfyruntime.report.environment import machine_facts, machine_fingerprint
from pytest_comfyruntime.report.models import (
    SCHEMA_VERSION,
    Environment,
    Report,
    ReportError,
    TestEntry,
    collect_environment,
    load_report,
    make_report,
    merge_reports,
    pair_results,
    report_schema,
    write_report,
)

NODE = "tests/test_h.py::test_x"


def iv(low: float, high: float) -> Interval:
    return Interval(low=low, high=high, confidence=0.95, method="bootstrap percentile, 2000 resamples")


def result(mean: float = 14.1, *, workload: str = "txt2img", mode: str = "wall") -> OverheadResult:
    stats = TargetStats(target="execution.get_input_data", hook="my_ext.hooks.wrapper", calls=400,
                        total_us=mean * 400, mean_us=mean, p50_us=mean, p99_us=mean * 2, max_us=mean * 3,
                        mean_interval=iv(mean - 1, mean + 1), share_pct=3.0)
    e2e = EndToEnd(method="ABBA blocks", blocks=8, runs_on=16, runs_off=16, prompts_per_run=10, on_median_us=1040.0,
                   off_median_us=1000.0, overhead_pct=4.0, interval=iv(3.1, 5.2))
    return OverheadResult(workload=workload, backend="mock", era="D", mode=mode, seed=7,  # type: ignore[arg-type]
                          targets=[stats], end_to_end=e2e, notes=["a note"])


def env(**changes: object) -> Environment:
    values: dict[str, object] = {
        "python_version": "3.11.7", "python_implementation": "CPython", "platform": "Linux-6.5-x86_64",
        "plugin_version": "0.1.0", "comfyui_version": "0.3.75", "era": "D", "backend": "mock",
        "capabilities": {"platform": "linux", "cuda_available": False}, "git_commit": "0123456789abcdef",
        "git_dirty": False, "machine": "a" * 64, "machine_info": {"cpu": "AMD EPYC", "logical_cores": 16},
        "extra": {"runner": "ci-7"}}
    values.update(changes)
    return Environment.model_validate(values)


def report(*entries: TestEntry, created: str = "2025-01-31T12:00:00+00:00") -> Report:
    return make_report(env(), entries, created=created)


# -- round trip and schema --------------------------------------------------------------------------

def test_a_report_round_trips_through_its_json_file(tmp_path: Path) -> None:
    original = report(TestEntry(nodeid=NODE, results=[result(), result(3.0, workload="empty")]))
    path = write_report(original, tmp_path / "out" / "report.json")
    assert path == tmp_path / "out" / "report.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["schema_version"] == SCHEMA_VERSION == 1
    assert data["tests"][0]["results"][1]["workload"] == "empty"
    assert load_report(path) == original
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]  # no temporary file left


def test_the_report_schema_covers_every_model() -> None:
    schema = report_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["title"] == "pytest-comfyruntime overhead report, schema version 1"
    assert set(schema["properties"]) == {"schema_version", "created", "environment", "tests"}
    assert {"Environment", "TestEntry", "OverheadResult", "TargetStats", "Interval"} <= set(schema["$defs"])
    assert "machine_info" in schema["$defs"]["Environment"]["properties"]
    json.dumps(schema)


def test_created_must_be_an_iso_date_with_a_time_zone() -> None:
    assert report(created="2025-01-31T12:00:00Z").created.endswith("Z")
    for bad in ("yesterday", "2025-01-31T12:00:00"):
        with pytest.raises(ValueError, match="ISO-8601|no time zone"):
            report(created=bad)


def test_test_entry_is_not_mistaken_for_a_test_class() -> None:
    assert TestEntry.__test__ is False


# -- merging xdist parts ----------------------------------------------------------------------------

def test_merged_parts_equal_the_report_of_one_process_apart_from_created() -> None:
    a = TestEntry(nodeid="tests/test_a.py::test_1", results=[result(1.0)])
    b = TestEntry(nodeid="tests/test_b.py::test_2[mock-D]", results=[result(2.0), result(2.5, workload="w2")])
    c = TestEntry(nodeid="tests/test_a.py::test_0", results=[result(3.0)])
    single = report(a, b, c, created="2025-01-31T12:00:09+00:00")
    parts = [report(b, created="2025-01-31T12:00:05+00:00"), report(c, a, created="2025-01-31T12:00:07+00:00")]
    merged = merge_reports(parts)
    assert [entry.nodeid for entry in merged.tests] == ["tests/test_a.py::test_0", "tests/test_a.py::test_1",
                                                        "tests/test_b.py::test_2[mock-D]"]
    assert merged.model_dump(exclude={"created"}) == single.model_dump(exclude={"created"})
    assert merged.created == "2025-01-31T12:00:07+00:00"  # the latest part's


def test_merging_joins_one_test_split_across_parts_in_order() -> None:
    first = report(TestEntry(nodeid=NODE, results=[result(1.0)]))
    second = report(TestEntry(nodeid=NODE, results=[result(2.0)]))
    merged = merge_reports([first, second])
    assert [r.targets[0].mean_us for r in merged.tests[0].results] == [1.0, 2.0]


def test_merging_nothing_or_other_versions_is_refused() -> None:
    with pytest.raises(ValueError, match="no parts to merge"):
        merge_reports([])
    other = report().model_copy(update={"schema_version": 2})
    with pytest.raises(ValueError, match=r"parts of schema versions \[1, 2\]"):
        merge_reports([report(), other])


def test_results_pair_with_the_baseline_by_workload_and_order() -> None:
    new = [result(1.0), result(2.0, workload="w2"), result(3.0), result(4.0, mode="count")]
    old = [result(5.0, workload="w2"), result(6.0), result(7.0)]
    paired = pair_results(new, old)
    assert [p.targets[0].mean_us if p else None for p in paired] == [6.0, 5.0, 7.0, None]


# -- load_report's errors ---------------------------------------------------------------------------

def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "report.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data), encoding="utf-8")
    return path


def _good(tmp_path: Path) -> dict[str, object]:
    path = write_report(report(TestEntry(nodeid=NODE, results=[result()])), tmp_path / "good.json")
    data: dict[str, object] = json.loads(path.read_text(encoding="utf-8"))
    return data


def _error(path: Path) -> str:
    with pytest.raises(ReportError) as exc:
        load_report(path)
    message = str(exc.value)
    assert "\n" not in message and "; fix: " in message, message
    return message


def test_a_missing_report_is_named(tmp_path: Path) -> None:
    assert _error(tmp_path / "nope.json") == (f"{tmp_path}/nope.json: file: no such file; fix: check the path, or "
                                              "run the tests with the report enabled to write it")


def test_invalid_json_names_line_and_column(tmp_path: Path) -> None:
    message = _error(_write(tmp_path, '{\n  "schema_version": 1,\n  oops\n}'))
    assert message.startswith(f"{tmp_path}/report.json: line 3 column 3: invalid JSON (Expecting property name")
    assert _error(_write(tmp_path, "[1, 2]")).startswith(f"{tmp_path}/report.json: (top level): a JSON list, "
                                                         "not a report object; fix: ")


def test_another_schema_version_says_which_and_what_to_do(tmp_path: Path) -> None:
    data = _good(tmp_path)
    assert _error(_write(tmp_path, {**data, "schema_version": 2, "tests": "whatever"})) == (
        f"{tmp_path}/report.json: schema_version: report of schema version 2; this comfyruntime reads version 1; "
        "fix: upgrade pytest-comfyruntime (pip install -U pytest-comfyruntime) to read it")
    assert _error(_write(tmp_path, {**data, "schema_version": 0})).endswith(
        "report of schema version 0; this comfyruntime reads version 1; fix: run the tests again with this "
        "pytest-comfyruntime to write a version-1 report")
    assert _error(_write(tmp_path, {"tests": []})).startswith(
        f"{tmp_path}/report.json: schema_version: missing, so this is no comfyruntime report; fix: ")


def test_a_bad_field_is_named_by_its_path(tmp_path: Path) -> None:
    data = _good(tmp_path)
    data["tests"][0]["results"][0]["targets"][0]["mean_us"] = "fast"  # type: ignore[index]
    assert _error(_write(tmp_path, data)).startswith(
        f"{tmp_path}/report.json: tests[0].results[0].targets[0].mean_us: Input should be a valid number, unable to "
        'parse string as a number, got "fast"; fix: write the report again with pytest')
    data = _good(tmp_path)
    del data["environment"]["machine"]  # type: ignore[attr-defined]
    data["created"] = "noon"
    message = _error(_write(tmp_path, data))
    assert message.startswith(f"{tmp_path}/report.json: created: Value error, 'noon' is not an ISO-8601 date")
    assert "(and 1 more problem);" in message


# -- the environment --------------------------------------------------------------------------------

def test_the_machine_fingerprint_hashes_the_facts_it_keeps() -> None:
    facts = machine_facts()
    assert {"cpu", "logical_cores", "memory_gib", "os", "kernel", "arch", "python"} <= set(facts)
    assert facts == machine_facts()  # stable
    canonical = json.dumps(facts, sort_keys=True, separators=(",", ":"), default=str)
    assert machine_fingerprint(facts) == hashlib.sha256(canonical.encode()).hexdigest()
    assert machine_fingerprint({**facts, "logical_cores": 999}) != machine_fingerprint(facts)


def _fake_git(tmp_path: Path, script: str) -> Path:
    folder = tmp_path / "bin"
    folder.mkdir()
    git = folder / "git"
    git.write_text("#!/bin/sh\n" + script, encoding="utf-8")
    git.chmod(git.stat().st_mode | stat.S_IXUSR)
    return folder


def _collect(cwd: Path) -> Environment:
    return collect_environment(era="D", backend="mock", comfyui_version=None, capabilities={"platform": "linux"},
                               plugin_version="9.9", cwd=cwd)


@pytest.mark.skipif(sys.platform == "win32", reason="the fake git is a shell script")
def test_collect_environment_records_the_git_commit_and_dirtiness(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _fake_git(tmp_path, 'case "$1" in\n  rev-parse) echo 0123abcd;;\n  status) echo " M x.py";;\nesac\n')
    monkeypatch.setenv("PATH", str(folder))
    environment = _collect(tmp_path)
    assert (environment.git_commit, environment.git_dirty) == ("0123abcd", True)
    assert environment.machine == machine_fingerprint(environment.machine_info)
    assert (environment.plugin_version, environment.era, environment.capabilities) == ("9.9", "D",
                                                                                       {"platform": "linux"})
    assert environment.python_version == ".".join(map(str, sys.version_info[:3]))


@pytest.mark.skipif(sys.platform == "win32", reason="the fake git is a shell script")
def test_git_state_is_none_outside_a_repository_or_without_git(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    not_a_repo = _fake_git(tmp_path, 'echo "fatal: not a git repository" >&2\nexit 128\n')
    monkeypatch.setenv("PATH", str(not_a_repo))
    assert (_collect(tmp_path).git_commit, _collect(tmp_path).git_dirty) == (None, None)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no git at all
    environment = _collect(tmp_path)
    assert (environment.git_commit, environment.git_dirty) == (None, None)


def test_describe_is_one_line_with_machine_and_commit() -> None:
    line = env(git_dirty=True).describe()
    assert line == ("CPython 3.11.7 on Linux-6.5-x86_64; ComfyUI 0.3.75 era D (mock); pytest-comfyruntime 0.1.0; "
                    "machine aaaaaaaaaaaa (AMD EPYC, 16 cores); commit 0123456789 (dirty)")
    assert env(git_commit=None, git_dirty=None).describe().endswith("; no git commit")

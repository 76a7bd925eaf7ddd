"""pytest wiring of the overhead measurement: the ``overhead_budget`` marker and its setting.

Loaded through its own ``pytest11`` entry point (``comfyruntime_overhead``). The work is in
:mod:`pytest_comfyruntime.overhead`; the ``comfyruntime`` fixture's ``measure_overhead`` and
``assert_overhead`` are in :mod:`pytest_comfyruntime.checks.assertions`.

- ``@pytest.mark.overhead_budget(pct=, per_call_us=, retained_kb_per_prompt=, instructions=,
  workload=, mode=)``: after the test body passed, ``assert_overhead`` runs with those arguments
  on the test's ComfyUI (the ``comfyruntime`` fixture is requested for it).
- ini ``comfyruntime_overhead_inconclusive`` (``fail`` | ``skip`` | ``pass``, default ``skip``):
  what an inconclusive verdict does to the test.
- The report: every measurement a test made (``comfyruntime.measure_overhead`` /
  ``assert_overhead`` / the marker) goes into one JSON report, ``--comfyruntime-report PATH`` (ini
  ``comfyruntime_report``), with the chart as an SVG next to it; a markdown summary goes to
  ``--comfyruntime-summary PATH`` or, when set, ``$GITHUB_STEP_SUMMARY``; the terminal shows the
  worst hooks and the verdicts. Under pytest-xdist each worker sends its part through
  ``workeroutput`` and the controller merges them (:func:`~.report.models.merge_reports`).
"""
from __future__ import annotations

import os
from collections.abc import Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .checks.assertions import INCONCLUSIVE_CHOICES, Inconclusive, RuntimeChecks

if TYPE_CHECKING:
    from .overhead.models import OverheadResult
    from .report.models import Report

MARKER = "overhead_budget"
INI = "comfyruntime_overhead_inconclusive"
INCONCLUSIVE_KEY = pytest.StashKey[Inconclusive]()
#: The ``comfyruntime`` fixture's object of a test, where it was requested.
CHECKS_KEY = pytest.StashKey[RuntimeChecks]()
#: Each test's measurements, in the order the tests ran (this process's).
_ENTRIES_KEY = pytest.StashKey[list[tuple[str, list["OverheadResult"]]]]()
#: The parts xdist workers sent (controller only).
_PARTS_KEY = pytest.StashKey[list[str]]()
_WORKER_OUTPUT = "comfyruntime_report"
_BUDGETS = ("pct", "per_call_us", "retained_kb_per_prompt", "instructions")
_OPTIONS = ("workload", "mode")


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI, "what an inconclusive overhead verdict does to its test: fail, skip (default) or pass",
                  default="skip")
    parser.addini("comfyruntime_report", "write the overhead report (JSON) to this path", default="")
    group = parser.getgroup("comfyruntime")
    group.addoption("--comfyruntime-report", dest="comfyruntime_report", default=None, metavar="PATH",
                    help="write the overhead report (JSON) here, and its chart next to it (.svg)")
    group.addoption("--comfyruntime-summary", dest="comfyruntime_summary", default=None, metavar="PATH",
                    help="write the markdown summary here (default: $GITHUB_STEP_SUMMARY when set)")


def pytest_configure(config: pytest.Config) -> None:
    value = str(config.getini(INI)).strip() or "skip"
    if value not in INCONCLUSIVE_CHOICES:
        raise pytest.UsageError(f"pytest-comfyruntime: ini {INI} = {value!r} is not one of "
                                f"{', '.join(INCONCLUSIVE_CHOICES)}; fix: set it to fail, skip or pass")
    config.stash[INCONCLUSIVE_KEY] = next(c for c in INCONCLUSIVE_CHOICES if c == value)
    config.stash[_ENTRIES_KEY] = []
    config.stash[_PARTS_KEY] = []
    config.addinivalue_line("markers", f"{MARKER}(pct=None, per_call_us=None, retained_kb_per_prompt=None, "
                            "instructions=None, workload=None, mode=None): after the test passed, measure the "
                            "extension's hooks on its ComfyUI and fail when a budget is broken")


def marker_kwargs(mark: pytest.Mark) -> dict[str, Any]:
    """The marker's arguments, validated; ValueError names the wrong one and the accepted form."""
    from .overhead.measure import parse_budget
    from .overhead.workloads import resolve_workload

    if mark.args:
        raise ValueError(f"takes keyword arguments only ({', '.join(k + '=' for k in _BUDGETS + _OPTIONS)}), "
                         f"got positional {mark.args!r}")
    unknown = sorted(set(mark.kwargs) - set(_BUDGETS) - set(_OPTIONS))
    if unknown:
        raise ValueError(f"unknown argument(s) {', '.join(unknown)}; accepted: "
                         f"{', '.join(k + '=' for k in _BUDGETS + _OPTIONS)}")
    budgets = {k: v for k, v in mark.kwargs.items() if k in _BUDGETS}
    if not budgets:
        raise ValueError(f"no budget given; fix: pass any of {', '.join(k + '=' for k in _BUDGETS)}")
    parse_budget(None, budgets)
    mode = mark.kwargs.get("mode")
    if mode not in (None, "wall", "count"):
        raise ValueError(f"mode={mode!r} is not a measurement mode; fix: mode='wall' or mode='count'")
    workload = mark.kwargs.get("workload")
    if workload != "diffusers":  # resolving that one builds its models: it is checked when it runs
        resolve_workload(workload)
    return dict(mark.kwargs)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    errors = []
    for item in items:
        mark = item.get_closest_marker(MARKER)
        if mark is not None:
            try:
                marker_kwargs(mark)
            except ValueError as exc:
                errors.append(f"{item.nodeid}: @pytest.mark.{MARKER}: {exc}")
    if errors:
        raise pytest.UsageError("\n".join(errors))


@pytest.fixture(autouse=True)
def _comfyruntime_overhead_budget(request: pytest.FixtureRequest) -> None:
    """Requests ``comfyruntime`` for a test with the marker (before the test body runs)."""
    if request.node.get_closest_marker(MARKER) is not None:
        request.getfixturevalue("comfyruntime")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    mark = item.get_closest_marker(MARKER)
    checks = item.stash.get(CHECKS_KEY, None)
    if mark is not None and checks is not None:
        checks.assert_overhead(**marker_kwargs(mark))
    return result


@pytest.hookimpl(trylast=True)
def pytest_runtest_teardown(item: pytest.Item) -> None:
    checks = item.stash.get(CHECKS_KEY, None)
    if checks is not None and checks.results:
        item.config.stash[_ENTRIES_KEY].append((item.nodeid, list(checks.results)))


@pytest.hookimpl(trylast=True)
def pytest_comfyruntime_generate_environment(config: pytest.Config) -> dict[str, Any]:
    return {}


# -- the report ------------------------------------------------------------------------------------
def _report_path(config: pytest.Config) -> Path | None:
    value = config.getoption("comfyruntime_report") or str(config.getini("comfyruntime_report") or "")
    if not value:
        return None
    path = Path(value)
    return path if path.is_absolute() else Path(config.invocation_params.dir) / path


def _this_process_report(config: pytest.Config) -> Report:
    from importlib.metadata import PackageNotFoundError, version

    from .report.models import TestEntry, collect_environment, make_report
    from .runtime import RUNTIME_KEY

    runtime = config.stash.get(RUNTIME_KEY, None)
    eras = ",".join(runtime.settings.eras) if runtime is not None else ""
    backend = runtime.settings.executor if runtime is not None else "mock"
    real = [b for b in (runtime.backends.values() if runtime is not None else []) if b.name == "real"]
    capabilities = None
    hardware = config.stash.get(_hardware_key(), None) if _hardware_key() is not None else None
    if hardware is not None and hardware.inspected is not None:
        capabilities = hardware.inspected.model_dump(mode="json")
    try:
        plugin_version = version("pytest-comfyruntime")
    except PackageNotFoundError:
        plugin_version = "unknown"
    extra = dict(config.hook.pytest_comfyruntime_generate_environment(config=config) or {})
    config.hook.pytest_comfyruntime_update_environment(config=config, extra=extra)
    environment = collect_environment(era=eras, backend=backend, comfyui_version=real[0].version if real else None,
                                      capabilities=capabilities, plugin_version=plugin_version,
                                      cwd=config.rootpath, extra=extra)
    return make_report(environment, [TestEntry(nodeid=n, results=r) for n, r in config.stash[_ENTRIES_KEY]])


def _hardware_key() -> Any:
    try:
        from .hardware.plugin import SESSION_KEY
    except ImportError:  # pragma: no cover - the hardware plugin ships with this one
        return None
    return SESSION_KEY


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """xdist controller: keep the part a worker sent (a hook only pytest-xdist defines)."""
    part = getattr(node, "workeroutput", {}).get(_WORKER_OUTPUT)
    if part:
        node.config.stash[_PARTS_KEY].append(part)


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):  # an xdist worker: its part goes to the controller
        if config.stash[_ENTRIES_KEY]:
            config.workeroutput[_WORKER_OUTPUT] = _this_process_report(config).model_dump_json()  # type: ignore[attr-defined]
        return
    parts = config.stash[_PARTS_KEY]
    if not parts and not config.stash[_ENTRIES_KEY] and _report_path(config) is None:
        return
    from .report.models import Report, merge_reports

    report = (merge_reports([Report.model_validate_json(p) for p in parts]) if parts
              else _this_process_report(config))
    config.stash[_REPORT_KEY] = report
    _write_outputs(config, report)


_REPORT_KEY = pytest.StashKey["Report"]()


def _write_outputs(config: pytest.Config, report: Report) -> None:
    from .report.models import write_report
    from .report.summary import markdown_summary, svg_chart

    path = _report_path(config)
    if path is not None:
        write_report(report, path)
        path.with_suffix(".svg").write_text(svg_chart(report), encoding="utf-8")
    summary = config.getoption("comfyruntime_summary") or os.environ.get("GITHUB_STEP_SUMMARY")
    if summary and report.tests:
        # $GITHUB_STEP_SUMMARY collects every step's summary: append, as GitHub asks
        with open(summary, "a", encoding="utf-8") as handle:
            handle.write(markdown_summary(report) + "\n")


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    report = config.stash.get(_REPORT_KEY, None)
    if report is None or not report.tests:
        return
    from .report.summary import terminal_lines

    terminalreporter.section("comfyruntime overhead")
    for line in terminal_lines(report):
        terminalreporter.write_line(line)
    path = _report_path(config)
    if path is not None:
        terminalreporter.write_line(f"report: {path} (chart: {path.with_suffix('.svg').name})")


__all__ = ["CHECKS_KEY", "INCONCLUSIVE_KEY", "MARKER", "marker_kwargs"]

"""pytest wiring for the hardware markers and ``comfy_hw``; the work is in the sibling modules.

Registered as its own ``pytest11`` entry point (``comfyruntime_hardware``), so ``-p
no:comfyruntime_hardware`` turns it off. Importing it imports no torch: a test's hardware facts
are inspected when the first test that needs them is set up, once per process.
"""
from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from .decide import Decision, decide
from .models import HardwareTarget
from .probe import use_capabilities
from .requirements import HARDWARE_MARKERS, MARKERS, HardwareRequirement, MarkerError, requirement_from_marks
from .session import PROP_DOWNGRADED, PROP_MISSING, PROP_TARGET, HardwareSession
from .settings import HardwareConfigError, pin_worker, resolve_hardware_settings

SESSION_KEY = pytest.StashKey[HardwareSession]()
REQUIREMENT_KEY = pytest.StashKey[HardwareRequirement]()
DECISION_KEY = pytest.StashKey[Decision]()
SKIPPED_KEY = pytest.StashKey[bool]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("comfyruntime", "ComfyUI runtime harness (pytest-comfyruntime)")
    group.addoption("--comfyruntime-simulate-hardware", dest="comfyruntime_simulate_hardware", default=None,
                    metavar="SPEC", help="decide every hardware marker as on this hardware, e.g. cpu, "
                    "cuda:sm_80:24GB:bf16, cuda:sm_75:16GB:x2, mps:16GB (env COMFYRUNTIME_SIMULATE_HARDWARE)")
    group.addoption("--comfyruntime-require-hardware", dest="comfyruntime_require_hardware", action="store_true",
                    default=None, help="a test skipped for missing hardware fails instead (for GPU runners; "
                    "env COMFYRUNTIME_REQUIRE_HARDWARE=1)")
    group.addoption("--comfyruntime-gpu-per-worker", dest="comfyruntime_gpu_per_worker", action="store_true",
                    default=None, help="under pytest-xdist, pin worker gwN to GPU N (modulo the GPU count) "
                    "through CUDA_VISIBLE_DEVICES")
    parser.addini("comfyruntime_simulate_hardware", "Hardware spec to simulate (see --comfyruntime-simulate-hardware).",
                  type="string", default=None)
    parser.addini("comfyruntime_require_hardware", "true: a test skipped for missing hardware fails instead.",
                  type="string", default=None)
    parser.addini("comfyruntime_gpu_per_worker", "true: pin each xdist worker to one GPU.", type="string",
                  default=None)


@pytest.hookimpl(tryfirst=True)  # before anything that may import torch (the real-ComfyUI backend)
def pytest_configure(config: pytest.Config) -> None:
    for line in MARKERS.values():
        config.addinivalue_line("markers", line)
    inifile = str(config.inipath) if config.inipath else None
    try:
        settings = resolve_hardware_settings(
            cli={"simulate": config.getoption("comfyruntime_simulate_hardware"),
                 "require": config.getoption("comfyruntime_require_hardware"),
                 "gpu_per_worker": config.getoption("comfyruntime_gpu_per_worker")},
            ini={"simulate": config.getini("comfyruntime_simulate_hardware"),
                 "require": config.getini("comfyruntime_require_hardware"),
                 "gpu_per_worker": config.getini("comfyruntime_gpu_per_worker")},
            inifile=inifile)
        pinned, note = None, None
        workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
        if settings.gpu_per_worker and workerinput is not None:
            pinned = pin_worker(str(workerinput["workerid"]), simulated=settings.simulate)
            note = pinned[1] if pinned else "gpu-per-worker: no GPU to pin"
        elif settings.gpu_per_worker:
            note = "gpu-per-worker: each xdist worker (-n) is pinned to one GPU"
    except HardwareConfigError as exc:
        raise pytest.UsageError(str(exc)) from None
    session = HardwareSession(settings, pinned, note)
    config.stash[SESSION_KEY] = session
    config.pluginmanager.register(session, "comfyruntime_hardware_session")
    config.add_cleanup(lambda: config.pluginmanager.unregister(session))
    if settings.simulate is not None:
        config.add_cleanup(use_capabilities(session.capabilities()))


def pytest_report_header(config: pytest.Config) -> str | None:
    session = config.stash.get(SESSION_KEY, None)
    return session.header() if session is not None else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Validates every hardware marker now, so a wrong one stops the run before any test runs."""
    errors = []
    inherited: dict[int, list[pytest.Mark]] = {}  # id(parent node) -> its chain's hardware marks
    for item in items:
        parent = item.parent
        above = inherited.get(id(parent))
        if above is None:  # as item.iter_markers() walks the chain, once per module or class
            chain = parent.listchain() if parent is not None else []
            above = inherited[id(parent)] = [m for node in reversed(chain) for m in node.own_markers
                                             if m.name in HARDWARE_MARKERS]
        own = [m for m in item.own_markers if m.name in HARDWARE_MARKERS]
        if not own and not above:
            continue
        try:
            req = requirement_from_marks(own + above)
        except MarkerError as exc:
            errors.append(f"{item.nodeid}: {exc}")
            continue
        if req is not None:
            item.stash[REQUIREMENT_KEY] = req
    if errors:
        raise pytest.UsageError("pytest-comfyruntime: wrong hardware marker arguments:\n" + "\n".join(errors))


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Decides before any fixture is set up, so a skipped test never builds what it cannot use."""
    req = item.stash.get(REQUIREMENT_KEY, None)
    if req is None and "comfy_hw" not in getattr(item, "fixturenames", ()):
        return
    _apply(item, req)


def _apply(item: pytest.Item, req: HardwareRequirement | None) -> Decision:
    session = item.config.stash[SESSION_KEY]
    decision = decide(req, session.capabilities())
    item.stash[DECISION_KEY] = decision
    item.user_properties.append((PROP_TARGET, decision.target.describe()))
    if decision.outcome == "downgrade":
        item.user_properties.append((PROP_DOWNGRADED, "; ".join(map(str, decision.target.downgrades))))
    elif decision.outcome in ("skip", "fail"):
        reason = decision.reason
        item.user_properties.append((PROP_MISSING, reason))
        if decision.outcome == "skip" and not session.settings.require:
            item.stash[SKIPPED_KEY] = True
            pytest.skip(reason)
        if decision.outcome == "skip":
            reason += ("; --comfyruntime-require-hardware turns this skip into a failure (fix: run it on a runner "
                       "that has this hardware, or leave the flag off)")
        else:
            reason += "; the marker says on_missing='fail' (fix: run it on a runner that has this hardware)"
        pytest.fail(f"{item.nodeid}: {reason}", pytrace=False)
    return decision


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    if report.when == "setup" and report.skipped and item.stash.get(SKIPPED_KEY, False) \
            and isinstance(report.longrepr, tuple):
        path, line = item.reportinfo()[:2]  # point at the test, as skip marks do, not at this plugin
        report.longrepr = (str(path), (line or 0) + 1, report.longrepr[2])
    return report


@pytest.fixture
def comfy_hw(request: pytest.FixtureRequest) -> HardwareTarget:
    """The :class:`HardwareTarget` this test runs on: ``device``, ``dtype``, ``scale``, ``device_count``,
    ``downgrades`` / ``downgraded_from`` and the ``capabilities`` they were decided on."""
    item: pytest.Item = request.node
    decision = item.stash.get(DECISION_KEY, None)
    if decision is None:  # requested late (request.getfixturevalue) on an item set up without it
        decision = _apply(item, item.stash.get(REQUIREMENT_KEY, None))
    return decision.target

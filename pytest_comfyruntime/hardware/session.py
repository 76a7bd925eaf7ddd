"""One pytest process's hardware state: settings, capabilities (inspected lazily) and the tallies
behind the terminal summary. Registered as a plugin object, so its hooks see only its own run."""
from __future__ import annotations

from typing import Any

import pytest

from .models import Capabilities
from .probe import get_capabilities, inspect_capabilities
from .settings import HardwareSettings
from .simulate import restrict_to_device

PROP_TARGET = "comfyruntime_hardware"
PROP_DOWNGRADED = "comfyruntime_downgraded"
PROP_MISSING = "comfyruntime_hardware_missing"
_LISTED = 20  # downgraded tests named one by one in the summary; the rest are counted


class HardwareSession:
    """Settings, capabilities and tallies of one pytest process (a worker's, under xdist)."""

    def __init__(self, settings: HardwareSettings, pinned: tuple[int, str] | None, note: str | None) -> None:
        self.settings = settings
        self.pinned = pinned
        self.note = note
        self._caps: Capabilities | None = None
        if settings.simulate is not None:
            caps = settings.simulate
            self._caps = restrict_to_device(caps, pinned[0], pinned[1]) if pinned is not None else caps
        self.decided: dict[str, str] = {}
        self.downgraded: dict[str, str] = {}
        self.skipped: dict[str, str] = {}
        self.failed: dict[str, str] = {}
        self.worker_caps: dict[str, str] = {}

    def capabilities(self) -> Capabilities:
        """The simulated capabilities, or this process's (inspected now if not yet: imports torch)."""
        if self._caps is None:
            caps = get_capabilities()
            self._caps = caps.model_copy(update={"pinned": self.pinned[1]}) if self.pinned else caps
        return self._caps

    @property
    def inspected(self) -> Capabilities | None:
        """The capabilities if this process has them already (never inspects)."""
        return self._caps

    def header(self) -> str:
        """One line: simulated or inspected capabilities, else a light probe that imports no torch."""
        caps = self._caps or inspect_capabilities(use_torch=False)
        line = f"comfyruntime hardware: {caps.summary()}"
        if self.settings.require:
            line += " | strict: a missing-hardware skip fails"
        if self.note:
            line += f" | {self.note}"
        return line

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "setup":
            return
        props = dict(report.user_properties)
        if PROP_TARGET not in props:
            return
        self.decided[report.nodeid] = str(props[PROP_TARGET])
        if PROP_DOWNGRADED in props:
            self.downgraded[report.nodeid] = str(props[PROP_DOWNGRADED])
        if PROP_MISSING in props:
            (self.skipped if report.skipped else self.failed)[report.nodeid] = str(props[PROP_MISSING])

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
        if workeroutput is not None and self._caps is not None:
            workeroutput["comfyruntime_hardware"] = self._caps.summary()

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """pytest-xdist, on the controller: keep each worker's capabilities line for the summary."""
        output = getattr(node, "workeroutput", None) or {}
        if output.get("comfyruntime_hardware"):
            worker = (getattr(node, "workerinput", None) or {}).get("workerid") or getattr(
                getattr(node, "gateway", None), "id", "worker")
            self.worker_caps[str(worker)] = output["comfyruntime_hardware"]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.decided:
            return
        tr = terminalreporter
        tr.write_sep("-", "comfyruntime hardware")
        if self.worker_caps:
            for worker, line in sorted(self.worker_caps.items()):
                tr.write_line(f"capabilities ({worker}): {line}")
        elif self._caps is not None:
            tr.write_line(f"capabilities: {self._caps.summary()}")
        ran = len(self.decided) - len(self.downgraded) - len(self.skipped) - len(self.failed)
        tr.write_line(f"{len(self.decided)} tests decided on hardware: {ran} ran as asked, "
                      f"{len(self.downgraded)} downgraded, {len(self.skipped)} skipped for missing hardware, "
                      f"{len(self.failed)} failed for missing hardware")
        for nodeid, text in list(self.downgraded.items())[:_LISTED]:
            tr.write_line(f"  downgraded {nodeid}: {text}")
        if len(self.downgraded) > _LISTED:
            tr.write_line(f"  ... and {len(self.downgraded) - _LISTED} more (see each report's user_properties)")

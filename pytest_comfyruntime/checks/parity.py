"""Comparing what two executors did with the same prompts (mock versus real ComfyUI).

``record_series`` runs a series of prompts through a harness with prefix wrappers on
``execution.get_input_data`` and ``PromptExecutor.execute`` (recording what they are called with,
as an extension's wrappers would see it) and returns one normalised record per prompt:
timestamps, file paths in tracebacks and other values that legitimately differ between two
runs are replaced by placeholders. ``parity_diff`` turns two lists of records into a readable
unified diff, or ``""`` when they agree.
"""
from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from typing import Any

from ..executor.harness import ExecutorHarness, RunResult


def _placeholder(key: str, value: Any) -> Any:
    if key == "timestamp" and isinstance(value, int):
        return "<timestamp>"
    if key == "traceback" and isinstance(value, list):
        return "<traceback>" if value else []
    if key == "create_time":
        return "<create_time>"
    return value


def clean(value: Any) -> Any:
    """A JSON-like copy with run-specific values (timestamps, traceback texts) replaced."""
    if isinstance(value, Mapping):
        return {str(k): clean(_placeholder(str(k), v)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    return f"<{type(value).__name__}>"


def normalise(result: RunResult) -> dict[str, Any]:
    history = result.history
    return {
        "success": result.success,
        "sent": [[m.event, clean(m.data), m.sid] for m in result.messages],
        "status_messages": [[e, clean(d)] for e, d in result.status_messages],
        "history": {"outputs": clean(history.get("outputs", {})), "meta": clean(history.get("meta")),
                    "status": {k: history["status"][k] for k in ("status_str", "completed")}},
    }


class WrapperRecorder:
    """Installs prefix wrappers that record their calls; ``undo()`` restores the originals."""

    def __init__(self, execution: Any) -> None:
        self.execution = execution
        self.calls: list[list[Any]] = []
        self._execute = execution.PromptExecutor.execute
        self._get_input_data = execution.get_input_data
        original_execute, original_gid = self._execute, self._get_input_data
        calls = self.calls

        def execute(self_: Any, *args: Any, **kwargs: Any) -> Any:
            calls.append(["PromptExecutor.execute", len(args), sorted(kwargs), args[1] if len(args) > 1 else None])
            return original_execute(self_, *args, **kwargs)

        def get_input_data(*args: Any, **kwargs: Any) -> Any:
            fourth = type(args[3]).__name__ if len(args) > 3 else "-"
            calls.append(["get_input_data", len(args), sorted(kwargs), args[2], fourth])
            return original_gid(*args, **kwargs)

        execution.PromptExecutor.execute = execute
        execution.get_input_data = get_input_data

    def take(self) -> list[list[Any]]:
        taken = list(self.calls)
        self.calls.clear()
        return taken

    def undo(self) -> None:
        self.execution.PromptExecutor.execute = self._execute
        self.execution.get_input_data = self._get_input_data


def record_series(harness: ExecutorHarness, steps: Iterable[tuple[str, dict[str, Any], dict[str, Any] | None]]
                  ) -> list[dict[str, Any]]:
    """Runs ``(label, prompt, extra_data)`` steps in order; one normalised record each."""
    recorder = WrapperRecorder(harness.execution)
    records = []
    try:
        for index, (label, prompt, extra_data) in enumerate(steps):
            result = harness.run(prompt, prompt_id=f"prompt-{index}", extra_data=extra_data)
            records.append({"step": label, **normalise(result), "wrapper_calls": recorder.take()})
    finally:
        recorder.undo()
    return records


def parity_diff(mock: list[dict[str, Any]], real: list[dict[str, Any]], *, what: str = "") -> str:
    """A unified diff (mock on the left) of the two series, or "" when they agree."""
    if mock == real:
        return ""
    left = json.dumps(mock, indent=1, sort_keys=True, default=str).splitlines()
    right = json.dumps(real, indent=1, sort_keys=True, default=str).splitlines()
    lines = difflib.unified_diff(left, right, fromfile=f"mock {what}".strip(), tofile=f"real {what}".strip(),
                                 lineterm="", n=4)
    return "\n".join(lines)


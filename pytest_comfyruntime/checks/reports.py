"""What the code said while a check ran, and what a prompt returned, for comparing runs.

:func:`captured_reports` collects everything logged (any logger), printed or warned meanwhile as
:class:`Report` s; :func:`summary` and :func:`diff` compare a workflow's result with and without
the hooks.
"""
from __future__ import annotations

import io
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, redirect_stderr, redirect_stdout
from dataclasses import dataclass
from typing import Any

from ..executor.harness import RunResult


@dataclass(frozen=True)
class Report:
    """One thing the code said: a log record (with its level and source file), a printed line or a
    warning (level 0, no file)."""

    text: str
    level: int = 0
    file: str = ""


@contextmanager
def captured_reports() -> Iterator[list[Report]]:
    """Everything logged (any logger), printed or warned meanwhile."""
    reports: list[Report] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            reports.append(Report(self.format(record), record.levelno, record.pathname))

    handler = _Keep(logging.DEBUG)
    loggers = [logging.getLogger()] + [lg for lg in logging.root.manager.loggerDict.values()
                                        if isinstance(lg, logging.Logger) and not lg.propagate]
    for lg in loggers:
        lg.addHandler(handler)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            yield reports
    finally:
        for lg in loggers:
            lg.removeHandler(handler)
    reports += [Report(line) for line in out.getvalue().splitlines() + err.getvalue().splitlines()]
    reports += [Report(str(w.message)) for w in caught]


def summary(result: RunResult) -> dict[str, Any]:
    """A workflow's result, for comparing a run with and without the hooks."""
    error = result.error or {}
    return {"success": result.success, "outputs": result.outputs, "executed": result.executed_nodes,
            "error": {k: error.get(k) for k in ("node_id", "exception_type", "exception_message")} if error else None}


def diff(before: Any, after: Any, path: str = "") -> list[str]:
    """Readable differences between two JSON-like values."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = [f"{path}[{k!r}] added ({after[k]!r})" for k in after if k not in before]
        out += [f"{path}[{k!r}] removed (was {before[k]!r})" for k in before if k not in after]
        return out + [d for k in before if k in after for d in diff(before[k], after[k], f"{path}[{k!r}]")]
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        return [d for i, (b, a) in enumerate(zip(before, after)) for d in diff(b, a, f"{path}[{i}]")]
    return [] if before == after and type(before) is type(after) else [f"{path or 'value'}: {before!r} -> {after!r}"]


__all__ = ["Report", "captured_reports", "diff", "summary"]

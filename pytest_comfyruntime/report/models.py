"""The overhead report: one JSON file per test session, what the release gate and summaries read.

A :class:`Report` holds the :class:`Environment` it was measured in and, per test (by pytest node
id), the :class:`~pytest_comfyruntime.overhead.models.OverheadResult` objects the test produced.
``schema_version`` is checked before anything else is read, so a report written by a newer
comfyruntime is refused with one line saying so rather than with a validation error.

Under pytest-xdist each worker writes a part; :func:`merge_reports` joins them into exactly the
report a run without xdist writes (tests sorted by node id), apart from ``created``.

Every problem reading a report is one :class:`ReportError` line:
``<path>: <field>: <problem>; fix: <fix>``.
"""
from __future__ import annotations

import json
import os
import platform
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..overhead.models import OverheadResult
from .environment import git_state, machine_facts, machine_fingerprint

#: The report format this comfyruntime writes and reads.
SCHEMA_VERSION = 1


class ReportError(ValueError):
    """A report that cannot be read: one line naming the file, the field, the problem and the fix."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Environment(_Model):
    """Where a report was measured."""

    python_version: str = Field(description="e.g. '3.11.7'")
    python_implementation: str = Field(description="e.g. 'CPython'")
    platform: str = Field(description="platform.platform(), e.g. 'Linux-6.5.0-x86_64-with-glibc2.35'")
    plugin_version: str = Field(description="pytest-comfyruntime's version")
    comfyui_version: str | None = None
    era: str = Field(description="the mock ComfyUI era (A to D) or the real root's")
    backend: str = Field(description="'mock' or 'real'")
    capabilities: dict[str, Any] = Field(default_factory=dict, description="the hardware layer's Capabilities")
    git_commit: str | None = Field(default=None, description="None: not a git repository, or git unavailable")
    git_dirty: bool | None = Field(default=None, description="uncommitted changes; None when unknown")
    machine: str = Field(description="sha256 of machine_info: equal on one unchanged machine")
    machine_info: dict[str, Any] = Field(default_factory=dict, description="the facts the fingerprint hashes")
    extra: dict[str, Any] = Field(default_factory=dict, description="users' own additions")

    def describe(self) -> str:
        """One line: Python, platform, ComfyUI, the machine and the commit."""
        info = self.machine_info
        machine = ", ".join(str(part) for part in (
            info.get("cpu"),
            f"{info['logical_cores']} cores" if info.get("logical_cores") else None,
            f"{info['memory_gib']} GiB" if info.get("memory_gib") else None) if part)
        commit = "no git commit" if self.git_commit is None else \
            f"commit {self.git_commit[:10]}{' (dirty)' if self.git_dirty else ''}"
        comfyui = f" {self.comfyui_version}" if self.comfyui_version else ""
        return (f"{self.python_implementation} {self.python_version} on {self.platform}; "
                f"ComfyUI{comfyui} era {self.era} ({self.backend}); pytest-comfyruntime {self.plugin_version}; "
                f"machine {self.machine[:12]}{f' ({machine})' if machine else ''}; {commit}")


class TestEntry(_Model):
    """One test's measurements, in the order the test made them."""

    __test__: ClassVar[bool] = False  # not a pytest test class, wherever it is imported

    nodeid: str = Field(description="pytest's node id, e.g. 'tests/test_x.py::test_y[mock-D]'")
    results: list[OverheadResult] = Field(default_factory=list)


class Report(_Model):
    """One test session's measurements."""

    schema_version: int = Field(default=SCHEMA_VERSION, description="the report format; this one is 1")
    created: str = Field(description="when the report was made, ISO-8601 in UTC")
    environment: Environment
    tests: list[TestEntry] = Field(default_factory=list)

    @field_validator("created")
    @classmethod
    def _iso_utc(cls, value: str) -> str:
        try:
            when = datetime.fromisoformat(value[:-1] + "+00:00" if value.endswith("Z") else value)
        except ValueError:
            raise ValueError(f"{value!r} is not an ISO-8601 date and time") from None
        if when.utcoffset() is None:
            raise ValueError(f"{value!r} has no time zone (expected UTC, e.g. '2025-01-31T12:00:00+00:00')")
        return value

    @property
    def results(self) -> list[tuple[str, OverheadResult]]:
        """Every result with its test's node id, in report order."""
        return [(entry.nodeid, result) for entry in self.tests for result in entry.results]


def utc_now() -> str:
    """Now, ISO-8601 in UTC to the second: ``2025-01-31T12:00:00+00:00``."""
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def collect_environment(*, era: str, backend: str, comfyui_version: str | None,
                        capabilities: Mapping[str, Any] | None, plugin_version: str, cwd: Path | str,
                        extra: Mapping[str, Any] | None = None) -> Environment:
    """The environment of this process: Python, platform, machine fingerprint and the git state of ``cwd``."""
    facts = machine_facts()
    commit, dirty = git_state(Path(cwd))
    return Environment(
        python_version=platform.python_version(), python_implementation=platform.python_implementation(),
        platform=platform.platform(), plugin_version=plugin_version, comfyui_version=comfyui_version, era=era,
        backend=backend, capabilities=dict(capabilities or {}), git_commit=commit, git_dirty=dirty,
        machine=machine_fingerprint(facts), machine_info=facts, extra=dict(extra or {}))


def make_report(environment: Environment, tests: Iterable[TestEntry], *, created: str | None = None) -> Report:
    """A report of ``tests``, sorted by node id; entries of one node id are joined (their results in the
    order given). The pytest side and :func:`merge_reports` both build reports here, so a run with
    xdist and one without produce equal reports."""
    joined: dict[str, list[OverheadResult]] = {}
    for entry in tests:
        joined.setdefault(entry.nodeid, []).extend(entry.results)
    return Report(created=created or utc_now(), environment=environment,
                  tests=[TestEntry(nodeid=nodeid, results=joined[nodeid]) for nodeid in sorted(joined)])


def pair_results(new: Sequence[OverheadResult], old: Sequence[OverheadResult]) -> list[OverheadResult | None]:
    """For each of a test's new results, the baseline result it compares with: the one of the same workload,
    backend, era and mode, the n-th with the n-th; None where the baseline has no such result."""
    def key(result: OverheadResult) -> tuple[str, str, str, str]:
        return result.workload, result.backend, result.era, result.mode

    pending: dict[tuple[str, str, str, str], list[OverheadResult]] = {}
    for result in old:
        pending.setdefault(key(result), []).append(result)
    return [pending[key(result)].pop(0) if pending.get(key(result)) else None for result in new]


def merge_reports(parts: Sequence[Report]) -> Report:
    """pytest-xdist workers' parts as one report: tests sorted by node id, the environment of the first
    part, ``created`` the latest part's."""
    if not parts:
        raise ValueError("merge_reports: no parts to merge; fix: pass the workers' reports")
    versions = {part.schema_version for part in parts}
    if versions != {SCHEMA_VERSION}:
        raise ValueError(f"merge_reports: parts of schema versions {sorted(versions)}; fix: merge only "
                         f"version-{SCHEMA_VERSION} parts written by this comfyruntime")
    created = max(parts, key=lambda part: datetime.fromisoformat(part.created.replace("Z", "+00:00"))).created
    return make_report(parts[0].environment, [entry for part in parts for entry in part.tests], created=created)


def write_report(report: Report, path: Path | str) -> Path:
    """Writes ``report`` as indented JSON, atomically (a reader never sees half a file); returns the path."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(report.model_dump_json(indent=2))
            fh.write("\n")
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


_REGENERATE = "write the report again with pytest (pytest-comfyruntime writes it; do not edit it by hand)"


def _field_path(loc: Sequence[int | str]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


def load_report(path: Path | str) -> Report:
    """Reads and validates a report; every problem is one :class:`ReportError` line."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ReportError(f"{source}: file: no such file; fix: check the path, or run the tests with the "
                          "report enabled to write it") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ReportError(f"{source}: file: cannot be read ({type(exc).__name__}: {exc}); fix: pass a JSON report "
                          "file pytest-comfyruntime wrote") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ReportError(f"{source}: line {exc.lineno} column {exc.colno}: invalid JSON ({exc.msg}); fix: "
                          f"{_REGENERATE}") from None
    if not isinstance(data, dict):
        raise ReportError(f"{source}: (top level): a JSON {type(data).__name__}, not a report object; fix: "
                          f"{_REGENERATE}")
    version = data.get("schema_version")
    if version is None:
        raise ReportError(f"{source}: schema_version: missing, so this is no comfyruntime report; fix: pass the "
                          "report pytest-comfyruntime wrote")
    if version != SCHEMA_VERSION:
        if isinstance(version, int) and not isinstance(version, bool) and version > SCHEMA_VERSION:
            fix = "upgrade pytest-comfyruntime (pip install -U pytest-comfyruntime) to read it"
        else:
            fix = f"run the tests again with this pytest-comfyruntime to write a version-{SCHEMA_VERSION} report"
        raise ReportError(f"{source}: schema_version: report of schema version {version!r}; this comfyruntime "
                          f"reads version {SCHEMA_VERSION}; fix: {fix}")
    try:
        return Report.model_validate(data)
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        first = errors[0]
        others = len(errors) - 1
        more = f" (and {others} more problem{'s' if others > 1 else ''})" if others else ""
        given = first.get("input")
        shown = f", got {json.dumps(given)[:60]}" if first["type"] != "missing" and not isinstance(given, dict) \
            else ""
        raise ReportError(f"{source}: {_field_path(first['loc'])}: {first['msg']}{shown}{more}; fix: "
                          f"{_REGENERATE}") from None


def report_schema() -> dict[str, Any]:
    """The report's JSON schema (draft 2020-12), as ``comfyruntime schema report`` prints it."""
    schema = Report.model_json_schema()
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema,
            "title": f"pytest-comfyruntime overhead report, schema version {SCHEMA_VERSION}"}


__all__ = ["SCHEMA_VERSION", "Environment", "Report", "ReportError", "TestEntry", "collect_environment",
           "load_report", "make_report", "merge_reports", "pair_results", "report_schema", "utc_now", "write_report"]

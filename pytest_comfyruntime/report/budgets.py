"""Budgets files: the limits the release gate (``comfyruntime gate``) holds a report to.

A budgets file is TOML with up to three kinds of table, each holding any of the four budget keys
(``pct``, ``per_call_us``, ``instructions``, ``retained_kb_per_prompt``; positive numbers)::

    [defaults]                                  # every test, every hook target
    pct = 5
    per_call_us = 50

    [targets."execution.get_input_data"]        # one hook target, in every test (quote the name)
    per_call_us = 10

    [tests."tests/test_perf.py::test_txt2img"]  # one test (or a file: "tests/test_perf.py")
    pct = 2

What a key limits depends on the figure it is judged against:

* ``pct``: in ``[defaults]`` and ``[tests]`` tables, the whole prompt's overhead in percent of prompt
  time; in a ``[targets]`` table, that target's share of prompt time.
* ``per_call_us`` and ``instructions``: each hook target, per call.
* ``retained_kb_per_prompt``: the memory the extension keeps per prompt (not per target, so a
  ``[targets]`` table may not set it).

Resolution, key by key: a test table over a target table over ``[defaults]``. A test table's name
matches a node id exactly, the node id without its parameter id (``test_y`` matches
``test_y[mock-D]``), or any leading part of it that ends before ``::`` (the file, a class); the more
of the node id a name covers, the later it applies.

Every mistake is one :class:`BudgetError` line naming the file, the field and the fix. On Python
3.10 reading TOML needs ``tomli`` (``tomllib`` from 3.11).
"""
from __future__ import annotations

import difflib
import math
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from ..overhead.models import BUDGET_KEYS, Budget

TABLES = ("defaults", "targets", "tests")
#: The keys a ``[targets."..."]`` table may set (retained memory is not measured per target).
TARGET_KEYS = ("pct", "per_call_us", "instructions")


class BudgetError(ValueError):
    """A budgets file that cannot be used: one line naming the file, the field, the problem and the fix."""


class BudgetFile(BaseModel):
    """The budgets file's shape (for its JSON schema; :func:`load_budgets` validates it by hand, to say
    more than a schema can)."""

    model_config = ConfigDict(extra="forbid")

    defaults: Budget = Field(default_factory=Budget, description="limits for every test and hook target")
    targets: dict[str, Budget] = Field(default_factory=dict, description="by hook target, e.g. "
                                       "'execution.get_input_data'; pct here is the target's share of prompt time")
    tests: dict[str, Budget] = Field(default_factory=dict, description="by pytest node id, a node id without its "
                                     "parameters, or a leading part ending before '::' (a file, a class)")


def _merge(*layers: Budget | None) -> Budget:
    """Key by key, the last layer that sets a key wins."""
    values: dict[str, float] = {}
    for layer in layers:
        if layer is not None:
            values.update(layer.items())
    return Budget(**values)


def _test_keys(nodeid: str) -> list[str]:
    """The test-table names that match ``nodeid``, least specific first."""
    keys: list[str] = []
    base = nodeid.split("[", 1)[0] if nodeid.endswith("]") else nodeid
    parts = base.split("::")
    keys.extend("::".join(parts[:n]) for n in range(1, len(parts)))
    keys.append(base)
    if base != nodeid:
        keys.append(nodeid)
    return keys


@dataclass(frozen=True)
class Budgets:
    """A validated budgets file."""

    defaults: Budget = field(default_factory=Budget)
    targets: Mapping[str, Budget] = field(default_factory=dict)
    tests: Mapping[str, Budget] = field(default_factory=dict)
    path: Path | None = None

    def _test_layers(self, nodeid: str) -> list[Budget]:
        return [self.tests[key] for key in _test_keys(nodeid) if key in self.tests]

    def for_test(self, nodeid: str) -> Budget:
        """The whole-prompt limits (and per-call ones, for every target) of one test: its tables over
        ``[defaults]``."""
        return _merge(self.defaults, *self._test_layers(nodeid))

    def for_target(self, nodeid: str, target: str) -> Budget:
        """The limits of one hook target in one test: ``per_call_us`` and ``instructions`` from the test's
        tables over the target's table over ``[defaults]``; ``pct`` (the target's share of prompt time)
        only from the target's table; ``retained_kb_per_prompt`` never (it is not per target)."""
        target_table = self.targets.get(target)
        merged = _merge(self.defaults, target_table, *self._test_layers(nodeid))
        return Budget(per_call_us=merged.per_call_us, instructions=merged.instructions,
                      pct=target_table.pct if target_table is not None else None)

    @property
    def empty(self) -> bool:
        """True when the file sets no limit at all."""
        return not self.defaults.items() and not any(b.items() for b in (*self.targets.values(),
                                                                         *self.tests.values()))


def _kind(value: Any) -> str:
    """A TOML value's kind with its article: 'an integer', 'a string', 'a table'."""
    kinds = ((bool, "a boolean"), (int, "an integer"), (float, "a float"), (str, "a string"), (list, "an array"),
             (dict, "a table"))
    return next((name for kind, name in kinds if isinstance(value, kind)), "a date or time")


def _toml_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else '"' + name.replace('"', '\\"') + '"'


def _suggest(name: str, valid: tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
    listed = ", ".join(valid)
    return f"did you mean {close[0]}? (valid: {listed})" if close else f"use one of {listed}"


def _budget(path: Path, where: str, table: Any, allowed: tuple[str, ...], what: str) -> Budget:
    if not isinstance(table, dict):
        raise BudgetError(f"{path}: {where}: {_kind(table)}, not a table; fix: write it as a table "
                          f"[{where}] holding {', '.join(allowed)}")
    values: dict[str, float] = {}
    for key, value in table.items():
        field_name = f"{where}.{_toml_key(key)}"
        if key not in allowed:
            if key in BUDGET_KEYS:  # retained_kb_per_prompt in a target table
                raise BudgetError(f"{path}: {field_name}: retained memory is measured for the whole extension, "
                                  "not per hook target; fix: move it to [defaults] or a [tests.\"...\"] table")
            if isinstance(value, dict) and where.startswith(("targets.", "tests.")):
                raise BudgetError(f"{path}: {field_name}: a nested table, so the {what} name was split at a dot; "
                                  f"fix: quote the whole name, e.g. [{where.split('.', 1)[0]}.\"{where.split('.', 1)[1]}"
                                  f".{key}\"]")
            raise BudgetError(f"{path}: {field_name}: unknown key; fix: {_suggest(key, allowed)}")
        if isinstance(value, bool) or not isinstance(value, int | float):
            shown = f'"{value}"' if isinstance(value, str) else str(value).lower() if isinstance(value, bool) \
                else str(value)
            raise BudgetError(f"{path}: {field_name}: {shown} is {_kind(value)}, not a number; fix: write "
                              f"a positive number without quotes, e.g. {key} = 10")
        if not math.isfinite(value) or value <= 0:
            raise BudgetError(f"{path}: {field_name}: {value} is not a positive number; fix: write a positive limit "
                              "(leave the key out for no limit)")
        values[key] = float(value)
    return Budget(**values)


def _parse_toml(path: Path, text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        try:
            import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            raise BudgetError(f"{path}: file: reading TOML on Python 3.10 needs tomli; fix: pip install tomli") \
                from None
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        where = re.search(r"\(at line (\d+), column (\d+)\)", message)
        problem = re.sub(r"\s*\(at (line \d+, column \d+|end of document)\)", "", message)
        field_name = f"line {where[1]}, column {where[2]}" if where else "end of file"
        raise BudgetError(f"{path}: {field_name}: invalid TOML ({problem}); fix: correct the TOML there "
                          "(names with dots or colons need quotes: [tests.\"tests/test_x.py::test_y\"])") from None
    return data


def parse_budgets(text: str, path: Path | str = "<budgets>") -> Budgets:
    """Budgets from TOML text; ``path`` names it in errors."""
    source = Path(path)
    data = _parse_toml(source, text)
    for name, value in data.items():
        if name in TABLES:
            continue
        if name in BUDGET_KEYS:
            raise BudgetError(f"{source}: {name}: a budget key outside any table; fix: put it under [defaults] "
                              "(or a [targets.\"...\"] / [tests.\"...\"] table)")
        kind = "table" if isinstance(value, dict) else "key"
        raise BudgetError(f"{source}: {_toml_key(name)}: unknown {kind}; fix: {_suggest(name, TABLES)}")
    defaults = _budget(source, "defaults", data.get("defaults", {}), BUDGET_KEYS, "defaults")
    found: dict[str, dict[str, Budget]] = {"targets": {}, "tests": {}}
    for kind, allowed, what in (("targets", TARGET_KEYS, "hook target"), ("tests", BUDGET_KEYS, "test")):
        tables = data.get(kind, {})
        if not isinstance(tables, dict):
            raise BudgetError(f"{source}: {kind}: {_kind(tables)}, not a table; fix: write "
                              f"[{kind}.\"<{what} name>\"] tables")
        for name, table in tables.items():
            found[kind][name] = _budget(source, f"{kind}.{_toml_key(name)}", table, allowed, what)
    return Budgets(defaults=defaults, targets=found["targets"], tests=found["tests"], path=source)


def load_budgets(path: Path | str) -> Budgets:
    """Reads and validates a budgets file; every problem is one :class:`BudgetError` line."""
    source = Path(path)
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BudgetError(f"{source}: file: no such file; fix: check the path (an example: fixtures/budgets.toml "
                          "in pytest-comfyruntime's repository)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BudgetError(f"{source}: file: cannot be read ({type(exc).__name__}: {exc}); fix: pass a UTF-8 "
                          "TOML budgets file") from None
    return parse_budgets(text, source)


def budget_schema() -> dict[str, Any]:
    """The budgets file's JSON schema (draft 2020-12), as ``comfyruntime schema budget`` prints it."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **BudgetFile.model_json_schema(),
            "title": "pytest-comfyruntime budgets file (TOML)"}


__all__ = ["TABLES", "TARGET_KEYS", "BudgetError", "BudgetFile", "Budgets", "budget_schema", "load_budgets",
           "parse_budgets"]

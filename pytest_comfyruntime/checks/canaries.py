"""The canaries of ``assert_session_isolation``, and reading them back out of a capture.

Every prompt gets canaries nobody else has (:class:`CanaryPlan`): its own node ids
(``<salt><prompt:5><node:3>``), a ``cnry<salt>-<prompt>-<node><field>`` string in every STRING
widget and, on CR nodes, a ``9<salt><prompt><node>`` integer. :func:`scan` searches whatever
``read_capture(prompt_id)`` returned (:func:`walk`: a dict, a pydantic model, a dataclass, text,
or paths of files the extension wrote, PNG text chunks included) for canaries: one of another
prompt is a leak, none of its own means its data is missing. Each :class:`Problem` names the
prompt, the field and the prompt the value came from; an :class:`IsolationReport` collects them.
"""
from __future__ import annotations

import dataclasses
import os
import random
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from pydantic import BaseModel, Field

ReadCapture = Callable[[str], Any]  # None: only ComfyUI's results are checked

MISSING: Final = "its own data is missing"
MODE_TEXT: Final = {"a": "one after another on one executor", "b": "interleaved on one executor",
                    "c": "concurrently on {threads} executors in {threads} threads"}


@dataclass(frozen=True)
class Origin:
    prompt_id: str
    node_id: str
    class_type: str
    field: str | None


@dataclass
class _Planned:
    prompt_id: str
    mode: str
    index: int
    prompt: dict[str, Any]
    expected: dict[str, Any] = field(default_factory=dict)  # CRRecord node id -> value it must report
    lacks: set[int] = field(default_factory=set)  # positions of nodes earlier prompts had


class Problem(BaseModel):
    prompt_id: str
    mode: str
    kind: str = Field(description="leak / stale / missing / run error / read error / wrong result")
    field: str = ""
    value: str = ""
    source_prompt: str | None = None
    source: str = ""
    note: str = ""

    def __str__(self) -> str:
        head = f"prompt {self.prompt_id!r} (mode {self.mode})"
        if self.kind in ("leak", "stale"):
            return (f"{head}: field {self.field} holds {self.value}, which came from prompt "
                    f"{self.source_prompt!r} ({self.source}){self.note}")
        return f"{head}: {self.kind}: {self.value}{self.note}"


class IsolationReport(BaseModel):
    prompts: dict[str, int] = Field(default_factory=dict, description="prompts run per mode")
    skipped: dict[str, str] = Field(default_factory=dict, description="modes not run, and why")
    problems: list[Problem] = Field(default_factory=list)
    stopped: bool = Field(default=False, description="the run stopped early: too many problems")
    retried: int = Field(default=0, description="prompts run again after ComfyUI's own progress-registry race")

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self, limit: int = 10) -> str:
        """One line per (prompt, kind, source prompt): the first field found, and how many more."""
        groups: dict[tuple[str, str, str | None], list[Problem]] = {}
        missing = [p for p in self.problems if p.kind == MISSING]
        for problem in self.problems:
            if problem.kind != MISSING:
                groups.setdefault((problem.prompt_id, problem.kind, problem.source_prompt), []).append(problem)
        affected = len({p.prompt_id for p in self.problems})
        lines = [f"session isolation broken (principle: per-prompt isolation): {len(self.problems)} problem(s) "
                 f"in {affected} of {sum(self.prompts.values())} prompt(s)"]
        for found in list(groups.values())[:limit]:
            found.sort(key=lambda p: not p.source.startswith("canary"))  # a canary says more than an id
            more = f" (and {len(found) - 1} more field(s) from that prompt)" if len(found) > 1 else ""
            lines.append(f"  - {found[0]}{more}")
        if len(groups) > limit:
            lines.append(f"  ... and {len(groups) - limit} more prompt(s) with problems")
        if missing:
            more = f" (and {len(missing) - 1} more prompt(s) whose own data is missing)" if len(missing) > 1 else ""
            lines.append(f"  - {missing[0]}{more}")
        if self.stopped:
            lines.append("  (stopped early after that many problems; later prompts were not run or read)")
        return "\n".join(lines)


# -- canaries ----------------------------------------------------------------------------------
class CanaryPlan:
    """Gives prompt ``g`` its node ids and canary values, and maps any canary back to its origin."""

    def __init__(self, node_classes: Mapping[str, type], salt: int | None = None) -> None:
        self.node_classes = node_classes
        self.salt = salt if salt is not None else random.SystemRandom().randrange(1000, 10000)
        self.origins: dict[tuple[str, int, int, str], Origin] = {}  # (kind, g, j, field letter)
        self.prompt_ids: dict[int, str] = {}
        self.str_re = re.compile(rf"cnry{self.salt}-(\d{{5}})-(\d{{3}})([a-z])")
        self.id_re = re.compile(rf"(?<!\d){self.salt}(\d{{5}})(\d{{3}})(?!\d)")
        self.int_re = re.compile(rf"(?<!\d)9{self.salt}(\d{{5}})(\d{{3}})(?!\d)")

    def node_id(self, g: int, j: int) -> str:
        return f"{self.salt}{g:05d}{j:03d}"

    def text(self, g: int, j: int, letter: str) -> str:
        return f"cnry{self.salt}-{g:05d}-{j:03d}{letter}"

    def number(self, g: int, j: int) -> int:
        return int(f"9{self.salt}{g:05d}{j:03d}")

    def build(self, g: int, prompt_id: str, template: Mapping[str, Any], *, branch: bool) -> tuple[dict[str, Any], dict[str, Any]]:
        """Renumbers ``template`` for prompt ``g``, puts canaries in its widgets, and appends the
        canary branch (CRString -> CRRecord, plus CRJoin -> CRRecord when ``branch``)."""
        if len(template) > 990:
            raise ValueError(f"assert_session_isolation: a prompt of {len(template)} nodes is too big (990 at most)")
        self.prompt_ids[g] = prompt_id
        ids = {old: self.node_id(g, j) for j, old in enumerate(template, start=1)}
        n = len(ids)
        prompt: dict[str, Any] = {}
        for j, (old, node) in enumerate(template.items(), start=1):
            inputs = {name: self._canary(g, j, node["class_type"], name, value, pos, ids)
                      for pos, (name, value) in enumerate(node.get("inputs", {}).items())}
            prompt[ids[old]] = {**node, "inputs": inputs}
        s, r = n + 1, n + 2  # the canary branch; None marks a canary string, an int a link to node j
        extra: list[tuple[int, str, dict[str, int | str | None]]] = [
            (s, "CRString", {"value": None}), (r, "CRRecord", {"value": s, "label": None})]
        if branch:
            extra += [(n + 3, "CRJoin", {"a": s, "b": None, "separator": "/"}),
                      (n + 4, "CRRecord", {"value": n + 3, "label": None})]
        for j, class_type, raw in extra:
            prompt[self.node_id(g, j)] = {"class_type": class_type, "inputs": {
                name: [self.node_id(g, value), 0] if isinstance(value, int) else
                self._text(g, j, pos, class_type, name) if value is None else value
                for pos, (name, value) in enumerate(raw.items())}}
        for nid, node in prompt.items():
            self.origins[("id", g, int(nid[-3:]), "")] = Origin(prompt_id, nid, node["class_type"], None)
        expected = {self.node_id(g, r): [prompt[self.node_id(g, s)]["inputs"]["value"]]}
        if branch:
            text = prompt[self.node_id(g, s)]["inputs"]["value"] + "/" + prompt[self.node_id(g, n + 3)]["inputs"]["b"]
            expected[self.node_id(g, n + 4)] = [text]
        return prompt, expected

    def _text(self, g: int, j: int, pos: int, class_type: str, name: str, before: str = "") -> str:
        letter = "abcdefghijklmnopqrstuvwxyz"[pos % 26]
        self.origins[("str", g, j, letter)] = Origin(self.prompt_ids[g], self.node_id(g, j), class_type, name)
        text = self.text(g, j, letter)
        return f"{before} {text}" if before else text

    def _canary(self, g: int, j: int, class_type: str, name: str, value: Any, pos: int, ids: dict[str, str]) -> Any:
        if isinstance(value, list) and len(value) == 2 and value[0] in ids:
            return [ids[value[0]], value[1]]
        kind = self._widget_type(class_type, name)
        if kind == "STRING" and isinstance(value, str):
            return self._text(g, j, pos, class_type, name, value)
        if kind == "INT" and class_type.startswith("CR") and isinstance(value, int) and not isinstance(value, bool):
            self.origins[("int", g, j, "")] = Origin(self.prompt_ids[g], self.node_id(g, j), class_type, name)
            return self.number(g, j)
        return value

    def _widget_type(self, class_type: str, name: str) -> str | None:
        cls: Any = self.node_classes.get(class_type)  # a ComfyUI node class: INPUT_TYPES is duck-typed
        try:
            spec = cls.INPUT_TYPES() if cls is not None else {}
        except Exception:
            return None
        for category in ("required", "optional"):
            entry = spec.get(category, {}).get(name)
            if entry is not None:
                return entry[0] if isinstance(entry[0], str) else None
        return None

    def origin(self, kind: str, g: int, j: int, letter: str = "") -> Origin | None:
        return self.origins.get((kind, g, j, letter))


DEFAULT_TEMPLATE: Final = {
    "1": {"class_type": "CRString", "inputs": {"value": ""}},
    "2": {"class_type": "CRInt", "inputs": {"value": 1}},
    "3": {"class_type": "CRInt", "inputs": {"value": 2}},
    "4": {"class_type": "CRAdd", "inputs": {"a": ["2", 0], "b": ["3", 0]}},
    "5": {"class_type": "CRRecord", "inputs": {"value": ["4", 0], "label": ""}},
}


# -- reading what the extension captured -------------------------------------------------------
def _read_file(path: os.PathLike[str]) -> Any:
    from ..nodes import read_png_text

    p = Path(path)
    try:
        if p.suffix.lower() == ".png":
            return read_png_text(p)
        return p.read_bytes().decode("utf-8", "replace")
    except (OSError, ValueError) as exc:
        return f"<unreadable file {p}: {exc}>"


def walk(obj: Any, path: str = "", depth: int = 0, seen: set[int] | None = None) -> Iterator[tuple[str, Any]]:
    """``(path, leaf)`` for every scalar in ``obj``; mapping keys are leaves too."""
    seen = set() if seen is None else seen
    if obj is None or isinstance(obj, (str, int, float, bool)):
        yield path or "<value>", obj
        return
    if isinstance(obj, bytes):
        yield path or "<value>", obj.decode("utf-8", "replace")
        return
    if isinstance(obj, os.PathLike):
        yield from walk(_read_file(obj), f"{path} (file {os.fspath(obj)})", depth + 1, seen)
        return
    if depth > 32 or id(obj) in seen:
        return
    seen.add(id(obj))
    if isinstance(obj, BaseModel):
        obj = obj.model_dump()
    elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        obj = {f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)}
    if isinstance(obj, Mapping):
        for key, value in list(obj.items()):  # a snapshot: the extension may still be writing to it
            yield f"{path}[{key!r}] (a key)", key
            yield from walk(value, f"{path}[{key!r}]", depth + 1, seen)
    elif isinstance(obj, (list, tuple, set, frozenset)):
        for i, value in enumerate(list(obj)):
            yield from walk(value, f"{path}[{i}]", depth + 1, seen)
    elif hasattr(obj, "__dict__"):
        yield from walk(vars(obj), f"{path}.__dict__", depth + 1, seen)
    else:
        yield path or "<value>", repr(obj)


def scan(plan: CanaryPlan, planned: _Planned, data: Any, limit: int = 50) -> list[Problem]:
    """Foreign canaries and node ids in ``data`` read for ``planned`` (at most ``limit``), or its
    own data missing."""
    g, problems, own = planned.index, [], 0
    found: dict[tuple[str, str], Problem] = {}
    for path, leaf in walk(data):
        if len(found) >= limit and own:
            break
        hits: list[tuple[str, int, int, str, str]] = []
        if isinstance(leaf, str):
            hits += [("str", int(m[1]), int(m[2]), m[3], m[0]) for m in plan.str_re.finditer(leaf)]
            hits += [("int", int(m[1]), int(m[2]), "", m[0]) for m in plan.int_re.finditer(leaf)]
            hits += [("id", int(m[1]), int(m[2]), "", m[0]) for m in plan.id_re.finditer(leaf)]
        elif isinstance(leaf, int) and not isinstance(leaf, bool):
            text = str(leaf)
            if (m := plan.int_re.fullmatch(text)) is not None:
                hits.append(("int", int(m[1]), int(m[2]), "", text))
            elif (m := plan.id_re.fullmatch(text)) is not None:
                hits.append(("id", int(m[1]), int(m[2]), "", text))
        for kind, hit_g, j, letter, text in hits:
            origin = plan.origin(kind, hit_g, j, letter)
            if origin is None:
                continue
            if hit_g == g:
                own += 1
                continue
            what = "node id" if kind == "id" else ("canary" if kind == "str" else "canary number")
            source = f"{what} of node {origin.node_id} {origin.class_type}" + (
                f", input {origin.field!r}" if origin.field else "")
            stale = hit_g < g and j in planned.lacks
            found.setdefault((path, origin.prompt_id), Problem(
                prompt_id=planned.prompt_id, mode=planned.mode, kind="stale" if stale else "leak",
                field=path or "<value>", value=repr(text), source_prompt=origin.prompt_id, source=source,
                note="; this prompt has no such node: stale state kept from an earlier prompt" if stale else ""))
    problems += list(found.values())
    if own == 0:
        shown = repr(data)
        shown = shown if len(shown) <= 120 else shown[:117] + "..."
        why = ("read_capture returned " + shown) if not data else (
            f"none of its canaries or node ids appear in what read_capture returned ({shown})")
        problems.append(Problem(prompt_id=planned.prompt_id, mode=planned.mode, kind=MISSING,
                                value=why))
    return problems


__all__ = ["CanaryPlan", "DEFAULT_TEMPLATE", "IsolationReport", "MISSING", "MODE_TEXT", "Origin", "Problem",
           "ReadCapture", "scan", "walk"]

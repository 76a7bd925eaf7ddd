"""What a run really did, to judge its metadata by: from a ``RunResult`` and what ``expect`` adds.

From a ``RunResult``: the prompt id, the prompt ComfyUI executed (the history's queue item, with
validation's coercions), its ``extra_data`` (where the history keeps it), the executed nodes in
order (from the ``executing`` messages, so with a client only), the files its nodes wrote and their
``executed`` outputs. Constant inputs are known from the prompt; linked ones (what a switch chose,
what an upstream node computed) only from ``expect``: a :class:`~._witness.RunWitness` that watched
the run, a ``PromptCapture`` of the reference capture, or ``{node_id: {input: value}}``.
"""
from __future__ import annotations

import math
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

from ..capture import PromptCapture
from ..executor.harness import RunResult
from ._secrets import Secret
from ._witness import RunWitness

UNKNOWN: Final = object()
_CUT: Final = re.compile(r"…\[\+(\d+) chars\]$")


def is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def same(written: Any, truth: Any) -> bool:
    """Whether a written value stands for the true one: equal (bools are not ints, floats within
    1e-9), or a string a capture cut short (``"abc…[+N chars]"``) of it, or lists of such."""
    if isinstance(written, bool) or isinstance(truth, bool):
        return isinstance(written, bool) and isinstance(truth, bool) and written == truth
    if isinstance(written, (int, float)) and isinstance(truth, (int, float)):
        return math.isclose(written, truth, rel_tol=1e-9, abs_tol=1e-12)
    if isinstance(written, str) and isinstance(truth, str):
        cut = _CUT.search(written)
        if written == truth or cut is None:
            return written == truth
        head = written[:cut.start()]
        return truth.startswith(head) and len(truth) == len(head) + int(cut[1])
    if isinstance(written, list) and isinstance(truth, list):
        return len(written) == len(truth) and all(same(w, t) for w, t in zip(written, truth))
    return bool(written == truth)


@dataclass
class OutputFile:
    """A file a node of the run wrote: where it is, which node wrote it and its UI entry."""

    path: Path
    node_id: str | None
    entry: dict[str, Any] = field(default_factory=dict)


@dataclass
class Truth:
    prompt_id: str | None = None
    prompt: dict[str, Any] | None = None
    extra_data: dict[str, Any] = field(default_factory=dict)
    order: list[str] | None = None
    resolved: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Where ``resolved`` came from, for messages ("the RunWitness", "expect", ...).
    source: str = "the run's prompt (constant inputs only)"
    strict: dict[str, dict[str, Any]] = field(default_factory=dict)
    duration_s: float | None = None
    files: list[OutputFile] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)
    secrets: list[Secret] = field(default_factory=list)
    #: Canary node id -> the node id of the prompt it was made from (the reruns), for messages.
    aliases: dict[str, str] = field(default_factory=dict)

    def shown(self, node_id: str) -> str:
        alias = self.aliases.get(node_id)
        return node_id if alias is None else f"{node_id} (node {alias} of the prompt checked)"

    def value(self, node_id: str, name: str) -> Any:
        """The true value of one input, or :data:`UNKNOWN`."""
        if name in self.resolved.get(node_id, {}):
            return self.resolved[node_id][name]
        node = (self.prompt or {}).get(node_id)
        inputs = node.get("inputs", {}) if isinstance(node, Mapping) else {}
        if name in inputs and not is_link(inputs[name]):
            return inputs[name]
        return UNKNOWN

    def linked(self, node_id: str, name: str) -> bool:
        node = (self.prompt or {}).get(node_id)
        return isinstance(node, Mapping) and is_link(node.get("inputs", {}).get(name))

    @property
    def knows_links(self) -> bool:
        return bool(self.resolved)


def _dedup(ids: Sequence[str]) -> list[str]:
    seen: dict[str, None] = {}
    for node_id in ids:
        seen.setdefault(node_id, None)
    return list(seen)


def files_of(result: RunResult) -> tuple[list[OutputFile], str | None]:
    """The files the run's nodes reported (history ``outputs``), or why they cannot be located."""
    folder_paths: Any = sys.modules.get("folder_paths")
    locate = getattr(folder_paths, "get_directory_by_type", None)
    found: list[OutputFile] = []
    for node_id, ui in result.outputs.items():
        for entries in (ui or {}).values() if isinstance(ui, Mapping) else ():
            for entry in entries if isinstance(entries, list) else ():
                if not (isinstance(entry, Mapping) and isinstance(entry.get("filename"), str)):
                    continue
                if locate is None:
                    return [], ("ComfyUI's folder_paths is not loaded, so the run's files cannot be located; "
                                "fix: call it inside the test that ran the prompt, or pass the file's path")
                base = locate(entry.get("type", "output"))
                if base is None:
                    continue
                found.append(OutputFile(Path(base, entry.get("subfolder") or "", entry["filename"]), str(node_id),
                                        dict(entry)))
    return found, None


def truth_of(target: Any, expect: Any = None) -> Truth:
    """The truth for a ``RunResult`` (or nothing, for a path), with ``expect`` added."""
    truth = Truth()
    if isinstance(target, RunResult):
        item = target.history.get("prompt")
        if isinstance(item, (list, tuple)) and len(item) >= 4:
            truth.prompt = item[2] if isinstance(item[2], dict) else None
            truth.extra_data = dict(item[3]) if isinstance(item[3], Mapping) else {}
        truth.prompt_id = target.prompt_id
        executed = target.executed_nodes
        truth.order = _dedup(executed) if executed else None
        truth.duration_s = target.duration_s
        truth.outputs = {str(k): v for k, v in target.outputs.items()}
    _add_expect(truth, expect)
    return truth


def _add_expect(truth: Truth, expect: Any) -> None:
    if expect is None:
        return
    if isinstance(expect, RunWitness):
        truth.resolved = {k: dict(v) for k, v in expect.inputs.items()}
        truth.source = "the RunWitness that watched the run"
        truth.extra_data = {**expect.extra_data, **truth.extra_data} if expect.extra_data else truth.extra_data
        return
    if isinstance(expect, PromptCapture):
        truth.resolved = {k: dict(n.inputs) for k, n in expect.nodes.items()}
        truth.source = f"the capture's session of prompt {expect.prompt_id!r}"
        truth.prompt_id = truth.prompt_id or expect.prompt_id
        truth.order = truth.order if truth.order is not None else list(expect.order)
        return
    if isinstance(expect, Mapping) and all(isinstance(v, Mapping) for v in expect.values()):
        truth.strict = {str(k): dict(v) for k, v in expect.items()}
        for node_id, inputs in truth.strict.items():
            truth.resolved.setdefault(node_id, {}).update({k: v for k, v in inputs.items() if k != "class_type"})
        truth.source = "expect"
        return
    raise TypeError(f"assert_metadata(expect=...) got {type(expect).__name__}; fix: pass a RunWitness, the "
                    "reference capture's PromptCapture, or {node_id: {input: value}}")


__all__ = ["OutputFile", "Truth", "UNKNOWN", "files_of", "is_link", "same", "truth_of"]

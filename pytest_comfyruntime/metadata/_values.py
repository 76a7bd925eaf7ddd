"""Judging what a file says against what the run did: prompt id, execution order, resolved
inputs (a readable per-field diff), the disagreements of seed 001, timings, ComfyUI's own chunks,
the A1111 ``parameters`` text and the ``executed`` output's ``metadata`` entry (era D)."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from ..nodes.metadata_save import parsed_value
from ._a1111 import KSAMPLER_FIELDS
from ._errors import MetadataFileError
from ._read import ImageMetadata, parse_json
from ._schema import RuntimeData, RuntimeSection
from ._sections import Add
from ._truth import UNKNOWN, Truth, same

_VALUES_FIX = ("write the values the executor resolved for this prompt (the capture's session for this prompt "
               "id), preferring runtime values over parsed ones")
_PATH = re.compile(r"^ai_info\.runtime\.nodes\.([^.]+)\.inputs\.(.+)$")
_SLACK_S = 0.25


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 70 else text[:67] + "..."


def check_prompt_id(data: RuntimeSection | RuntimeData, truth: Truth, add: Add) -> bool:
    """Whether the section names another prompt (reported)."""
    if truth.prompt_id is not None and data.prompt_id is not None and data.prompt_id != truth.prompt_id:
        add("prompt id", "ai_info.runtime.prompt_id", f"is {data.prompt_id!r}, but this run's prompt id is "
            f"{truth.prompt_id!r}: the metadata describes another prompt (its execution order and values were not "
            "compared)", "read the session of the running prompt (keyed by the prompt_id ComfyUI passes to "
            "execute), never one kept from an earlier prompt")
        return True
    return False


def check_order(data: RuntimeSection | RuntimeData, truth: Truth, saver: str | None, add: Add) -> None:
    if data.capture_mode != "parser+hooks" or truth.order is None or data.execution_order is None:
        return
    expected = truth.order[:truth.order.index(saver) + 1] if saver in truth.order else truth.order
    if data.execution_order != expected:
        missing = [n for n in expected if n not in data.execution_order]
        extra = [n for n in data.execution_order if n not in expected]
        detail = "; ".join(part for part in (f"missing {missing}" if missing else "",
                                             f"not executed before the file was saved: {extra}" if extra else "",
                                             "same nodes, other order" if not (missing or extra) else "") if part)
        add("order", "ai_info.runtime.execution_order", f"is {data.execution_order}, but the run executed "
            f"{expected} up to the saving node ({detail})", "record node ids as ComfyUI runs them, for this prompt")


def check_values(data: RuntimeSection | RuntimeData, truth: Truth, add: Add, disagreements: list[str]) -> None:
    """The per-field diff of ``data.nodes`` against ``truth``; disagreements are listed, not failed."""
    diffs: list[str] = []
    nodes = data.nodes or {}
    hooks = data.capture_mode == "parser+hooks"
    prompt = truth.prompt
    for node_id, node in nodes.items():
        true_node = (prompt or {}).get(node_id)
        if prompt is not None and not isinstance(true_node, Mapping):
            diffs.append(f"nodes.{node_id}: no node {node_id!r} in this run's prompt (values of another prompt?)")
            continue
        if isinstance(true_node, Mapping) and true_node.get("class_type") != node.class_type:
            diffs.append(f"nodes.{node_id}.class_type: file {node.class_type!r}, run {true_node.get('class_type')!r}")
        if hooks and truth.order is not None and node_id not in truth.order:
            diffs.append(f"nodes.{node_id}: given runtime inputs, but it did not execute in this run (cached, or "
                         "on a branch a switch did not take)")
            continue
        shown = truth.shown(node_id)
        for name, written in node.inputs.items():
            true = truth.value(node_id, name)
            if true is UNKNOWN or same(written, true):
                continue
            linked = truth.linked(node_id, name)
            if linked and not hooks:
                continue  # a parser cannot know it; listed below as a disagreement
            parsed = parsed_value(prompt, node_id, name) if prompt is not None and linked else UNKNOWN
            why = ""
            if parsed is not UNKNOWN and same(written, parsed):
                why = (" (the parsed value: what a parser reads from the prompt; at run time "
                       + ("this lazy input was never evaluated)" if true is None else "the executor resolved "
                          f"{_short(true)})"))
            diffs.append(f"nodes.{shown}.inputs.{name}: file {_short(written)}, run {_short(true)}{why}")
    for node_id, inputs in truth.strict.items():
        for name, value in inputs.items():
            have = nodes.get(node_id)
            if have is None or (name != "class_type" and name not in have.inputs):
                diffs.append(f"nodes.{node_id}.inputs.{name}: missing, expected {_short(value)}")
    if diffs:
        shown = "\n".join(diffs[:12]) + (f"\n... and {len(diffs) - 12} more" if len(diffs) > 12 else "")
        add("values", "ai_info.runtime.nodes", f"differs from what the executor ran (judged by {truth.source}):\n"
            + shown, _VALUES_FIX)
    _disagreements(data, truth, add, disagreements)


def _disagreements(data: RuntimeSection | RuntimeData, truth: Truth, add: Add, lines: list[str]) -> None:
    prompt = truth.prompt
    if prompt is None:
        return
    for node_id, node in (data.nodes or {}).items():
        for name in node.inputs:
            true = truth.value(node_id, name)
            if true is UNKNOWN or true is None or not truth.linked(node_id, name):
                continue  # None: a lazy input the node never asked for
            parsed = parsed_value(prompt, node_id, name)
            if parsed is not None and not same(parsed, true):
                line = f"Disagreement at 'ai_info.runtime.nodes.{node_id}.inputs.{name}': parser={_short(parsed)} → " \
                       f"runtime={_short(true)}"
                if line not in lines:
                    lines.append(line)
    for i, entry in enumerate(data.disagreements):
        match = _PATH.match(entry.path)
        if match is None:
            continue
        node_id, name = match[1], match[2]
        true = truth.value(node_id, name)
        if true is not UNKNOWN and not same(entry.runtime, true):
            add("disagreement", f"ai_info.runtime.disagreements[{i}].runtime", f"is {_short(entry.runtime)}, but the "
                f"executor resolved {_short(true)} for {entry.path}", "log the runtime value the executor resolved")
        written = (data.nodes or {}).get(node_id)
        if written is not None and name in written.inputs and not same(written.inputs[name], entry.runtime):
            add("disagreement", entry.path, f"is {_short(written.inputs[name])}, the parser's value, though the "
                f"disagreement logged says runtime={_short(entry.runtime)}", "prefer the runtime value over the "
                "parsed one (seed 001)")


def check_timings(data: RuntimeSection | RuntimeData, truth: Truth, add: Add) -> None:
    if truth.duration_s is None:
        return
    bound = truth.duration_s * 1.5 + _SLACK_S
    for node_id, node in (data.nodes or {}).items():
        for name in ("started_s", "duration_s"):
            value = getattr(node, name)
            if value is not None and value > bound:
                add("timings", f"ai_info.runtime.nodes.{node_id}.{name}", f"is {value:.3f} s, but the whole prompt "
                    f"took {truth.duration_s:.3f} s", "measure from the start of this prompt, in seconds")
                return


def check_comfy_chunks(meta: ImageMetadata, truth: Truth, add: Add) -> None:
    """ComfyUI's own chunks: JSON, and (for a run) the prompt that ran and ``extra_pnginfo``'s values."""
    pnginfo = truth.extra_data.get("extra_pnginfo")
    keys = ["prompt", *(pnginfo if isinstance(pnginfo, Mapping) else ())]
    for key in dict.fromkeys(keys):
        entry = meta.get(key)
        if entry is None:
            continue
        try:
            value = parse_json(meta.path, entry)
        except MetadataFileError as exc:
            add("bad file", exc.field, exc.problem, exc.fix)
            continue
        expected = truth.prompt if key == "prompt" else pnginfo[key] if isinstance(pnginfo, Mapping) else None
        if expected is None:
            continue
        differences = _diff(_without_is_changed(value), _without_is_changed(expected), key)
        if differences:
            what = "the prompt this run executed" if key == "prompt" else f"extra_pnginfo[{key!r}] of this run"
            add("comfyui chunk", entry.where, f"is not {what}: " + "; ".join(differences[:3]),
                f"write json.dumps of the hidden {'PROMPT' if key == 'prompt' else 'EXTRA_PNGINFO'} input of "
                "this prompt, as ComfyUI's SaveImage does")


def _without_is_changed(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_is_changed(v) for k, v in value.items() if k != "is_changed"}
    return value


def _diff(got: Any, want: Any, path: str, limit: int = 3) -> list[str]:
    if isinstance(got, dict) and isinstance(want, dict):
        found: list[str] = []
        for key in list(want) + [k for k in got if k not in want]:
            if key not in got:
                found.append(f"{path}[{key!r}] missing")
            elif key not in want:
                found.append(f"{path}[{key!r}] not in the run")
            else:
                found += _diff(got[key], want[key], f"{path}[{key!r}]", limit)
            if len(found) >= limit:
                break
        return found
    return [] if got == want or same(got, want) else [f"{path} is {_short(got)}, the run had {_short(want)}"]


def check_parameters(meta: ImageMetadata, truth: Truth, add: Add) -> None:
    """The A1111 ``parameters`` fields against the run's one KSampler-like node (seed, steps, cfg)."""
    params = meta.parameters()
    if params is None or truth.prompt is None:
        return
    samplers = [n for n, node in truth.prompt.items() if isinstance(node, Mapping)
                and {"seed", "steps", "cfg"} <= set(node.get("inputs", {}))
                and (truth.order is None or n in truth.order)]
    if len(samplers) != 1:
        return
    node_id = samplers[0]
    for field, name in KSAMPLER_FIELDS.items():
        written, true = params.number(field), truth.value(node_id, name)
        if written is None or true is UNKNOWN or not isinstance(true, (int, float)):
            continue
        if not same(float(written), float(true)):
            add("parameters", f"parameters {field!r}", f"is {params.fields[field]}, but the "
                f"{truth.prompt[node_id].get('class_type')} (node {truth.shown(node_id)}) ran with {name}={true!r}",
                _VALUES_FIX)


def check_executed_metadata(meta: ImageMetadata, entry: Mapping[str, Any], add: Add) -> None:
    """ComfyUI 2026's ``executed`` file entry ``metadata`` (kind, width, height) against the file."""
    media = entry.get("metadata")
    if not isinstance(media, Mapping):
        return
    for name, actual in (("width", meta.width), ("height", meta.height)):
        if media.get(name) is not None and media.get(name) != actual:
            add("executed metadata", f"the executed output's metadata.{name}", f"is {media.get(name)!r}, the file "
                f"is {meta.width}x{meta.height}", "let ComfyUI fill the metadata entry (do not write one yourself)")
    if media.get("kind") not in (None, "image"):
        add("executed metadata", "the executed output's metadata.kind", f"is {media.get('kind')!r} for a "
            f"{meta.format} image", "let ComfyUI fill the metadata entry")


__all__ = ["check_comfy_chunks", "check_executed_metadata", "check_order", "check_parameters", "check_prompt_id",
           "check_timings", "check_values"]

"""Load and check API-format ComfyUI workflows (what "Save (API)" exports).

An API-format workflow is a JSON object ``{node_id: {"class_type": str, "inputs": {...},
"_meta": {"title": str}}}``; an input is a constant or a link ``[upstream_node_id, output_index]``.
:func:`validate_workflow` checks the structure ComfyUI's ``validate_prompt`` needs before it can
say anything useful (it raises ``KeyError`` on several of these in the 2024 eras) and reports the
first problem as a :class:`WorkflowError` whose message names the file, the node, the input and
the fix. Value checks (types, ranges, combos) stay with the executor, as in ComfyUI. ``_meta``
and everything else in the workflow are kept as they are.
"""
from __future__ import annotations

import difflib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from importlib import resources
from pathlib import Path
from typing import Any, TypeAlias, Union

__all__ = ["WorkflowError", "bundled_workflow_names", "load_workflow", "validate_workflow"]

PathLike: TypeAlias = Union[str, "os.PathLike[str]"]
#: An API-format workflow: node id -> ``{"class_type": ..., "inputs": {...}, "_meta": {...}}``.
Workflow: TypeAlias = dict[str, Any]

_EXPORT_FIX = 'in ComfyUI, enable the dev mode options in the settings and export with "Save (API)"'


class WorkflowError(ValueError):
    """A workflow that cannot be run, with what is wrong, where, and how to fix it.

    Attributes: ``source`` (file path or label), ``node_id``, ``class_type``, ``title``
    (``_meta.title``), ``input_name`` (each ``None`` when not applicable), ``problem`` and ``fix``.
    """

    def __init__(self, problem: str, *, source: str, fix: str, node_id: str | None = None,
                 class_type: str | None = None, title: str | None = None,
                 input_name: str | None = None) -> None:
        self.problem = problem
        self.source = source
        self.fix = fix
        self.node_id = node_id
        self.class_type = class_type
        self.title = title
        self.input_name = input_name
        super().__init__(self._compose())

    def _compose(self) -> str:
        where = [f"Workflow {self.source}"]
        if self.node_id is not None:
            node = f"node {self.node_id!r}"
            details = [d for d in (self.class_type, f"title {self.title!r}" if self.title else None) if d]
            if details:
                node += f" ({', '.join(details)})"
            where.append(node)
        if self.input_name is not None:
            where.append(f"input {self.input_name!r}")
        return f"{', '.join(where)}: {self.problem}. Fix: {self.fix}."

    def __reduce__(self) -> tuple[Callable[..., WorkflowError], tuple[str, dict[str, Any]]]:
        kwargs: dict[str, Any] = {"source": self.source, "fix": self.fix, "node_id": self.node_id,
                                  "class_type": self.class_type, "title": self.title, "input_name": self.input_name}
        return (_rebuild_error, (self.problem, kwargs))


def _rebuild_error(problem: str, kwargs: dict[str, Any]) -> WorkflowError:
    return WorkflowError(problem, **kwargs)


# -- locating workflows ---------------------------------------------------------------------------

def _bundled_dir() -> Any:
    """The bundled ``workflows`` folder: the package resource, else the source checkout's folder."""
    try:
        folder = resources.files("pytest_comfyruntime.fixtures") / "workflows"
    except ModuleNotFoundError:
        folder = None
    if folder is not None and folder.is_dir():
        return folder
    return Path(__file__).resolve().parents[1] / "fixtures" / "workflows"


def _names_in(folder: Any) -> list[str]:
    try:
        if not folder.is_dir():
            return []
        return sorted(entry.name[:-5] for entry in folder.iterdir()
                      if entry.name.endswith(".json") and entry.is_file())
    except OSError:
        return []


def bundled_workflow_names() -> list[str]:
    """Names (file stems) of the workflows shipped with the plugin, sorted."""
    return _names_in(_bundled_dir())


def _looks_like_path(text: str) -> bool:
    return text.endswith(".json") or "/" in text or os.sep in text or (os.altsep is not None and os.altsep in text)


def _find(name_or_path: PathLike | Any, search_dirs: Iterable[PathLike]) -> tuple[Any, str]:
    """Return ``(file, source label)`` for a name or a path, or raise WorkflowError."""
    dirs = [Path(d) for d in search_dirs]
    is_traversable = hasattr(name_or_path, "read_text") and not isinstance(name_or_path, (str, os.PathLike))
    if is_traversable:
        return name_or_path, str(name_or_path)  # an importlib Traversable
    if isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        path = Path(name_or_path)
        if path.is_file():
            return path, str(path)
        if not path.is_absolute() and len(path.parts) == 1:
            for folder in dirs:
                if (folder / path).is_file():
                    return folder / path, str(folder / path)
            bundled = _bundled_dir() / path.name
            if bundled.is_file():
                return bundled, str(bundled)
        raise WorkflowError("the file does not exist", source=str(path),
                            fix="check the path (relative paths are resolved from the current directory, "
                                f"{os.getcwd()}) or pass a bare name such as 'txt2img'")
    name = str(name_or_path)
    file_name = f"{name}.json"
    for folder in dirs:
        if (folder / file_name).is_file():
            return folder / file_name, str(folder / file_name)
    bundled = _bundled_dir()
    if (bundled / file_name).is_file():
        return bundled / file_name, str(bundled / file_name)
    available = sorted({*(n for folder in dirs for n in _names_in(folder)), *_names_in(bundled)})
    close = difflib.get_close_matches(name, available, n=3)
    searched = ", ".join([*(str(d) for d in dirs), str(bundled)])
    hint = f"did you mean {', '.join(repr(c) for c in close)}? " if close else ""
    raise WorkflowError(f"no workflow named {name!r} (looked for {file_name} in {searched})", source=repr(name),
                        fix=f"{hint}use one of: {', '.join(available) or '(none)'}; or add {file_name} to a folder "
                            "listed in the comfyruntime_workflows ini option")


def load_workflow(name_or_path: PathLike | Any, *, search_dirs: Iterable[PathLike] = (),
                  node_classes: Mapping[str, type]) -> Workflow:
    """Read an API-format workflow and check it with :func:`validate_workflow`.

    A bare name such as ``"txt2img"`` is looked up as ``txt2img.json`` in ``search_dirs`` in
    order, then among the bundled workflows. Anything with a path separator or ending in
    ``.json`` (or a ``Path``) is a file. Returns a fresh dict each call.
    """
    path, source = _find(name_or_path, search_dirs)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise WorkflowError(f"the file is not UTF-8 text ({exc.reason} at byte {exc.start})", source=source,
                            fix="save the workflow as UTF-8 JSON") from None
    except OSError as exc:
        raise WorkflowError(f"the file cannot be read ({exc.strerror or exc})", source=source,
                            fix="check that the file exists and is readable") from None
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise WorkflowError(f"the file is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}",
                            source=source,
                            fix=f"correct the JSON at line {exc.lineno}, column {exc.colno}, or export the "
                                f"workflow again ({_EXPORT_FIX})") from None
    validate_workflow(data, node_classes=node_classes, source=source)
    prompt: Workflow = data  # validate_workflow raised unless it is an object of nodes
    return prompt


# -- validation -----------------------------------------------------------------------------------

def _title(node: Any) -> str | None:
    meta = node.get("_meta") if isinstance(node, dict) else None
    title = meta.get("title") if isinstance(meta, dict) else None
    return title if isinstance(title, str) else None


def _is_link(value: Any) -> bool:
    return isinstance(value, list)


def validate_workflow(prompt: Any, *, node_classes: Mapping[str, type], source: str = "<prompt>") -> None:
    """Check the structure of an API-format workflow; raise :class:`WorkflowError` on the first problem.

    Checks: the top level is an object of nodes (a UI-format workflow is recognised and refused),
    each node is an object with a string ``class_type`` known to ``node_classes`` and an ``inputs``
    object, every link is ``[existing node id, output index within its RETURN_TYPES]``, every
    required input is present, and the links form no cycle.
    """
    if not isinstance(prompt, dict):
        raise WorkflowError(f"the top level is a JSON {_json_kind(prompt)}, not an object of nodes", source=source,
                            fix=f'an API-format workflow maps node ids to nodes: {{"1": {{"class_type": ..., '
                                f'"inputs": {{...}}}}}}; {_EXPORT_FIX}')
    if isinstance(prompt.get("nodes"), list) and isinstance(prompt.get("links"), list):
        raise WorkflowError("this is a UI-format workflow (it has 'nodes' and 'links' lists), which the executor "
                            "cannot run", source=source, fix=_EXPORT_FIX + " instead of \"Save\"")
    inner = prompt.get("prompt")
    if (isinstance(inner, dict) and "class_type" not in inner
            and any(isinstance(v, dict) and "class_type" in v for v in inner.values())):
        raise WorkflowError("this is a /prompt request body ({\"prompt\": {...}, ...}), not a workflow",
                            source=source, fix="pass the value of its \"prompt\" key")
    if not prompt:
        raise WorkflowError("the workflow has no nodes", source=source, fix=_EXPORT_FIX)

    for node_id, node in prompt.items():
        if not isinstance(node_id, str):
            raise WorkflowError(f"node id {node_id!r} is a {type(node_id).__name__}, not a string", source=source,
                                node_id=repr(node_id), fix=f"use the string {str(node_id)!r} as the key")
        if not isinstance(node, dict):
            raise WorkflowError(f"the node is a JSON {_json_kind(node)}, not an object", source=source,
                                node_id=node_id,
                                fix='each node must be {"class_type": ..., "inputs": {...}}; ' + _EXPORT_FIX)
        title = _title(node)
        if "class_type" not in node:
            raise WorkflowError("the node has no 'class_type'", source=source, node_id=node_id, title=title,
                                fix="add \"class_type\" with the node's registered name (e.g. \"KSampler\")")
        class_type = node["class_type"]
        if not isinstance(class_type, str):
            raise WorkflowError(f"'class_type' is a JSON {_json_kind(class_type)}, not a string", source=source,
                                node_id=node_id, title=title, fix="set \"class_type\" to the node's registered name")
        if "inputs" not in node:
            raise WorkflowError("the node has no 'inputs'", source=source, node_id=node_id, class_type=class_type,
                                title=title, fix="add \"inputs\": {} (with the node's inputs)")
        if not isinstance(node["inputs"], dict):
            raise WorkflowError(f"'inputs' is a JSON {_json_kind(node['inputs'])}, not an object", source=source,
                                node_id=node_id, class_type=class_type, title=title,
                                fix="'inputs' maps input names to constants or [node_id, output_index] links")
        if class_type not in node_classes:
            close = difflib.get_close_matches(class_type, list(node_classes), n=5)
            register = (f"register the class for the test (comfy_nodes.add({class_type!r}, cls)) or in "
                        "nodes.NODE_CLASS_MAPPINGS")
            fix = (f"did you mean {', '.join(repr(c) for c in close)}? Otherwise {register}" if close
                   else f"correct the class_type, or {register}")
            raise WorkflowError(f"class_type {class_type!r} is not a registered node class", source=source,
                                node_id=node_id, class_type=class_type, title=title, fix=fix)

    for node_id, node in prompt.items():
        _check_node(prompt, node_id, node, node_classes, source)
    _check_cycles(prompt, source)


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _input_types(cls: Any, *, source: str, node_id: str, class_type: str,
                 title: str | None) -> dict[str, Any]:
    """``cls.INPUT_TYPES()`` checked to be a dict; ``cls`` is a node class (duck-typed, as in ComfyUI)."""
    try:
        declared = cls.INPUT_TYPES()
    except Exception as exc:  # user node code: report it with the node it belongs to
        raise WorkflowError(f"{class_type}.INPUT_TYPES() raised {type(exc).__name__}: {exc}", source=source,
                            node_id=node_id, class_type=class_type, title=title,
                            fix="make INPUT_TYPES() work without a running ComfyUI, or register a stand-in "
                                "class for this test") from exc
    if not isinstance(declared, dict):
        raise WorkflowError(f"{class_type}.INPUT_TYPES() returned {type(declared).__name__}, not a dict",
                            source=source, node_id=node_id, class_type=class_type, title=title,
                            fix='return {"required": {...}, "optional": {...}, "hidden": {...}}')
    return declared


def _check_node(prompt: Workflow, node_id: str, node: dict[str, Any], node_classes: Mapping[str, type],
                source: str) -> None:
    class_type = node["class_type"]
    title = _title(node)
    where = {"source": source, "node_id": node_id, "class_type": class_type, "title": title}
    inputs = node["inputs"]
    for input_name, value in inputs.items():
        if not _is_link(value):
            continue
        if (len(value) != 2 or not isinstance(value[0], str) or not isinstance(value[1], int)
                or isinstance(value[1], bool)):
            suggestion = _suggest_link(value)
            raise WorkflowError(f"malformed link {json.dumps(value, default=repr)}: a link is "
                                "[\"<node id string>\", <output index>]", input_name=input_name, **where,
                                fix=(f"write it as {json.dumps(suggestion)}" if suggestion else
                                     "write the link as [\"<node id>\", <int>] (node ids are strings), or wrap "
                                     "a list constant as {\"__value__\": [...]} (ComfyUI 0.3.x)"))
        upstream_id, index = value
        if upstream_id not in prompt:
            close = difflib.get_close_matches(upstream_id, list(prompt), n=3)
            hint = f" (close ids: {', '.join(repr(c) for c in close)})" if close else ""
            raise WorkflowError(f"links to node {upstream_id!r}, which is not in the workflow{hint}",
                                input_name=input_name, **where,
                                fix=f"point the link at an existing node id or add node {upstream_id!r}")
        upstream = prompt[upstream_id]
        upstream_class = upstream["class_type"]
        return_types = tuple(getattr(node_classes[upstream_class], "RETURN_TYPES", ()))
        if index < 0 or index >= len(return_types):
            outputs = ", ".join(f"{i}={t}" for i, t in enumerate(return_types)) or "none"
            raise WorkflowError(f"links to output {index} of node {upstream_id!r} ({upstream_class}), which has "
                                f"{len(return_types)} output(s): {outputs}", input_name=input_name, **where,
                                fix=f"use an output index from 0 to {len(return_types) - 1}" if return_types
                                else f"{upstream_class} has no outputs to link from; link another node")
    declared = _input_types(node_classes[class_type], **where)
    required = declared.get("required") or {}
    for input_name in required:
        if input_name not in inputs:
            spec = required[input_name]
            kind = spec[0] if isinstance(spec, (tuple, list)) and spec else spec
            kind_text = "a combo" if isinstance(kind, (list, tuple)) else str(kind)
            raise WorkflowError(f"required input {input_name!r} ({kind_text}) is missing", input_name=input_name,
                                **where, fix=f"add \"{input_name}\" to the node's inputs, as a constant or a "
                                             "[node_id, output_index] link")


def _suggest_link(value: list[Any]) -> list[str | int] | None:
    """The well-formed link a malformed one most likely meant, if there is one."""
    if len(value) != 2 or any(isinstance(part, bool) for part in value):
        return None
    if not isinstance(value[0], (str, int)):
        return None
    try:
        index = int(value[1])
    except (TypeError, ValueError):
        return None
    if index != value[1] and str(index) != value[1]:
        return None
    return [str(value[0]), index]


def _check_cycles(prompt: Workflow, source: str) -> None:
    edges: dict[str, list[str]] = {
        node_id: [v[0] for v in node["inputs"].values() if _is_link(v)] for node_id, node in prompt.items()
    }
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in prompt:
        if state.get(start):
            continue
        path: list[str] = [start]
        iters = [iter(edges[start])]
        state[start] = 1
        while iters:
            upstream = next(iters[-1], None)
            if upstream is None:
                state[path.pop()] = 2
                iters.pop()
                continue
            if state.get(upstream) == 1:
                cycle = path[path.index(upstream):]
                _raise_cycle(prompt, cycle, source)
            if not state.get(upstream):
                state[upstream] = 1
                path.append(upstream)
                iters.append(iter(edges[upstream]))


def _raise_cycle(prompt: Workflow, cycle: list[str], source: str) -> None:
    # ``cycle`` follows links upstream: cycle[i + 1] feeds cycle[i], and cycle[0] feeds cycle[-1].
    # Report it in data-flow order starting from the node that comes first in the workflow, and
    # blame that node's input that closes the cycle.
    flow = list(reversed(cycle))
    order = {node_id: position for position, node_id in enumerate(prompt)}
    start = min(range(len(flow)), key=lambda i: order[flow[i]])
    flow = flow[start:] + flow[:start]
    names = " -> ".join(f"{n!r} ({prompt[n]['class_type']})" for n in [*flow, flow[0]])
    consumer, producer = flow[0], flow[-1]
    input_name = next((k for k, v in prompt[consumer]["inputs"].items() if _is_link(v) and v[0] == producer), None)
    raise WorkflowError(f"the links form a cycle: {names}", source=source, node_id=consumer,
                        class_type=prompt[consumer]["class_type"], title=_title(prompt[consumer]),
                        input_name=input_name, fix="ComfyUI runs acyclic graphs only; remove one of these links")

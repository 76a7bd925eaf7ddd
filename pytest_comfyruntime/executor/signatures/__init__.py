"""Signature records: the facts of every hookable target of each ComfyUI era, as data.

One JSON file per era (``A.json`` ... ``D.json`` next to this module) holds, for each target an
extension hooks or a test wraps (``PromptExecutor`` methods, the module-level
``get_input_data``, the per-node ``execute`` / ``recursive_execute``, ``get_output_data``,
the list mappers, ``validate_prompt`` / ``validate_inputs``, the cache classes' ``get`` /
``set`` / ``set_prompt`` (and 2026's ``*_local``), ``ExecutionList.stage_node_execution``,
``IsChangedCache.get``, and in era D the CacheProvider API), its parameters in order with
their kinds and defaults (``repr``) and whether it is a coroutine function; plus the public
names of ``execution`` and the methods of ``PromptExecutor``. Facts only, no code.

Eras A, B and C were generated from the real ComfyUI roots (``python -m
pytest_comfyruntime.executor.signatures --era C --root ROOT``); era D was written by hand from
reading ComfyUI's 2026 source (each target names the file and commit it was read from) and
could not be checked against a running ComfyUI.

:func:`record_from_modules` builds the same structure from live modules (the mock's, or a real
ComfyUI's), and :func:`compare` returns one line per difference, naming the target and the
parameter: the tests hold every era's mock to its record, and the real tier holds the A-C
records to the real modules.
"""
from __future__ import annotations

import importlib
import inspect
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any

RECORD_DIR = Path(__file__).parent

_EXECUTOR = ("__init__", "reset", "add_message", "handle_execution_error", "execute")


def _in(module: str, *names: str) -> list[str]:
    return [f"{module}:{name}" for name in names]


def _cache_targets(classes: Iterable[str], methods: Iterable[str]) -> list[str]:
    methods = tuple(methods)
    return [f"comfy_execution.caching:{cls}.{m}" for cls in classes for m in methods]


#: The hookable targets of each era, as ``module:qualified.name``.
TARGETS: dict[str, tuple[str, ...]] = {
    "A": tuple(
        _in("execution", *(f"PromptExecutor.{m}" for m in _EXECUTOR))
        + _in("execution", "get_input_data", "recursive_execute", "get_output_data", "map_node_over_list",
              "validate_prompt", "validate_inputs", "format_value", "full_type_name",
              "recursive_will_execute", "recursive_output_delete_if_changed")
    ),
    "B": tuple(
        _in("execution", *(f"PromptExecutor.{m}" for m in _EXECUTOR))
        + _in("execution", "get_input_data", "execute", "get_output_data", "_map_node_over_list",
              "map_node_over_list", "merge_result_data", "validate_prompt", "validate_inputs",
              "format_value", "full_type_name", "IsChangedCache.get")
        + _cache_targets(("BasicCache",), ("__init__", "set_prompt"))
        + _cache_targets(("HierarchicalCache", "LRUCache"), ("__init__", "get", "set", "set_prompt"))
        + _in("comfy_execution.graph", "ExecutionList.__init__", "ExecutionList.stage_node_execution")
    ),
    "C": tuple(
        _in("execution", *(f"PromptExecutor.{m}" for m in (*_EXECUTOR, "execute_async")))
        + _in("execution", "get_input_data", "execute", "get_output_data", "_async_map_node_over_list",
              "map_node_over_list", "resolve_map_node_over_list_results", "get_output_from_returns",
              "merge_result_data", "validate_prompt", "validate_inputs", "format_value", "full_type_name",
              "IsChangedCache.get")
        + _cache_targets(("BasicCache",), ("__init__", "set_prompt"))
        + _cache_targets(("HierarchicalCache", "LRUCache", "RAMPressureCache"), ("__init__", "get", "set", "set_prompt"))
        + _cache_targets(("RAMPressureCache",), ("poll",))
        + _cache_targets(("NullCache",), ("get", "set", "set_prompt"))
        + _in("comfy_execution.graph", "ExecutionList.__init__", "ExecutionList.stage_node_execution")
    ),
    "D": tuple(
        _in("execution", *(f"PromptExecutor.{m}" for m in (*_EXECUTOR, "execute_async", "_notify_prompt_lifecycle")))
        + _in("execution", "get_input_data", "execute", "get_output_data", "_async_map_node_over_list",
              "map_node_over_list", "resolve_map_node_over_list_results", "get_output_from_returns",
              "merge_result_data", "validate_prompt", "validate_inputs", "format_value", "full_type_name",
              "IsChangedCache.get", "emit_cached_output", "register_executed_outputs",
              "enrich_output_with_media_metadata", "set_preview_method")
        + _cache_targets(("BasicCache",), ("__init__", "set_prompt", "get_local", "set_local", "remove_local"))
        + _cache_targets(("HierarchicalCache", "LRUCache", "RAMPressureCache"),
                         ("__init__", "get", "set", "set_prompt", "get_local", "set_local", "remove_local"))
        + _cache_targets(("RAMPressureCache",), ("ram_release",))
        + _cache_targets(("NullCache",), ("get", "set", "set_prompt", "get_local", "set_local", "remove_local"))
        + _in("comfy_execution.graph", "ExecutionList.__init__", "ExecutionList.stage_node_execution",
              "ExecutionList.cache_link", "ExecutionList.inhibit_nodes", "ExecutionList.is_staged_node_blocked")
        + _in("comfy_execution.cache_provider", "register_cache_provider", "unregister_cache_provider")
        + _in("comfy_api.latest._caching", "CacheProvider.on_lookup", "CacheProvider.on_store",
              "CacheProvider.should_cache", "CacheProvider.on_prompt_start", "CacheProvider.on_prompt_end",
              "CacheContext.__init__", "CacheValue.__init__")
        + _in("comfy_api.latest", "Caching.register_provider", "Caching.unregister_provider")
    ),
}

#: Modules whose public names a mock may only take from the record (a subset), per era.
PUBLIC_NAME_MODULES: dict[str, tuple[str, ...]] = {
    "A": ("execution",), "B": ("execution",), "C": ("execution",),
    "D": ("execution", "comfy_execution.cache_provider", "comfy_api.latest"),
}


def load_record(era: str) -> dict[str, Any]:
    """The record of one era (``"A"`` ... ``"D"``)."""
    path = RECORD_DIR / f"{era}.json"
    if not path.is_file():
        raise KeyError(f"no signature record for ComfyUI era {era!r} ({path} does not exist)")
    return json.loads(path.read_text(encoding="utf-8"))


def describe(value: Any) -> dict[str, Any]:
    """``{"async": bool, "params": [...]}`` for a function; ``{"value": repr}`` for anything else."""
    if not callable(value):
        return {"value": repr(value)}
    params = []
    for p in inspect.signature(value).parameters.values():
        entry: dict[str, Any] = {"name": p.name}
        if p.kind is not p.POSITIONAL_OR_KEYWORD:
            entry["kind"] = p.kind.name.lower()
        if p.default is not p.empty:
            entry["default"] = repr(p.default)
        params.append(entry)
    return {"async": inspect.iscoroutinefunction(value), "params": params}


def resolve(target: str, import_module: Callable[[str], ModuleType] = importlib.import_module) -> Any:
    """The object a ``module:qualified.name`` target names (AttributeError when absent)."""
    module_name, _, qualname = target.partition(":")
    obj: Any = import_module(module_name)
    for part in qualname.split("."):
        obj = getattr(obj, part)
    return obj


def public_names(module: ModuleType) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_"))


def record_from_modules(era: str, import_module: Callable[[str], ModuleType] = importlib.import_module,
                        targets: Iterable[str] | None = None) -> dict[str, Any]:
    """The record of the modules ``import_module`` returns (the mock's, or a real ComfyUI's)."""
    found: dict[str, Any] = {}
    for target in targets if targets is not None else TARGETS[era]:
        try:
            found[target] = describe(resolve(target, import_module))
        except (AttributeError, ImportError):
            found[target] = None
    execution = import_module("execution")
    names = {module: public_names(import_module(module)) for module in PUBLIC_NAME_MODULES[era]}
    return {
        "era": era,
        "targets": found,
        "public_names": names,
        "PromptExecutor": sorted(n for n in vars(execution.PromptExecutor) if not n.startswith("__")),
    }


def _fmt_param(p: dict[str, Any] | None) -> str:
    if p is None:
        return "<none>"
    text = p["name"]
    if "kind" in p:
        text += f" ({p['kind']})"
    if "default" in p:
        text += f"={p['default']}"
    return text


def compare(expected: dict[str, Any], actual: dict[str, Any], *, left: str = "record", right: str = "mock",
            public_names_subset: bool = True) -> list[str]:
    """One line per difference between two records, naming the target and the parameter.

    ``public_names_subset``: the right side's public names need only be a subset of the left's
    (a mock may have fewer names than ComfyUI, never more); else they must be equal.
    """
    lines: list[str] = []
    e_targets, a_targets = expected["targets"], actual["targets"]
    for target in [t for t in e_targets if t in a_targets] + [t for t in a_targets if t not in e_targets]:
        e, a = e_targets.get(target), a_targets.get(target)
        if target not in e_targets:
            lines.append(f"{target}: not in the {left}")
            continue
        if e is None and a is None:
            continue
        if e is None or a is None:
            lines.append(f"{target}: {'missing' if e is None else 'present'} in the {left}, "
                         f"{'missing' if a is None else 'present'} in the {right}")
            continue
        if "value" in e or "value" in a:
            if e.get("value") != a.get("value"):
                lines.append(f"{target}: {left} {e.get('value', 'a function')}, {right} {a.get('value', 'a function')}")
            continue
        if e["async"] != a["async"]:
            kinds = {True: "async def", False: "def"}
            lines.append(f"{target}: {kinds[e['async']]} in the {left}, {kinds[a['async']]} in the {right}")
        e_params, a_params = e["params"], a["params"]
        for i in range(max(len(e_params), len(a_params))):
            pe = e_params[i] if i < len(e_params) else None
            pa = a_params[i] if i < len(a_params) else None
            if pe != pa:
                name = (pe or pa)["name"]
                lines.append(f"{target}: parameter {i + 1} ({name!r}): {left} {_fmt_param(pe)}, "
                             f"{right} {_fmt_param(pa)}")
    for target in e_targets:
        if target not in a_targets:
            lines.append(f"{target}: not checked in the {right}")
    for module, names in expected.get("public_names", {}).items():
        theirs = set(actual.get("public_names", {}).get(module, []))
        extra = sorted(theirs - set(names))
        if extra:
            lines.append(f"{module}: public names in the {right} that the {left} lacks: {extra}")
        if not public_names_subset:
            missing = sorted(set(names) - theirs)
            if missing:
                lines.append(f"{module}: public names in the {left} that the {right} lacks: {missing}")
    if "PromptExecutor" in expected and expected["PromptExecutor"] != actual.get("PromptExecutor"):
        lines.append(f"execution:PromptExecutor methods: {left} {expected['PromptExecutor']}, "
                     f"{right} {actual.get('PromptExecutor')}")
    return lines


def as_real_surface(era: str) -> dict[str, Any]:
    """The record in the shape of ``tests/data/real_surface.json`` (names, bare signatures)."""
    record = load_record(era)
    signatures = {}
    for target, facts in record["targets"].items():
        module, _, qualname = target.partition(":")
        if module != "execution" or not facts or "value" in facts or qualname.count(".") > 1:
            continue
        if "." in qualname and not qualname.startswith("PromptExecutor."):
            continue
        params = []
        for p in facts["params"]:
            prefix = {"var_positional": "*", "var_keyword": "**"}.get(p.get("kind", ""), "")
            params.append(prefix + p["name"] + (f"={p['default']}" if "default" in p else ""))
        signatures[qualname] = [f"({', '.join(params)})", facts["async"]]
    return {"execution": record["public_names"]["execution"], "PromptExecutor": record["PromptExecutor"],
            "signatures": signatures}


__all__ = ["PUBLIC_NAME_MODULES", "RECORD_DIR", "TARGETS", "as_real_surface", "compare", "describe",
           "load_record", "public_names", "record_from_modules", "resolve"]

#!/usr/bin/env python3
"""Record what the real ComfyUI prompt executor does, for comparison with the mock.

Single era (run it with an interpreter that has requirements/real-comfyui.txt):

    python scripts/probe_real_comfyui.py ROOT --out FILE.json

imports real ComfyUI from ROOT in-process (CPU-safe recipe of shared/comfyui-contract.md
section 2: root first on sys.path, chdir into it, ``comfy.cli_args.args.cpu = True``
before ``import execution``, never ``main.py``), registers the small test node classes
defined below, runs a fixed list of scenarios the way ``server.py``/``main.py`` would
(``validate_prompt`` then ``PromptExecutor.execute(prompt, prompt_id, extra_data,
outputs)`` positionally, then ``executing {node: None}`` when a client is set) and
writes one JSON document.

All eras, each in its own subprocess:

    python scripts/probe_real_comfyui.py --all [--cache DIR] [--out-dir DIR]

fetches the roots with scripts/fetch_comfyui.py when needed and writes
``probe-<era>.json`` (and ``probe-<era>.log``) per era. PYTHONHASHSEED is fixed (0,
``--hashseed``) so set-ordered fields are reproducible; they are still arbitrary in
a real server.

JSON encoding of Python values: tuples become ``{"__tuple__": [...]}``, sets
``{"__set__": [...]}``, non-finite floats ``{"__float__": "nan"}``, other objects
``{"__repr__": ..., "__type__": ...}``; an int ``timestamp`` key inside sent or stored
messages becomes ``"<ts>"``.
"""

from __future__ import annotations

import argparse
import copy
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import time
import traceback

CLIENT = "probe-client"

# --------------------------------------------------------------------------------------
# recording state
# --------------------------------------------------------------------------------------

REC: dict = {}  # per scenario: filled by the wrappers and nodes
NODE_STACK: list = []  # node id currently inside the per-node executor
CURRENT: dict = {"phase": None, "prompt": None}


def new_recording() -> None:
    REC.clear()
    REC.update(events=[], node_runs=[], get_input_data_calls=[], execute_calls=[],
               per_node_calls=[], is_changed_calls=[])


new_recording()


def enc(x, ts: bool = False):
    """JSON-safe, type-preserving copy of ``x`` (see module docstring)."""
    if x is None or isinstance(x, (bool, str)):
        return x
    if isinstance(x, int):
        return x
    if isinstance(x, float):
        return x if math.isfinite(x) else {"__float__": repr(x)}
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            key = k if isinstance(k, str) else json.dumps(enc(k))
            if ts and k == "timestamp" and isinstance(v, int) and not isinstance(v, bool):
                out[key] = "<ts>"
            else:
                out[key] = enc(v, ts)
        return out
    if isinstance(x, list):
        return [enc(v, ts) for v in x]
    if isinstance(x, tuple):
        return {"__tuple__": [enc(v, ts) for v in x]}
    if isinstance(x, (set, frozenset)):
        return {"__set__": [enc(v, ts) for v in sorted(x, key=repr)]}
    t = type(x)
    return {"__repr__": repr(x)[:300], "__type__": f"{t.__module__}.{t.__qualname__}"}


def type_name(x) -> str:
    t = type(x)
    return t.__qualname__ if t.__module__ == "builtins" else f"{t.__module__}.{t.__qualname__}"


def current_node():
    return NODE_STACK[-1] if NODE_STACK else None


def log_run(cls_name: str, func: str, kwargs: dict) -> None:
    REC["node_runs"].append({"node": current_node(), "class": cls_name, "func": func,
                             "kwargs": enc(kwargs)})


class ProbeServer:
    """The minimal server object of contract section 2."""

    def __init__(self):
        self.client_id = None
        self.last_node_id = None
        self.last_prompt_id = None
        self.sockets_metadata = {}

    def send_sync(self, event, data, sid=None):
        REC["events"].append({"event": event, "data": enc(data, ts=True), "sid": sid})


# --------------------------------------------------------------------------------------
# test node classes (V1 protocol, valid in all three eras)
# --------------------------------------------------------------------------------------

INT_OPTS = {"default": 0, "min": -1000, "max": 1000}


class ProbeConst:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "probe"

    def run(self, value):
        log_run("ProbeConst", "run", {"value": value})
        return (value,)


class ProbeAdd:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"a": ("INT", dict(INT_OPTS)), "b": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "probe"

    def run(self, a, b):
        log_run("ProbeAdd", "run", {"a": a, "b": b})
        return (a + b,)


class ProbeFail:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "probe"

    def run(self, value):
        log_run("ProbeFail", "run", {"value": value})
        raise ValueError("boom")


class ProbeInterrupt:
    """Requests an interrupt (nodes.interrupt_processing()) and returns normally."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "probe"

    def run(self, value):
        import nodes
        log_run("ProbeInterrupt", "run", {"value": value})
        nodes.interrupt_processing()
        return (value,)


class ProbeShow:
    """Output node recording its input in the UI."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "probe"

    def run(self, value):
        log_run("ProbeShow", "run", {"value": value})
        return {"ui": {"values": [value]}, "result": ()}


class ProbeChanged:
    """IS_CHANGED returns NaN for salt 'nan' (always re-run), else the salt."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", dict(INT_OPTS)), "salt": ("STRING", {"default": ""})}}

    RETURN_TYPES = ("INT",)
    FUNCTION = "run"
    CATEGORY = "probe"

    @classmethod
    def IS_CHANGED(cls, value=None, salt=None, **kw):
        REC["is_changed_calls"].append({"node": current_node(), "phase": CURRENT["phase"],
                                        "kwargs": enc({"value": value, "salt": salt, **kw})})
        return float("nan") if salt == "nan" else salt

    def run(self, value, salt):
        log_run("ProbeChanged", "run", {"value": value, "salt": salt})
        return (value,)


class ProbeHidden:
    """Output node with hidden PROMPT / EXTRA_PNGINFO / UNIQUE_ID inputs."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", dict(INT_OPTS))},
                "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO", "unique_id": "UNIQUE_ID"}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "probe"

    def run(self, value, prompt=None, extra_pnginfo=None, unique_id=None):
        executed_prompt = CURRENT["prompt"]
        log_run("ProbeHidden", "run", {
            "value": value,
            "prompt": {"type": type_name(prompt),
                       "keys": list(prompt) if isinstance(prompt, dict) else None,
                       "is_execute_arg": prompt is executed_prompt,
                       "equals_execute_arg": prompt == executed_prompt},
            "extra_pnginfo": extra_pnginfo,
            "unique_id": unique_id,
            "unique_id_type": type_name(unique_id),
        })
        return {"ui": {"values": [value], "unique_id": [unique_id]}, "result": ()}


class ProbeListMake:
    """OUTPUT_IS_LIST: emits [0, 1, ..., count-1] as a list output."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"count": ("INT", {"default": 3, "min": 0, "max": 100})}}

    RETURN_TYPES = ("INT",)
    OUTPUT_IS_LIST = (True,)
    FUNCTION = "run"
    CATEGORY = "probe"

    def run(self, count):
        log_run("ProbeListMake", "run", {"count": count})
        return (list(range(count)),)


class ProbeListSum:
    """INPUT_IS_LIST: receives whole lists in one call."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"values": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ("INT",)
    INPUT_IS_LIST = True
    FUNCTION = "run"
    CATEGORY = "probe"

    def run(self, values):
        log_run("ProbeListSum", "run", {"values": values})
        return (sum(values),)


class ProbeCombo:
    """Output node with a combo input."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"mode": (["a", "b", "c"],), "value": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "probe"

    def run(self, mode, value):
        log_run("ProbeCombo", "run", {"mode": mode, "value": value})
        return {"ui": {"values": [value], "mode": [mode]}, "result": ()}


class ProbeValidated:
    """Output node with VALIDATE_INPUTS(value): values above 100 fail."""

    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", dict(INT_OPTS))}}

    RETURN_TYPES = ()
    FUNCTION = "run"
    OUTPUT_NODE = True
    CATEGORY = "probe"

    @classmethod
    def VALIDATE_INPUTS(cls, value):
        REC["node_runs"].append({"node": None, "class": "ProbeValidated", "func": "VALIDATE_INPUTS",
                                 "kwargs": enc({"value": value})})
        if value is not None and value > 100:
            return "value too big"
        return True

    def run(self, value):
        log_run("ProbeValidated", "run", {"value": value})
        return {"ui": {"values": [value]}, "result": ()}


PROBE_NODES = {c.__name__: c for c in (ProbeConst, ProbeAdd, ProbeFail, ProbeInterrupt, ProbeShow,
                                       ProbeChanged, ProbeHidden, ProbeListMake, ProbeListSum,
                                       ProbeCombo, ProbeValidated)}


# --------------------------------------------------------------------------------------
# prompts and scenarios
# --------------------------------------------------------------------------------------

def node(cls, **inputs):
    return {"class_type": cls, "inputs": inputs}


def L(nid, idx=0):
    return [str(nid), idx]


def basic(a=5, b=7, ids=("1", "2", "3", "4")):
    i1, i2, i3, i4 = ids
    return {i1: node("ProbeConst", value=a), i2: node("ProbeConst", value=b),
            i3: node("ProbeAdd", a=L(i1), b=L(i2)), i4: node("ProbeShow", value=L(i3))}


FAIL = {"1": node("ProbeConst", value=5), "2": node("ProbeConst", value=7),
        "3": node("ProbeAdd", a=L(1), b=L(2)), "4": node("ProbeFail", value=L(3)),
        "5": node("ProbeShow", value=L(4))}
INTERRUPT_CHAIN = {"1": node("ProbeConst", value=5), "2": node("ProbeInterrupt", value=L(1)),
                   "3": node("ProbeShow", value=L(2))}
INTERRUPT_4 = {"1": node("ProbeConst", value=5), "2": node("ProbeInterrupt", value=7),
               "3": node("ProbeAdd", a=L(1), b=L(2)), "4": node("ProbeShow", value=L(3))}


def changed(salt):
    return {"1": node("ProbeConst", value=3), "2": node("ProbeChanged", value=L(1), salt=salt),
            "3": node("ProbeShow", value=L(2))}


def hidden(ids=("1", "2")):
    return {ids[0]: node("ProbeConst", value=9), ids[1]: node("ProbeHidden", value=L(ids[0]))}


LISTS = {"1": node("ProbeListMake", count=3), "2": node("ProbeListSum", values=L(1)),
         "3": node("ProbeShow", value=L(2)), "4": node("ProbeAdd", a=L(1), b=L(1)),
         "5": node("ProbeShow", value=L(4))}
FAN = {"1": node("ProbeConst", value=1), "2": node("ProbeConst", value=2),
       "3": node("ProbeAdd", a=L(1), b=L(2)), "4": node("ProbeAdd", a=L(3), b=L(1)),
       "5": node("ProbeAdd", a=L(3), b=L(2)), "6": node("ProbeShow", value=L(4)),
       "7": node("ProbeShow", value=L(5)),
       "8": node("ProbeConst", value=100), "9": node("ProbeAdd", a=L(8), b=L(8))}

EXTRA_PNG = {"workflow": {"probe": True}}

# Execution scenarios. executor: "new" builds a fresh PromptExecutor, "same" reuses the
# previous one. outputs: None = use validate_prompt's good outputs (as server.py does).
EXEC_SCENARIOS = [
    dict(name="basic_client", executor="new", prompt=basic(), client=True,
         doc="4-node graph 1=Const(5) 2=Const(7) 3=Add(1,2) 4=Show(3), client set, fresh executor"),
    dict(name="basic_client_rerun", executor="same", prompt=basic(), client=True,
         doc="identical rerun on the same executor (all cached)"),
    dict(name="basic_client_const_changed", executor="same", prompt=basic(a=6), client=True,
         doc="rerun with node 1 value 5 -> 6"),
    dict(name="basic_client_renumbered", executor="same", prompt=basic(a=6, ids=("11", "12", "13", "14")),
         client=True, doc="same graph/values as previous, node ids 11..14"),
    dict(name="basic_noclient", executor="new", prompt=basic(), client=False,
         doc="4-node graph, no client_id, fresh executor"),
    dict(name="basic_noclient_rerun", executor="same", prompt=basic(), client=False,
         doc="identical rerun without client (all cached)"),
    dict(name="fail_client", executor="new", prompt=FAIL, client=True,
         doc="1=Const(5) 2=Const(7) 3=Add(1,2) 4=Fail(3) raises ValueError('boom') 5=Show(4)"),
    dict(name="fail_client_rerun", executor="same", prompt=FAIL, client=True,
         doc="identical rerun after the failure (what is cached?)"),
    dict(name="fail_noclient", executor="new", prompt=FAIL, client=False,
         doc="failing graph without client"),
    dict(name="interrupt_chain_client", executor="new", prompt=INTERRUPT_CHAIN, client=True,
         doc="1=Const(5) 2=Interrupt(1) (calls nodes.interrupt_processing()) 3=Show(2)"),
    dict(name="interrupt_chain_rerun", executor="same", prompt=INTERRUPT_CHAIN, client=True,
         doc="identical rerun after the interrupt"),
    dict(name="interrupt_chain_noclient", executor="new", prompt=INTERRUPT_CHAIN, client=False,
         doc="interrupt without client (broadcast)"),
    dict(name="interrupt_4node_client", executor="new", prompt=INTERRUPT_4, client=True,
         doc="1=Const(5) 2=Interrupt(7, constant) 3=Add(1,2) 4=Show(3): staging order decides who is interrupted"),
    dict(name="is_changed_nan", executor="new", prompt=changed("nan"), client=True,
         doc="1=Const(3) 2=Changed(value=1, salt='nan') 3=Show(2); IS_CHANGED returns NaN"),
    dict(name="is_changed_nan_rerun", executor="same", prompt=changed("nan"), client=True,
         doc="identical rerun: NaN forces node 2 (and 3) to rerun"),
    dict(name="is_changed_stable", executor="new", prompt=changed("abc"), client=True,
         doc="same graph, IS_CHANGED returns 'abc'"),
    dict(name="is_changed_stable_rerun", executor="same", prompt=changed("abc"), client=True,
         doc="identical rerun with stable IS_CHANGED: cached"),
    dict(name="is_changed_salt_changed", executor="same", prompt=changed("xyz"), client=True,
         doc="salt constant changed abc -> xyz"),
    dict(name="hidden_inputs", executor="new", prompt=hidden(), client=True,
         extra={"extra_pnginfo": EXTRA_PNG},
         doc="1=Const(9) 2=Hidden(1) with hidden PROMPT/EXTRA_PNGINFO/UNIQUE_ID; extra_data has extra_pnginfo"),
    dict(name="hidden_inputs_rerun", executor="same", prompt=hidden(), client=True,
         extra={"extra_pnginfo": EXTRA_PNG}, doc="identical rerun"),
    dict(name="hidden_inputs_renumbered", executor="same", prompt=hidden(("21", "22")), client=True,
         extra={"extra_pnginfo": EXTRA_PNG}, doc="renumbered 21/22: UNIQUE_ID is in the B/C cache key"),
    dict(name="lists", executor="new", prompt=LISTS, client=True,
         doc="1=ListMake(3) OUTPUT_IS_LIST, 2=ListSum(1) INPUT_IS_LIST, 3=Show(2), 4=Add(1,1) mapped per item, 5=Show(4)"),
    dict(name="fan_6_7", executor="new", prompt=FAN, client=True, outputs=["6", "7"],
         doc="fan-out/fan-in: 3=Add(1,2) 4=Add(3,1) 5=Add(3,2) 6=Show(4) 7=Show(5); unused 8=Const 9=Add(8,8); outputs ['6','7']"),
    dict(name="fan_7_6", executor="new", prompt=FAN, client=True, outputs=["7", "6"],
         doc="same graph, outputs ['7','6']"),
    dict(name="fan_validated_outputs", executor="new", prompt=FAN, client=True,
         doc="same graph, outputs as validate_prompt lists them"),
    dict(name="empty_targets", executor="new", prompt=basic(), client=True, outputs=[],
         doc="execute_outputs=[]: nothing runs"),
]

VALIDATE_SCENARIOS = [
    dict(name="v_ok", prompt=basic(), doc="valid 4-node graph"),
    dict(name="v_coerce", prompt={"1": node("ProbeConst", value="7"), "2": node("ProbeShow", value=L(1))},
         doc="INT given as the string '7' (coercion mutates the prompt)"),
    dict(name="v_missing_required", prompt={"1": node("ProbeConst", value=5), "2": node("ProbeAdd", a=L(1)),
                                            "3": node("ProbeShow", value=L(2))},
         doc="Add without required input b"),
    dict(name="v_link_missing_node", prompt={"1": node("ProbeConst", value=5), "2": node("ProbeAdd", a=L(1), b=L(99)),
                                             "3": node("ProbeShow", value=L(2))},
         doc="Add.b links to node 99, which does not exist (non-output node holds the bad link)"),
    dict(name="v_output_link_missing_node", prompt={"1": node("ProbeShow", value=L(99))},
         doc="the output node itself links to node 99, which does not exist"),
    dict(name="v_unknown_class", prompt={"1": node("ProbeConst", value=5), "2": node("NoSuchNode", value=L(1)),
                                         "3": node("ProbeShow", value=L(1))},
         doc="node 2 has class_type NoSuchNode"),
    dict(name="v_missing_class_type", prompt={"1": {"inputs": {"value": 5}}, "2": node("ProbeShow", value=5)},
         doc="node 1 has no class_type"),
    dict(name="v_bad_link", prompt={"1": node("ProbeConst", value=5), "2": node("ProbeShow", value=["1", 0, 0])},
         doc="Show.value is a 3-element list"),
    dict(name="v_no_outputs", prompt={"1": node("ProbeConst", value=5), "2": node("ProbeConst", value=7),
                                      "3": node("ProbeAdd", a=L(1), b=L(2))},
         doc="no output node"),
    dict(name="v_below_min", prompt={"1": node("ProbeConst", value=-5000), "2": node("ProbeShow", value=L(1))},
         doc="Const value -5000 < min -1000"),
    dict(name="v_above_max", prompt={"1": node("ProbeConst", value=5000), "2": node("ProbeShow", value=L(1))},
         doc="Const value 5000 > max 1000"),
    dict(name="v_combo_not_in_list", prompt={"1": node("ProbeCombo", mode="z", value=1)},
         doc="combo value 'z' not in ['a','b','c']"),
    dict(name="v_type_mismatch", prompt={"1": node("ProbeListMake", count=2), "2": node("ProbeCombo", mode=L(1), value=1)},
         doc="combo input linked to an INT output"),
    dict(name="v_custom_validation", prompt={"1": node("ProbeValidated", value=500)},
         doc="VALIDATE_INPUTS(value) returns 'value too big'"),
    dict(name="v_custom_validation_linked", prompt={"1": node("ProbeConst", value=5), "2": node("ProbeValidated", value=L(1))},
         doc="VALIDATE_INPUTS with a linked input (gets None)"),
    dict(name="v_partial", prompt={"1": node("ProbeConst", value=5), "2": node("ProbeShow", value=L(1)),
                                   "3": node("ProbeAdd", a=L(1)), "4": node("ProbeShow", value=L(3))},
         doc="output 2 valid, output 4 invalid (missing b): valid overall with node_errors"),
]


# --------------------------------------------------------------------------------------
# in-process ComfyUI
# --------------------------------------------------------------------------------------

def import_comfyui(root: str):
    sys.dont_write_bytecode = True
    root = os.path.abspath(root)
    sys.path.insert(0, root)
    os.chdir(root)
    t0 = time.time()
    before = set(sys.modules)
    import comfy.cli_args
    import comfy.options
    comfy.cli_args.args.cpu = True
    import execution
    import nodes
    info = {
        "root": root,
        "import_seconds": round(time.time() - t0, 2),
        "imported_server": "server" in sys.modules,
        "imported_aiohttp": "aiohttp" in sys.modules,
        "imported_main": "main" in sys.modules,
        "new_top_level_modules": sorted({m.split(".")[0] for m in set(sys.modules) - before}),
    }
    return execution, nodes, info


def detect_era(execution) -> str:
    try:
        import comfy_execution  # noqa: F401
    except ImportError:
        return "A"
    return "C" if hasattr(execution.PromptExecutor, "execute_async") else "B"


def surface(execution) -> dict:
    def sig(f):
        try:
            return str(inspect.signature(f))
        except (TypeError, ValueError):
            return None
    pe = execution.PromptExecutor
    names = ["get_input_data", "validate_prompt", "validate_inputs", "get_output_data", "execute",
             "recursive_execute", "map_node_over_list", "_map_node_over_list", "_async_map_node_over_list",
             "merge_result_data", "get_output_from_returns", "format_value", "full_type_name"]
    funcs = {}
    for n in names:
        f = getattr(execution, n, "<absent>")
        if f == "<absent>":
            funcs[n] = "<absent>"
        elif f is None:
            funcs[n] = None
        else:
            funcs[n] = {"signature": sig(f), "coroutine": inspect.iscoroutinefunction(f)}
    return {
        "PromptExecutor.__init__": sig(pe.__init__),
        "PromptExecutor.methods": sorted(n for n, v in vars(pe).items()
                                         if callable(v) and not (n.startswith("__") and n != "__init__")),
        "PromptExecutor.execute": sig(pe.execute),
        "module_functions": funcs,
    }


def install_wrappers(execution, era: str) -> None:
    orig_gid = execution.get_input_data

    def get_input_data(*args, **kwargs):
        caller = sys._getframe(1).f_code.co_name
        rec = {"phase": CURRENT["phase"], "caller": caller, "argc": len(args),
               "kwargs": sorted(kwargs), "arg_types": [type_name(a) for a in args],
               "unique_id": args[2] if len(args) > 2 else kwargs.get("unique_id"),
               "class": getattr(args[1], "__name__", None) if len(args) > 1 else None}
        params = list(inspect.signature(orig_gid).parameters)
        rec["positional"] = params[:len(args)]
        result = orig_gid(*args, **kwargs)
        rec["returns"] = type_name(result) + (f"[{len(result)}]" if isinstance(result, tuple) else "")
        REC["get_input_data_calls"].append(rec)
        return result

    execution.get_input_data = get_input_data

    orig_exec = execution.PromptExecutor.execute
    exec_params = list(inspect.signature(orig_exec).parameters)[1:]

    def execute(self, *args, **kwargs):
        REC["execute_calls"].append({
            "argc": len(args), "kwargs": sorted(kwargs), "arg_types": [type_name(a) for a in args],
            "positional": exec_params[:len(args)],
            "prompt_id": args[1] if len(args) > 1 else kwargs.get("prompt_id"),
            "extra_data": enc(args[2] if len(args) > 2 else kwargs.get("extra_data")),
            "execute_outputs": enc(args[3] if len(args) > 3 else kwargs.get("execute_outputs")),
        })
        return orig_exec(self, *args, **kwargs)

    execution.PromptExecutor.execute = execute

    # Per-node executor: tracks which node id a node function runs for.
    name = "recursive_execute" if era == "A" else "execute"
    orig_node = getattr(execution, name)
    id_index = 3  # current_item is the 4th positional argument in every era

    def note(args):
        REC["per_node_calls"].append({"node": args[id_index] if len(args) > id_index else None,
                                      "argc": len(args)})

    if inspect.iscoroutinefunction(orig_node):
        async def per_node(*args, **kwargs):
            note(args)
            NODE_STACK.append(args[id_index])
            try:
                return await orig_node(*args, **kwargs)
            finally:
                NODE_STACK.pop()
    else:
        def per_node(*args, **kwargs):
            note(args)
            NODE_STACK.append(args[id_index])
            try:
                return orig_node(*args, **kwargs)
            finally:
                NODE_STACK.pop()
    setattr(execution, name, per_node)


def make_executor(execution, era: str, server):
    if era == "A":
        return execution.PromptExecutor(server)
    if era == "B":
        return execution.PromptExecutor(server, lru_size=0)
    return execution.PromptExecutor(server, cache_type=execution.CacheType.CLASSIC,
                                    cache_args={"lru": 0, "ram": 0})


def run_validate(execution, era: str, prompt, prompt_id):
    import asyncio
    if era == "C":
        return asyncio.run(execution.validate_prompt(prompt_id, prompt, None))
    return execution.validate_prompt(prompt)


def exc_record(ex: BaseException) -> dict:
    return {"type": type_name(ex), "message": str(ex),
            "traceback_tail": traceback.format_exception(type(ex), ex, ex.__traceback__)[-3:]}


def validation_record(execution, era, sc) -> dict:
    prompt = copy.deepcopy(sc["prompt"])
    pid = f"v-{sc['name']}"
    new_recording()
    CURRENT["phase"] = "validate"
    out = {"name": sc["name"], "kind": "validate", "doc": sc["doc"], "prompt": enc(sc["prompt"])}
    try:
        res = run_validate(execution, era, prompt, pid)
        out["result"] = enc(res)
        out["result_type"] = type_name(res)
    except Exception as ex:  # A raises KeyError for unknown/missing class_type
        out["raised"] = exc_record(ex)
    CURRENT["phase"] = None
    out["prompt_after"] = enc(prompt)
    out["prompt_mutated"] = prompt != sc["prompt"]
    out["get_input_data_calls"] = REC["get_input_data_calls"]
    out["node_runs"] = REC["node_runs"]
    out["events"] = REC["events"]
    return out


def exec_record(execution, nodes, era, sc, executor, server) -> dict:
    prompt = copy.deepcopy(sc["prompt"])
    pid = f"p-{sc['name']}"
    extra = dict(sc.get("extra", {}))
    if sc["client"]:
        extra["client_id"] = CLIENT
    out = {"name": sc["name"], "kind": "execute", "doc": sc["doc"], "executor": sc["executor"],
           "prompt_id": pid, "prompt": enc(sc["prompt"]), "extra_data": enc(extra)}

    new_recording()
    CURRENT["phase"] = "validate"
    try:
        valid = run_validate(execution, era, prompt, pid)
        out["validate"] = enc(valid)
    except Exception as ex:
        out["validate_raised"] = exc_record(ex)
        valid = (False, None, [], {})
    out["validate_get_input_data_calls"] = REC["get_input_data_calls"]
    outputs = sc["outputs"] if sc.get("outputs") is not None else list(valid[2])
    out["execute_outputs"] = list(outputs)

    new_recording()
    CURRENT["phase"] = "execute"
    CURRENT["prompt"] = prompt
    server.last_prompt_id = pid  # as main.py's prompt_worker does
    t0 = time.time()
    try:
        executor.execute(prompt, pid, extra, outputs)
    except Exception as ex:
        out["execute_raised"] = exc_record(ex)
    out["execute_seconds"] = round(time.time() - t0, 3)
    CURRENT["phase"] = "after"
    out["success"] = executor.success
    out["status_messages"] = [enc(list(m), ts=True) for m in executor.status_messages]
    if era == "A":
        out["outputs_ui"] = enc(copy.deepcopy(executor.outputs_ui))
        out["outputs_cached_ids"] = sorted(executor.outputs)
        out["old_prompt_ids"] = sorted(executor.old_prompt)
    else:
        out["history_result"] = enc(copy.deepcopy(getattr(executor, "history_result", "<absent>")))
    out["server_client_id_after"] = server.client_id
    out["server_last_node_id_after"] = server.last_node_id
    if server.client_id is not None:  # main.py, after task_done
        server.send_sync("executing", {"node": None, "prompt_id": pid}, server.client_id)
    out["events"] = REC["events"]
    out["event_sequence"] = [[e["event"], list(e["data"]) if isinstance(e["data"], dict) else None, e["sid"]]
                             for e in REC["events"]]
    out["node_runs"] = REC["node_runs"]
    out["run_order"] = [r["node"] for r in REC["node_runs"] if r["func"] == "run"]
    out["is_changed_calls"] = REC["is_changed_calls"]
    out["get_input_data_calls"] = REC["get_input_data_calls"]
    out["execute_calls"] = REC["execute_calls"]
    out["per_node_calls"] = REC["per_node_calls"]
    out["prompt_after"] = enc(prompt)
    out["interrupt_flag_after"] = bool(__import__("comfy.model_management").model_management.processing_interrupted())
    nodes.interrupt_processing(False)
    CURRENT["phase"] = None
    CURRENT["prompt"] = None
    return out


def probe(root: str) -> dict:
    execution, nodes, info = import_comfyui(root)
    era = detect_era(execution)
    import torch
    doc = {"probe_format": 1, "era": era, **info,
           "python": platform.python_version(), "torch": torch.__version__,
           "hashseed": os.environ.get("PYTHONHASHSEED")}
    try:
        with open(os.path.join(info["root"], ".comfyruntime-fetch.json"), encoding="utf-8") as fh:
            doc["fetch_marker"] = json.load(fh)
    except (OSError, ValueError):
        doc["fetch_marker"] = None
    try:
        import comfyui_version
        doc["comfyui_version"] = comfyui_version.__version__
    except ImportError:
        doc["comfyui_version"] = None
    doc["surface"] = surface(execution)
    nodes.NODE_CLASS_MAPPINGS.update(PROBE_NODES)
    install_wrappers(execution, era)

    server = ProbeServer()
    executor = None
    scenarios = []
    for sc in EXEC_SCENARIOS:
        if sc["executor"] == "new" or executor is None:
            executor = make_executor(execution, era, server)
        rec = exec_record(execution, nodes, era, sc, executor, server)
        rec["executor_attrs"] = sorted(vars(executor))
        scenarios.append(rec)
    for sc in VALIDATE_SCENARIOS:
        scenarios.append(validation_record(execution, era, sc))
    doc["scenarios"] = scenarios
    doc["modules_after"] = {"server": "server" in sys.modules, "aiohttp": "aiohttp" in sys.modules,
                            "main": "main" in sys.modules}
    return doc


# --------------------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------------------

def run_all(ns) -> int:
    here = os.path.dirname(os.path.abspath(__file__))
    sys.dont_write_bytecode = True
    sys.path.insert(0, here)
    import fetch_comfyui as fc

    cache = (ns.cache if ns.cache else str(fc.default_cache()))
    out_dir = os.path.abspath(ns.out_dir or os.path.join(cache, "probe"))
    os.makedirs(out_dir, exist_ok=True)
    eras = list(fc.ERAS) if ns.era.upper() == "ALL" else [ns.era.upper()]
    status = 0
    for era in eras:
        try:
            root, _marker, _how = fc.fetch_era(era, fc.Path(cache).expanduser().absolute(), None, True)
        except fc.FetchError as exc:
            print(f"era {era}: fetch failed: {exc}", file=sys.stderr)
            status = 1
            continue
        out = os.path.join(out_dir, f"probe-{era}.json")
        logf = os.path.join(out_dir, f"probe-{era}.log")
        env = dict(os.environ, PYTHONHASHSEED=str(ns.hashseed), PYTHONDONTWRITEBYTECODE="1")
        t0 = time.time()
        with open(logf, "w", encoding="utf-8") as log:
            rc = subprocess.call([ns.python, os.path.abspath(__file__), str(root), "--out", out],
                                 stdout=log, stderr=subprocess.STDOUT, env=env, cwd=out_dir)
        print(f"era {era}: rc={rc} {time.time() - t0:.1f}s {out} (log {logf})")
        status = status or rc
    return status


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="probe_real_comfyui.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("root", nargs="?", help="ComfyUI root to probe in this process")
    ap.add_argument("--out", help="JSON file to write (single-root mode)")
    ap.add_argument("--all", action="store_true", help="probe every fetched era, each in a subprocess")
    ap.add_argument("--era", default="all", help="with --all: A, B, C or all")
    ap.add_argument("--cache", help="fetch cache (default as scripts/fetch_comfyui.py)")
    ap.add_argument("--out-dir", help="with --all: where probe-<era>.json go (default <cache>/probe)")
    ap.add_argument("--python", default=sys.executable, help="with --all: interpreter for the subprocesses")
    ap.add_argument("--hashseed", default="0", help="with --all: PYTHONHASHSEED for the subprocesses")
    ns = ap.parse_args(argv)
    if ns.all:
        return run_all(ns)
    if not ns.root or not ns.out:
        ap.error("give ROOT and --out FILE, or --all")
    out = os.path.abspath(ns.out)
    doc = probe(ns.root)
    tmp = out + ".tmp"
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, sort_keys=False)
        fh.write("\n")
    os.replace(tmp, out)
    print(f"wrote {out} (era {doc['era']}, {len(doc['scenarios'])} scenarios)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Mock of ComfyUI's ``execution`` module, variant D-11 of era D (ComfyUI of 2026 before the asset
manager: master from v0.17.0 to v0.33.0 and on until the 12-parameter ``execute``).

READ, NOT RUN. Every behaviour here comes from reading ``yzkee/ComfyUI`` ``execution.py`` at
783545f6 (a mirror of Comfy-Org/ComfyUI master up to 2026-08-22, version file 0.33.0) with
``main.py`` of the same commit. Era D's mock (the newer executor, 04e2a914) is the base; what
this generation does differently:

- ``PromptExecutor(server, cache_type=False, cache_args=None)``: no ``asset_manager`` argument or
  attribute (``main.py`` passes ``cache_type`` and ``cache_args={lru, ram, ram_inactive}``).
- The per-node ``execute`` has the 11 parameters of 0.3.75 (no ``asset_manager``).
- A fresh node's UI output goes through ``enrich_output_with_assets`` (a no-op unless
  ``--enable-assets``), with no media ``metadata``; the same object goes into ``ui_outputs``,
  ``executed`` and the cache entry (no deep copy).
- A cached node goes through ``_send_cached_ui``: its cached UI entry replaces this prompt's
  (so it reaches the history with or without a client); ``executed`` only with a client.
  After a loop that ended without a failure, intermediate output nodes that did not run re-send
  their cached UI the same way.
- After ``check_lazy_status`` a node is not re-checked for new blockers
  (no ``ExecutionList.is_staged_node_blocked``), and ``validate_prompt`` has no loop check.

The rest is era D's: ``set_preview_method``, the prompt model tracker, cache providers told
``on_prompt_start`` / ``on_prompt_end``, ``cache_args["ram"]`` / ``["ram_inactive"]`` read before
the ``try``, the concurrent ``execution_cached`` scan, ``v3_data``, 2026's validation messages.

Not reproduced: asset registration (``--enable-assets`` needs ComfyUI's ``app.assets``),
``comfy.memory_management``'s RAM-cache release state, pinned memory, ``comfy.model_prefetch``,
``comfy_aimdo``. Prompts run under ``torch.inference_mode()`` only when the test process has
already imported torch.
"""
import asyncio
import copy
import heapq
import inspect
import logging
import sys
import threading
import time
import traceback
from contextlib import nullcontext as _nullcontext
from enum import Enum
from typing import List, Literal, NamedTuple, Optional, Union

import comfy.model_management
import comfy.model_patcher
import comfy.system_memory
import nodes
from comfy.cli_args import args
from latent_preview import set_preview_method
from comfy_execution.caching import (
    BasicCache,
    CacheKeySetID,
    CacheKeySetInputSignature,
    HierarchicalCache,
    LRUCache,
    NullCache,
    RAMPressureCache,
    RAM_CACHE_LARGE_INTERMEDIATE,
)
from comfy_execution.graph import DynamicPrompt, ExecutionBlocker, ExecutionList, get_input_info
from comfy_execution.graph_utils import GraphBuilder, is_link
from comfy_execution.validation import validate_node_input
from comfy_execution.progress import (
    WebUIProgressHandler,
    add_progress_handler,
    get_progress_state,
    reset_progress_state,
)
from comfy_execution.utils import CurrentNodeContext
from comfy_execution.asset_enrichment import enrich_output_with_assets
from comfy_execution.cache_provider import _get_cache_providers, _has_cache_providers, _logger as _cache_logger
from comfy_execution import cache_provider as _cache_provider
from comfy_api.internal import _ComfyNodeInternal, _NodeOutputInternal, first_real_override, is_class, make_locked_method_func
from comfy_api.latest import io, _io

from pytest_comfyruntime.executor import _validation as _v


def format_value(x):
    if x is None:
        return None
    if isinstance(x, (int, float, bool, str)):
        return x
    return str(x)


def full_type_name(klass):
    module = klass.__module__
    if module == "builtins":
        return klass.__qualname__
    return module + "." + klass.__qualname__


class ExecutionResult(Enum):
    SUCCESS = 0
    FAILURE = 1
    PENDING = 2


class DuplicateNodeError(Exception):
    pass


class CacheEntry(NamedTuple):
    ui: dict
    outputs: list


class CacheType(Enum):
    CLASSIC = 0
    LRU = 1
    NONE = 2
    RAM_PRESSURE = 3


async def resolve_map_node_over_list_results(results):
    remaining = [x for x in results if isinstance(x, asyncio.Task) and not x.done()]
    if remaining:
        done, _ = await asyncio.wait(remaining)
        for task in done:
            if task.exception() is not None:
                raise task.exception()
    return [x.result() if isinstance(x, asyncio.Task) else x for x in results]


def merge_result_data(results, obj):
    output = []
    output_is_list = getattr(obj, "OUTPUT_IS_LIST", [False] * len(results[0]))
    for i, is_list in zip(range(len(results[0])), output_is_list):
        if is_list:
            value = []
            for o in results:
                if isinstance(o[i], ExecutionBlocker):
                    value.append(o[i])
                else:
                    value.extend(o[i])
            output.append(value)
        else:
            output.append([o[i] for o in results])
    return output


def get_output_from_returns(return_values, obj):
    results = []
    uis = []
    subgraph_results = []
    has_subgraph = False
    for r in return_values:
        if isinstance(r, dict):
            if "ui" in r:
                uis.append(r["ui"])
            if "expand" in r:
                # an expansion: the results wait for the subgraph
                has_subgraph = True
                result = r.get("result", None)
                if isinstance(result, ExecutionBlocker):
                    result = tuple([result] * len(obj.RETURN_TYPES))
                subgraph_results.append((r["expand"], result))
            elif "result" in r:
                result = r.get("result", None)
                if isinstance(result, ExecutionBlocker):
                    result = tuple([result] * len(obj.RETURN_TYPES))
                results.append(result)
                subgraph_results.append((None, result))
        elif isinstance(r, _NodeOutputInternal):  # V3
            if r.ui is not None:
                uis.append(r.ui if isinstance(r.ui, dict) else r.ui.as_dict())
            if r.expand is not None:
                has_subgraph = True
                result = r.result
                if r.block_execution is not None:
                    result = tuple([ExecutionBlocker(r.block_execution)] * len(obj.RETURN_TYPES))
                subgraph_results.append((r.expand, result))
            elif r.result is not None:
                result = r.result
                if r.block_execution is not None:
                    result = tuple([ExecutionBlocker(r.block_execution)] * len(obj.RETURN_TYPES))
                results.append(result)
                subgraph_results.append((None, result))
        else:
            if isinstance(r, ExecutionBlocker):
                r = tuple([r] * len(obj.RETURN_TYPES))
            results.append(r)
            subgraph_results.append((None, r))
    if has_subgraph:
        output = subgraph_results
    else:
        output = merge_result_data(results, obj) if results else []
    ui = {k: [y for x in uis for y in x[k]] for k in uis[0].keys()} if uis else dict()
    return output, ui, has_subgraph


def _inference_mode():
    # ComfyUI runs prompts under torch.inference_mode(). The mock never imports torch, but when the
    # test process already has (a node pack uses it), node code gets the same mode as in ComfyUI.
    mode = getattr(sys.modules.get("torch"), "inference_mode", None)
    return mode() if mode is not None else _nullcontext()


class IsChangedCache:
    def __init__(self, prompt_id, dynprompt, outputs_cache):
        self.prompt_id = prompt_id
        self.dynprompt = dynprompt
        self.outputs_cache = outputs_cache
        self.is_changed = {}

    async def get(self, node_id):
        if node_id in self.is_changed:
            return self.is_changed[node_id]
        node = self.dynprompt.get_node(node_id)
        class_def = nodes.NODE_CLASS_MAPPINGS[node["class_type"]]
        if issubclass(class_def, _ComfyNodeInternal) and first_real_override(class_def, "fingerprint_inputs") is not None:
            is_changed_name = "fingerprint_inputs"
        elif hasattr(class_def, "IS_CHANGED"):
            is_changed_name = "IS_CHANGED"
        else:
            self.is_changed[node_id] = False
            return False
        if "is_changed" in node:
            self.is_changed[node_id] = node["is_changed"]
            return node["is_changed"]
        # Constants only: links count as missing, as in ComfyUI.
        input_data_all, _, v3_data = get_input_data(node["inputs"], class_def, node_id, None)
        try:
            is_changed = await _async_map_node_over_list(self.prompt_id, node_id, class_def, input_data_all, is_changed_name, v3_data=v3_data)
            is_changed = await resolve_map_node_over_list_results(is_changed)
            node["is_changed"] = [None if isinstance(x, ExecutionBlocker) else x for x in is_changed]
        except Exception as e:
            logging.warning("WARNING: {}".format(e))
            node["is_changed"] = float("NaN")
        finally:
            self.is_changed[node_id] = node["is_changed"]
        return self.is_changed[node_id]


class CacheSet:
    def __init__(self, cache_type=None, cache_args={}):
        if cache_type == CacheType.NONE:
            self.init_null_cache()
        elif cache_type == CacheType.RAM_PRESSURE:
            self.init_ram_cache(cache_args.get("ram", 16.0))
        elif cache_type == CacheType.LRU:
            self.init_lru_cache(cache_args.get("lru", 0))
        else:
            self.init_classic_cache()
        self.all = [self.outputs, self.objects]

    def init_classic_cache(self):
        self.outputs = HierarchicalCache(CacheKeySetInputSignature, enable_providers=True)
        self.objects = HierarchicalCache(CacheKeySetID)

    def init_lru_cache(self, cache_size):
        self.outputs = LRUCache(CacheKeySetInputSignature, max_size=cache_size, enable_providers=True)
        self.objects = HierarchicalCache(CacheKeySetID)

    def init_ram_cache(self, min_headroom):
        self.outputs = RAMPressureCache(CacheKeySetInputSignature, enable_providers=True)
        self.objects = HierarchicalCache(CacheKeySetID)

    def init_null_cache(self):
        self.outputs = NullCache()
        self.objects = NullCache()

    def recursive_debug_dump(self):
        return {"outputs": self.outputs.recursive_debug_dump()}


SENSITIVE_EXTRA_DATA_KEYS = ("auth_token_comfy_org", "api_key_comfy_org")

_HIDDEN_FROM_EXTRA_DATA = {
    "EXTRA_PNGINFO": "extra_pnginfo",
    "AUTH_TOKEN_COMFY_ORG": "auth_token_comfy_org",
    "API_KEY_COMFY_ORG": "api_key_comfy_org",
    "COMFY_USAGE_SOURCE": "comfy_usage_source",
}


_HIDDEN_V3_FROM_EXTRA_DATA = (
    (io.Hidden.extra_pnginfo, "extra_pnginfo"),
    (io.Hidden.auth_token_comfy_org, "auth_token_comfy_org"),
    (io.Hidden.api_key_comfy_org, "api_key_comfy_org"),
    (io.Hidden.comfy_usage_source, "comfy_usage_source"),
)


def get_input_data(inputs, class_def, unique_id, execution_list=None, dynprompt=None, extra_data={}):
    is_v3 = issubclass(class_def, _ComfyNodeInternal)
    v3_data = {}
    hidden_inputs_v3 = {}
    valid_inputs = class_def.INPUT_TYPES()
    if is_v3:
        valid_inputs, hidden, v3_data = _io.get_finalized_class_inputs(valid_inputs, inputs)
    input_data_all = {}
    missing_keys = {}
    for x in inputs:
        input_data = inputs[x]
        _, input_category, input_info = get_input_info(class_def, x, valid_inputs)
        if is_link(input_data) and (not input_info or not input_info.get("rawLink", False)):
            cached = execution_list.get_cache(input_data[0], unique_id) if execution_list is not None else None
            if cached is None or cached.outputs is None or input_data[1] >= len(cached.outputs):
                missing_keys[x] = True
                input_data_all[x] = (None,)
                continue
            input_data_all[x] = cached.outputs[input_data[1]]
        elif input_category is not None or (is_v3 and class_def.ACCEPT_ALL_INPUTS):
            input_data_all[x] = [input_data]
    if is_v3:
        if hidden is not None:
            if io.Hidden.prompt.name in hidden:
                hidden_inputs_v3[io.Hidden.prompt] = dynprompt.get_original_prompt() if dynprompt is not None else {}
            if io.Hidden.dynprompt.name in hidden:
                hidden_inputs_v3[io.Hidden.dynprompt] = dynprompt
            if io.Hidden.unique_id.name in hidden:
                hidden_inputs_v3[io.Hidden.unique_id] = unique_id
            for kind, key in _HIDDEN_V3_FROM_EXTRA_DATA:
                if kind.name in hidden:
                    hidden_inputs_v3[kind] = extra_data.get(key, None)
            if io.Hidden.execution_list.name in hidden:
                hidden_inputs_v3[io.Hidden.execution_list] = execution_list
        v3_data["hidden_inputs"] = hidden_inputs_v3
        return input_data_all, missing_keys, v3_data
    for x, kind in valid_inputs.get("hidden", {}).items():
        if kind == "PROMPT":
            input_data_all[x] = [dynprompt.get_original_prompt() if dynprompt is not None else {}]
        elif kind == "DYNPROMPT":
            input_data_all[x] = [dynprompt]
        elif kind == "EXECUTION_LIST":
            input_data_all[x] = [execution_list]
        elif kind == "UNIQUE_ID":
            input_data_all[x] = [unique_id]
        elif kind in _HIDDEN_FROM_EXTRA_DATA:
            input_data_all[x] = [extra_data.get(_HIDDEN_FROM_EXTRA_DATA[kind], None)]
    v3_data["hidden_inputs"] = {}
    return input_data_all, missing_keys, v3_data


map_node_over_list = None  # ComfyUI: "Don't hook this please"


async def _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, func, allow_interrupt=False, execution_block_cb=None, pre_execute_cb=None, v3_data=None):
    input_is_list = getattr(obj, "INPUT_IS_LIST", False)
    max_len_input = max((len(x) for x in input_data_all.values()), default=0)
    results = []

    async def process_inputs(inputs, index=None, input_is_list=False):
        if allow_interrupt:
            nodes.before_node_execution()
        execution_block = None
        for v in inputs.values():
            if input_is_list:
                v = next((e for e in v if isinstance(e, ExecutionBlocker)), v)
            if isinstance(v, ExecutionBlocker):
                execution_block = execution_block_cb(v) if execution_block_cb else v
                break
        if execution_block is not None:
            results.append(execution_block)
            return
        if pre_execute_cb is not None and index is not None:
            pre_execute_cb(index)
        if isinstance(obj, _ComfyNodeInternal) or (is_class(obj) and issubclass(obj, _ComfyNodeInternal)):
            # V3: the classmethod runs on a locked clone of the class carrying this call's hidden values
            type_obj = obj if is_class(obj) else type(obj)
            type_obj.VALIDATE_CLASS()
            class_clone = type_obj.PREPARE_CLASS_CLONE(v3_data)
            f = make_locked_method_func(type_obj, func, class_clone)
            if v3_data is not None:
                inputs = _io.build_nested_inputs(inputs, v3_data, input_is_list=input_is_list)
        else:
            f = getattr(obj, func)
        if inspect.iscoroutinefunction(f):
            async def async_wrapper(f, prompt_id, unique_id, list_index, args):
                with CurrentNodeContext(prompt_id, unique_id, list_index):
                    return await f(**args)
            task = asyncio.create_task(async_wrapper(f, prompt_id, unique_id, index, args=inputs))
            await asyncio.sleep(0)  # give the task a chance to finish without yielding
            results.append(task.result() if task.done() else task)
        else:
            with CurrentNodeContext(prompt_id, unique_id, index):
                results.append(f(**inputs))

    if input_is_list:
        await process_inputs(input_data_all, 0, input_is_list=input_is_list)
    elif max_len_input == 0:
        await process_inputs({})
    else:
        for i in range(max_len_input):
            await process_inputs({k: v[i if len(v) > i else -1] for k, v in input_data_all.items()}, i)
    return results


async def get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=None, pre_execute_cb=None, v3_data=None):
    return_values = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)
    if any(isinstance(r, asyncio.Task) and not r.done() for r in return_values):
        return return_values, {}, False, True
    output, ui, has_subgraph = get_output_from_returns(return_values, obj)
    return output, ui, has_subgraph, False


def _is_intermediate_output(dynprompt, node_id):
    class_def = nodes.NODE_CLASS_MAPPINGS[dynprompt.get_node(node_id)["class_type"]]
    return getattr(class_def, "HAS_INTERMEDIATE_OUTPUT", False)


_SAMPLER_SHAPE_TIPS = ("\n\nTIPS: If you have any \"Load CLIP\" or \"*CLIP Loader\" nodes in your workflow connected "
                       "to this sampler node make sure the correct file(s) and type is selected.")


def _send_cached_ui(server, node_id, display_node_id, cached, prompt_id, ui_outputs):
    if cached.ui is not None:
        ui_outputs[node_id] = cached.ui
    if server.client_id is None:
        return
    cached_ui = cached.ui or {}
    server.send_sync("executed", {"node": node_id, "display_node": display_node_id, "output": cached_ui.get("output", None), "prompt_id": prompt_id}, server.client_id)


async def execute(server, dynprompt, caches, current_item, extra_data, executed, prompt_id, execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs):
    unique_id = current_item
    real_node_id = dynprompt.get_real_node_id(unique_id)
    display_node_id = dynprompt.get_display_node_id(unique_id)
    parent_node_id = dynprompt.get_parent_node_id(unique_id)
    inputs = dynprompt.get_node(unique_id)["inputs"]
    class_type = dynprompt.get_node(unique_id)["class_type"]
    class_def = nodes.NODE_CLASS_MAPPINGS[class_type]
    cached = await caches.outputs.get(unique_id)
    if cached is not None:
        _send_cached_ui(server, unique_id, display_node_id, cached, prompt_id, ui_outputs)
        get_progress_state().finish_progress(unique_id)
        execution_list.cache_update(unique_id, cached)
        return (ExecutionResult.SUCCESS, None, None)

    input_data_all = None
    try:
        if unique_id in pending_async_nodes:
            results = []
            for r in pending_async_nodes[unique_id]:
                if isinstance(r, asyncio.Task):
                    try:
                        results.append(r.result())
                    except Exception as ex:
                        del pending_async_nodes[unique_id]
                        raise ex  # not a bare raise: ComfyUI's traceback lists this frame twice
                else:
                    results.append(r)
            del pending_async_nodes[unique_id]
            output_data, output_ui, has_subgraph = get_output_from_returns(results, class_def)
        elif unique_id in pending_subgraph_results:
            # The expanded subgraph has run: this node's outputs are its own constants and the
            # subgraph's outputs it linked to. No "executing" for this second staging.
            resolved_outputs = []
            for is_subgraph, result in pending_subgraph_results[unique_id]:
                if not is_subgraph:
                    resolved_outputs.append(result)
                    continue
                resolved_output = []
                for r in result:
                    if is_link(r):
                        node_cached = execution_list.get_cache(r[0], unique_id)
                        for o in node_cached.outputs[r[1]]:
                            resolved_output.append(o)
                    else:
                        resolved_output.append(r)
                resolved_outputs.append(tuple(resolved_output))
            output_data = merge_result_data(resolved_outputs, class_def)
            output_ui = []
            del pending_subgraph_results[unique_id]
            has_subgraph = False
        else:
            get_progress_state().start_progress(unique_id)
            input_data_all, missing_keys, v3_data = get_input_data(inputs, class_def, unique_id, execution_list, dynprompt, extra_data)
            if server.client_id is not None:
                server.last_node_id = display_node_id
                server.send_sync("executing", {"node": unique_id, "display_node": display_node_id, "prompt_id": prompt_id}, server.client_id)

            obj = await caches.objects.get(unique_id)
            if obj is None:
                obj = class_def()
                await caches.objects.set(unique_id, obj)

            if issubclass(class_def, _ComfyNodeInternal):
                lazy_status_present = first_real_override(class_def, "check_lazy_status") is not None
            else:
                lazy_status_present = getattr(obj, "check_lazy_status", None) is not None
            if lazy_status_present:
                v3_data_lazy = v3_data.copy()  # a wrapper on get_input_data must return a dict here
                v3_data_lazy["create_dynamic_tuple"] = True
                required_inputs = await _async_map_node_over_list(prompt_id, unique_id, obj, input_data_all, "check_lazy_status", allow_interrupt=True, v3_data=v3_data_lazy)
                required_inputs = await resolve_map_node_over_list_results(required_inputs)
                required_inputs = set(sum([r for r in required_inputs if isinstance(r, list)], []))
                required_inputs = [x for x in required_inputs if isinstance(x, str) and (x not in input_data_all or x in missing_keys)]
                if required_inputs:
                    for i in required_inputs:
                        execution_list.make_input_strong_link(unique_id, i)
                    return (ExecutionResult.PENDING, None, None)

            def execution_block_cb(block):
                if block.message is None:
                    return block
                mes = {
                    "prompt_id": prompt_id,
                    "node_id": unique_id,
                    "node_type": class_type,
                    "executed": list(executed),
                    "exception_message": f"Execution Blocked: {block.message}",
                    "exception_type": "ExecutionBlocked",
                    "traceback": [],
                    "current_inputs": [],
                    "current_outputs": [],
                }
                server.send_sync("execution_error", mes, server.client_id)
                return ExecutionBlocker(None)

            def pre_execute_cb(call_index):
                GraphBuilder.set_default_prefix(unique_id, call_index, 0)

            output_data, output_ui, has_subgraph, has_pending_tasks = await get_output_data(prompt_id, unique_id, obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb, v3_data=v3_data)
            if has_pending_tasks:
                pending_async_nodes[unique_id] = output_data
                unblock = execution_list.add_external_block(unique_id)

                async def await_completion():
                    await asyncio.gather(*[x for x in output_data if isinstance(x, asyncio.Task)], return_exceptions=True)
                    unblock()
                asyncio.create_task(await_completion())
                return (ExecutionResult.PENDING, None, None)
        if len(output_ui) > 0:
            output_ui = enrich_output_with_assets(output_ui)  # a new dict only with --enable-assets
            ui_outputs[unique_id] = {
                "meta": {
                    "node_id": unique_id,
                    "display_node": display_node_id,
                    "parent_node": parent_node_id,
                    "real_node_id": real_node_id,
                },
                "output": output_ui,
            }
            if server.client_id is not None:
                server.send_sync("executed", {"node": unique_id, "display_node": display_node_id, "output": output_ui, "prompt_id": prompt_id}, server.client_id)
        if has_subgraph:
            cached_outputs = []
            new_node_ids = []
            new_output_ids = []
            new_output_links = []
            for new_graph, node_outputs in output_data:
                if new_graph is None:
                    cached_outputs.append((False, node_outputs))
                    continue
                for node_id, node_info in new_graph.items():
                    new_node_ids.append(node_id)
                    display_id = node_info.get("override_display_id", unique_id)
                    dynprompt.add_ephemeral_node(node_id, node_info, unique_id, display_id)
                    new_class_def = nodes.NODE_CLASS_MAPPINGS[node_info["class_type"]]
                    if hasattr(new_class_def, "OUTPUT_NODE") and new_class_def.OUTPUT_NODE == True:  # noqa: E712
                        new_output_ids.append(node_id)
                for value in node_outputs:
                    if is_link(value):
                        new_output_links.append((value[0], value[1]))
                cached_outputs.append((True, node_outputs))
            new_node_ids = set(new_node_ids)
            for cache in caches.all:
                subcache = await cache.ensure_subcache_for(unique_id, new_node_ids)
                subcache.clean_unused()
            for node_id in new_output_ids:
                execution_list.add_node(node_id)
                execution_list.cache_link(node_id, unique_id)
            for link in new_output_links:
                execution_list.add_strong_link(link[0], link[1], unique_id)
            pending_subgraph_results[unique_id] = cached_outputs
            return (ExecutionResult.PENDING, None, None)

        cache_entry = CacheEntry(ui=ui_outputs.get(unique_id), outputs=output_data)
        execution_list.cache_update(unique_id, cache_entry)
        await caches.outputs.set(unique_id, cache_entry)

    except comfy.model_management.InterruptProcessingException as iex:
        logging.info("Processing interrupted")
        return (ExecutionResult.FAILURE, {"node_id": real_node_id}, iex)
    except Exception as ex:
        typ, _, tb = sys.exc_info()
        exception_type = full_type_name(typ)  # before format_value, as ComfyUI calls them
        input_data_formatted = {}
        if input_data_all is not None:
            for name, values in input_data_all.items():
                input_data_formatted[name] = [format_value(x) for x in values]
        logging.error(f"!!! Exception during processing !!! {ex}")
        logging.error(traceback.format_exc())
        tips = ""
        if isinstance(ex, comfy.model_management.OOM_EXCEPTION):  # ComfyUI: comfy.model_management.is_oom(ex)
            tips = "This error means you ran out of memory on your GPU.\n\nTIPS: If the workflow worked before you might have accidentally set the batch_size to a large number."
            comfy.model_management.unload_all_models()
        elif isinstance(ex, RuntimeError) and ("mat1 and mat2 shapes" in str(ex)) and "Sampler" in class_type:
            tips = _SAMPLER_SHAPE_TIPS
        error_details = {
            "node_id": real_node_id,
            "exception_message": "{}\n{}".format(ex, tips),
            "exception_type": exception_type,
            "traceback": traceback.format_tb(tb),
            "current_inputs": input_data_formatted,
        }
        return (ExecutionResult.FAILURE, error_details, ex)

    get_progress_state().finish_progress(unique_id)
    executed.add(unique_id)
    return (ExecutionResult.SUCCESS, None, None)


class PromptExecutor:
    def __init__(self, server, cache_type=False, cache_args=None):
        self.cache_args = cache_args
        self.cache_type = cache_type
        self.server = server
        self.prompt_model_tracker = comfy.model_patcher.PromptModelTracker()
        self.reset()

    def reset(self):
        self.caches = CacheSet(cache_type=self.cache_type, cache_args=self.cache_args)
        self.status_messages = []
        self.success = True

    def add_message(self, event, data: dict, broadcast: bool):
        data = {**data, "timestamp": int(time.time() * 1000)}
        self.status_messages.append((event, data))
        if self.server.client_id is not None or broadcast:
            self.server.send_sync(event, data, self.server.client_id)

    def handle_execution_error(self, prompt_id, prompt, current_outputs, executed, error, ex):
        node_id = error["node_id"]
        class_type = prompt[node_id]["class_type"]
        if isinstance(ex, comfy.model_management.InterruptProcessingException):
            mes = {
                "prompt_id": prompt_id,
                "node_id": node_id,
                "node_type": class_type,
                "executed": list(executed),
            }
            self.add_message("execution_interrupted", mes, broadcast=True)
        else:
            mes = {
                "prompt_id": prompt_id,
                "node_id": node_id,
                "node_type": class_type,
                "executed": list(executed),
                "exception_message": error["exception_message"],
                "exception_type": error["exception_type"],
                "traceback": error["traceback"],
                "current_inputs": error["current_inputs"],
                "current_outputs": list(current_outputs),
            }
            self.add_message("execution_error", mes, broadcast=False)

    def _notify_prompt_lifecycle(self, event: str, prompt_id: str):
        if not _has_cache_providers():
            return
        for provider in _get_cache_providers():
            try:
                if event == "start":
                    _cache_provider._comfyruntime_note(provider, "on_prompt_start", prompt_id)
                    provider.on_prompt_start(prompt_id)
                elif event == "end":
                    _cache_provider._comfyruntime_note(provider, "on_prompt_end", prompt_id)
                    provider.on_prompt_end(prompt_id)
            except Exception as e:
                _cache_logger.warning(f"Cache provider {provider.__class__.__name__} error on {event}: {e}")

    def execute(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        asyncio.run(self.execute_async(prompt, prompt_id, extra_data, execute_outputs))

    async def execute_async(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        set_preview_method(extra_data.get("preview_method"))
        nodes.interrupt_processing(False)
        self.prompt_model_tracker.start()
        if "client_id" in extra_data:
            self.server.client_id = extra_data["client_id"]
        else:
            self.server.client_id = None

        self.status_messages = []
        self.add_message("execution_start", {"prompt_id": prompt_id}, broadcast=False)

        self._notify_prompt_lifecycle("start", prompt_id)
        # Outside the try below, as in ComfyUI: a cache_args without these keys fails here.
        ram_headroom = int(self.cache_args["ram"] * (1024 ** 3))
        ram_inactive_headroom = int(self.cache_args["ram_inactive"] * (1024 ** 3))
        ram_release_callback = self.caches.outputs.ram_release if self.cache_type == CacheType.RAM_PRESSURE else None

        try:
            with _inference_mode():  # ComfyUI: torch.inference_mode()
                dynamic_prompt = DynamicPrompt(prompt)
                reset_progress_state(prompt_id, dynamic_prompt)
                add_progress_handler(WebUIProgressHandler(self.server))
                is_changed_cache = IsChangedCache(prompt_id, dynamic_prompt, self.caches.outputs)
                for cache in self.caches.all:
                    await cache.set_prompt(dynamic_prompt, prompt.keys(), is_changed_cache)
                    cache.clean_unused()

                node_ids = list(prompt.keys())
                cache_results = await asyncio.gather(*(self.caches.outputs.get(node_id) for node_id in node_ids))
                cached_nodes = [node_id for node_id, result in zip(node_ids, cache_results) if result is not None]

                comfy.model_management.cleanup_models_gc()
                self.add_message("execution_cached", {"nodes": cached_nodes, "prompt_id": prompt_id}, broadcast=False)
                pending_subgraph_results = {}
                pending_async_nodes = {}
                ui_node_outputs = {}
                executed = set()
                execution_list = ExecutionList(dynamic_prompt, self.caches.outputs, self.prompt_model_tracker.add)
                current_outputs = self.caches.outputs.all_node_ids()
                for node_id in list(execute_outputs):
                    execution_list.add_node(node_id)

                while not execution_list.is_empty():
                    node_id, error, ex = await execution_list.stage_node_execution()
                    if error is not None:
                        self.handle_execution_error(prompt_id, dynamic_prompt.original_prompt, current_outputs, executed, error, ex)
                        break
                    assert node_id is not None, "Node ID should not be None at this point"
                    result, error, ex = await execute(self.server, dynamic_prompt, self.caches, node_id, extra_data, executed, prompt_id, execution_list, pending_subgraph_results, pending_async_nodes, ui_node_outputs)
                    self.success = result != ExecutionResult.FAILURE
                    if result == ExecutionResult.FAILURE:
                        self.handle_execution_error(prompt_id, dynamic_prompt.original_prompt, current_outputs, executed, error, ex)
                        break
                    elif result == ExecutionResult.PENDING:
                        execution_list.unstage_node_execution()
                    else:
                        execution_list.complete_node_execution()
                    if self.cache_type == CacheType.RAM_PRESSURE:
                        # ComfyUI then frees pinned memory when still short; the mock has none.
                        ram_release_callback(ram_inactive_headroom)
                        ram_shortfall = ram_headroom - comfy.system_memory.virtual_memory_available()
                        if ram_shortfall > 0:
                            ram_release_callback(ram_headroom, free_active=True, min_entry_size=RAM_CACHE_LARGE_INTERMEDIATE)
                else:
                    # Cached UI of intermediate output nodes that did not run this time.
                    for node_id in dynamic_prompt.all_node_ids():
                        if node_id in executed or not _is_intermediate_output(dynamic_prompt, node_id):
                            continue
                        cached = await self.caches.outputs.get(node_id)
                        if cached is not None:
                            display_node_id = dynamic_prompt.get_display_node_id(node_id)
                            _send_cached_ui(self.server, node_id, display_node_id, cached, prompt_id, ui_node_outputs)
                    self.add_message("execution_success", {"prompt_id": prompt_id}, broadcast=False)

                self.history_result = {
                    "outputs": {node_id: info["output"] for node_id, info in ui_node_outputs.items()},
                    "meta": {node_id: info["meta"] for node_id, info in ui_node_outputs.items()},
                }
                self.server.last_node_id = None
                if comfy.model_management.DISABLE_SMART_MEMORY:
                    comfy.model_management.unload_all_models()
        finally:
            self.prompt_model_tracker.end()
            self._notify_prompt_lifecycle("end", prompt_id)


def _combo_error(name, val, input_type, extra_info, info):
    """2026's combo check: a list type or ``"COMBO"`` with ``options``; multiselect lists too."""
    if input_type == "COMBO":
        if extra_info.get("remote_combo"):
            return None  # options are fetched by the client
        combo_options = extra_info.get("options", [])
    else:
        combo_options = input_type
    if extra_info.get("multiselect", False) and isinstance(val, list):
        invalid_vals = [v for v in val if v not in combo_options]
    else:
        invalid_vals = [val] if val not in combo_options else []
    if not invalid_vals:
        return None
    if len(combo_options) > 20:
        list_info, input_config = f"(list of length {len(combo_options)})", None
    else:
        list_info, input_config = str(combo_options), info
    return _v.error("value_not_in_list", "Value not in list",
                    f"{name}: {', '.join(repr(v) for v in invalid_vals)} not in {list_info}",
                    {"input_name": name, "input_config": input_config, "received_value": val})


def _range_error(name, val, extra_info, info):
    if "min" in extra_info and val < extra_info["min"]:
        return _v.error("value_smaller_than_min", "Value {} smaller than min of {}".format(val, extra_info["min"]),
                        f"{name}", {"input_name": name, "input_config": info, "received_value": val})
    if "max" in extra_info and val > extra_info["max"]:
        return _v.error("value_bigger_than_max", "Value {} bigger than max of {}".format(val, extra_info["max"]),
                        f"{name}", {"input_name": name, "input_config": info, "received_value": val})
    return None


async def validate_inputs(prompt_id, prompt, item, validated, visiting=None):
    if visiting is None:
        visiting = []
    unique_id = item
    if unique_id in validated:
        return validated[unique_id]

    if unique_id in visiting:
        # A static cycle: every node on it fails with its own dependency_cycle error.
        cycle_path_nodes = visiting[visiting.index(unique_id):] + [unique_id]
        cycle_nodes = list(dict.fromkeys(cycle_path_nodes))
        cycle_path = " -> ".join(f"{node_id} ({prompt[node_id]['class_type']})" for node_id in cycle_path_nodes)
        for node_id in cycle_nodes:
            validated[node_id] = (False, [_v.error("dependency_cycle", "Dependency cycle detected", cycle_path,
                                                   {"node_id": node_id, "cycle_nodes": cycle_nodes})], node_id)
        return validated[unique_id]

    inputs = prompt[unique_id]["inputs"]
    class_type = prompt[unique_id]["class_type"]
    obj_class = nodes.NODE_CLASS_MAPPINGS[class_type]

    errors = []
    valid = True
    v3_data = None
    validate_function_inputs = []
    validate_has_kwargs = False
    if issubclass(obj_class, _ComfyNodeInternal):
        class_inputs = obj_class.INPUT_TYPES()
        # No invalid_dynamic_input error in this generation: what get_finalized_class_inputs
        # raises escapes validate_inputs (validate_prompt reports exception_during_validation).
        class_inputs, _, v3_data = _io.get_finalized_class_inputs(class_inputs, inputs)
        validate_function_name = "validate_inputs"
        validate_function = first_real_override(obj_class, validate_function_name)
    else:
        class_inputs = obj_class.INPUT_TYPES()
        validate_function_name = "VALIDATE_INPUTS"
        validate_function = getattr(obj_class, validate_function_name, None)
    if validate_function is not None:
        argspec = inspect.getfullargspec(validate_function)
        validate_function_inputs = argspec.args
        validate_has_kwargs = argspec.varkw is not None
    received_types = {}

    valid_inputs = set(class_inputs.get("required", {})).union(set(class_inputs.get("optional", {})))
    for x in valid_inputs:
        input_type, input_category, extra_info = get_input_info(obj_class, x, class_inputs)
        assert extra_info is not None  # as in ComfyUI: ("INT", None) fails validation with AssertionError
        if x not in inputs:
            if input_category == "required":
                error = _v.required_missing(x)
                if v3_data:  # 2026: a dynamic input's details name its last segment ("v0" of "vals.v0")
                    error["details"] = x.split(".")[-1]
                errors.append(error)
            continue
        val = inputs[x]
        info = (input_type, extra_info)
        if isinstance(val, list):
            if len(val) != 2:
                errors.append(_v.bad_link(x, info, val))
                continue
            o_id = val[0]
            received_type = nodes.NODE_CLASS_MAPPINGS[prompt[o_id]["class_type"]].RETURN_TYPES[val[1]]
            received_types[x] = received_type
            if "input_types" not in validate_function_inputs and not validate_node_input(received_type, input_type):
                errors.append(_v.type_mismatch(x, info, received_type, input_type, val))
                continue
            try:
                visiting.append(unique_id)
                try:
                    r = await validate_inputs(prompt_id, prompt, o_id, validated, visiting)
                finally:
                    visiting.pop()
                if r[0] is False:
                    valid = False
                    continue
            except Exception as ex:
                typ, _, tb = sys.exc_info()
                valid = False
                reasons = [_v.inner_exception(x, info, ex, full_type_name(typ), traceback.format_tb(tb), val)]
                validated[o_id] = (False, reasons, o_id)
                continue
        else:
            if isinstance(val, dict) and "__value__" in val:
                val = val["__value__"]
                inputs[x] = val
            val, err = _v.coerce_constant(x, val, input_type, info, boolean=True)
            if err is not None:
                errors.append(err)
                continue
            inputs[x] = val
            if x not in validate_function_inputs and not validate_has_kwargs:
                err = _range_error(x, val, extra_info, info)
                if err is None and (isinstance(input_type, list) or input_type == "COMBO"):
                    err = _combo_error(x, val, input_type, extra_info, info)
                if err is not None:
                    errors.append(err)
                    continue

    if len(validate_function_inputs) > 0 or validate_has_kwargs:
        input_data_all, _, v3_data = get_input_data(inputs, obj_class, unique_id)
        dynamic_paths = v3_data.get("dynamic_paths", {})
        if not validate_has_kwargs:
            dynamic_paths = {key: path for key, path in dynamic_paths.items() if path.split(".")[0] in validate_function_inputs}
            v3_data = v3_data | {
                "dynamic_paths": dynamic_paths,
                "list_paths": {path for path in v3_data.get("list_paths", set()) if path.split(".")[0] in validate_function_inputs},
            }
        input_filtered = {}
        for x in input_data_all:
            input_name = dynamic_paths[x].split(".")[0] if x in dynamic_paths else x
            if input_name in validate_function_inputs or validate_has_kwargs:
                input_filtered[x] = input_data_all[x]
        if "input_types" in validate_function_inputs:
            input_filtered["input_types"] = [received_types]
        ret = await _async_map_node_over_list(prompt_id, unique_id, obj_class, input_filtered, validate_function_name, v3_data=v3_data)
        ret = await resolve_map_node_over_list_results(ret)
        for x in input_filtered or (None,):
            for r in ret:
                if r is True or isinstance(r, ExecutionBlocker):
                    continue
                details = x if x is not None else ""
                if r is not False:
                    details = f"{x} - {r}" if x is not None else str(r)
                errors.append(_v.error("custom_validation_failed", "Custom validation failed for node", details,
                                       {"input_name": x} if x is not None else {}))

    # A cycle found deeper down may already have failed this node: join its errors.
    ret = validated.get(unique_id, (True, [], unique_id))
    ret = (ret[0] and valid is True and not errors, ret[1] + [error for error in errors if error not in ret[1]], unique_id)
    validated[unique_id] = ret
    return ret


def _missing_node_type(x, node_data, class_type):
    if class_type is None:
        node_title = node_data.get("_meta", {}).get("title")
        message = f"Node '{node_title or f'ID #{x}'}' has no class_type. The workflow may be corrupted or a custom node is missing."
    else:
        node_title = node_data.get("_meta", {}).get("title", class_type)
        message = f"Node '{node_title}' not found. The custom node may not be installed."
    return _v.error("missing_node_type", message, f"Node ID '#{x}'",
                    {"node_id": x, "class_type": class_type, "node_title": node_title})


async def validate_prompt(prompt_id, prompt, partial_execution_list: Union[list, None]):
    outputs = set()
    for x in prompt:
        if "class_type" not in prompt[x]:
            return (False, _missing_node_type(x, prompt[x], None), [], {})
        class_type = prompt[x]["class_type"]
        class_ = nodes.NODE_CLASS_MAPPINGS.get(class_type, None)
        if class_ is None:
            return (False, _missing_node_type(x, prompt[x], class_type), [], {})
        if hasattr(class_, "OUTPUT_NODE") and class_.OUTPUT_NODE is True:
            if partial_execution_list is None or x in partial_execution_list:
                outputs.add(x)

    if len(outputs) == 0:
        return (False, _v.no_outputs(), [], {})

    good_outputs = set()
    errors = []
    node_errors = {}
    validated = {}
    for o in outputs:
        try:
            m = await validate_inputs(prompt_id, prompt, o, validated)
            valid, reasons = m[0], m[1]
        except Exception as ex:
            typ, _, tb = sys.exc_info()
            valid = False
            reasons = [_v.validation_exception(ex, full_type_name(typ), traceback.format_tb(tb))]
            validated[o] = (False, reasons, o)
        if valid is True:
            good_outputs.add(o)
        else:
            logging.error(f"Failed to validate prompt for output {o}:")
            errors += [(o, reasons)]
            _v.collect_node_errors(prompt, o, validated, node_errors)
            logging.error("Output will be ignored")

    if len(good_outputs) == 0:
        return (False, _v.outputs_failed(errors), list(good_outputs), node_errors)
    return (True, None, list(good_outputs), node_errors)


MAXIMUM_HISTORY_SIZE = 10000


class PromptQueue:
    def __init__(self, server):
        self.server = server
        self.mutex = threading.RLock()
        self.not_empty = threading.Condition(self.mutex)
        self.task_counter = 0
        self.queue = []
        self.currently_running = {}
        self.history = {}
        self.flags = {}

    def put(self, item):
        with self.mutex:
            heapq.heappush(self.queue, item)
            self.server.queue_updated()
            self.not_empty.notify()

    def get(self, timeout=None):
        with self.not_empty:
            while len(self.queue) == 0:
                self.not_empty.wait(timeout=timeout)
                if timeout is not None and len(self.queue) == 0:
                    return None
            item = heapq.heappop(self.queue)
            i = self.task_counter
            self.currently_running[i] = copy.deepcopy(item)
            self.task_counter += 1
            self.server.queue_updated()
            return (item, i)

    class ExecutionStatus(NamedTuple):
        status_str: Literal["success", "error"]
        completed: bool
        messages: List[str]

    def _record(self, item_id, result, status, process_item):
        with self.mutex:
            prompt = self.currently_running.pop(item_id)
            if len(self.history) > MAXIMUM_HISTORY_SIZE:
                self.history.pop(next(iter(self.history)))
            status_dict = copy.deepcopy(status._asdict()) if status is not None else None
            if process_item is not None:
                prompt = process_item(prompt)
            self.history[prompt[1]] = {"prompt": prompt, "outputs": {}, "status": status_dict}
            self.history[prompt[1]].update(result)
            self.server.queue_updated()

    def task_done(self, item_id, history_result, status: Optional["PromptQueue.ExecutionStatus"], process_item=None):
        self._record(item_id, history_result, status, process_item)

    def get_current_queue(self):
        with self.mutex:
            return (list(self.currently_running.values()), copy.deepcopy(self.queue))

    def get_current_queue_volatile(self):
        with self.mutex:
            return (list(self.currently_running.values()), copy.copy(self.queue))

    def get_tasks_remaining(self):
        with self.mutex:
            return len(self.queue) + len(self.currently_running)

    def wipe_queue(self):
        with self.mutex:
            self.queue = []
            self.server.queue_updated()

    def delete_queue_item(self, function):
        with self.mutex:
            for x in range(len(self.queue)):
                if function(self.queue[x]):
                    if len(self.queue) == 1:
                        self.wipe_queue()
                    else:
                        self.queue.pop(x)
                        heapq.heapify(self.queue)
                    self.server.queue_updated()
                    return True
        return False

    def _history(self, prompt_id, max_items, offset, map_function):
        with self.mutex:
            if prompt_id is None:
                out = {}
                if offset < 0 and max_items is not None:
                    offset = len(self.history) - max_items
                for i, k in enumerate(self.history):
                    if i >= offset:
                        p = self.history[k]
                        out[k] = map_function(p) if map_function is not None else p
                        if max_items is not None and len(out) >= max_items:
                            break
                return out
            if prompt_id in self.history:
                p = self.history[prompt_id]
                return {prompt_id: copy.deepcopy(p) if map_function is None else map_function(p)}
            return {}

    def get_history(self, prompt_id=None, max_items=None, offset=-1, map_function=None):
        return self._history(prompt_id, max_items, offset, map_function)

    def wipe_history(self):
        with self.mutex:
            self.history = {}

    def delete_history_item(self, id_to_delete):
        with self.mutex:
            self.history.pop(id_to_delete, None)

    def set_flag(self, name, data):
        with self.mutex:
            self.flags[name] = data
            self.not_empty.notify()

    def get_flags(self, reset=True):
        with self.mutex:
            if reset:
                ret = self.flags
                self.flags = {}
                return ret
            return self.flags.copy()

    def interrupt_if_running(self, prompt_id):
        """Interrupts the running prompt with this id, checked and signalled under the queue lock."""
        with self.mutex:
            for item in self.currently_running.values():
                if item[1] == prompt_id:
                    nodes.interrupt_processing()
                    return True
        return False

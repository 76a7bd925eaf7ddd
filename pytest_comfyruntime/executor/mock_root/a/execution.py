"""Mock of ComfyUI's ``execution`` module, era A (ComfyUI of early 2024, recursive executor).

Same public names, signatures, mutable defaults and message sequences as the real module; every
name ComfyUI resolves as a module global at call time (``get_input_data``, ``recursive_execute``,
``recursive_will_execute``, ``recursive_output_delete_if_changed``, ``map_node_over_list``,
``get_output_data``, ``validate_inputs``, ``full_type_name``, ``format_value``) is called through
this module's globals here too, so replacing ``execution.<name>`` takes effect the same way, and
the recursion of ``recursive_execute`` goes through the global name, so a wrapper sees every node.
Outputs are cached by node id (``PromptExecutor.outputs``), invalidated when a node's ``inputs``
or its ``IS_CHANGED`` value change. Node code does not run under ``torch.inference_mode()``:
the mock imports no torch.
"""
import copy
import heapq
import inspect
import logging
import sys
import threading
import traceback
from typing import List, Literal, NamedTuple, Optional

import comfy.model_management
import nodes

from pytest_comfyruntime.executor import _validation as _v


def get_input_data(inputs, class_def, unique_id, outputs={}, prompt={}, extra_data={}):
    valid_inputs = class_def.INPUT_TYPES()
    input_data_all = {}
    for x in inputs:
        input_data = inputs[x]
        if isinstance(input_data, list):
            from_id, from_index = input_data[0], input_data[1]  # a short link raises IndexError here
            if from_id not in outputs:
                input_data_all[x] = (None,)
                continue
            input_data_all[x] = outputs[from_id][from_index]
        elif ("required" in valid_inputs and x in valid_inputs["required"]) or (
                "optional" in valid_inputs and x in valid_inputs["optional"]):
            input_data_all[x] = [input_data]
    if "hidden" in valid_inputs:
        hidden = valid_inputs["hidden"]
        for x in hidden:
            if hidden[x] == "PROMPT":
                input_data_all[x] = [prompt]
            if hidden[x] == "EXTRA_PNGINFO":
                input_data_all[x] = [extra_data.get("extra_pnginfo", None)]
            if hidden[x] == "UNIQUE_ID":
                input_data_all[x] = [unique_id]
    return input_data_all


def map_node_over_list(obj, input_data_all, func, allow_interrupt=False):
    input_is_list = obj.INPUT_IS_LIST if hasattr(obj, "INPUT_IS_LIST") else False
    max_len_input = max([len(x) for x in input_data_all.values()]) if len(input_data_all) > 0 else 0

    def slice_dict(d, i):
        # Shorter lists repeat their last item. A plain loop, so that an IndexError (an empty
        # list) has the same traceback frames as in ComfyUI.
        sliced = dict()
        for k, v in d.items():
            sliced[k] = v[i if len(v) > i else -1]
        return sliced

    results = []
    if input_is_list:
        if allow_interrupt:
            nodes.before_node_execution()
        results.append(getattr(obj, func)(**input_data_all))
    elif max_len_input == 0:
        if allow_interrupt:
            nodes.before_node_execution()
        results.append(getattr(obj, func)())
    else:
        for i in range(max_len_input):
            if allow_interrupt:
                nodes.before_node_execution()
            results.append(getattr(obj, func)(**slice_dict(input_data_all, i)))
    return results


def get_output_data(obj, input_data_all):
    results = []
    uis = []
    for r in map_node_over_list(obj, input_data_all, obj.FUNCTION, allow_interrupt=True):
        if isinstance(r, dict):
            if "ui" in r:
                uis.append(r["ui"])
            if "result" in r:
                results.append(r["result"])
        else:
            results.append(r)

    output = []
    if len(results) > 0:
        output_is_list = [False] * len(results[0])
        if hasattr(obj, "OUTPUT_IS_LIST"):
            output_is_list = obj.OUTPUT_IS_LIST
        for i, is_list in zip(range(len(results[0])), output_is_list):
            if is_list:
                output.append([item for o in results for item in o[i]])
            else:
                output.append([o[i] for o in results])

    ui = dict()
    if len(uis) > 0:
        ui = {k: [y for x in uis for y in x[k]] for k in uis[0].keys()}
    return output, ui


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


def recursive_execute(server, prompt, outputs, current_item, extra_data, executed, prompt_id, outputs_ui, object_storage):
    unique_id = current_item
    inputs = prompt[unique_id]["inputs"]
    class_type = prompt[unique_id]["class_type"]
    class_def = nodes.NODE_CLASS_MAPPINGS[class_type]
    if unique_id in outputs:
        return (True, None, None)

    # Inputs first, depth-first in input-dict order.
    for x in inputs:
        input_data = inputs[x]
        if isinstance(input_data, list):
            from_id, _ = input_data[0], input_data[1]
            if from_id not in outputs:
                result = recursive_execute(server, prompt, outputs, from_id, extra_data, executed, prompt_id, outputs_ui, object_storage)
                if result[0] is not True:
                    return result  # failed further upstream

    input_data_all = None
    try:
        input_data_all = get_input_data(inputs, class_def, unique_id, outputs, prompt, extra_data)
        if server.client_id is not None:
            server.last_node_id = unique_id
            server.send_sync("executing", {"node": unique_id, "prompt_id": prompt_id}, server.client_id)

        obj = object_storage.get((unique_id, class_type), None)
        if obj is None:
            obj = class_def()
            object_storage[(unique_id, class_type)] = obj

        output_data, output_ui = get_output_data(obj, input_data_all)
        outputs[unique_id] = output_data
        if len(output_ui) > 0:
            outputs_ui[unique_id] = output_ui
            if server.client_id is not None:
                server.send_sync("executed", {"node": unique_id, "output": output_ui, "prompt_id": prompt_id}, server.client_id)
    except comfy.model_management.InterruptProcessingException as iex:
        logging.info("Processing interrupted")
        return (False, {"node_id": unique_id}, iex)
    except Exception as ex:
        typ, _, tb = sys.exc_info()
        exception_type = full_type_name(typ)
        input_data_formatted = {}
        if input_data_all is not None:
            for name, values in input_data_all.items():
                input_data_formatted[name] = [format_value(x) for x in values]
        output_data_formatted = {}
        for node_id, node_outputs in outputs.items():
            output_data_formatted[node_id] = [[format_value(x) for x in out] for out in node_outputs]
        logging.error(f"!!! Exception during processing!!! {ex}")
        logging.error(traceback.format_exc())
        error_details = {
            "node_id": unique_id,
            "exception_message": str(ex),
            "exception_type": exception_type,
            "traceback": traceback.format_tb(tb),
            "current_inputs": input_data_formatted,
            "current_outputs": output_data_formatted,
        }
        return (False, error_details, ex)

    executed.add(unique_id)
    return (True, None, None)


def recursive_will_execute(prompt, outputs, current_item, memo={}):
    unique_id = current_item
    if unique_id in memo:
        return memo[unique_id]
    inputs = prompt[unique_id]["inputs"]
    will_execute = []
    if unique_id in outputs:
        return []
    for x in inputs:
        input_data = inputs[x]
        if isinstance(input_data, list):
            from_id, _ = input_data[0], input_data[1]
            if from_id not in outputs:
                will_execute += recursive_will_execute(prompt, outputs, from_id, memo)
    memo[unique_id] = will_execute + [unique_id]
    return memo[unique_id]


def recursive_output_delete_if_changed(prompt, old_prompt, outputs, current_item):
    unique_id = current_item
    inputs = prompt[unique_id]["inputs"]
    class_type = prompt[unique_id]["class_type"]
    class_def = nodes.NODE_CLASS_MAPPINGS[class_type]

    is_changed_old = ""
    is_changed = ""
    to_delete = False
    if hasattr(class_def, "IS_CHANGED"):
        if unique_id in old_prompt and "is_changed" in old_prompt[unique_id]:
            is_changed_old = old_prompt[unique_id]["is_changed"]
        if "is_changed" not in prompt[unique_id]:
            # Linked values that are still cached, else None.
            input_data_all = get_input_data(inputs, class_def, unique_id, outputs)
            if input_data_all is not None:
                try:
                    is_changed = map_node_over_list(class_def, input_data_all, "IS_CHANGED")
                    prompt[unique_id]["is_changed"] = is_changed
                except:  # noqa: E722 - ComfyUI catches everything here
                    to_delete = True
        else:
            is_changed = prompt[unique_id]["is_changed"]

    if unique_id not in outputs:
        return True

    if not to_delete:
        if is_changed != is_changed_old:
            to_delete = True
        elif unique_id not in old_prompt:
            to_delete = True
        elif inputs == old_prompt[unique_id]["inputs"]:
            for x in inputs:
                input_data = inputs[x]
                if isinstance(input_data, list):
                    from_id, _ = input_data[0], input_data[1]
                    if from_id in outputs:
                        to_delete = recursive_output_delete_if_changed(prompt, old_prompt, outputs, from_id)
                    else:
                        to_delete = True
                    if to_delete:
                        break
        else:
            to_delete = True

    if to_delete:
        outputs.pop(unique_id)
    return to_delete


class PromptExecutor:
    def __init__(self, server):
        self.server = server
        self.reset()

    def reset(self):
        self.outputs = {}
        self.object_storage = {}
        self.outputs_ui = {}
        self.status_messages = []
        self.success = True
        self.old_prompt = {}

    def add_message(self, event, data, broadcast: bool):
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
                "current_outputs": error["current_outputs"],
            }
            self.add_message("execution_error", mes, broadcast=False)

        # Outputs that were neither cached at the start nor computed now will not run: drop them.
        to_delete = []
        for o in self.outputs:
            if (o not in current_outputs) and (o not in executed):
                to_delete += [o]
                if o in self.old_prompt:
                    self.old_prompt.pop(o)
        for o in to_delete:
            self.outputs.pop(o)

    def execute(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        nodes.interrupt_processing(False)
        if "client_id" in extra_data:
            self.server.client_id = extra_data["client_id"]
        else:
            self.server.client_id = None

        self.status_messages = []
        self.add_message("execution_start", {"prompt_id": prompt_id}, broadcast=False)

        # ComfyUI runs the rest under torch.inference_mode(); the mock has no torch.
        to_delete = [o for o in self.outputs if o not in prompt]
        for o in to_delete:
            self.outputs.pop(o)
        to_delete = []
        for o in self.object_storage:
            if o[0] not in prompt or o[1] != prompt[o[0]]["class_type"]:
                to_delete += [o]
        for o in to_delete:
            self.object_storage.pop(o)

        for x in prompt:
            recursive_output_delete_if_changed(prompt, self.old_prompt, self.outputs, x)

        current_outputs = set(self.outputs.keys())
        for x in list(self.outputs_ui.keys()):
            if x not in current_outputs:
                self.outputs_ui.pop(x)

        comfy.model_management.cleanup_models(keep_clone_weights_loaded=True)
        self.add_message("execution_cached", {"nodes": list(current_outputs), "prompt_id": prompt_id}, broadcast=False)
        executed = set()
        to_execute = []
        for node_id in list(execute_outputs):
            to_execute += [(0, node_id)]

        while len(to_execute) > 0:
            # The output with the fewest nodes still to run goes first; ties by node id.
            memo = {}
            to_execute = sorted(list(map(lambda a: (len(recursive_will_execute(prompt, self.outputs, a[-1], memo)), a[-1]), to_execute)))
            output_node_id = to_execute.pop(0)[-1]
            # Errors inside nodes come back as values, never as exceptions.
            self.success, error, ex = recursive_execute(self.server, prompt, self.outputs, output_node_id, extra_data, executed, prompt_id, self.outputs_ui, self.object_storage)
            if self.success is not True:
                self.handle_execution_error(prompt_id, prompt, current_outputs, executed, error, ex)
                break

        for x in executed:
            self.old_prompt[x] = copy.deepcopy(prompt[x])
        self.server.last_node_id = None
        if comfy.model_management.DISABLE_SMART_MEMORY:
            comfy.model_management.unload_all_models()


def validate_inputs(prompt, item, validated):
    unique_id = item
    if unique_id in validated:
        return validated[unique_id]

    inputs = prompt[unique_id]["inputs"]
    class_type = prompt[unique_id]["class_type"]
    obj_class = nodes.NODE_CLASS_MAPPINGS[class_type]
    class_inputs = obj_class.INPUT_TYPES()
    required_inputs = class_inputs["required"]  # era A: only required inputs are checked

    errors = []
    valid = True
    validate_function_inputs = []
    if hasattr(obj_class, "VALIDATE_INPUTS"):
        # getfullargspec keeps ``cls``, so any VALIDATE_INPUTS gets called below.
        validate_function_inputs = inspect.getfullargspec(obj_class.VALIDATE_INPUTS).args

    # ``info`` and ``val`` outlive the loop: custom_validation_failed reports the last ones set.
    for x in required_inputs:
        if x not in inputs:
            errors.append(_v.required_missing(x))
            continue
        val = inputs[x]
        info = required_inputs[x]
        type_input = info[0]
        if isinstance(val, list):
            if len(val) != 2:
                errors.append(_v.bad_link(x, info, val))
                continue
            o_id = val[0]
            r = nodes.NODE_CLASS_MAPPINGS[prompt[o_id]["class_type"]].RETURN_TYPES
            if r[val[1]] != type_input:
                received_type = r[val[1]]
                errors.append(_v.error(
                    "return_type_mismatch", "Return type mismatch between linked nodes",
                    f"{x}, {received_type} != {type_input}",
                    {"input_name": x, "input_config": info, "received_type": received_type, "linked_node": val}))
                continue
            try:
                r = validate_inputs(prompt, o_id, validated)
                if r[0] is False:
                    valid = False  # the reasons are in validated[o_id] already
                    continue
            except Exception as ex:
                typ, _, tb = sys.exc_info()
                valid = False
                reasons = [_v.inner_exception(x, info, ex, full_type_name(typ), traceback.format_tb(tb), val)]
                validated[o_id] = (False, reasons, o_id)
                continue
        else:
            val, err = _v.coerce_constant(x, val, type_input, info, boolean=False)
            if err is not None:
                errors.append(err)
                continue
            if type_input in ("INT", "FLOAT", "STRING"):
                inputs[x] = val
            # min / max even for VALIDATE_INPUTS arguments; the combo check only for the others.
            err = _v.range_and_combo(x, val, type_input if x not in validate_function_inputs else None,
                                     info[1] if len(info) > 1 else {}, info)
            if err is not None:
                errors.append(err)
                continue

    if len(validate_function_inputs) > 0:
        input_data_all = get_input_data(inputs, obj_class, unique_id)
        input_filtered = {}
        for x in input_data_all:
            if x in validate_function_inputs:
                input_filtered[x] = input_data_all[x]
        ret = map_node_over_list(obj_class, input_filtered, "VALIDATE_INPUTS")
        for x in input_filtered:
            for r in ret:
                if r is not True:
                    details = f"{x}" if r is False else f"{x} - {str(r)}"
                    errors.append(_v.error("custom_validation_failed", "Custom validation failed for node", details,
                                           {"input_name": x, "input_config": info, "received_value": val}))

    ret = (False, errors, unique_id) if len(errors) > 0 or valid is not True else (True, [], unique_id)
    validated[unique_id] = ret
    return ret


def validate_prompt(prompt):
    outputs = set()
    for x in prompt:
        # Era A: an unknown or missing class_type raises KeyError here.
        class_ = nodes.NODE_CLASS_MAPPINGS[prompt[x]["class_type"]]
        if hasattr(class_, "OUTPUT_NODE") and class_.OUTPUT_NODE == True:  # noqa: E712 - 1 counts
            outputs.add(x)

    if len(outputs) == 0:
        return (False, _v.no_outputs(), [], [])

    good_outputs = set()
    errors = []
    node_errors = {}
    validated = {}
    for o in outputs:
        valid = False
        reasons = []
        try:
            m = validate_inputs(prompt, o, validated)
            valid = m[0]
            reasons = m[1]
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
            known = set(node_errors)
            _v.collect_node_errors(prompt, o, validated, node_errors)
            for node_id, info in node_errors.items():
                if node_id not in known:
                    logging.error(f"* {info['class_type']} {node_id}:")
                    for reason in info["errors"]:
                        logging.error(f"  - {reason['message']}: {reason['details']}")
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
            self.history[prompt[1]] = {"prompt": prompt, "outputs": copy.deepcopy(result), "status": status_dict}
            self.server.queue_updated()

    def task_done(self, item_id, outputs, status: Optional["PromptQueue.ExecutionStatus"]):
        self._record(item_id, outputs, status, None)

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

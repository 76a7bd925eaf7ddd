"""Stand-in for ``comfy_execution.graph`` (era D; read, not run: ``Comfy-Org/ComfyUI`` at 0b458120).

Differences from era C that a mock must keep:
- ``ExecutionList(dynprompt, output_cache, output_link_callback=None)``: every link into a
  consumer (``cache_link``, ``cache_update``) passes that output's value list to the callback
  (``execute_async`` passes ``prompt_model_tracker.add``).
- ``is_cached`` and the per-consumer cache view use the outputs cache's *local* methods
  (``get_local`` / ``set_local``), so an external cache provider is never asked from here.
- ``add_node`` enters a node that is already cached but does not walk its inputs.
- ``TopologicalSort.get_input_info`` reads a V3 node's inputs through
  ``_io.get_finalized_class_inputs`` (its dynamic inputs as the prompt has them).
- ``inhibit_nodes`` (a control node drops pending nodes: the Start Loop node takes its loop body
  out of the graph before expanding it), ``is_staged_node_blocked`` (after
  ``check_lazy_status`` a staged node can have new blockers and goes back to pending),
  ``release_external_block`` / ``get_external_block_result``, and
  ``DynamicPrompt.override_node`` (runtime replacements that leave the submitted prompt alone).
"""
import asyncio
import inspect

import nodes
from comfy_execution.graph_utils import ExecutionBlocker, is_link
from comfy_api.internal import _ComfyNodeInternal
from comfy_api.latest import _io

ExecutionBlocker = ExecutionBlocker  # re-exported, as in ComfyUI


class DependencyCycleError(Exception):
    pass


class NodeInputError(Exception):
    pass


class NodeNotFoundError(Exception):
    pass


class DynamicPrompt:
    def __init__(self, original_prompt):
        self.original_prompt = original_prompt
        self.node_overrides = {}
        self.ephemeral_prompt = {}
        self.ephemeral_parents = {}
        self.ephemeral_display = {}

    def get_node(self, node_id):
        if node_id in self.node_overrides:
            return self.node_overrides[node_id]
        if node_id in self.ephemeral_prompt:
            return self.ephemeral_prompt[node_id]
        if node_id in self.original_prompt:
            return self.original_prompt[node_id]
        raise NodeNotFoundError(f"Node {node_id} not found")

    def override_node(self, node_id, node_info):
        if not self.has_node(node_id):
            raise NodeNotFoundError(f"Node {node_id} not found")
        self.node_overrides[node_id] = node_info

    def has_node(self, node_id):
        return node_id in self.original_prompt or node_id in self.ephemeral_prompt

    def add_ephemeral_node(self, node_id, node_info, parent_id, display_id):
        self.ephemeral_prompt[node_id] = node_info
        self.ephemeral_parents[node_id] = parent_id
        self.ephemeral_display[node_id] = display_id

    def get_real_node_id(self, node_id):
        while node_id in self.ephemeral_parents:
            node_id = self.ephemeral_parents[node_id]
        return node_id

    def get_parent_node_id(self, node_id):
        return self.ephemeral_parents.get(node_id, None)

    def get_display_node_id(self, node_id):
        while node_id in self.ephemeral_display:
            node_id = self.ephemeral_display[node_id]
        return node_id

    def all_node_ids(self):
        return set(self.original_prompt.keys()).union(set(self.ephemeral_prompt.keys()))

    def get_original_prompt(self):
        return self.original_prompt


def get_input_info(class_def, input_name, valid_inputs=None):
    """``(input_type, category, extra_info)`` or ``(None, None, None)``."""
    valid_inputs = valid_inputs or class_def.INPUT_TYPES()
    for category in ("required", "optional", "hidden"):
        section = valid_inputs.get(category)
        if section is not None and input_name in section:
            info = section[input_name]
            return info[0], category, (info[1] if len(info) > 1 else {})
    return None, None, None


class TopologicalSort:
    def __init__(self, dynprompt):
        self.dynprompt = dynprompt
        self.pendingNodes = {}
        self.blockCount = {}
        self.blocking = {}
        self.externalBlocks = 0
        self.externalBlockResults = {}
        self.unblockedEvent = asyncio.Event()

    def get_input_info(self, unique_id, input_name):
        node = self.dynprompt.get_node(unique_id)
        class_def = nodes.NODE_CLASS_MAPPINGS[node["class_type"]]
        valid_inputs = class_def.INPUT_TYPES()
        if issubclass(class_def, _ComfyNodeInternal):
            valid_inputs, _, _ = _io.get_finalized_class_inputs(valid_inputs, node["inputs"])
        return get_input_info(class_def, input_name, valid_inputs)

    def make_input_strong_link(self, to_node_id, to_input):
        inputs = self.dynprompt.get_node(to_node_id)["inputs"]
        if to_input not in inputs:
            raise NodeInputError(f"Node {to_node_id} says it needs input {to_input}, but there is no input to that node at all")
        value = inputs[to_input]
        if not is_link(value):
            raise NodeInputError(f"Node {to_node_id} says it needs input {to_input}, but that value is a constant")
        from_node_id, from_socket = value
        self.add_strong_link(from_node_id, from_socket, to_node_id)

    def add_strong_link(self, from_node_id, from_socket, to_node_id):
        if self.is_cached(from_node_id):
            return
        self.add_node(from_node_id)
        if to_node_id not in self.blocking[from_node_id]:
            self.blocking[from_node_id][to_node_id] = {}
            self.blockCount[to_node_id] += 1
        self.blocking[from_node_id][to_node_id][from_socket] = True

    def add_node(self, node_unique_id, include_lazy=False, subgraph_nodes=None):
        # A stack walk over inputs: the order nodes enter ``pendingNodes`` decides which ready
        # node is staged first, so it must match ComfyUI's exactly.
        stack = [node_unique_id]
        links = []
        while stack:
            unique_id = stack.pop()
            if unique_id in self.pendingNodes:
                continue
            self.pendingNodes[unique_id] = True
            self.blockCount[unique_id] = 0
            self.blocking[unique_id] = {}
            if self.is_cached(unique_id):
                continue  # a cached node never reads its inputs
            inputs = self.dynprompt.get_node(unique_id)["inputs"]
            for input_name, value in inputs.items():
                if not is_link(value):
                    continue
                from_node_id, from_socket = value
                if subgraph_nodes is not None and from_node_id not in subgraph_nodes:
                    continue
                _, _, input_info = self.get_input_info(unique_id, input_name)
                # ``in``, not ``.get``: a hidden input's info is a plain string, e.g. "UNIQUE_ID".
                is_lazy = input_info is not None and "lazy" in input_info and input_info["lazy"]
                if include_lazy or not is_lazy:
                    if not self.is_cached(from_node_id):
                        stack.append(from_node_id)
                    links.append((from_node_id, from_socket, unique_id))
        for link in links:
            self.add_strong_link(*link)

    def add_external_block(self, node_id):
        assert node_id in self.blockCount, "Can't add external block to a node that isn't pending"
        self.externalBlocks += 1
        self.blockCount[node_id] += 1

        def unblock(value=None):
            self.release_external_block(node_id, value)
        return unblock

    def release_external_block(self, node_id, value=None):
        self.externalBlocks -= 1
        self.blockCount[node_id] -= 1
        if value is not None:
            self.externalBlockResults[node_id] = value
        self.unblockedEvent.set()

    def get_external_block_result(self, node_id):
        return self.externalBlockResults.get(node_id)

    def is_cached(self, node_id):
        return False

    def get_ready_nodes(self):
        return [node_id for node_id in self.pendingNodes if self.blockCount[node_id] == 0]

    def pop_node(self, unique_id):
        del self.pendingNodes[unique_id]
        for blocked_node_id in self.blocking[unique_id]:
            self.blockCount[blocked_node_id] -= 1
        del self.blocking[unique_id]
        self.externalBlockResults.pop(unique_id, None)

    def is_empty(self):
        return len(self.pendingNodes) == 0


class ExecutionList(TopologicalSort):
    """Stages nodes one at a time; a staged node can go back to the graph with new dependencies."""

    def __init__(self, dynprompt, output_cache, output_link_callback=None):
        super().__init__(dynprompt)
        self.output_cache = output_cache
        self.output_link_callback = output_link_callback
        self.staged_node_id = None
        self.execution_cache = {}
        self.execution_cache_listeners = {}

    def is_cached(self, node_id):
        return self.output_cache.get_local(node_id) is not None

    def cache_link(self, from_node_id, to_node_id, from_socket=None):
        value = self.output_cache.get_local(from_node_id)
        self.execution_cache.setdefault(to_node_id, {})[from_node_id] = value
        self.execution_cache_listeners.setdefault(from_node_id, set()).add((to_node_id, from_socket))
        if value is not None and from_socket is not None and self.output_link_callback is not None:
            self.output_link_callback(value.outputs[from_socket])

    def get_cache(self, from_node_id, to_node_id):
        view = self.execution_cache.get(to_node_id)
        if view is None:
            return None
        value = view.get(from_node_id)
        if value is None:
            return None
        self.output_cache.set_local(from_node_id, value)  # touching writes back to the main cache
        return value

    def cache_update(self, node_id, value):
        for to_node_id, from_socket in self.execution_cache_listeners.get(node_id, ()):
            if to_node_id in self.execution_cache:
                self.execution_cache[to_node_id][node_id] = value
            if from_socket is not None and self.output_link_callback is not None:
                self.output_link_callback(value.outputs[from_socket])

    def add_strong_link(self, from_node_id, from_socket, to_node_id):
        super().add_strong_link(from_node_id, from_socket, to_node_id)
        self.cache_link(from_node_id, to_node_id, from_socket)

    def inhibit_nodes(self, node_ids):
        """Removes pending nodes chosen by the control node being executed."""
        assert self.staged_node_id is not None, "Nodes may only be inhibited while a control node is staged"
        node_ids = set(node_ids).intersection(self.pendingNodes)
        assert self.staged_node_id not in node_ids, "A control node cannot inhibit itself"
        for from_node_id, blocked_nodes in self.blocking.items():
            if from_node_id not in node_ids:
                for node_id in node_ids:
                    blocked_nodes.pop(node_id, None)
        for node_id in node_ids:
            for blocked_node_id in self.blocking[node_id]:
                if blocked_node_id not in node_ids:
                    self.blockCount[blocked_node_id] -= 1
            del self.pendingNodes[node_id]
            del self.blockCount[node_id]
            del self.blocking[node_id]
            self.execution_cache.pop(node_id, None)
            self.execution_cache_listeners.pop(node_id, None)
        for listeners in self.execution_cache_listeners.values():
            listeners.difference_update({listener for listener in listeners if listener[0] in node_ids})

    async def stage_node_execution(self):
        assert self.staged_node_id is None
        if self.is_empty():
            return None, None, None
        available = self.get_ready_nodes()
        while not available and self.externalBlocks > 0:
            await self.unblockedEvent.wait()
            self.unblockedEvent.clear()
            available = self.get_ready_nodes()
        if not available:
            cycled_nodes = self.get_nodes_in_cycle()
            blamed_node = cycled_nodes[0]  # static cycles fail validation; blame a dynamic node
            for node_id in cycled_nodes:
                display_node_id = self.dynprompt.get_display_node_id(node_id)
                if display_node_id != node_id:
                    blamed_node = display_node_id
                    break
            ex = DependencyCycleError("Dependency cycle detected")
            error_details = {
                "node_id": blamed_node,
                "exception_message": str(ex),
                "exception_type": "graph.DependencyCycleError",
                "traceback": [],
                "current_inputs": [],
            }
            return None, error_details, ex
        self.staged_node_id = self.ux_friendly_pick_node(available)
        return self.staged_node_id, None, None

    def ux_friendly_pick_node(self, node_list):
        """Output or async nodes first, then a node feeding an output, then two hops away."""
        def class_of(node_id):
            return nodes.NODE_CLASS_MAPPINGS[self.dynprompt.get_node(node_id)["class_type"]]

        def is_output(node_id):
            class_def = class_of(node_id)
            return hasattr(class_def, "OUTPUT_NODE") and class_def.OUTPUT_NODE == True  # noqa: E712

        def is_async(node_id):
            class_def = class_of(node_id)
            return inspect.iscoroutinefunction(getattr(class_def, class_def.FUNCTION))

        for node_id in node_list:
            if is_output(node_id) or is_async(node_id):
                return node_id
        for node_id in node_list:
            if any(is_output(blocked) for blocked in self.blocking[node_id]):
                return node_id
        for node_id in node_list:
            for blocked in self.blocking[node_id]:
                if any(is_output(blocked2) for blocked2 in self.blocking[blocked]):
                    return node_id
        return node_list[0]

    def unstage_node_execution(self):
        assert self.staged_node_id is not None
        self.staged_node_id = None

    def is_staged_node_blocked(self):
        assert self.staged_node_id is not None
        return self.blockCount[self.staged_node_id] > 0

    def complete_node_execution(self):
        node_id = self.staged_node_id
        self.pop_node(node_id)
        self.execution_cache.pop(node_id, None)
        self.execution_cache_listeners.pop(node_id, None)
        self.staged_node_id = None

    def get_nodes_in_cycle(self):
        """Peels off nodes with no blockers until only the cycle is left."""
        blocked_by = {node_id: set() for node_id in self.pendingNodes}
        for from_node_id, targets in self.blocking.items():
            for to_node_id, sockets in targets.items():
                if True in sockets.values():
                    blocked_by[to_node_id].add(from_node_id)
        free = [n for n, deps in blocked_by.items() if not deps]
        while free:
            for node_id in free:
                for deps in blocked_by.values():
                    deps.discard(node_id)
                del blocked_by[node_id]
            free = [n for n, deps in blocked_by.items() if not deps]
        return list(blocked_by)

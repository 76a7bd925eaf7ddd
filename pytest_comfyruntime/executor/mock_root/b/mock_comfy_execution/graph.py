"""Stand-in for ``comfy_execution.graph`` (era B): the prompt and its topological dissolve.

Stages nodes synchronously and defines ``ExecutionBlocker`` here (era C moved it to
``comfy_execution.graph_utils``, stages asynchronously, prefers async nodes when picking and keeps
a per-consumer view of the output cache).
"""
import nodes
from comfy_execution.graph_utils import is_link


class ExecutionBlocker:
    """Returned as an output, it makes consumers skip their function and pass it on."""

    def __init__(self, message):
        self.message = message


class DependencyCycleError(Exception):
    pass


class NodeInputError(Exception):
    pass


class NodeNotFoundError(Exception):
    pass


class DynamicPrompt:
    def __init__(self, original_prompt):
        self.original_prompt = original_prompt
        self.ephemeral_prompt = {}
        self.ephemeral_parents = {}
        self.ephemeral_display = {}

    def get_node(self, node_id):
        if node_id in self.ephemeral_prompt:
            return self.ephemeral_prompt[node_id]
        if node_id in self.original_prompt:
            return self.original_prompt[node_id]
        raise NodeNotFoundError(f"Node {node_id} not found")

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
        return set(self.original_prompt).union(self.ephemeral_prompt)

    def get_original_prompt(self):
        return self.original_prompt


def _lookup_input(valid_inputs, input_name):
    for category in ("required", "optional", "hidden"):
        section = valid_inputs.get(category)
        if section is not None and input_name in section:
            info = section[input_name]
            return info[0], category, (info[1] if len(info) > 1 else {})
    return None, None, None


def get_input_info(class_def, input_name):
    """``(input_type, category, extra_info)`` or ``(None, None, None)``."""
    return _lookup_input(class_def.INPUT_TYPES(), input_name)


class TopologicalSort:
    def __init__(self, dynprompt):
        self.dynprompt = dynprompt
        self.pendingNodes = {}
        self.blockCount = {}
        self.blocking = {}

    def get_input_info(self, unique_id, input_name):
        class_type = self.dynprompt.get_node(unique_id)["class_type"]
        return get_input_info(nodes.NODE_CLASS_MAPPINGS[class_type], input_name)

    def make_input_strong_link(self, to_node_id, to_input):
        inputs = self.dynprompt.get_node(to_node_id)["inputs"]
        if to_input not in inputs:
            raise NodeInputError(f"Node {to_node_id} says it needs input {to_input}, but there is no input to that node at all")
        value = inputs[to_input]
        if not is_link(value):
            raise NodeInputError(f"Node {to_node_id} says it needs input {to_input}, but that value is a constant")
        self.add_strong_link(value[0], value[1], to_node_id)

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
                if not (include_lazy or not is_lazy):
                    continue
                cached = self.is_cached(from_node_id)
                if not cached:
                    stack.append(from_node_id)
                if not cached:
                    links.append((from_node_id, from_socket, unique_id))
        for link in links:
            self.add_strong_link(*link)

    def is_cached(self, node_id):
        return False

    def get_ready_nodes(self):
        return [node_id for node_id in self.pendingNodes if self.blockCount[node_id] == 0]

    def pop_node(self, unique_id):
        del self.pendingNodes[unique_id]
        for blocked_node_id in self.blocking[unique_id]:
            self.blockCount[blocked_node_id] -= 1
        del self.blocking[unique_id]

    def is_empty(self):
        return len(self.pendingNodes) == 0


class ExecutionList(TopologicalSort):
    """Stages nodes one at a time; a staged node can go back to the graph with new dependencies."""

    def __init__(self, dynprompt, output_cache):
        super().__init__(dynprompt)
        self.output_cache = output_cache
        self.staged_node_id = None

    def is_cached(self, node_id):
        return self.output_cache.get(node_id) is not None

    def stage_node_execution(self):
        assert self.staged_node_id is None
        if self.is_empty():
            return None, None, None
        return self._stage(self.get_ready_nodes())

    def _stage(self, available):
        if not available:
            cycled_nodes = self.get_nodes_in_cycle()
            blamed_node = cycled_nodes[0]
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
        """Output nodes first, then a node feeding an output, then two hops away."""
        def class_of(node_id):
            return nodes.NODE_CLASS_MAPPINGS[self.dynprompt.get_node(node_id)["class_type"]]

        def is_output(node_id):
            class_def = class_of(node_id)
            return hasattr(class_def, "OUTPUT_NODE") and class_def.OUTPUT_NODE == True  # noqa: E712

        for node_id in node_list:
            if is_output(node_id):
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

    def complete_node_execution(self):
        node_id = self.staged_node_id
        self.pop_node(node_id)
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

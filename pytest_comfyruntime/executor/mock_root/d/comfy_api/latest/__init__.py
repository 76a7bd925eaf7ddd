"""Stand-in for ``comfy_api.latest`` (era D, ComfyUI of 2026; read, not run).

Read from ``Comfy-Org/ComfyUI`` ``comfy_api/latest/__init__.py`` at 168efe45: ``Caching`` is the
class ``ComfyAPI_latest.Caching``, a proxied singleton (calling it returns the one instance)
whose class attributes are ``CacheProvider``, ``CacheContext`` and ``CacheValue`` and whose
*async instance methods* ``register_provider`` / ``unregister_provider`` call
``comfy_execution.cache_provider.register_cache_provider`` / ``unregister_cache_provider``.
So an extension registers with ``await Caching().register_provider(p)`` (or
``await ComfyAPI().caching.register_provider(p)``), or synchronously through
``comfy_execution.cache_provider.register_cache_provider(p)``. ComfyUI's docstring example
``Caching.register_provider(p)`` (on the class) binds ``p`` as ``self`` and fails the same way here.

``io`` (also ``IO``) is the V3 node API (ComfyUI binds ``_io_public``, a re-export of ``_io``;
the stand-in binds its ``_io``). ``sdk`` is the custom-node SDK's public module; the stand-in has
its provider seam only (see ``_sdk``). Not reproduced: ``ui``, ``UI``, ``Input``, ``InputImpl``,
``Types``, ``ComfyAPISync`` and ``NodeReplacement``; only public names the real module has are
defined.
"""
from abc import ABC, abstractmethod

from comfy_execution.progress import get_progress_state
from comfy_execution.utils import get_executing_context

from . import _io as io


class _ProxiedSingletonMeta(type):
    """One instance per class, as ComfyUI's ``comfy_api.internal.singleton.SingletonMetaclass``."""

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
        self.caching = self.Caching()

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

    class Caching(_ProxiedSingleton):
        """External cache provider API (see ``comfy_execution.cache_provider``)."""

        from ._caching import CacheContext, CacheProvider, CacheValue

        async def register_provider(self, provider):
            """Registers an external cache provider; providers are called in registration order."""
            from comfy_execution.cache_provider import register_cache_provider
            register_cache_provider(provider)

        async def unregister_provider(self, provider):
            """Unregisters a previously registered cache provider."""
            from comfy_execution.cache_provider import unregister_cache_provider
            unregister_cache_provider(provider)


class ComfyExtension(ABC):
    async def on_load(self) -> None:
        """Called when an extension is loaded."""

    @abstractmethod
    async def get_node_list(self):
        """The node classes this extension provides."""


Caching = ComfyAPI_latest.Caching

ComfyAPI = ComfyAPI_latest

IO = io

# Custom-node SDK: only its provider seam (see ``_sdk``).
from . import _sdk_public as sdk  # noqa: E402

__all__ = ["ComfyAPI", "Caching", "ComfyExtension", "io", "IO", "sdk"]

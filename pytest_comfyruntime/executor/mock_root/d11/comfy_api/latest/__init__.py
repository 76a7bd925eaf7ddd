"""Stand-in for ``comfy_api.latest`` (variant D-11 of 2026; read, not run).

Era D's copy without ``sdk``: ``yzkee/ComfyUI`` ``comfy_api/latest/__init__.py`` at 783545f6 (master
up to 2026-08-22, after v0.33.0) has no custom-node SDK, so this generation has no
``comfy_api.latest.sdk`` (nor ``_sdk`` / ``_sdk_public``). Otherwise as era D's, read from
``Comfy-Org/ComfyUI`` ``comfy_api/latest/__init__.py`` at 168efe45: ``Caching`` is the
class ``ComfyAPI_latest.Caching``, a proxied singleton (calling it returns the one instance)
whose class attributes are ``CacheProvider``, ``CacheContext`` and ``CacheValue`` and whose
*async instance methods* ``register_provider`` / ``unregister_provider`` call
``comfy_execution.cache_provider.register_cache_provider`` / ``unregister_cache_provider``.
So an extension registers with ``await Caching().register_provider(p)`` (or
``await ComfyAPI().caching.register_provider(p)``), or synchronously through
``comfy_execution.cache_provider.register_cache_provider(p)``. ComfyUI's docstring example
``Caching.register_provider(p)`` (on the class) binds ``p`` as ``self`` and fails the same way here.

``io`` (also ``IO``) is the V3 node API (ComfyUI binds ``_io_public``, a re-export of ``_io``;
the stand-in binds its ``_io``), and ``ui`` (also ``UI``) the V3 UI outputs (ComfyUI binds
``_ui_public``, a re-export of ``_ui``; the stand-in binds its ``_ui``). ``ComfyAPISync`` is
``ComfyAPI``'s synchronous twin, as ``create_sync_class(ComfyAPI_latest)`` makes it (read from
``comfy_api/internal/async_to_sync.py``, run in 0.3.75): ``ComfyAPISync().execution.set_progress(...)``
and ``ComfyAPISync().caching.register_provider(p)`` run the coroutine to its end on another
thread, in a fresh event loop, with a copy of the caller's context variables, and return its
result or raise its exception. ComfyUI runs them on a pool of up to 10 threads named
``async_to_sync_*`` that stay alive after the first call; the stand-in uses one thread per call,
joined before it returns, so nothing is left running. Not reproduced: ``Input``,
``InputImpl``, ``Types`` and ``NodeReplacement`` (so ``ComfyAPISync()`` has no
``node_replacement``); only public names the real module has are defined.
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
        self.caching = self.Caching()

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

    class Caching(ProxiedSingleton):
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
ComfyAPISync = create_sync_class(ComfyAPI_latest)

IO = io
UI = ui


__all__ = ["ComfyAPI", "ComfyAPISync", "Caching", "ComfyExtension", "io", "IO", "ui", "UI"]

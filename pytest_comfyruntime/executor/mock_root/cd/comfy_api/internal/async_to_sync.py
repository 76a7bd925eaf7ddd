"""Stand-in for ``comfy_api.internal.async_to_sync`` (eras C and D): ``create_sync_class``, which
``comfy_api.latest`` uses to build ``ComfyAPISync`` from ``ComfyAPI_latest``.

Read from ComfyUI 0.3.75's ``comfy_api/internal/async_to_sync.py`` (run there) and its 2026 use
in ``comfy_api/latest/__init__.py``: the sync class wraps one instance of the async class; each of
its public coroutine methods runs to its end on another thread, in a fresh event loop, with a copy
of the caller's context variables (so ``get_executing_context()`` finds the running node), and
returns its result or raises its exception; other public methods are passed through; each
``ProxiedSingleton`` attribute of the wrapped instance (``execution``, ``caching``) gets a sync
twin of its own. ComfyUI runs the calls on a ``ThreadPoolExecutor`` of up to ``thread_pool_size``
threads named ``async_to_sync_*`` that stays alive after the first call; the stand-in starts one
thread per call and joins it before returning, so nothing is left running. Not reproduced: the
type-stub generation (``AsyncToSyncConverter``'s stubs, ``TypeTracker``).
"""
import asyncio as _asyncio
import contextvars as _contextvars
import threading as _threading

from comfy_api.internal.singleton import ProxiedSingleton as _ProxiedSingleton


def _run_coroutine_on_thread(coroutine_function, *args, **kwargs):
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


def _wrap_members(sync_instance):
    for name, value in vars(sync_instance._async_instance).items():
        if name.startswith("_"):
            continue
        if isinstance(value, _ProxiedSingleton):
            twin = object.__new__(create_sync_class(type(value)))
            twin._async_instance = value
            setattr(sync_instance, name, twin)
        else:
            setattr(sync_instance, name, value)


def create_sync_class(async_class, thread_pool_size=10):
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

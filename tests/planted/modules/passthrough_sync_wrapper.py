"""Not a fault: a plain ``def`` around the ``async def`` per-node ``execute`` (eras C and D) that
counts the call and hands the original's coroutine back unchanged (``return original(...)``, its
last statement, in no ``try`` or ``with``). ComfyUI awaits that coroutine as if the wrapper were not
there; the wrapper sees each call, and nothing of it runs after the call, so it mis-times nothing."""
from __future__ import annotations

import threading

import execution

_lock = threading.Lock()
_originals: dict = {}
calls: dict = {}


def _execute_wrapper(original):
    def execute(*args, **kwargs):
        with _lock:
            calls[args[3]] = calls.get(args[3], 0) + 1
        return original(*args, **kwargs)
    return execute


def enable(module=execution):
    if _originals:
        return False
    _originals.update(module=module, execute=module.execute)
    module.execute = _execute_wrapper(module.execute)
    return True


def disable(module=None):
    if not _originals:
        return False
    module = _originals.pop("module")
    module.execute = _originals.pop("execute")
    calls.clear()
    return True

"""Planted fault: a plain ``def`` timing the per-node ``execute``, which is ``async def`` in eras C
and D. ComfyUI awaits what the wrapper returns, so the wrapper times the creation of the coroutine
(about 0 ms per node), and its ``except`` never sees what the node raises. Everything else keeps
the promises of ``good_hooks``: opt-in, conflict detection, auto-disable, exact teardown."""
from __future__ import annotations

import logging
import threading
import time

import execution

log = logging.getLogger("planted_sync_wrapper")
_lock = threading.Lock()
_originals: dict = {}
_timings: dict = {}
_failed = [False]


def _fail(exc):
    with _lock:
        first, _failed[0] = not _failed[0], True
    if first:
        log.error("planted_sync_wrapper: the execute hook failed (%s); hooks disabled", exc)
        disable()


def _execute_wrapper(original):
    def execute(server, dynprompt, caches, current_item, extra_data, executed, prompt_id, *rest):
        start = time.perf_counter()
        result = original(server, dynprompt, caches, current_item, extra_data, executed, prompt_id, *rest)  # PLANTED FAULT
        try:
            with _lock:
                _timings.setdefault(prompt_id, {})[current_item] = time.perf_counter() - start
        except Exception as exc:
            _fail(exc)
        return result
    execute.__wrapped__ = original
    return execute


def enable(module=execution):
    with _lock:
        if _originals:
            return False
        current = module.execute
        if getattr(current, "__module__", None) != "execution" or getattr(current, "__qualname__", None) != "execute":
            log.warning("planted_sync_wrapper: another extension already wraps execution.execute; not enabling")
            return False
        _originals.update(module=module, execute=current)
        module.execute = _execute_wrapper(current)
        _failed[0] = False
        return True


def disable(module=None):
    with _lock:
        if not _originals:
            return False
        module = _originals.pop("module")
        module.execute = _originals.pop("execute")
        _timings.clear()
        return True


def timings(prompt_id):
    with _lock:
        return dict(_timings.get(prompt_id, {}))

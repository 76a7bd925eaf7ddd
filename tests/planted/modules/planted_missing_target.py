"""Planted fault: hooks aimed at ``PromptExecutor.pre_execute`` / ``pre_get_input_data``, which
ComfyUI does not have (as in seed 000); enabling looks them up with ``getattr(..., None)`` and
gives up without a word."""
from __future__ import annotations

import contextlib
import threading

import execution

_lock = threading.Lock()
_sessions: dict = {}
_originals: dict = {}


def _wrap(original, record):
    def wrapper(self, *args, **kwargs):
        with contextlib.suppress(BaseException):  # whatever recording raises, the original still runs
            record(*args)
        return original(self, *args, **kwargs)
    wrapper.__wrapped__ = original
    return wrapper


def enable(module=execution, executor_class=None):
    target_cls = executor_class or module.PromptExecutor
    pre_execute = getattr(target_cls, "pre_execute", None)  # PLANTED FAULT: ComfyUI has no such method
    pre_get_input_data = getattr(target_cls, "pre_get_input_data", None)
    if pre_execute is None or pre_get_input_data is None:
        return False
    with _lock:
        _originals.update(cls=target_cls, pre_execute=pre_execute, pre_get_input_data=pre_get_input_data)
        target_cls.pre_execute = _wrap(pre_execute, lambda *a: _sessions.setdefault(a[1], {}))
        target_cls.pre_get_input_data = _wrap(pre_get_input_data, lambda *a: None)
    return True


def disable(module=None):
    with _lock:
        if _originals:
            cls = _originals.pop("cls")
            cls.pre_execute = _originals.pop("pre_execute")
            cls.pre_get_input_data = _originals.pop("pre_get_input_data")
        _sessions.clear()


def get_session(prompt_id):
    with _lock:
        return _sessions.get(prompt_id)

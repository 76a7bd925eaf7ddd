"""A hand-written hook module that keeps every promise. Each planted fault (``../planted_faults.py``)
is this module with exactly one thing broken (marked ``# PLANTED FAULT``)."""
from __future__ import annotations

import contextvars
import logging
import threading

import execution

log = logging.getLogger("good_hooks")
_lock = threading.Lock()
_sessions: dict = {}
_originals: dict = {}
_failed = [False]
_current: contextvars.ContextVar = contextvars.ContextVar("good_hooks_prompt", default=None)


def _pristine(fn, qualname):
    return getattr(fn, "__module__", None) == "execution" and getattr(fn, "__qualname__", None) == qualname


def _fail(where, exc):
    with _lock:
        first, _failed[0] = not _failed[0], True
    if first:
        log.error("good_hooks: the %s hook failed (%s); hooks disabled", where, exc)
        disable()


def _execute_wrapper(original):
    def execute(self, prompt, prompt_id, extra_data=None, execute_outputs=None):
        extra_data = {} if extra_data is None else extra_data
        execute_outputs = [] if execute_outputs is None else execute_outputs
        token = None
        try:
            with _lock:
                _sessions[prompt_id] = {"prompt_id": prompt_id, "inputs": {}, "order": []}
            token = _current.set(prompt_id)
        except Exception as exc:
            _fail("execute", exc)
        try:
            return original(self, prompt, prompt_id, extra_data, execute_outputs)
        finally:
            if token is not None:
                _current.reset(token)
    execute.__wrapped__ = original
    return execute


def _get_input_data_wrapper(original):
    def get_input_data(*args, **kwargs):
        result = original(*args, **kwargs)
        try:
            prompt_id = _current.get()
            if prompt_id is not None and len(args) >= 6:
                data = result[0] if isinstance(result, tuple) else result
                scalars = {k: v[0] for k, v in data.items()
                           if isinstance(v, list) and len(v) == 1 and isinstance(v[0], (int, float, str))}
                with _lock:
                    session = _sessions.get(prompt_id)
                    if session is not None:
                        session["order"].append(args[2])
                        session["inputs"][args[2]] = scalars
        except Exception as exc:
            _fail("get_input_data", exc)
        return result
    get_input_data.__wrapped__ = original
    return get_input_data


def enable(module=execution):
    with _lock:
        if _originals:
            return False
        execute, get_input_data = module.PromptExecutor.execute, module.get_input_data
        if not (_pristine(execute, "PromptExecutor.execute") and _pristine(get_input_data, "get_input_data")):
            log.warning("good_hooks: another extension already wraps the executor; not enabling")
            return False
        _originals.update(module=module, execute=execute, get_input_data=get_input_data)
        module.PromptExecutor.execute = _execute_wrapper(execute)
        module.get_input_data = _get_input_data_wrapper(get_input_data)
        _failed[0] = False
        return True


def disable(module=None):
    with _lock:
        if not _originals:
            return False
        module = _originals.pop("module")
        module.PromptExecutor.execute = _originals.pop("execute")
        module.get_input_data = _originals.pop("get_input_data")
        _sessions.clear()
        return True


def get_session(prompt_id):
    with _lock:
        session = _sessions.get(prompt_id)
        return None if session is None else {**session, "inputs": dict(session["inputs"]), "order": list(session["order"])}

"""Captures, per prompt, the scalar inputs of every node that ran.

Enabled with ``enable()`` and removed with ``disable()``; sessions are keyed by the real
``prompt_id`` argument and guarded by a lock; the current prompt travels in a context variable,
which also reaches the node code ComfyUI 0.3.x runs inside ``asyncio.run``.
"""
from __future__ import annotations

import contextvars
import threading
from typing import Any

import execution

_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("comfy_meta_ext_prompt", default=None)
_lock = threading.Lock()
_sessions: dict[str, dict[str, Any]] = {}
_originals: dict[str, Any] = {}
_SCALARS = (int, float, str, bool, type(None))


def _execute_wrapper(original):
    def execute(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        with _lock:
            _sessions[prompt_id] = {"prompt_id": prompt_id, "inputs": {}, "order": []}
        token = _current.set(prompt_id)
        try:
            return original(self, prompt, prompt_id, extra_data, execute_outputs)
        finally:
            _current.reset(token)
    execute.__wrapped__ = original
    return execute


def _get_input_data_wrapper(original):
    def get_input_data(inputs, class_def, unique_id, *args, **kwargs):
        result = original(inputs, class_def, unique_id, *args, **kwargs)
        prompt_id = _current.get()
        if prompt_id is not None:
            data = result[0] if isinstance(result, tuple) else result
            scalars = {k: v[0] for k, v in data.items()
                       if isinstance(v, (list, tuple)) and len(v) == 1 and isinstance(v[0], _SCALARS)}
            with _lock:
                session = _sessions.get(prompt_id)
                if session is not None and unique_id not in session["inputs"]:
                    session["order"].append(unique_id)
                    session["inputs"][unique_id] = {"class_type": class_def.__name__, **scalars}
        return result
    get_input_data.__wrapped__ = original
    return get_input_data


def enable(module=None) -> bool:
    """Installs the wrappers once; returns False if they are already installed."""
    module = module or execution
    with _lock:
        if _originals:
            return False
        _originals["execute"] = module.PromptExecutor.execute
        _originals["get_input_data"] = module.get_input_data
        _originals["module"] = module
        module.PromptExecutor.execute = _execute_wrapper(_originals["execute"])
        module.get_input_data = _get_input_data_wrapper(_originals["get_input_data"])
        return True


def disable(module=None) -> None:
    """Restores the exact originals and forgets every session."""
    with _lock:
        if not _originals:
            return
        module = _originals.pop("module")
        module.PromptExecutor.execute = _originals.pop("execute")
        module.get_input_data = _originals.pop("get_input_data")
        _sessions.clear()


def get_session(prompt_id: str) -> dict[str, Any] | None:
    with _lock:
        session = _sessions.get(prompt_id)
        return None if session is None else {**session, "inputs": dict(session["inputs"]), "order": list(session["order"])}

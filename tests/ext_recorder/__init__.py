"""A test extension written the way real ComfyUI extensions are written.

It does ``import execution`` at its top and, when enabled, replaces
``execution.PromptExecutor.execute`` and the module-level ``execution.get_input_data`` with
prefix wrappers that record their arguments, then call the original.
"""
from __future__ import annotations

import execution

CALLS: dict[str, list] = {"execute": [], "get_input_data": []}
_originals: dict[str, object] = {}


def enable(module=execution) -> bool:
    if _originals:
        return False
    original_execute = module.PromptExecutor.execute
    original_get_input_data = module.get_input_data

    def execute(self, *args, **kwargs):
        CALLS["execute"].append((self, args, kwargs))
        return original_execute(self, *args, **kwargs)

    def get_input_data(*args, **kwargs):
        CALLS["get_input_data"].append((args, kwargs))
        return original_get_input_data(*args, **kwargs)

    _originals.update(execute=original_execute, get_input_data=original_get_input_data)
    module.PromptExecutor.execute = execute
    module.get_input_data = get_input_data
    return True


def disable(module=execution) -> None:
    if not _originals:
        return
    module.PromptExecutor.execute = _originals.pop("execute")
    module.get_input_data = _originals.pop("get_input_data")
    for calls in CALLS.values():
        calls.clear()

"""A planted regression for ``make demo``: comfy_meta_ext's hooks, plus about 300 us of extra work in
every ``execution.get_input_data`` call (the same target, wrapped once more). Not part of the extension."""
from __future__ import annotations

from types import ModuleType
from typing import Any

import execution
from comfy_meta_ext import hooks

_saved: dict[str, Any] = {}


def _work(k: int) -> float:
    x = 0.0
    for _ in range(k):
        x = x * 1.000001 + 1.0
    return x


def enable(module: ModuleType | None = None) -> bool:
    module = module or execution
    if not hooks.enable(module):
        return False
    inner = _saved["get_input_data"] = module.get_input_data

    def get_input_data(*args: Any, **kwargs: Any) -> Any:
        _work(6000)
        return inner(*args, **kwargs)

    module.get_input_data = get_input_data
    return True


def disable(module: ModuleType | None = None) -> None:
    module = module or execution
    if "get_input_data" in _saved:
        module.get_input_data = _saved.pop("get_input_data")
    hooks.disable(module)

"""``RunWitness``: what ComfyUI's own ``get_input_data`` returned for each node, seen without patching.

A metadata extension's runtime values must equal what the executor resolved. The extension's own
capture cannot be the judge of that, so the witness watches ComfyUI's ``execution.get_input_data``
(in every era it takes ``(inputs, class_def, unique_id, <outputs or execution list>, ...)``) with
a profile function (``sys.setprofile``, this thread only; a profiler already set keeps running,
called from ours) and records, per node id, the inputs of its last call that ran the node (calls
from validation and ``IS_CHANGED`` checks pass no outputs and are left out), and the ``extra_data``
ComfyUI passed (to know the API key values a hook could have seen). Nothing is patched: the
extension's wrappers stay where they are and the witness sees the original's result whatever
wraps it. Use it around one prompt::

    with RunWitness() as seen:
        result = comfy_executor.run(prompt)
    comfyruntime.assert_metadata(result, expect=seen)
"""
from __future__ import annotations

import sys
from collections.abc import Mapping
from types import FrameType
from typing import Any, Final

_MAX_LIST: Final = 16
_SKIP: Final = object()


def scalar_form(values: Any) -> Any:
    """What a runtime capture keeps of one input's per-call values: the value (one call), a list
    of values (several), or ``_SKIP`` when they are not scalars."""
    if isinstance(values, (list, tuple)):
        if len(values) > _MAX_LIST:
            return _SKIP
        items = [v if v is None or isinstance(v, (bool, int, float, str)) else _SKIP for v in values]
        if any(v is _SKIP for v in items):
            return _SKIP
        return items[0] if len(items) == 1 else items
    return values if values is None or isinstance(values, (bool, int, float, str)) else _SKIP


class RunWitness:
    """Records the inputs ComfyUI resolved for each node while the ``with`` block runs.

    After the block: ``inputs`` ``{node_id: {name: value}}`` (scalars only, as a capture keeps
    them; ``skipped`` names the others), ``class_types`` ``{node_id: class name}``, ``extra_data``
    (the last one ComfyUI passed) and ``calls`` (how many node executions were seen).
    """

    def __init__(self, module_name: str = "execution") -> None:
        self.module_name = module_name
        self.inputs: dict[str, dict[str, Any]] = {}
        self.skipped: dict[str, list[str]] = {}
        self.class_types: dict[str, str] = {}
        self.extra_data: dict[str, Any] = {}
        self.calls = 0
        self._previous: Any = None
        self._active = False
        self._defaults: tuple[Any, ...] | None = None

    def __enter__(self) -> RunWitness:
        if self._active:
            raise RuntimeError("RunWitness is already watching; fix: use one witness per with block")
        self._previous = sys.getprofile()
        self._defaults = self._default_outputs()
        self._active = True
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        if sys.getprofile() == self._profile:
            sys.setprofile(self._previous)
        self._active = False

    def _default_outputs(self) -> tuple[Any, ...]:
        """The default values of ``get_input_data``'s fourth parameter (a call that leaves it out
        is a validation call), for every ``get_input_data`` in the wrapper chain."""
        function = getattr(sys.modules.get(self.module_name), "get_input_data", None)
        found = []
        while function is not None:
            defaults = getattr(function, "__defaults__", None) or ()
            code = getattr(function, "__code__", None)
            if code is not None and code.co_argcount >= 4 and len(defaults) >= code.co_argcount - 3:
                found.append(defaults[len(defaults) - (code.co_argcount - 3)])
            function = getattr(function, "__wrapped__", None)
        return tuple(found)

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if (event == "return" and frame.f_code.co_name == "get_input_data"
                and frame.f_globals.get("__name__") == self.module_name):
            self._record(frame, arg)
        previous = self._previous
        if previous is not None:
            previous(frame, event, arg)

    def _record(self, frame: FrameType, result: Any) -> None:
        code = frame.f_code
        if code.co_argcount < 4 or result is None:
            return
        names = code.co_varnames
        local = frame.f_locals
        outputs = local.get(names[3])
        if outputs is None or any(outputs is d for d in self._defaults or ()):
            return  # validation and IS_CHANGED checks: not a node execution
        inputs_all = result[0] if isinstance(result, tuple) else result
        if not isinstance(inputs_all, Mapping):
            return
        node_id = str(local.get(names[2]))
        kept: dict[str, Any] = {}
        skipped: list[str] = []
        for name, values in inputs_all.items():
            value = scalar_form(values)
            if value is _SKIP:
                skipped.append(str(name))
            else:
                kept[str(name)] = value
        self.inputs[node_id] = kept
        self.skipped[node_id] = skipped
        class_def = local.get(names[1])
        self.class_types[node_id] = getattr(class_def, "__name__", "?")
        extra = local.get("extra_data")
        if isinstance(extra, Mapping):
            self.extra_data = dict(extra)
        self.calls += 1


__all__ = ["RunWitness", "scalar_form"]

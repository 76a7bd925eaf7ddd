"""Planted faults for the metadata check: the reference save node with exactly one thing broken.

- ``DumpsExtraData`` (with :func:`keep_extra_data`, a hook on ``PromptExecutor.execute`` that keeps
  each prompt's ``extra_data``, as published savers do): writes that ``extra_data`` into a chunk,
  and again base64-encoded into another.
- ``PreviousPrompt``: writes the runtime section of the prompt before this one.
- ``IgnoresInlineLimit``: writes the whole section inline whatever its size.
- ``WrongSidecarHash``: hashes the pretty-printed section but writes the compact one.
- ``ParsedValues``: claims ``parser+hooks`` but writes what a parser reads from the prompt.
"""
from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from pytest_comfyruntime.nodes.metadata_save import (
    SaveImageWithRuntime,
    current_prompt_id,
    parsed_value,
    place_runtime,
)

_kept: dict[str, dict[str, Any]] = {}
_original: dict[str, Any] = {}


def keep_extra_data(execution: ModuleType) -> None:
    """A saver's hook: remembers ``extra_data`` per prompt id (what ComfyUI passes to ``execute``)."""
    execute = execution.PromptExecutor.execute

    @functools.wraps(execute)
    def wrapper(self: Any, prompt: Any, prompt_id: Any, extra_data: Any = None, *args: Any, **kwargs: Any) -> Any:
        _kept[str(prompt_id)] = dict(extra_data or {})
        return execute(self, prompt, prompt_id, extra_data or {}, *args, **kwargs)

    _original["execute"] = execute
    execution.PromptExecutor.execute = wrapper


def drop_extra_data(execution: ModuleType) -> None:
    if "execute" in _original:
        execution.PromptExecutor.execute = _original.pop("execute")
    _kept.clear()


class DumpsExtraData(SaveImageWithRuntime):
    def extra_text(self, prompt_id: str | None) -> list[tuple[str, str]]:
        dumped = json.dumps(_kept.get(prompt_id or "", {}))
        return [("extra_data", dumped), ("extra_data_b64", base64.b64encode(dumped.encode()).decode())]


class PreviousPrompt(SaveImageWithRuntime):
    previous: dict[str, Any] | None = None

    def section(self, prompt_id: str | None, prompt: Mapping[str, Any] | None) -> dict[str, Any]:
        current = super().section(prompt_id, prompt)
        written = type(self).previous or current
        type(self).previous = current
        return written


class IgnoresInlineLimit(SaveImageWithRuntime):
    def place(self, section: Mapping[str, Any], inline_limit_kb: float,
              sidecar_name: str) -> tuple[dict[str, Any], bytes | None]:
        return dict(section), None


class WrongSidecarHash(SaveImageWithRuntime):
    def place(self, section: Mapping[str, Any], inline_limit_kb: float,
              sidecar_name: str) -> tuple[dict[str, Any], bytes | None]:
        inline, data = place_runtime(section, inline_limit_kb, sidecar_name)
        if data is not None:
            inline["sidecar"]["sha256"] = hashlib.sha256(json.dumps(section, indent=2).encode()).hexdigest()
        return inline, data


class ParsedValues(SaveImageWithRuntime):
    def section(self, prompt_id: str | None, prompt: Mapping[str, Any] | None) -> dict[str, Any]:
        section = super().section(prompt_id, prompt)
        for node_id, node in section.get("nodes", {}).items():
            for name in node["inputs"]:
                parsed = parsed_value(prompt or {}, node_id, name)
                if parsed is not None:
                    node["inputs"][name] = parsed
        section.pop("disagreements", None)
        return section


PLANTED: dict[str, type] = {"PlantedDumpsExtraData": DumpsExtraData, "PlantedPreviousPrompt": PreviousPrompt,
                            "PlantedIgnoresInlineLimit": IgnoresInlineLimit,
                            "PlantedWrongSidecarHash": WrongSidecarHash, "PlantedParsedValues": ParsedValues}


def reset() -> None:
    PreviousPrompt.previous = None
    _kept.clear()


__all__ = ["PLANTED", "current_prompt_id", "drop_extra_data", "keep_extra_data", "reset"]

"""Type aliases for ComfyUI's "V1" node API as the built-in packs use it (annotations only)."""
from __future__ import annotations

from typing import Any, TypeAlias

#: What a node's ``INPUT_TYPES()`` returns: ``{"required": {name: (type, {options})}, "optional":
#: {...}, "hidden": {name: "UNIQUE_ID" | "PROMPT" | ...}}``.
InputTypes: TypeAlias = dict[str, dict[str, Any]]

#: An output node's ``{"ui": {...}, "result": (...)}`` return value.
UIOutput: TypeAlias = dict[str, Any]

#: CONDITIONING: ``[[cond, {"pooled_output": pooled, ...}], ...]``.
Conditioning: TypeAlias = list[list[Any]]

#: LATENT: ``{"samples": tensor, ...}`` (ComfyUI may add ``batch_index``, ``noise_mask``, ...).
Latent: TypeAlias = dict[str, Any]

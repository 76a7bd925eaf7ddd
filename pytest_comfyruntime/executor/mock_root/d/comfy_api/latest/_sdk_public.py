"""Stand-in for ``comfy_api.latest._sdk_public`` (era D; read, not run): what custom nodes and
overlays import as ``comfy_api.latest.sdk`` (``_sdk_public.py`` at 990ec7a8). Only the provider
seam is reproduced: ``ExecutionBackend``, ``ExecutionPlan``, ``RefResolver`` and ``providers``."""
from ._sdk import ExecutionBackend, ExecutionPlan, RefResolver, providers  # noqa: F401

__all__ = ["RefResolver", "ExecutionBackend", "ExecutionPlan", "providers"]

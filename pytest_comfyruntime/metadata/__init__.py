"""Image metadata checks: is what a save node wrote true, complete, and safe to share?

- :func:`assert_metadata` / :func:`check_metadata`: the check (what the ``comfyruntime`` fixture's
  ``assert_metadata`` runs, with canary reruns on its own executor).
- :func:`read_metadata`: every text of a PNG (``tEXt``, ``zTXt``, ``iTXt``, ``comf``, ``eXIf``), JPEG
  (EXIF ``UserComment`` and string tags, XMP, ``COM``) or WebP (EXIF, XMP) file; :func:`parse_parameters`
  for the A1111 ``parameters`` text.
- The ``ai_info.runtime`` schema (:class:`RuntimeSection`, :class:`RuntimeData` for a sidecar;
  :func:`metadata_schema` is what ``comfyruntime schema metadata`` prints).
- :class:`RunWitness`: the inputs ComfyUI's own ``get_input_data`` resolved, seen without patching.
- The reference save node (``ComfyRuntimeSaveImage``) is :mod:`pytest_comfyruntime.nodes.metadata_save`.

Importing this package imports neither torch, numpy, PIL nor ComfyUI; Pillow is imported by the
readers of JPEG, WebP and EXIF, when they read.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ..nodes.metadata_save import (
    AI_INFO_KEY,
    DEFAULT_INLINE_LIMIT_KB,
    METADATA_NODE_CLASS_MAPPINGS,
    METADATA_NODE_DISPLAY_NAME_MAPPINGS,
    SIDECAR_SUFFIX,
    SaveImageWithRuntime,
)
from ._a1111 import A1111Parameters, parse_parameters
from ._check import check_metadata
from ._errors import MetadataFileError
from ._read import EXIF_LIMIT, Entry, ImageMetadata, read_metadata
from ._report import FileChecked, MetadataProblem, MetadataReport
from ._schema import (
    AiInfo,
    Disagreement,
    HookStats,
    NodeRuntime,
    RuntimeData,
    RuntimeSection,
    SidecarRef,
    metadata_schema,
)
from ._secrets import Secret, secrets_from
from ._witness import RunWitness


def assert_metadata(path_or_result: Any, *, expect: Any = None, inline_limit_kb: float = DEFAULT_INLINE_LIMIT_KB,
                    forbid: Sequence[str] = (), rerun: Callable[[], Any] | None = None,
                    node_classes: Mapping[str, type] | None = None) -> MetadataReport:
    """Fails the test (``pytest.fail``, no traceback) with the report's message unless the metadata
    of ``path_or_result`` passes :func:`check_metadata`; returns the report otherwise. A wrong
    argument fails the test too, saying what to pass."""
    import pytest

    try:
        report = check_metadata(path_or_result, expect=expect, inline_limit_kb=inline_limit_kb, forbid=forbid,
                                rerun=rerun, node_classes=node_classes)
    except (TypeError, ValueError) as exc:
        message = f"assert_metadata: {exc}"
    else:
        if report.ok:
            return report
        message = report.message()
    pytest.fail(message, pytrace=False)


__all__ = [
    "AI_INFO_KEY",
    "A1111Parameters",
    "AiInfo",
    "DEFAULT_INLINE_LIMIT_KB",
    "Disagreement",
    "EXIF_LIMIT",
    "Entry",
    "FileChecked",
    "HookStats",
    "ImageMetadata",
    "METADATA_NODE_CLASS_MAPPINGS",
    "METADATA_NODE_DISPLAY_NAME_MAPPINGS",
    "MetadataFileError",
    "MetadataProblem",
    "MetadataReport",
    "NodeRuntime",
    "RunWitness",
    "RuntimeData",
    "RuntimeSection",
    "SIDECAR_SUFFIX",
    "SaveImageWithRuntime",
    "Secret",
    "SidecarRef",
    "assert_metadata",
    "check_metadata",
    "metadata_schema",
    "parse_parameters",
    "read_metadata",
    "secrets_from",
]

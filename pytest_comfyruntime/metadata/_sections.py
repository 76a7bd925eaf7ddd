"""Finding the ``ai_info.runtime`` section of a file, validating it, and following its sidecar.

The section is looked for in every entry of the file: an entry named ``ai_info`` (PNG text chunk,
``comf`` chunk, ``ai_info:{json}`` in EXIF, XMP or a JPEG comment) or a JSON object with a top-level
``ai_info`` (an EXIF ``UserComment``, for instance). The data is measured as compact JSON
(:func:`~pytest_comfyruntime.nodes.metadata_save.canonical_json`): inline up to the limit, in a
sidecar (which must exist next to the image, have the recorded size and SHA-256, and validate)
beyond it.
"""
from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from ..nodes.metadata_save import AI_INFO_KEY, canonical_json
from ._errors import MetadataFileError
from ._read import Entry, ImageMetadata, parse_json
from ._report import Kind
from ._schema import AiInfo, RuntimeData, RuntimeSection

Add = Callable[[Kind, str, str, str], None]  # kind, field, problem, fix
SCHEMA_FIX = "write the section as the schema says (`comfyruntime schema metadata` prints it)"


@dataclass
class Found:
    entry: Entry
    section: RuntimeSection | None = None
    data: RuntimeData | RuntimeSection | None = None
    data_bytes: int | None = None
    sidecar: Path | None = None
    sidecar_text: str | None = None
    sidecar_json: Any = None


def _candidates(meta: ImageMetadata, add: Add) -> tuple[list[tuple[Entry, Any]], Entry | None]:
    """The entries holding ``ai_info`` (parsed), and the first one that is not valid JSON (reported)."""
    found = []
    broken = None
    for entry in meta.entries:
        if entry.key == AI_INFO_KEY:
            try:
                found.append((entry, parse_json(meta.path, entry)))
            except MetadataFileError as exc:
                add("bad file", exc.field, exc.problem, exc.fix)
                broken = broken or entry
        elif entry.text.lstrip().startswith("{") and f'"{AI_INFO_KEY}"' in entry.text:
            try:
                document = json.loads(entry.text)
            except json.JSONDecodeError:
                continue
            if isinstance(document, dict) and AI_INFO_KEY in document:
                found.append((entry, document[AI_INFO_KEY]))
    return found, broken


def _validation(add: Add, kind: Kind, prefix: str, exc: ValidationError, limit: int = 5) -> None:
    for error in exc.errors()[:limit]:
        where = ".".join(str(p) for p in error["loc"] if p not in ("function-after",))
        got = "" if error["type"] in ("missing", "value_error") else f" (got {error.get('input')!r:.60})"
        add(kind, f"{prefix}.{where}".rstrip("."), f"{error['msg']}{got}", SCHEMA_FIX)


def load_section(meta: ImageMetadata, limit_kb: float, add: Add) -> Found | None:
    """The file's runtime section, its data (inline or from the sidecar) and its size; every
    problem on the way is reported through ``add``. None when the file has no section."""
    candidates, broken = _candidates(meta, add)
    if not candidates:
        return None if broken is None else Found(broken)
    entry, ai_info = candidates[0]
    for other, value in candidates[1:]:
        if value != ai_info:
            add("schema", other.where, f"holds another ai_info than {entry.where}", "write the section once, or the "
                "same everywhere")
    found = Found(entry)
    if not isinstance(ai_info, dict) or "runtime" not in ai_info:
        add("schema", f"{entry.where}: ai_info.runtime", "is missing (ai_info has "
            f"{sorted(ai_info) if isinstance(ai_info, dict) else type(ai_info).__name__})", SCHEMA_FIX)
        return found
    try:
        found.section = AiInfo.model_validate(ai_info).runtime
    except ValidationError as exc:
        _validation(add, "schema", "ai_info", exc)
        return found
    limit = limit_kb * 1024
    raw = {k: v for k, v in ai_info["runtime"].items() if k != "sidecar"}
    if found.section.sidecar is None:
        found.data, found.data_bytes = found.section, len(canonical_json(raw))
        if found.data_bytes > limit:
            add("inline limit", "ai_info.runtime", f"holds {found.data_bytes:,} bytes ({found.data_bytes / 1024:.1f} "
                f"KiB) inline, over the inline limit of {limit_kb:g} KiB", "past the limit, write the runtime data "
                "to a sidecar file and keep prompt_id, capture_mode and sidecar {path, size, sha256} inline")
        return found
    _follow_sidecar(meta, found, limit_kb, add)
    return found


def _follow_sidecar(meta: ImageMetadata, found: Found, limit_kb: float, add: Add) -> None:
    assert found.section is not None and found.section.sidecar is not None
    ref = found.section.sidecar
    path = meta.path.parent / ref.path
    found.sidecar = path
    if not path.is_file():
        add("sidecar", "ai_info.runtime.sidecar.path", f"names {ref.path!r}, which does not exist (looked for {path})",
            "write the sidecar next to the image (before the image), or keep the runtime data inline")
        return
    data = path.read_bytes()
    found.sidecar_text = data.decode("utf-8", "replace")
    if len(data) != ref.size:
        add("sidecar", "ai_info.runtime.sidecar.size", f"is {ref.size:,}, but {ref.path} has {len(data):,} bytes",
            "record the size of the bytes written to the sidecar")
    digest = hashlib.sha256(data).hexdigest()
    if digest != ref.sha256:
        add("sidecar", "ai_info.runtime.sidecar.sha256", f"is {ref.sha256[:16]}…, but the SHA-256 of {ref.path} is "
            f"{digest[:16]}… (the sidecar changed after it was hashed, or other bytes were hashed)",
            "hash exactly the bytes written to the sidecar")
    try:
        document = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        add("sidecar", f"sidecar {ref.path}", f"is not valid JSON ({exc})", "write json.dumps of the runtime data "
            "into the sidecar, completely")
        return
    found.sidecar_json = document
    try:
        found.data = RuntimeData.model_validate(document)
    except ValidationError as exc:
        _validation(add, "schema", f"sidecar {ref.path}", exc)
        return
    found.data_bytes = len(canonical_json(document))
    for name in ("prompt_id", "capture_mode"):
        if getattr(found.data, name) != getattr(found.section, name):
            add("sidecar", f"sidecar {ref.path}: {name}", f"is {getattr(found.data, name)!r}, the image says "
                f"{getattr(found.section, name)!r}", "write the sidecar of this image's prompt")
    if found.data_bytes <= limit_kb * 1024:
        add("inline limit", "ai_info.runtime.sidecar", f"the runtime data is {found.data_bytes:,} bytes "
            f"({found.data_bytes / 1024:.1f} KiB), within the inline limit of {limit_kb:g} KiB, yet it is in a "
            "sidecar", "keep runtime data up to the limit inline (a sidecar only past it)")


__all__ = ["Add", "Found", "SCHEMA_FIX", "load_section"]

"""Stand-in for ``comfy_execution.media_enrichment`` (era D; read, not run: ``comfyanonymous/ComfyUI``
at 51a38a63, with ``app/assets/services/media_metadata.py`` f561f568 and ``image_dimensions.py`` c8656f08).

Every file entry of a fresh node's UI output (a dict with ``filename`` and ``type`` whose file
exists inside that folder type's directory) gets a ``metadata`` dict, ``{"kind": "image",
"width": W, "height": H}`` for images; the entry is copied first and an entry that already has
``metadata`` is left alone. ComfyUI reads image sizes with Pillow and video properties with its
video probe; the stand-in reads PNG and GIF headers itself (Pillow only when the test process
has already imported it) and adds nothing for videos.
"""
import logging
import mimetypes
import os
import struct
import sys


def resolve_output_entry_path(entry):
    """The real path of a file output entry inside its base directory, or None."""
    import folder_paths

    if not isinstance(entry, dict) or "filename" not in entry or "type" not in entry:
        return None
    filename = entry["filename"]
    subfolder = entry.get("subfolder") or ""
    if not isinstance(filename, str) or not isinstance(subfolder, str) or not isinstance(entry["type"], str):
        return None
    base = folder_paths.get_directory_by_type(entry["type"])
    if base is None:
        return None
    base_real = os.path.realpath(base)
    real_path = os.path.realpath(os.path.join(base_real, subfolder, filename))
    try:
        if os.path.commonpath([base_real, real_path]) != base_real:
            logging.warning("Output entry path escapes base directory: %s", filename)
            return None
    except ValueError:
        logging.warning("Output entry path escapes base directory: %s", filename)
        return None
    if not os.path.isfile(real_path):
        return None
    return real_path


def _image_size(path):
    with open(path, "rb") as f:
        head = f.read(32)
    if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
        return struct.unpack(">II", head[16:24])
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return struct.unpack("<HH", head[6:10])
    pil = sys.modules.get("PIL.Image")
    if pil is not None:
        with pil.open(path) as img:
            return img.size
    return None


def _extract_media_metadata(path, mime_type):
    if not mime_type or not mime_type.startswith("image/"):
        return None
    try:
        size = _image_size(path)
    except (OSError, ValueError, struct.error):
        return None
    if size is None:
        return None
    width, height = size
    if not isinstance(width, int) or not isinstance(height, int) or width <= 0 or height <= 0:
        return None
    return {"kind": "image", "width": width, "height": height}


def enrich_output_with_media_metadata(output_ui):
    """A new UI dict whose file entries carry ``metadata``; best effort, never raises."""
    enriched = {}
    for key, entries in output_ui.items():
        if not isinstance(entries, list):
            enriched[key] = entries
            continue
        new_entries = []
        for entry in entries:
            try:
                if isinstance(entry, dict) and "metadata" not in entry:
                    abs_path = resolve_output_entry_path(entry)
                    if abs_path is not None:
                        mime_type = mimetypes.guess_type(entry["filename"], strict=False)[0]
                        media = _extract_media_metadata(abs_path, mime_type)
                        if media:
                            entry = dict(entry)
                            entry["metadata"] = media
            except Exception:
                filename = entry.get("filename") if isinstance(entry, dict) else None
                logging.warning("Failed to enrich output entry with media metadata: %s", filename, exc_info=True)
            new_entries.append(entry)
        enriched[key] = new_entries
    return enriched

"""A minimal PNG writer and text-chunk reader in pure Python (``zlib`` + ``struct``).

The stand-in ``SaveImage`` / ``PreviewImage`` nodes write real 8-bit RGB PNG files with the same
metadata chunks that ComfyUI writes through Pillow's ``PngInfo.add_text``: a ``tEXt`` chunk when
the text is Latin-1, an ``iTXt`` chunk (UTF-8, uncompressed) otherwise. Text chunks come after
``IHDR`` and before ``IDAT``, as Pillow places them. ``read_png_text`` reads ``tEXt``, ``zTXt``
and ``iTXt`` chunks back, so tests can check the metadata of any PNG, ComfyUI's included.
"""
from __future__ import annotations

import os
import struct
import zlib
from collections.abc import Iterable
from typing import Final, Union

__all__ = ["PNG_SIGNATURE", "png_bytes", "write_png", "read_png_text", "read_png_size"]

PNG_SIGNATURE: Final = b"\x89PNG\r\n\x1a\n"

PathLike = Union[str, "os.PathLike[str]"]


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def _text_chunk(key: str, value: str) -> bytes:
    # Mirrors Pillow's PngInfo.add_text(key, value) with zip=False.
    key_bytes = key.encode("latin-1", "strict")
    try:
        return _chunk(b"tEXt", key_bytes + b"\0" + value.encode("latin-1", "strict"))
    except UnicodeEncodeError:
        # iTXt: keyword \0, compression flag 0, method 0, language "" \0, translated keyword "" \0, text
        return _chunk(b"iTXt", key_bytes + b"\0\0\0" + b"\0" + b"\0" + value.encode("utf-8"))


def png_bytes(
    width: int,
    height: int,
    rows: Iterable[bytes],
    text: Iterable[tuple[str, str]] = (),
    compress_level: int = 4,
) -> bytes:
    """Encode an 8-bit RGB image as PNG bytes.

    ``rows`` yields ``height`` rows of ``3 * width`` bytes each (no filter byte). ``text`` is a
    sequence of ``(key, value)`` pairs written as text chunks in that order.
    """
    if width <= 0 or height <= 0:
        raise ValueError(f"PNG size must be positive, got {width}x{height}")
    row_len = 3 * width
    raw = bytearray()
    count = 0
    for row in rows:
        if len(row) != row_len:
            raise ValueError(f"PNG row {count} has {len(row)} bytes, expected {row_len}")
        raw += b"\x00"
        raw += row
        count += 1
    if count != height:
        raise ValueError(f"PNG has {count} rows, expected {height}")
    out = [PNG_SIGNATURE, _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))]
    out.extend(_text_chunk(key, value) for key, value in text)
    out.append(_chunk(b"IDAT", zlib.compress(bytes(raw), compress_level)))
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


def write_png(
    path: PathLike,
    width: int,
    height: int,
    rows: Iterable[bytes],
    text: Iterable[tuple[str, str]] = (),
    compress_level: int = 4,
) -> None:
    """Write an 8-bit RGB PNG file; see :func:`png_bytes` for the arguments."""
    data = png_bytes(width, height, rows, text, compress_level)
    with open(path, "wb") as handle:
        handle.write(data)


def _chunks(path: PathLike) -> Iterable[tuple[bytes, bytes]]:
    with open(path, "rb") as handle:
        data = handle.read()
    if not data.startswith(PNG_SIGNATURE):
        raise ValueError(f"{os.fspath(path)} is not a PNG file (bad signature)")
    pos = len(PNG_SIGNATURE)
    while pos + 8 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise ValueError(f"{os.fspath(path)}: truncated {kind!r} chunk")
        yield kind, body
        if kind == b"IEND":
            return
        pos += 12 + length


def read_png_text(path: PathLike) -> dict[str, str]:
    """Return the text chunks (``tEXt``, ``zTXt``, ``iTXt``) of a PNG file as ``{key: text}``.

    A key that occurs more than once keeps its last value, as Pillow's ``Image.text`` does.
    """
    found: dict[str, str] = {}
    for kind, body in _chunks(path):
        if kind == b"tEXt":
            key, _, value = body.partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        elif kind == b"zTXt":
            key, _, rest = body.partition(b"\0")
            found[key.decode("latin-1")] = zlib.decompress(rest[1:]).decode("latin-1")
        elif kind == b"iTXt":
            key, _, rest = body.partition(b"\0")
            compressed, rest = rest[0], rest[2:]
            _language, _, rest = rest.partition(b"\0")
            _translated, _, value = rest.partition(b"\0")
            if compressed:
                value = zlib.decompress(value)
            found[key.decode("latin-1")] = value.decode("utf-8")
    return found


def read_png_size(path: PathLike) -> tuple[int, int]:
    """Return ``(width, height)`` from a PNG file's ``IHDR`` chunk."""
    for kind, body in _chunks(path):
        if kind == b"IHDR":
            width, height = struct.unpack(">II", body[:8])
            return width, height
        break
    raise ValueError(f"{os.fspath(path)}: first chunk is not IHDR")

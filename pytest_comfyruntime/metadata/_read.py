"""Reading what a save node wrote: every text it can hold, from PNG, JPEG and WebP files.

- PNG: ``tEXt``, ``zTXt`` and ``iTXt`` chunks, the animated-PNG ``comf`` chunk (``key\\0json``, after
  ``IDAT``), and ``eXIf``; chunks are walked here (lengths and CRCs checked, pixel data inflated).
- JPEG: ``COM`` segments, the ``APP1`` EXIF block (``UserComment``, ``XPComment`` and every string tag)
  and the ``APP1`` XMP packet; the pixels are decoded with Pillow.
- WebP: the RIFF ``EXIF`` and ``XMP `` chunks; the pixels are decoded with Pillow.

EXIF strings of the form ``key:{json}`` (ComfyUI's WebP tags ``0x0110`` = ``prompt:...``, ``0x010F`` =
``workflow:...``) become an entry named ``key``; so do JPEG comments of that form. Pillow is imported
here, inside the readers, never at import. A file that cannot be read is one
:class:`~._errors.MetadataFileError` naming the file, the field and the fix, never Pillow's traceback.
"""
from __future__ import annotations

import json
import re
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from xml.etree import ElementTree

from ._a1111 import A1111Parameters, looks_like_parameters, parse_parameters
from ._errors import MetadataFileError

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
#: The most an EXIF block can be and still fit a JPEG APP1 segment (65,535 - 2 length bytes - "Exif\0\0").
EXIF_LIMIT = 65_527
_KEYED = re.compile(r"^([A-Za-z_][\w\-.]{0,63}):\s*(?=[\[{])", re.S)
_UNSUPPORTED = ((b"GIF87a", "GIF"), (b"GIF89a", "GIF"), (b"BM", "BMP"), (b"II*\0", "TIFF"), (b"MM\0*", "TIFF"),
                (b"\0\0\1\0", "ICO"), (b"8BPS", "PSD"), (b"\xff\x0a", "JPEG XL"), (b"\0\0\0\x0cJXL ", "JPEG XL"))
_FIX_FORMAT = "save the image as PNG, JPEG or WebP (the formats ComfyUI's savers write)"
_FIX_TRUNCATED = "write the image completely (flush and close it before reading) or save it again"
_EXIF_TAGS = {0x010E: "ImageDescription", 0x010F: "Make", 0x0110: "Model", 0x0131: "Software",
              0x013B: "Artist", 0x8298: "Copyright", 0x9286: "UserComment", 0x9C9C: "XPComment"}
Format = Literal["PNG", "JPEG", "WEBP"]


@dataclass(frozen=True)
class Entry:
    """One text found in a file: ``where`` (``"PNG tEXt chunk 'prompt'"``), its ``key`` (or None) and the text."""

    where: str
    key: str | None
    text: str


@dataclass(frozen=True)
class ImageMetadata:
    """Everything :func:`read_metadata` found in one file."""

    path: Path
    format: Format
    width: int
    height: int
    entries: tuple[Entry, ...]
    exif_size: int | None = None
    raw: bytes = field(default=b"", repr=False)

    def get(self, key: str) -> Entry | None:
        """The last entry named ``key`` (a key written twice keeps its last value, as Pillow's ``text``)."""
        return next((e for e in reversed(self.entries) if e.key == key), None)

    @property
    def text(self) -> dict[str, str]:
        """``{key: text}`` of the keyed entries."""
        return {e.key: e.text for e in self.entries if e.key is not None}

    def json(self, key: str) -> Any:
        """The entry ``key`` parsed as JSON (None when absent); invalid JSON is a :class:`MetadataFileError`."""
        entry = self.get(key)
        return None if entry is None else parse_json(self.path, entry)

    def parameters(self) -> A1111Parameters | None:
        """The A1111-style ``parameters`` text, parsed (from a ``parameters`` entry or a comment that looks like one)."""
        entry = self.get("parameters") or next((e for e in self.entries if e.key in (None, "UserComment", "XPComment",
                                                                                     "comment", "Description")
                                                and looks_like_parameters(e.text)), None)
        return None if entry is None else parse_parameters(entry.text)


def parse_json(path: Path | str, entry: Entry) -> Any:
    try:
        return json.loads(entry.text)
    except json.JSONDecodeError as exc:
        raise MetadataFileError(path, entry.where, f"is not valid JSON ({exc.msg} at line {exc.lineno} column "
                                f"{exc.colno})", "write json.dumps(value) into it, completely") from None


def read_metadata(path: str | Path) -> ImageMetadata:
    """Reads every metadata text of a PNG, JPEG or WebP file (see the module docstring)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise MetadataFileError(path, "file", "does not exist", "check the path (a RunResult's files are looked up "
                                "in ComfyUI's output folders)") from None
    except OSError as exc:
        raise MetadataFileError(path, "file", f"cannot be read ({exc.strerror or exc})", "check the path and its "
                                "permissions") from None
    if data.startswith(PNG_SIGNATURE):
        return _png(path, data)
    if data.startswith(b"\xff\xd8\xff"):
        return _jpeg(path, data)
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return _webp(path, data)
    for magic, name in _UNSUPPORTED:
        if data.startswith(magic):
            raise MetadataFileError(path, "file format", f"{name} files are not supported", _FIX_FORMAT)
    if data[4:8] == b"ftyp":
        brand = data[8:12].decode("latin-1").strip() or "ISO media"
        raise MetadataFileError(path, "file format", f"{brand!r} (ISO media: AVIF, HEIC, MP4) files are not supported",
                                _FIX_FORMAT)
    shown = data[:16]
    raise MetadataFileError(path, "file signature", f"not an image (it starts with {shown!r})" if data else
                            "not an image (the file is empty)", "point the check at the image file the save node wrote")


# -- PNG -------------------------------------------------------------------------------------------
def _png_chunks(path: Path, data: bytes) -> Iterator[tuple[int, str, bytes]]:
    pos, size = len(PNG_SIGNATURE), len(data)
    while True:
        if pos + 8 > size:
            raise MetadataFileError(path, "PNG chunks", f"the file ends at byte {size}, before an IEND chunk: it is "
                                    "truncated", _FIX_TRUNCATED)
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8].decode("latin-1")
        if pos + 12 + length > size:
            raise MetadataFileError(path, f"PNG {kind} chunk at byte {pos}", f"the file ends inside it ({length} bytes "
                                    f"declared, {max(size - pos - 8, 0)} present): it is truncated", _FIX_TRUNCATED)
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if crc != zlib.crc32(data[pos + 4:pos + 8 + length]) & 0xFFFFFFFF:
            raise MetadataFileError(path, f"PNG {kind} chunk at byte {pos}", "its CRC does not match: the file is "
                                    "corrupt", "save the image again; never edit a PNG's bytes by hand")
        yield pos, kind, body
        if kind == "IEND":
            return
        pos += 12 + length


def _png_text(path: Path, kind: str, body: bytes) -> Entry:
    key_bytes, _, rest = body.partition(b"\0")
    key = key_bytes.decode("latin-1")
    where = f"PNG {kind} chunk {key!r}"
    try:
        if kind == "tEXt":
            return Entry(where, key, rest.decode("latin-1"))
        if kind == "zTXt":
            return Entry(where, key, zlib.decompress(rest[1:]).decode("latin-1"))
        if kind == "comf":
            return Entry(f"animated PNG comf chunk {key!r}", key, rest.decode("utf-8"))
        compressed, rest = rest[0], rest[2:]
        _language, _, rest = rest.partition(b"\0")
        _translated, _, value = rest.partition(b"\0")
        return Entry(where, key, (zlib.decompress(value) if compressed else value).decode("utf-8"))
    except (zlib.error, UnicodeDecodeError, IndexError) as exc:
        raise MetadataFileError(path, where, f"cannot be decoded ({exc})", "write text chunks with Pillow's "
                                "PngInfo.add_text (or ComfyUI's own code)") from None


def _png(path: Path, data: bytes) -> ImageMetadata:
    entries: list[Entry] = []
    idat: list[bytes] = []
    header: tuple[int, ...] | None = None
    exif: bytes | None = None
    for pos, kind, body in _png_chunks(path, data):
        if header is None:
            if kind != "IHDR" or len(body) != 13:
                raise MetadataFileError(path, f"PNG {kind} chunk at byte {pos}", "the first chunk is not a valid "
                                        "IHDR", "save the image again with an image library")
            header = struct.unpack(">IIBBBBB", body)
        elif kind == "IDAT":
            idat.append(body)
        elif kind in ("tEXt", "zTXt", "iTXt", "comf"):
            entries.append(_png_text(path, kind, body))
        elif kind == "eXIf":
            exif = body
            entries.extend(_exif_entries(path, "PNG eXIf", body))
    assert header is not None
    width, height, depth, color, _c, _f, interlace = header
    try:
        pixels = zlib.decompress(b"".join(idat))
    except zlib.error as exc:
        raise MetadataFileError(path, "PNG IDAT data", f"does not inflate ({exc}): the image data is corrupt or cut "
                                "short", _FIX_TRUNCATED) from None
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(color, 0)
    expected = height * (1 + (width * channels * depth + 7) // 8)
    if not interlace and channels and len(pixels) < expected:
        raise MetadataFileError(path, "PNG IDAT data", f"holds {len(pixels)} bytes of rows, {expected} are needed for "
                                f"{width}x{height}: the image data is cut short", _FIX_TRUNCATED)
    _check_exif_size(path, "PNG eXIf chunk", exif)
    return ImageMetadata(path, "PNG", width, height, tuple(entries), len(exif) if exif else None, data)


# -- EXIF and XMP ------------------------------------------------------------------------------------
def _check_exif_size(path: Path, where: str, exif: bytes | None) -> None:
    if exif is not None and len(exif) > EXIF_LIMIT:
        raise MetadataFileError(path, where, f"the EXIF block is {len(exif):,} bytes, over the {EXIF_LIMIT:,} that fit "
                                "a JPEG APP1 segment (Pillow refuses it: 'EXIF data is too long'), so it cannot be "
                                "carried into JPEG", "keep EXIF small: move the runtime data into a sidecar "
                                "(inline_limit_kb) or a PNG text chunk")


def _keyed(where: str, name: str | None, text: str) -> Entry:
    match = _KEYED.match(text)
    if match:
        return Entry(f"{where} ({match[1]}:...)", match[1], text[match.end():])
    return Entry(where, name, text)


def _user_comment(raw: bytes) -> str:
    code, body = raw[:8], raw[8:]
    if code.startswith(b"UNICODE"):
        candidates = [body.decode("utf-16-be", "replace"), body.decode("utf-16-le", "replace")]
        return min(candidates, key=lambda t: sum(not (c.isprintable() or c in "\n\r\t") for c in t))
    if code.startswith((b"ASCII", b"\0\0\0\0\0\0\0\0")):
        return body.rstrip(b"\0").decode("utf-8", "replace")
    return raw.rstrip(b"\0").decode("utf-8", "replace")


def _exif_entries(path: Path, container: str, block: bytes) -> list[Entry]:
    from PIL import Image  # lazily: only a file with EXIF needs Pillow's parser

    exif = Image.Exif()
    try:
        exif.load(block)
        tags = dict(exif)
        tags.update(exif.get_ifd(0x8769))
    except Exception as exc:  # Pillow raises many kinds for a malformed TIFF structure
        raise MetadataFileError(path, f"{container} EXIF block", f"cannot be parsed ({type(exc).__name__}: {exc})",
                                "write EXIF with Pillow's Image.Exif (or piexif)") from None
    entries = []
    for tag, value in tags.items():
        name = _EXIF_TAGS.get(tag, f"0x{tag:04X}")
        where = f"{container} EXIF tag 0x{tag:04X} ({name})" if name[0] != "0" else f"{container} EXIF tag {name}"
        if tag == 0x9286 and isinstance(value, bytes):
            text = _user_comment(value)
        elif tag == 0x9C9C and isinstance(value, (bytes, tuple)):
            text = bytes(value).decode("utf-16-le", "replace").rstrip("\0")
        elif isinstance(value, str):
            text = value.rstrip("\0")
        else:
            continue
        entries.append(_keyed(where, name, text))
    return entries


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1].rsplit(":", 1)[-1]


def _xmp_entries(path: Path, container: str, packet: bytes) -> list[Entry]:
    text = packet.decode("utf-8", "replace").strip("\0 \r\n\t")
    start = text.find("<x:xmpmeta")
    start = text.find("<rdf:RDF") if start < 0 else start
    end_tag = "</x:xmpmeta>" if text.startswith("<x:xmpmeta", start) else "</rdf:RDF>"
    end = text.find(end_tag, start)
    body = text[start:end + len(end_tag)] if start >= 0 and end >= 0 else text
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError as exc:
        raise MetadataFileError(path, f"{container} XMP packet", f"is not well-formed XML ({exc})",
                                "write the XMP packet with an XMP library, escaping &, < and \" in values") from None
    entries: list[Entry] = []
    parents = {child: parent for parent in root.iter() for child in parent}
    skip = {"about", "lang"}
    for element in root.iter():
        for attr, value in element.attrib.items():
            if _local(attr) not in skip:
                entries.append(_keyed(f"{container} XMP attribute {_local(attr)}", _local(attr), value))
        if len(element) == 0 and element.text and element.text.strip():
            node, name = element, _local(element.tag)
            while name in ("li", "Alt", "Seq", "Bag") and node in parents:
                node = parents[node]
                name = _local(node.tag)
            entries.append(_keyed(f"{container} XMP element {name}", name, element.text.strip()))
    return entries


# -- JPEG and WebP -------------------------------------------------------------------------------------
def _decode_pixels(path: Path, data: bytes, kind: str) -> tuple[int, int]:
    import io

    from PIL import Image  # lazily: reading a PNG never imports Pillow

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            width, height = image.size
            return int(width), int(height)
    except Exception as exc:  # Pillow's errors: OSError (truncated), SyntaxError, ValueError, struct.error
        raise MetadataFileError(path, f"{kind} image data", f"Pillow cannot decode it ({type(exc).__name__}: "
                                f"{exc})", _FIX_TRUNCATED) from None


def _jpeg(path: Path, data: bytes) -> ImageMetadata:
    entries: list[Entry] = []
    exif: bytes | None = None
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            break
        marker = data[pos + 1]
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
            pos += 2
            continue
        if marker in (0xD9, 0xDA):  # end of image, start of scan: no metadata after this
            break
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        body = data[pos + 4:pos + 2 + length]
        if len(body) != length - 2:
            raise MetadataFileError(path, f"JPEG segment 0xFF{marker:02X} at byte {pos}", "the file ends inside it: it "
                                    "is truncated", _FIX_TRUNCATED)
        if marker == 0xFE:
            entries.append(_keyed("JPEG COM segment", "comment", body.decode("utf-8", "replace").rstrip("\0")))
        elif marker == 0xE1 and body.startswith(b"Exif\0\0"):
            exif = body[6:]
            entries.extend(_exif_entries(path, "JPEG", body))
        elif marker == 0xE1 and body.startswith(b"http://ns.adobe.com/xap/1.0/\0"):
            entries.extend(_xmp_entries(path, "JPEG", body[29:]))
        pos += 2 + length
    width, height = _decode_pixels(path, data, "JPEG")
    return ImageMetadata(path, "JPEG", width, height, tuple(entries), len(exif) if exif else None, data)


def _webp(path: Path, data: bytes) -> ImageMetadata:
    (riff_size,) = struct.unpack("<I", data[4:8])
    if riff_size + 8 > len(data):
        raise MetadataFileError(path, "WebP RIFF header", f"declares {riff_size + 8} bytes, the file has {len(data)}: "
                                "it is truncated", _FIX_TRUNCATED)
    entries: list[Entry] = []
    exif: bytes | None = None
    pos = 12
    while pos + 8 <= riff_size + 8:
        kind = data[pos:pos + 4].decode("latin-1")
        (length,) = struct.unpack("<I", data[pos + 4:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if len(body) != length:
            raise MetadataFileError(path, f"WebP {kind!r} chunk at byte {pos}", "the file ends inside it: it is "
                                    "truncated", _FIX_TRUNCATED)
        if kind == "EXIF":
            exif = body[6:] if body.startswith(b"Exif\0\0") else body
            _check_exif_size(path, "WebP EXIF chunk", exif)
            entries.extend(_exif_entries(path, "WebP", body))
        elif kind == "XMP ":
            entries.extend(_xmp_entries(path, "WebP", body))
        pos += 8 + length + (length & 1)
    width, height = _decode_pixels(path, data, "WebP")
    return ImageMetadata(path, "WEBP", width, height, tuple(entries), len(exif) if exif else None, data)


__all__ = ["EXIF_LIMIT", "Entry", "Format", "ImageMetadata", "parse_json", "read_metadata"]

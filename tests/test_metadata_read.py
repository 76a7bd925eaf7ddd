"""Reading metadata back: every container a saver writes to, the A1111 ``parameters`` text, and
bad files, each one message naming the file, the field and the fix (never Pillow's traceback)."""
from __future__ import annotations

import io
import json
import re
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from pytest_comfyruntime.metadata import MetadataFileError, parse_parameters, read_metadata
from pytest_comfyruntime.nodes._png import PNG_SIGNATURE, png_bytes

RUNTIME = {"runtime": {"version": 1, "prompt_id": "p", "capture_mode": "parser", "nodes": {}}}


def chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def rows(width: int = 4, height: int = 4):
    return [bytes(3 * width)] * height


def png_with(*before_idat: bytes, after_idat: bytes = b"") -> bytes:
    """A 4x4 PNG with extra chunks before IDAT and after it."""
    plain = png_bytes(4, 4, rows())
    ihdr_end = len(PNG_SIGNATURE) + 25
    iend = plain.rindex(b"IEND") - 4
    return plain[:ihdr_end] + b"".join(before_idat) + plain[ihdr_end:iend] + after_idat + plain[iend:]


def test_png_text_chunks_of_every_kind_and_the_animated_comf_chunk(tmp_path: Path) -> None:
    path = tmp_path / "a.png"
    path.write_bytes(png_with(
        chunk(b"tEXt", b"prompt\0" + json.dumps({"1": {"class_type": "CRInt", "inputs": {}}}).encode()),
        chunk(b"zTXt", b"workflow\0\0" + zlib.compress(b'{"id": 7}')),
        chunk(b"iTXt", b"ai_info\0\0\0\0\0" + json.dumps(RUNTIME, ensure_ascii=False).encode("utf-8")),
        chunk(b"iTXt", b"note\0\1\0en\0Note\0" + zlib.compress("caf\u00e9 \u2713".encode())),
        after_idat=chunk(b"comf", b"workflow_anim\0" + b'{"frames": 2}')))
    meta = read_metadata(path)
    assert (meta.format, meta.width, meta.height) == ("PNG", 4, 4)
    assert [(e.where, e.key) for e in meta.entries] == [
        ("PNG tEXt chunk 'prompt'", "prompt"), ("PNG zTXt chunk 'workflow'", "workflow"),
        ("PNG iTXt chunk 'ai_info'", "ai_info"), ("PNG iTXt chunk 'note'", "note"),
        ("animated PNG comf chunk 'workflow_anim'", "workflow_anim")]
    assert meta.json("workflow") == {"id": 7} and meta.json("ai_info") == RUNTIME
    assert meta.text["note"] == "caf\u00e9 \u2713" and meta.json("workflow_anim") == {"frames": 2}
    assert meta.json("absent") is None


def test_exif_tags_in_comfyuis_key_colon_json_form_become_named_entries(tmp_path: Path) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0110] = 'prompt:{"1": {}}'
    exif[0x010F] = 'workflow:{"id": 1}'
    exif[0x010E] = "ai_info:" + json.dumps(RUNTIME)
    path = tmp_path / "e.png"
    path.write_bytes(png_with(chunk(b"eXIf", exif.tobytes())))
    meta = read_metadata(path)
    assert meta.json("prompt") == {"1": {}} and meta.json("workflow") == {"id": 1} and meta.json("ai_info") == RUNTIME
    assert meta.get("prompt").where == "PNG eXIf EXIF tag 0x0110 (Model) (prompt:...)"
    assert meta.exif_size == len(exif.tobytes())


XMP = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
       b'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
       b'xmlns:cr="https://github.com/comfyruntime/ns/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
       b'cr:ai_info="{&quot;runtime&quot;: 1}"><dc:description><rdf:Alt><rdf:li xml:lang="x-default">'
       b'a cat</rdf:li></rdf:Alt></dc:description></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>')


def _user_comment(text: str, encoding: str) -> bytes:
    if encoding == "ascii":
        return b"ASCII\0\0\0" + text.encode()
    return b"UNICODE\0" + text.encode(encoding)


@pytest.mark.parametrize("encoding", ["ascii", "utf-16-be", "utf-16-le"])
def test_jpeg_user_comment_xmp_and_comment(tmp_path: Path, encoding: str) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9286] = _user_comment(json.dumps({"ai_info": RUNTIME}), encoding)
    buffer = io.BytesIO()
    Image.new("RGB", (8, 6), "red").save(buffer, "JPEG", exif=exif, xmp=XMP,
                                         comment=b"a cat\nSteps: 20, Sampler: euler, CFG scale: 7, Seed: 42")
    path = tmp_path / "c.jpg"
    path.write_bytes(buffer.getvalue())
    meta = read_metadata(path)
    assert (meta.format, meta.width, meta.height) == ("JPEG", 8, 6)
    keys = {e.key: e.where for e in meta.entries}
    assert keys["UserComment"] == "JPEG EXIF tag 0x9286 (UserComment)"
    assert json.loads(meta.text["UserComment"]) == {"ai_info": RUNTIME}
    assert keys["ai_info"] == "JPEG XMP attribute ai_info" and meta.json("ai_info") == {"runtime": 1}
    assert meta.text["description"] == "a cat" and keys["comment"] == "JPEG COM segment"
    assert meta.parameters().fields == {"Steps": "20", "Sampler": "euler", "CFG scale": "7", "Seed": "42"}


def test_webp_exif_and_xmp_chunks(tmp_path: Path) -> None:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0110] = 'prompt:{"3": {"class_type": "KSampler"}}'
    exif[0x010F] = 'workflow:{"id": 2}'
    buffer = io.BytesIO()
    Image.new("RGB", (5, 3), "blue").save(buffer, "WEBP", exif=exif, xmp=XMP)
    path = tmp_path / "w.webp"
    path.write_bytes(buffer.getvalue())
    meta = read_metadata(path)
    assert (meta.format, meta.width, meta.height) == ("WEBP", 5, 3)
    assert meta.json("prompt") == {"3": {"class_type": "KSampler"}} and meta.json("workflow") == {"id": 2}
    assert meta.get("workflow").where == "WebP EXIF tag 0x010F (Make) (workflow:...)"
    assert meta.json("ai_info") == {"runtime": 1}


def test_a1111_parameters_are_parsed_into_fields() -> None:
    text = ("a photo of a cat,\nwearing a hat\nNegative prompt: blurry, lowres\nugly\n"
            'Steps: 25, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 1234, Size: 512x768, '
            'Lora hashes: "add_detail: 7c6bad76eb54, more: 1", Version: v1.9.4')
    params = parse_parameters(text)
    assert params.positive == "a photo of a cat,\nwearing a hat"
    assert params.negative == "blurry, lowres\nugly"
    assert params.fields == {"Steps": "25", "Sampler": "DPM++ 2M Karras", "CFG scale": "7.5", "Seed": "1234",
                             "Size": "512x768", "Lora hashes": "add_detail: 7c6bad76eb54, more: 1",
                             "Version": "v1.9.4"}
    assert params.number("CFG scale") == 7.5 and params.number("Size") is None
    assert parse_parameters("just a prompt") == parse_parameters("just a prompt\n")
    assert parse_parameters("just a prompt").fields == {}


# -- bad files -------------------------------------------------------------------------------------
def _truncated_png() -> bytes:
    data = png_bytes(16, 16, rows(16, 16), [("prompt", "{}")])
    return data[:data.index(b"IDAT") + 10]


def _oversize_exif_webp() -> bytes:
    from PIL import Image

    exif = Image.Exif()
    exif[0x0110] = "prompt:" + json.dumps({"blob": "x" * 70_000})
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buffer, "WEBP", exif=exif)
    return buffer.getvalue()


def _truncated_jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.effect_noise((96, 96), 60).convert("RGB").save(buffer, "JPEG", quality=95)
    data = buffer.getvalue()
    return data[:len(data) * 3 // 4]


def _bad_crc() -> bytes:
    data = bytearray(png_bytes(4, 4, rows(), [("prompt", "{}")]))
    data[data.index(b"tEXt") + 5] ^= 0xFF
    return bytes(data)


def _gif() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("P", (2, 2)).save(buffer, "GIF")
    return buffer.getvalue()


TRUNC_FIX = "write the image completely (flush and close it before reading) or save it again"
#: (id, file, field, problem as a regular expression, fix)
BAD_FILES = [
    ("truncated_png", _truncated_png, "PNG IDAT chunk at byte 54",
     r"the file ends inside it \(\d+ bytes declared, 6 present\): it is truncated", TRUNC_FIX),
    ("not_an_image", lambda: b'{"prompt": {}}', "file signature",
     re.escape("not an image (it starts with b'{\"prompt\": {}}')"),
     "point the check at the image file the save node wrote"),
    ("empty", lambda: b"", "file signature", re.escape("not an image (the file is empty)"),
     "point the check at the image file the save node wrote"),
    ("unsupported", _gif, "file format", "GIF files are not supported",
     "save the image as PNG, JPEG or WebP (the formats ComfyUI's savers write)"),
    ("oversize_exif", _oversize_exif_webp, "WebP EXIF chunk",
     r"the EXIF block is 70,\d\d\d bytes, over the 65,527 that fit a JPEG APP1 segment \(Pillow refuses it: 'EXIF "
     r"data is too long'\), so it cannot be carried into JPEG",
     "keep EXIF small: move the runtime data into a sidecar (inline_limit_kb) or a PNG text chunk"),
    ("bad_crc", _bad_crc, "PNG tEXt chunk at byte 33", "its CRC does not match: the file is corrupt",
     "save the image again; never edit a PNG's bytes by hand"),
    ("truncated_jpeg", _truncated_jpeg, "JPEG image data",
     r"Pillow cannot decode it \(OSError: image file is truncated \(\d+ bytes not processed\)\)", TRUNC_FIX),
]


@pytest.mark.parametrize("make, field, problem, fix", [b[1:] for b in BAD_FILES], ids=[b[0] for b in BAD_FILES])
def test_a_bad_file_is_one_message_naming_file_field_and_fix(tmp_path: Path, make, field, problem, fix) -> None:
    path = tmp_path / "bad.img"
    path.write_bytes(make())
    with pytest.raises(MetadataFileError) as caught:
        read_metadata(path)
    error = caught.value
    assert (error.path, error.field, error.fix) == (str(path), field, fix)
    assert re.fullmatch(problem, error.problem), error.problem
    assert str(error) == f"{path}: {field}: {error.problem}; fix: {fix}"
    assert error.__cause__ is None and "Traceback" not in str(error)


def test_invalid_json_in_a_chunk_names_the_chunk(tmp_path: Path) -> None:
    path = tmp_path / "j.png"
    path.write_bytes(png_bytes(4, 4, rows(), [("prompt", '{"1": {"class_type": "CRInt",}')]))
    meta = read_metadata(path)
    with pytest.raises(MetadataFileError) as caught:
        meta.json("prompt")
    assert str(caught.value) == (f"{path}: PNG tEXt chunk 'prompt': is not valid JSON (Expecting property name "
                                 "enclosed in double quotes at line 1 column 30); fix: write json.dumps(value) into "
                                 "it, completely")


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(MetadataFileError, match=r"missing\.png: file: does not exist; fix: check the path"):
        read_metadata(tmp_path / "missing.png")


# -- lazy and light --------------------------------------------------------------------------------
def test_importing_the_package_and_reading_a_png_import_neither_pillow_nor_torch(tmp_path: Path) -> None:
    path = tmp_path / "p.png"
    path.write_bytes(png_bytes(4, 4, rows(), [("prompt", "{}")]))
    code = ("import sys; import pytest_comfyruntime.metadata as m; heavy = ('PIL', 'torch', 'numpy', 'execution', "
            "'nodes', 'comfy'); before = [h for h in heavy if h in sys.modules]; m.read_metadata(sys.argv[1]); "
            "print(before, [h for h in heavy if h in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] []"

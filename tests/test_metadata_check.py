"""``check_metadata`` on files made here: the inline limit and the sidecar, secrets in every
encoding and place, values against ``expect`` with a per-field diff, seed 001's disagreements,
and arguments of the wrong kind."""
from __future__ import annotations

import base64
import hashlib
import json
import struct
import zlib
from pathlib import Path
from urllib.parse import quote

import pytest

from pytest_comfyruntime.capture import HookStats, NodeCapture, PromptCapture
from pytest_comfyruntime.metadata import (
    RunWitness,
    Secret,
    assert_metadata,
    check_metadata,
    read_metadata,
    secrets_from,
)
from pytest_comfyruntime.metadata._secrets import encodings
from pytest_comfyruntime.metadata._values import check_executed_metadata
from pytest_comfyruntime.nodes._png import png_bytes
from pytest_comfyruntime.nodes.metadata_save import build_runtime_section, write_image_with_runtime
from pytest_comfyruntime.nodes.txt2img import StandInImage

PROMPT = {"1": {"class_type": "CRInt", "inputs": {"value": 20}},
          "2": {"class_type": "CRInt", "inputs": {"value": 25}},
          "3": {"class_type": "CRSwitch", "inputs": {"select": False, "on_true": ["1", 0], "on_false": ["2", 0]}},
          "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "steps"}}}
SECRET = "sk-live-0123456789abcdef\\XYZ+/=&?"


def record(value: int = 25, prompt_id: str = "p1", label: str = "steps") -> PromptCapture:
    inputs = {"2": {"value": 25}, "3": {"select": False, "on_true": None, "on_false": 25},
              "4": {"value": value, "label": label, "unique_id": "4"}}
    nodes = {nid: NodeCapture(node_id=nid, class_type=PROMPT[nid]["class_type"], inputs=inputs[nid],
                              started_s=0.01 * i, duration_s=0.01) for i, nid in enumerate(inputs)}
    return PromptCapture(prompt_id=prompt_id, executor_id=1, started_at=0.0, order=list(inputs), nodes=nodes,
                         stats=HookStats(calls=6, total_s=0.0003, max_s=0.0001))


def write(tmp_path: Path, *, section: dict | None = None, limit: float = 32, extra_text=(), name: str = "x.png",
          place=None, prompt=PROMPT) -> Path:
    path = tmp_path / name
    kwargs = {"place": place} if place is not None else {}
    write_image_with_runtime(path, StandInImage(8, 8, "ab" * 32), prompt=prompt, extra_pnginfo={"workflow": {"id": 1}},
                             section=section if section is not None else build_runtime_section(record(), prompt,
                                                                                                prompt_id="p1"),
                             inline_limit_kb=limit, extra_text=extra_text, **kwargs)
    return path


def only(report) -> str:
    assert len(report.problems) == 1, report.message()
    return str(report.problems[0])


def test_a_reference_file_passes_and_says_where_its_data_is(tmp_path: Path) -> None:
    report = check_metadata(write(tmp_path), expect=record(), env={})
    assert report.ok, report.message()
    assert [(f.format, f.placement, f.capture_mode) for f in report.files] == [("PNG", "inline", "parser+hooks")]
    assert report.disagreements == ["Disagreement at 'ai_info.runtime.nodes.4.inputs.value': parser=20 → runtime=25"]
    assert report.message().startswith("metadata check passed: 1 file(s)\nparser/runtime disagreements")


# -- inline limit and sidecar ----------------------------------------------------------------------
def test_data_past_the_limit_must_be_in_a_sidecar(tmp_path: Path) -> None:
    path = write(tmp_path, limit=32)
    size = len(json.dumps(read_metadata(path).json("ai_info")["runtime"], separators=(",", ":")))
    assert only(check_metadata(path, inline_limit_kb=0.5, env={})) == (
        f"{path}: ai_info.runtime: holds {size:,} bytes ({size / 1024:.1f} KiB) inline, over the inline limit of "
        "0.5 KiB; fix: past the limit, write the runtime data to a sidecar file and keep prompt_id, capture_mode and "
        "sidecar {path, size, sha256} inline")


def test_data_within_the_limit_must_be_inline(tmp_path: Path) -> None:
    path = write(tmp_path, limit=0)
    assert (tmp_path / "x.png.runtime.json").is_file()
    assert check_metadata(path, inline_limit_kb=0, env={}).ok
    message = only(check_metadata(path, env={}))
    assert message.startswith(f"{path}: ai_info.runtime.sidecar: the runtime data is ")
    assert message.endswith("within the inline limit of 32 KiB, yet it is in a sidecar; fix: keep runtime data up to "
                            "the limit inline (a sidecar only past it)")


def _sidecar_case(tmp_path: Path, case: str) -> Path:
    path = write(tmp_path, limit=0)
    sidecar = tmp_path / "x.png.runtime.json"
    data = sidecar.read_bytes()
    if case == "missing":
        sidecar.unlink()
    elif case == "wrong_hash":
        assert data.count(b'"duration_s":0.01') == 3
        sidecar.write_bytes(data.replace(b'"duration_s":0.01', b'"duration_s":0.02'))
    elif case == "wrong_size":
        sidecar.write_bytes(data + b"\n")
    elif case == "invalid_json":
        broken = data[:40]
        sidecar.write_bytes(broken)
        stub = {"version": 1, "prompt_id": "p1", "capture_mode": "parser+hooks", "sidecar": {
            "path": "x.png.runtime.json", "size": len(broken), "sha256": hashlib.sha256(broken).hexdigest()}}
        write(tmp_path, place=lambda section, limit, name: (stub, None))
    return path


SIDECAR_CASES = {
    "missing": ("ai_info.runtime.sidecar.path: names 'x.png.runtime.json', which does not exist (looked for "
                "{dir}/x.png.runtime.json); fix: write the sidecar next to the image (before the image), or keep the "
                "runtime data inline"),
    "wrong_hash": ("ai_info.runtime.sidecar.sha256: is {old}…, but the SHA-256 of x.png.runtime.json is {new}… (the "
                   "sidecar changed after it was hashed, or other bytes were hashed); fix: hash exactly the bytes "
                   "written to the sidecar"),
    "invalid_json": ("sidecar x.png.runtime.json: is not valid JSON (Unterminated string starting at: line 1 column "
                     "31 (char 30)); fix: write json.dumps of the runtime data into the sidecar, completely"),
}


@pytest.mark.parametrize("case", list(SIDECAR_CASES))
def test_a_bad_sidecar_is_one_message(tmp_path: Path, case: str) -> None:
    path = _sidecar_case(tmp_path, case)
    stub = read_metadata(path).json("ai_info")["runtime"]["sidecar"]
    sidecar = tmp_path / "x.png.runtime.json"
    new = hashlib.sha256(sidecar.read_bytes()).hexdigest() if sidecar.exists() else ""
    expected = SIDECAR_CASES[case].format(dir=tmp_path, old=stub["sha256"][:16], new=new[:16])
    assert only(check_metadata(path, inline_limit_kb=0, env={})) == f"{path}: {expected}"


def test_a_sidecar_of_another_size_is_named(tmp_path: Path) -> None:
    report = check_metadata(_sidecar_case(tmp_path, "wrong_size"), inline_limit_kb=0, env={})
    assert [p.field for p in report.problems] == ["ai_info.runtime.sidecar.size", "ai_info.runtime.sidecar.sha256"]
    assert report.problems[0].problem.endswith("but x.png.runtime.json has " +
                                               f"{(tmp_path / 'x.png.runtime.json').stat().st_size:,} bytes")


# -- sections that are missing or malformed ------------------------------------------------------
def test_a_file_without_a_runtime_section(tmp_path: Path) -> None:
    path = tmp_path / "plain.png"
    path.write_bytes(png_bytes(4, 4, [bytes(12)] * 4, [("prompt", "{}")]))
    assert only(check_metadata(path, env={})) == (
        f"{path}: ai_info.runtime: is not in the file (no 'ai_info' entry in any text chunk, EXIF tag, XMP or "
        "comment); fix: write ai_info = {\"runtime\": {...}} as a text chunk (see `comfyruntime schema metadata`)")


@pytest.mark.parametrize("text, message", [
    ('{"runtime": {"version": 1,', "PNG tEXt chunk 'ai_info': is not valid JSON (Expecting property name enclosed in "
     "double quotes at line 1 column 27); fix: write json.dumps(value) into it, completely"),
    ('{"generation": {}}', "PNG tEXt chunk 'ai_info': ai_info.runtime: is missing (ai_info has ['generation']); fix: "
     "write the section as the schema says (`comfyruntime schema metadata` prints it)"),
    (json.dumps({"runtime": {"version": 1, "prompt_id": "p", "capture_mode": "parser", "nodes": {},
                             "hook_stats": {"calls": -1, "total_s": 0, "max_s": 0}}}),
     "ai_info.runtime.hook_stats.calls: Input should be greater than or equal to 0 (got -1); fix: write the section "
     "as the schema says (`comfyruntime schema metadata` prints it)"),
])
def test_a_malformed_section_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "m.png"
    path.write_bytes(png_bytes(4, 4, [bytes(12)] * 4, [("ai_info", text)]))
    assert only(check_metadata(path, env={})) == f"{path}: {message}"


# -- secrets ---------------------------------------------------------------------------------------
def _blob(prefix: str) -> str:
    return base64.b64encode(json.dumps({"pad": prefix, "key": SECRET}).encode()).decode()


ENCODED = [
    ("raw", f'{{"api_key": "{SECRET}"}}', ""),
    ("json_escaped", json.dumps({"note": f'quote " {SECRET}\u00e9'}), ", JSON-escaped"),
    ("url_encoded", "https://x/?k=" + quote(SECRET, safe=""), ", URL-encoded"),
    ("base64_alone", base64.b64encode(SECRET.encode()).decode(), ", base64-encoded"),
    ("base64_blob_0", _blob(""), ", base64-encoded"),
    ("base64_blob_1", _blob("a"), ", base64-encoded"),
    ("base64_blob_2", _blob("ab"), ", base64-encoded"),
    ("base64_urlsafe", base64.urlsafe_b64encode(b"xx" + SECRET.encode()).decode(), ", base64-encoded"),
]


@pytest.mark.parametrize("text, how", [e[1:] for e in ENCODED], ids=[e[0] for e in ENCODED])
def test_a_forbidden_value_is_found_however_it_is_encoded(tmp_path: Path, text: str, how: str) -> None:
    path = write(tmp_path, extra_text=[("dump", text)])
    assert only(check_metadata(path, forbid=(SECRET,), env={})) == (
        f"{path}: PNG tEXt chunk 'dump': holds the value of forbid[0] (sk-l… (33 chars){how}): a secret is leaked; "
        "fix: keep this value out of everything the save node writes")
    assert check_metadata(path, env={}).ok


def test_a_token_from_the_environment_in_the_prompt_chunk_and_the_sidecar(tmp_path: Path) -> None:
    token = "ghp_abcdefghijklmnopqrstuvwxyz0123"
    prompt = {**PROMPT, "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": token}}}
    path = write(tmp_path, limit=0, prompt=prompt, section=build_runtime_section(record(label=token), prompt,
                                                                               prompt_id="p1"))
    report = check_metadata(path, inline_limit_kb=0, env={"MY_SERVICE_TOKEN": token, "HOME": "/root"})
    leaked = "holds the value of environment variable MY_SERVICE_TOKEN (ghp_… (34 chars)): a secret is leaked"
    assert [(p.kind, p.field, p.problem, p.fix) for p in report.problems] == [
        ("secret", where, leaked, "never write environment variables into metadata")
        for where in ("PNG tEXt chunk 'prompt'", "sidecar x.png.runtime.json")]


def test_a_secret_outside_every_chunk_read_is_found_in_the_bytes(tmp_path: Path) -> None:
    data = bytearray(write(tmp_path).read_bytes())
    at = data.index(b"IEND") - 4
    body = SECRET.encode()
    data[at:at] = struct.pack(">I", len(body)) + b"zzZz" + body + struct.pack(">I", zlib.crc32(b"zzZz" + body))
    path = tmp_path / "x.png"
    path.write_bytes(bytes(data))
    assert only(check_metadata(path, forbid=(SECRET,), env={})).startswith(
        f"{path}: the file's bytes (outside the chunks read): holds the value of forbid[0]")


def test_what_counts_as_a_secret() -> None:
    env = {"GITHUB_TOKEN": "ghs_0123456789abcdef", "AWS_SECRET_ACCESS_KEY": "abc/def+ghi0123456789",
           "SSH_AUTH_SOCK": "/tmp/ssh-XXXX/agent.1", "MY_PASSWORD": "short", "HF_AUTH_ENABLED": "true",
           "DB_PASSWD": "aaaaaaaaaaaa", "PATH": "/usr/bin:/bin", "API_KEY_FILE": "/", "AUTH_MODE": "standard-mode",
           "SECRET_NOTE": "two words here", "ACCESS_KEY": "Short1"}
    found = secrets_from({"api_key_comfy_org": "comfyui-key-1", "auth_token_comfy_org": None, "other": "x" * 20},
                         ("mine",), env)
    assert found == [Secret("comfyui-key-1", "extra_data['api_key_comfy_org']"), Secret("mine", "forbid[0]"),
                     Secret("abc/def+ghi0123456789", "environment variable AWS_SECRET_ACCESS_KEY"),
                     Secret("ghs_0123456789abcdef", "environment variable GITHUB_TOKEN")]
    assert [name for name, _ in encodings("abc")] == ["raw"]


# -- values ----------------------------------------------------------------------------------------
def test_values_against_expect_give_a_per_field_diff(tmp_path: Path) -> None:
    path = write(tmp_path, section=build_runtime_section(record(value=20), PROMPT, prompt_id="p1"))
    message = only(check_metadata(path, expect={"4": {"value": 25, "label": "steps"}, "2": {"class_type": "CRInt",
                                                                                           "extra": 1}}, env={}))
    assert message == (
        f"{path}: ai_info.runtime.nodes: differs from what the executor ran (judged by expect):\n"
        "nodes.4.inputs.value: file 20, run 25 (the parsed value: what a parser reads from the prompt; at run time "
        "the executor resolved 25)\nnodes.2.inputs.extra: missing, expected 1; fix: write the values the executor "
        "resolved for this prompt (the capture's session for this prompt id), preferring runtime values over parsed "
        "ones")


def test_the_section_must_agree_with_its_own_prompt_chunk(tmp_path: Path) -> None:
    section = build_runtime_section(record(), PROMPT, prompt_id="p1")
    section["nodes"]["2"]["inputs"]["value"] = 26
    section["nodes"]["9"] = {"class_type": "CRInt", "inputs": {}}
    section["execution_order"].append("9")
    message = only(check_metadata(write(tmp_path, section=section), env={}))
    assert message.endswith("differs from what the executor ran (judged by the run's prompt (constant inputs only)):\n"
                            "nodes.2.inputs.value: file 26, run 25\nnodes.9: no node '9' in this run's prompt (values "
                            "of another prompt?); fix: write the values the executor resolved for this prompt (the "
                            "capture's session for this prompt id), preferring runtime values over parsed ones")


def test_order_and_nodes_that_did_not_run_are_named(tmp_path: Path) -> None:
    section = build_runtime_section(record(), PROMPT, prompt_id="p1")
    section["execution_order"] = ["1", "3", "2", "4"]  # node 1 is on the branch the switch did not take
    section["nodes"] = {"1": {"class_type": "CRInt", "inputs": {"value": 20}}, **section["nodes"]}
    report = check_metadata(write(tmp_path, section=section), expect=record(), env={})
    assert [(p.kind, p.field, p.problem) for p in report.problems] == [
        ("order", "ai_info.runtime.execution_order", "is ['1', '3', '2', '4'], but the run executed ['2', '3', '4'] "
         "up to the saving node (not executed before the file was saved: ['1'])"),
        ("values", "ai_info.runtime.nodes", "differs from what the executor ran (judged by the capture's session of "
         "prompt 'p1'):\nnodes.1: given runtime inputs, but it did not execute in this run (cached, or on a branch a "
         "switch did not take)")]


def test_a_logged_disagreement_must_be_true_and_win(tmp_path: Path) -> None:
    section = build_runtime_section(record(), PROMPT, prompt_id="p1")
    section["nodes"]["4"]["inputs"]["value"] = 20
    report = check_metadata(write(tmp_path, section=section), expect=record(), env={})
    assert [(p.kind, p.field) for p in report.problems] == [("values", "ai_info.runtime.nodes"),
                                                            ("disagreement", "ai_info.runtime.nodes.4.inputs.value")]
    assert report.problems[1].problem == ("is 20, the parser's value, though the disagreement logged says "
                                          "runtime=25")


def test_a_parser_mode_file_is_not_failed_for_what_a_parser_cannot_know(tmp_path: Path) -> None:
    section = build_runtime_section(None, PROMPT, prompt_id=None)
    assert section["nodes"]["4"]["inputs"] == {"value": 20, "label": "steps"}
    report = check_metadata(write(tmp_path, section=section), expect=record(), env={})
    assert report.ok and report.files[0].capture_mode == "parser", report.message()
    assert report.disagreements == ["Disagreement at 'ai_info.runtime.nodes.4.inputs.value': parser=20 → runtime=25"]


def test_the_executed_outputs_metadata_entry_must_match_the_file(tmp_path: Path) -> None:
    meta = read_metadata(write(tmp_path))
    found: list[tuple] = []
    check_executed_metadata(meta, {"metadata": {"kind": "image", "width": 8, "height": 8}}, lambda *a: found.append(a))
    assert found == []
    check_executed_metadata(meta, {"metadata": {"kind": "video", "width": 16, "height": 8}}, lambda *a: found.append(a))
    assert [f[1:3] for f in found] == [("the executed output's metadata.width", "is 16, the file is 8x8"),
                                       ("the executed output's metadata.kind", "is 'video' for a PNG image")]


# -- arguments -------------------------------------------------------------------------------------
@pytest.mark.parametrize("args, message", [
    ({"forbid": "key"}, "forbid='key' is one string; fix: pass a tuple, forbid=('key',)"),
    ({"inline_limit_kb": -1}, "inline_limit_kb=-1; fix: pass a number of KiB, 0 or more (default 32)"),
    ({"expect": 3}, "assert_metadata(expect=...) got int; fix: pass a RunWitness, the reference capture's "
     "PromptCapture, or {node_id: {input: value}}"),
    ({"forbid": ("",)}, "forbid[0] is ''; fix: pass non-empty strings, e.g. forbid=('my-api-key',)"),
])
def test_wrong_arguments_fail_saying_what_to_pass(tmp_path: Path, args: dict, message: str) -> None:
    with pytest.raises(pytest.fail.Exception) as caught:
        assert_metadata(write(tmp_path), **args)
    assert caught.value.msg == f"assert_metadata: {message}"
    with pytest.raises(pytest.fail.Exception, match="fix: pass the image's path or the RunResult"):
        assert_metadata(42)


def test_assert_metadata_fails_with_the_report_and_returns_it_when_all_is_well(tmp_path: Path) -> None:
    assert assert_metadata(write(tmp_path), expect=record()).ok
    with pytest.raises(pytest.fail.Exception) as caught:
        assert_metadata(write(tmp_path, name="y.png"), expect=record(value=24))
    assert caught.value.msg.startswith("metadata check failed: 2 problem(s) in 1 file(s)\n  - ")
    assert "nodes.4.inputs.value: file 25, run 24" in caught.value.msg
    assert not caught.value.pytrace


def test_a_witness_restores_the_profiler_it_found() -> None:
    import sys

    calls = []

    def profiler(frame, event, arg):
        calls.append(event)

    witness = RunWitness()
    sys.setprofile(profiler)
    try:
        with witness:
            len("x")
            with pytest.raises(RuntimeError, match="already watching"):
                witness.__enter__()
        assert sys.getprofile() is profiler and "c_call" in calls and witness.inputs == {}
    finally:
        sys.setprofile(None)

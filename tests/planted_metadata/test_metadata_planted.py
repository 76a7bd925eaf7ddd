"""Each planted save node (``planted_savers.py``) is caught by ``comfyruntime.assert_metadata``
with the message that names its fault; the reference node, run the same way, passes."""
from __future__ import annotations

import re

import planted_savers
import pytest
from metadata_prompts import txt2img

from pytest_comfyruntime.metadata import RunWitness, check_metadata

API_KEY = {"client_id": "comfyruntime", "api_key_comfy_org": "comfyui-0123456789abcdef0123456789abcdef"}
LEAK_FIX = ("never write extra_data (ComfyUI merges the Comfy.org API key and token back into it) nor hidden "
            "API_KEY_COMFY_ORG / AUTH_TOKEN_COMFY_ORG inputs; drop auth_token_comfy_org, api_key_comfy_org before "
            "saving")
ID = r"comfyruntime-metadata-\d+-\d-[0-9a-f]{8}"
RERUN = rf"canary rerun (\d) of 2, prompt {ID}"

#: saver -> (prompt options, check's inline limit, [(field, problem, fix)]): field and problem are regular
#: expressions, matched against the message's lines ("  - <file>: <field>: <problem>; fix: <fix> [<rerun>]").
FAULTS = {
    "PlantedDumpsExtraData": ({}, 32, [
        (re.escape(f"PNG tEXt chunk '{chunk}'"), rf"holds the value of extra_data\['{key}'\] \(comf… \(\d+ chars\)"
         rf"{how}\): a secret is leaked", LEAK_FIX)
        for chunk, how in (("extra_data", ""), ("extra_data_b64", ", base64-encoded"))
        for key in ("auth_token_comfy_org", "api_key_comfy_org")]),
    "PlantedPreviousPrompt": ({}, 32, [
        (re.escape("ai_info.runtime.prompt_id"), rf"is '[^']+', but this run's prompt id is '{ID}': the metadata "
         r"describes another prompt \(its execution order and values were not compared\)",
         "read the session of the running prompt (keyed by the prompt_id ComfyUI passes to execute), never one kept "
         "from an earlier prompt"),
        (r"""\["PNG tEXt chunk 'ai_info'"\]\['runtime'\]\['nodes'\]\['\d+'\]\['inputs'\]\['text'\]""",
         rf"holds 'cnry\d+-00000-\d{{3}}a', which came from prompt '{ID}' \(canary of node \d+ CLIPTextEncode, input "
         r"'text'\) \(and \d+ more field\(s\) from that prompt\)", "write only the running prompt's data: read its "
         "session by its own prompt id and keep nothing from an earlier prompt")]),
    "PlantedIgnoresInlineLimit": ({"inline_limit_kb": 1}, 1, [
        (re.escape("ai_info.runtime"), r"holds 1,\d{3} bytes \(1\.\d KiB\) inline, over the inline limit of 1 KiB",
         "past the limit, write the runtime data to a sidecar file and keep prompt_id, capture_mode and sidecar "
         "{path, size, sha256} inline")]),
    "PlantedWrongSidecarHash": ({"inline_limit_kb": 1}, 1, [
        (re.escape("ai_info.runtime.sidecar.sha256"), r"is [0-9a-f]{16}…, but the SHA-256 of meta_\d{5}_\.png\."
         r"runtime\.json is [0-9a-f]{16}… \(the sidecar changed after it was hashed, or other bytes were hashed\)",
         "hash exactly the bytes written to the sidecar")]),
    "PlantedParsedValues": ({"switch": True}, 32, [
        (re.escape("ai_info.runtime.nodes"), r"differs from what the executor ran \(judged by the RunWitness that "
         r"watched the run\):\n    (.*\n    )?nodes\.\d+ \(node 3 of the prompt checked\)\.inputs\.steps: file 20, "
         r"run 25 \(the parsed value: what a parser reads from the prompt; at run time the executor resolved 25\)",
         "write the values the executor resolved for this prompt (the capture's session for this prompt id), "
         "preferring runtime values over parsed ones")]),
}


@pytest.mark.parametrize("saver", list(FAULTS))
def test_each_planted_fault_is_caught_with_its_message(savers, comfy_executor, comfyruntime, saver: str) -> None:
    options, limit, expected = FAULTS[saver]
    if saver == "PlantedDumpsExtraData":
        planted_savers.keep_extra_data(savers)
    result = comfy_executor.run(txt2img(saver, **options), extra_data=API_KEY)
    with pytest.raises(pytest.fail.Exception) as caught:
        comfyruntime.assert_metadata(result, inline_limit_kb=limit)
    message = caught.value.msg
    assert message.startswith("metadata check failed: ") and not caught.value.pytrace
    for field, problem, fix in expected:
        line = rf"  - /\S+/meta_\d{{5}}_\.png: {field}: {problem}; fix: {re.escape(fix)}( \[{RERUN}\])?$"
        assert re.search(line, message, re.M | re.S), (line, message)
    kinds = {"PlantedDumpsExtraData": "secret", "PlantedPreviousPrompt": "another prompt"}
    if saver in kinds:  # only the canary reruns can plant the secret and the second prompt
        assert "[canary rerun" in message


@pytest.mark.parametrize("saver", ["ComfyRuntimeSaveImage"])
def test_the_reference_node_passes_the_same_runs(savers, comfy_executor, comfyruntime, saver: str) -> None:
    planted_savers.keep_extra_data(savers)  # a hook that keeps extra_data is harmless if nothing writes it
    for options, limit in (({}, 32), ({"inline_limit_kb": 1}, 1), ({"switch": True}, 32)):
        result = comfy_executor.run(txt2img(saver, **options), extra_data=API_KEY)
        report = comfyruntime.assert_metadata(result, inline_limit_kb=limit)
        assert report.reruns == 2 and len(report.files) == 3 and not report.notes, report.message()


def test_without_the_fixture_a_witness_catches_the_faults_in_the_run_itself(savers, comfy_executor) -> None:
    planted_savers.keep_extra_data(savers)
    with RunWitness() as seen:
        leaked = comfy_executor.run(txt2img("PlantedDumpsExtraData"), extra_data=API_KEY)
    with RunWitness() as parsed_seen:
        parsed = comfy_executor.run(txt2img("PlantedParsedValues", switch=True), extra_data=API_KEY)
    report = check_metadata(leaked, expect=seen)
    assert {(p.kind, p.field) for p in report.problems} == {("secret", "PNG tEXt chunk 'extra_data'"),
                                                            ("secret", "PNG tEXt chunk 'extra_data_b64'")}
    assert "values of another prompt: no canary reruns" in report.message()
    report = check_metadata(parsed, expect=parsed_seen)
    assert [p.kind for p in report.problems] == ["values"]
    assert "nodes.3.inputs.steps: file 20, run 25 (the parsed value" in report.problems[0].problem
    assert report.disagreements == ["Disagreement at 'ai_info.runtime.nodes.3.inputs.steps': parser=20 → runtime=25"]
    assert check_metadata(parsed).ok  # without a witness, a linked input cannot be judged: the note says so
    assert "linked inputs of the run checked: no" in check_metadata(parsed).message()

"""The engines behind the checks, without pytester: canaries, scanning, tracing, counting."""
from __future__ import annotations

import dataclasses
import json
import sys

import pytest
from pydantic import BaseModel

from pytest_comfyruntime.checks.canaries import CanaryPlan, _Planned, scan, walk
from pytest_comfyruntime.checks.hooks_active import CallCounter, installed_since
from pytest_comfyruntime.checks.lookups import LookupTracer, Watched
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS
from pytest_comfyruntime.nodes._png import write_png

USER = {"7": {"class_type": "CRString", "inputs": {"value": "a cat"}},
        "9": {"class_type": "CRInt", "inputs": {"value": 3}},
        "12": {"class_type": "CRJoin", "inputs": {"a": ["7", 0], "b": "", "separator": ","}},
        "13": {"class_type": "CRRecord", "inputs": {"value": ["12", 0], "label": "out"}}}


def plan_two() -> tuple[CanaryPlan, list[_Planned]]:
    plan = CanaryPlan(TEST_NODE_CLASS_MAPPINGS, salt=1234)
    planned = []
    for g in range(2):
        prompt, expected = plan.build(g, f"p{g}", USER, branch=True)
        planned.append(_Planned(f"p{g}", "a: test", g, prompt, expected))
    return plan, planned


def test_canaries_renumber_nodes_and_mark_every_string_widget() -> None:
    plan, (first, second) = plan_two()
    ids = list(first.prompt)
    assert ids[:4] == ["123400000001", "123400000002", "123400000003", "123400000004"]
    assert not set(first.prompt) & set(second.prompt)
    assert first.prompt["123400000001"]["inputs"]["value"] == "a cat cnry1234-00000-001a"
    assert first.prompt["123400000002"]["inputs"]["value"] == 9123400000002  # CR ints carry a number canary
    assert first.prompt["123400000003"]["inputs"] == {"a": ["123400000001", 0], "b": "cnry1234-00000-003b",
                                                      "separator": ", cnry1234-00000-003c"}
    assert first.prompt["123400000004"]["inputs"]["label"] == "out cnry1234-00000-004b"
    assert [n["class_type"] for n in list(first.prompt.values())[4:]] == ["CRString", "CRRecord", "CRJoin", "CRRecord"]
    assert plan.origin("str", 0, 3, "b").field == "b" and plan.origin("id", 1, 2).prompt_id == "p1"


def test_scan_names_field_value_and_source_prompt() -> None:
    plan, (first, second) = plan_two()
    data = {"prompt_id": "p1", "inputs": {"123400001001": {"value": "a cat cnry1234-00001-001a"},
                                          "123400000004": {"text": json.dumps({"label": "cnry1234-00000-004b"})}},
            "ids": [123400000002], "seed": 9123400000002}
    problems = scan(plan, second, data)
    text = [str(p) for p in problems]
    assert "prompt 'p1' (mode a: test): field ['inputs'][ '123400000004'] (a key)".replace("[ ", "[") in text[0]
    assert any("field ['inputs']['123400000004']['text'] holds 'cnry1234-00000-004b', which came from prompt 'p0' "
               "(canary of node 123400000004 CRRecord, input 'label')" in t for t in text)
    assert any("field ['ids'][0] holds '123400000002', which came from prompt 'p0' (node id of node 123400000002 CRInt)"
               in t for t in text)
    assert any("field ['seed'] holds '9123400000002', which came from prompt 'p0' (canary number of node "
               "123400000002 CRInt, input 'value')" in t for t in text)
    assert not any(p.kind == "its own data is missing" for p in problems)
    assert [p.kind for p in scan(plan, second, None)] == ["its own data is missing"]
    assert "none of its canaries" in str(scan(plan, second, {"x": "nothing"})[0])


def test_scan_reads_files_and_png_text(tmp_path) -> None:
    plan, (first, second) = plan_two()
    png = tmp_path / "p1.png"
    write_png(png, 1, 1, [b"\x00\x00\x00"], text=[("prompt", json.dumps({"x": "cnry1234-00000-001a cnry1234-00001-001a"}))])
    problems = scan(plan, second, [png])
    assert len(problems) == 1 and "(file " in problems[0].field and problems[0].source_prompt == "p0"


def test_walk_understands_models_dataclasses_objects_and_cycles() -> None:
    class M(BaseModel):
        a: str

    @dataclasses.dataclass
    class D:
        b: int

    class Obj:
        def __init__(self) -> None:
            self.c = "x"
            self.me = self

    leaves = dict(walk({"m": M(a="1"), "d": D(b=2), "o": Obj()}))
    assert leaves["['m']['a']"] == "1" and leaves["['d']['b']"] == 2 and leaves["['o'].__dict__['c']"] == "x"


def test_lookup_tracer_chains_the_tracer_already_installed() -> None:
    seen = []

    def previous(frame, event, arg):
        seen.append((frame.f_code.co_name, event))
        return previous

    def probe():
        return getattr(sys, "no_such_attribute_here", None)

    old = sys.gettrace()
    sys.settrace(previous)
    try:
        with LookupTracer(Watched()):
            probe()
        after = sys.gettrace()
    finally:
        sys.settrace(old)
    assert after is previous and ("probe", "call") in seen and ("probe", "return") in seen


def test_call_counter_counts_and_chains_the_profiler() -> None:
    def target():
        return 1

    calls = []
    old = sys.getprofile()
    sys.setprofile(lambda frame, event, arg: calls.append(event))
    try:
        with CallCounter({target.__code__: "target"}) as counter:
            target()
            target()
        assert sys.getprofile() is not counter._profile
    finally:
        sys.setprofile(old)
    assert counter.calls == {"target": 2} and "call" in calls


def test_the_isolation_assertion_accepts_bundled_workflows(comfyruntime, comfy_workflow) -> None:
    from pytest_comfyruntime import capture

    assert capture.enable_hooks(comfyruntime._ctx.execution)
    try:
        report = comfyruntime.assert_session_isolation(capture.get_session, prompts=[comfy_workflow("txt2img")],
                                                       threads=2, repeats=2)
    finally:
        capture.disable_hooks()
    assert report.prompts == {"a": 4, "b": 2, "c": 4}


def test_installed_since_names_replaced_and_added(comfy_execution_module, request) -> None:
    from pytest_comfyruntime.runtime import CONTEXT_KEY

    snapshot = request.node.stash[CONTEXT_KEY].snapshot
    original = comfy_execution_module.get_input_data
    comfy_execution_module.get_input_data = lambda *a: original(*a)
    comfy_execution_module.PromptExecutor.pre_execute = lambda self: None
    try:
        found = {i.where: i.added for i in installed_since(snapshot)}
    finally:
        comfy_execution_module.get_input_data = original
        del comfy_execution_module.PromptExecutor.pre_execute
    assert found == {"execution.get_input_data": False, "execution.PromptExecutor.pre_execute": True}


@pytest.mark.parametrize("name", ["execution", "execution.PromptExecutor", "comfy_execution.graph.ExecutionList"])
def test_watched_resolves_comfyui_names(comfy_execution_module, comfy_executor, name) -> None:
    if comfy_executor.era == "A" and name.startswith("comfy_execution"):
        pytest.skip("era A has no comfy_execution package")
    obj = Watched().get(name)
    assert obj is not None and Watched().name_of(obj) == name

"""The reference capture on the mock: what it records, how it refuses, fails, and lets go."""
from __future__ import annotations

import logging
import threading

import pytest

from pytest_comfyruntime.capture import RuntimeCapture
from pytest_comfyruntime.capture import _capture as capture_module

FOUR = {"1": {"class_type": "CRInt", "inputs": {"value": 2}},
        "2": {"class_type": "CRString", "inputs": {"value": "hello"}},
        "3": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["1", 0]}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "sum"}},
        "5": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": "text"}}}


@pytest.fixture
def capture(comfy_execution_module):
    cap = RuntimeCapture()
    originals = (comfy_execution_module.PromptExecutor.__dict__.copy(), comfy_execution_module.get_input_data)
    yield cap
    cap.disable()
    assert comfy_execution_module.get_input_data is originals[1]


def targets(execution) -> tuple:
    return vars(execution.PromptExecutor)["execute"], vars(execution.PromptExecutor).get("execute_async"), \
        execution.get_input_data


def test_records_order_scalars_timings_and_counters(capture, comfy_execution_module, comfy_executor) -> None:
    assert capture.enable(comfy_execution_module) is True
    result = comfy_executor.run(FOUR, prompt_id="p1")
    record = capture.get_session("p1")
    assert record.prompt_id == "p1" and record.complete and record.error is None
    assert record.order == result.executed_nodes
    assert record.inputs["3"] == {"class_type": "CRAdd", "a": 2, "b": 2}
    assert record.inputs["5"] == {"class_type": "CRRecord", "value": "hello", "label": "text", "unique_id": "5"}
    assert all(n.duration_s is not None and n.duration_s >= 0 for n in record.nodes.values())
    assert record.stats.calls >= 6 and record.stats.total_s >= record.stats.max_s > 0
    assert record.executor_id == id(comfy_executor.executor) and record.duration_s > 0


def test_sessions_are_keyed_by_the_prompt_id_and_consumed_once(capture, comfy_execution_module,
                                                               comfy_executor) -> None:
    capture.enable(comfy_execution_module)
    edited = {**FOUR, "1": {"class_type": "CRInt", "inputs": {"value": 40}}}
    comfy_executor.run(FOUR, prompt_id="a")
    comfy_executor.run(edited, prompt_id="b")
    assert capture.get_session("a").inputs["1"]["value"] == 2
    assert capture.get_session("b").inputs["1"]["value"] == 40
    assert "2" not in capture.get_session("b").inputs  # cached in b: it never ran there
    assert capture.consume_session("a").prompt_id == "a"
    assert capture.consume_session("a") is None and capture.session_ids() == ["b"]


def test_only_scalars_are_kept(capture, comfy_execution_module, comfy_executor, comfy_nodes) -> None:
    class Tensorish:
        shape = (1, 4, 64, 64)

    class MakeBlob:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"seed": ("INT", {"default": 1})}}
        RETURN_TYPES = ("LATENT",)
        FUNCTION = "run"

        def run(self, seed):
            return (Tensorish(),)

    class UseBlob:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"latent": ("LATENT",), "note": ("STRING", {"default": ""})}}
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        def run(self, latent, note):
            return {"ui": {"note": [note]}}

    comfy_nodes.add("MakeBlob", MakeBlob)
    comfy_nodes.add("UseBlob", UseBlob)
    capture.enable(comfy_execution_module)
    long_note = "x" * 5000
    comfy_executor.run({"1": {"class_type": "MakeBlob", "inputs": {"seed": 7}},
                        "2": {"class_type": "UseBlob", "inputs": {"latent": ["1", 0], "note": long_note}}},
                       prompt_id="blob")
    node = capture.get_session("blob").nodes["2"]
    assert node.skipped == ["latent"] and "latent" not in node.inputs
    assert node.inputs["note"].endswith("…[+904 chars]") and len(node.inputs["note"]) < 4200


def test_is_changed_calls_are_not_node_executions(capture, comfy_execution_module, comfy_executor) -> None:
    capture.enable(comfy_execution_module)
    prompt = {"1": {"class_type": "CRChanging", "inputs": {"value": 1, "token": "t"}},
              "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}
    result = comfy_executor.run(prompt, prompt_id="ch")
    assert capture.get_session("ch").order == result.executed_nodes


def test_conflict_refuses_and_touches_nothing(capture, comfy_execution_module, comfy_executor) -> None:
    original = comfy_execution_module.get_input_data

    def other_extension(*args, **kwargs):
        return original(*args, **kwargs)

    comfy_execution_module.get_input_data = other_extension
    try:
        before = targets(comfy_execution_module)
        assert capture.enable(comfy_execution_module) is False
        assert targets(comfy_execution_module) == before
        status = capture.status()
        assert status.conflict and not status.enabled and status.patched == []
        assert status.reason == ("conflict: execution.get_input_data is already wrapped by test_capture."
                                 "test_conflict_refuses_and_touches_nothing.<locals>.other_extension: another "
                                 "extension hooks it, so nothing was patched")
        comfy_executor.run(FOUR, prompt_id="p")
        assert capture.get_session("p") is None
    finally:
        comfy_execution_module.get_input_data = original
    assert capture.enable(comfy_execution_module) is True  # the conflict is gone


def test_missing_required_target_refuses(capture) -> None:
    import types

    fake = types.ModuleType("execution")

    class PromptExecutor:
        def execute(self, prompt, prompt_id, extra_data=None, execute_outputs=None):
            pass

    PromptExecutor.__module__ = "execution"
    fake.PromptExecutor = PromptExecutor
    assert capture.enable(fake) is False
    assert capture.status().missing == ["PromptExecutor.execute_async", "execution.get_input_data"]
    assert capture.status().reason == "this ComfyUI has no execution.get_input_data: nothing was patched"


def test_first_exception_disables_logs_once_and_keeps_the_result(capture, comfy_execution_module, comfy_executor,
                                                                  comfy_nodes, monkeypatch, caplog) -> None:
    baseline = comfy_executor.run(FOUR, prompt_id="base")
    capture.enable(comfy_execution_module)

    def broken(*args):
        raise ValueError("capture bug")

    monkeypatch.setattr(capture_module, "_class_type", broken)
    fresh = type(comfy_executor)(comfy_execution_module, comfy_executor.server, era=comfy_executor.era)
    with caplog.at_level(logging.ERROR, logger="pytest_comfyruntime.capture"):
        result = fresh.run(FOUR, prompt_id="hit")
        again = fresh.run({**FOUR, "1": {"class_type": "CRInt", "inputs": {"value": 9}}}, prompt_id="after")
    assert result.success and result.outputs == baseline.outputs and again.success
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "ValueError inside the execution.get_input_data hook: capture bug" in errors[0].message
    status = capture.status()
    assert status.auto_disabled and not status.enabled and status.patched == []
    assert status.reason == "auto-disabled after ValueError inside the execution.get_input_data hook: capture bug"
    assert targets(comfy_execution_module)[2] is vars(comfy_execution_module)["get_input_data"]
    assert "wrapper" not in repr(comfy_execution_module.get_input_data)
    assert capture.get_session("hit").error.startswith("ValueError") and capture.get_session("after") is None
    assert capture.enable(comfy_execution_module) is False  # stays off until disable() acknowledges it
    capture.disable()
    monkeypatch.undo()
    assert capture.enable(comfy_execution_module) is True


def test_teardown_restores_the_exact_objects_and_is_idempotent(capture, comfy_execution_module) -> None:
    before = targets(comfy_execution_module)
    assert capture.enable(comfy_execution_module) is True
    wrapped = targets(comfy_execution_module)
    assert all(w is not b for w, b in zip(wrapped, before) if b is not None)
    assert capture.enable(comfy_execution_module) is False and targets(comfy_execution_module) == wrapped
    assert capture.disable() is True and capture.disable() is True
    assert all(a is b for a, b in zip(targets(comfy_execution_module), before))


@pytest.mark.parametrize("keeps_reference", [True, False])
def test_a_wrapper_stacked_on_ours_is_never_removed(capture, comfy_execution_module, comfy_executor,
                                                    keeps_reference) -> None:
    original = comfy_execution_module.get_input_data
    capture.enable(comfy_execution_module)
    ours = comfy_execution_module.get_input_data

    def later_extension(*args, **kwargs):
        return ours(*args, **kwargs)

    if keeps_reference:
        later_extension.__wrapped__ = ours
    comfy_execution_module.get_input_data = later_extension
    assert capture.disable() is False
    assert comfy_execution_module.get_input_data is later_extension
    status = capture.status()
    assert status.left_installed == ["execution.get_input_data (under test_capture."
                                     "test_a_wrapper_stacked_on_ours_is_never_removed.<locals>.later_extension)"]
    comfy_executor.run(FOUR, prompt_id="inert")  # ours is a pass-through now
    assert capture.get_session("inert") is None
    assert capture.enable(comfy_execution_module) is False and capture.status().conflict
    comfy_execution_module.get_input_data = ours  # the later extension unhooks, putting ours back
    assert capture.disable() is True and comfy_execution_module.get_input_data is original


def test_someone_else_restoring_the_original_is_fine(capture, comfy_execution_module) -> None:
    original = comfy_execution_module.get_input_data
    capture.enable(comfy_execution_module)
    comfy_execution_module.get_input_data = original
    assert capture.disable() is True and capture.status().left_installed == []


def test_concurrent_executors_keep_their_own_sessions(capture, comfy_execution_module, comfy_executor) -> None:
    from pytest_comfyruntime.executor.harness import ExecutorHarness, RecordingServer

    capture.enable(comfy_execution_module)
    errors = []

    def work(t: int) -> None:
        harness = ExecutorHarness(comfy_execution_module, RecordingServer(), era=comfy_executor.era)
        for k in range(20):
            prompt = {f"{t}{k}1": {"class_type": "CRString", "inputs": {"value": f"v{t}-{k}"}},
                      f"{t}{k}2": {"class_type": "CRRecord", "inputs": {"value": [f"{t}{k}1", 0], "label": "l"}}}
            harness.run(prompt, prompt_id=f"t{t}-{k}")
            got = capture.get_session(f"t{t}-{k}")
            if got.inputs[f"{t}{k}1"]["value"] != f"v{t}-{k}" or set(got.order) != set(prompt):
                errors.append((t, k, got))

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == [] and len(capture.session_ids()) == 120


def test_old_sessions_are_dropped_beyond_the_limit(comfy_execution_module, comfy_executor, caplog) -> None:
    capture = RuntimeCapture(max_sessions=2)
    capture.enable(comfy_execution_module)
    try:
        for i in range(4):
            comfy_executor.run(FOUR, prompt_id=f"p{i}")
        assert capture.session_ids() == ["p2", "p3"]
        assert caplog.text.count("were never consumed") == 1
    finally:
        capture.disable()


def test_importing_the_capture_patches_nothing_and_loads_nothing_heavy() -> None:
    import subprocess
    import sys

    code = ("import sys; import pytest_comfyruntime.capture, pytest_comfyruntime.checks_plugin; "
            "print(sorted(m for m in ('torch','numpy','PIL','diffusers','execution','nodes') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_importing_the_capture_loads_no_harness_module() -> None:
    """What an extension does inside a running ComfyUI: ``import pytest_comfyruntime.capture``
    loads the capture (and pydantic, its models' base) and none of the harness; the package's
    public names still resolve, each on first use."""
    import json
    import subprocess
    import sys

    code = """
import json, sys
import pytest_comfyruntime.capture
loaded = sorted(m for m in sys.modules if m == "pytest" or m.startswith(("pytest_comfyruntime", "_pytest")))
import pytest_comfyruntime
resolved = {n: getattr(pytest_comfyruntime, n).__module__ for n in ("ExecutorHarness", "RuntimeChecks",
                                                                      "HooksActiveReport", "IsolationReport")}
missing = [n for n in pytest_comfyruntime.__all__ if not hasattr(pytest_comfyruntime, n)]
print(json.dumps({"loaded": loaded, "resolved": resolved, "missing": missing,
                  "listed": sorted(set(pytest_comfyruntime.__all__) - set(dir(pytest_comfyruntime)))}))
"""
    out = json.loads(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
    harness = [m for m in out["loaded"] if m != "pytest_comfyruntime" and not m.startswith("pytest_comfyruntime.capture")]
    assert harness == [], f"import pytest_comfyruntime.capture loaded harness modules: {harness}"
    for prefix in ("executor", "checks", "runtime", "plugin", "checks_plugin", "config", "workflows", "state"):
        assert not any(m.startswith(f"pytest_comfyruntime.{prefix}") for m in out["loaded"]), prefix
    assert "pytest_comfyruntime.capture._capture" in out["loaded"]
    assert out["resolved"] == {"ExecutorHarness": "pytest_comfyruntime.executor.harness",
                               "RuntimeChecks": "pytest_comfyruntime.checks.assertions",
                               "HooksActiveReport": "pytest_comfyruntime.checks.hooks_active",
                               "IsolationReport": "pytest_comfyruntime.checks.canaries"}
    assert out["missing"] == [] and out["listed"] == []


@pytest.mark.parametrize("era, patched", [
    ("A", ["PromptExecutor.execute", "execution.get_input_data"]),
    ("B", ["PromptExecutor.execute", "execution.get_input_data"]),
    ("C", ["PromptExecutor.execute", "PromptExecutor.execute_async", "execution.get_input_data"]),
    ("D", ["PromptExecutor.execute", "PromptExecutor.execute_async", "execution.get_input_data"]),
])
def test_each_era_gets_its_real_targets(pytester: pytest.Pytester, era, patched) -> None:
    pytester.makeini(f"[pytest]\ncomfyruntime_era = {era}\n")
    pytester.makepyfile(f'''
from pytest_comfyruntime.capture import RuntimeCapture

def test_it(comfy_execution_module, comfy_executor):
    capture = RuntimeCapture()
    assert capture.enable(comfy_execution_module)
    try:
        assert capture.status().patched == {patched!r}
        result = comfy_executor.run({FOUR!r}, prompt_id="p")
        record = capture.get_session("p")
        assert record.complete and record.order == result.executed_nodes
        assert record.inputs["4"] == {{"class_type": "CRRecord", "value": 4, "label": "sum", "unique_id": "4"}}
    finally:
        capture.disable()
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

"""Era D, ComfyUI of 2026, in the mock: what differs from era C, and the CacheProvider API.

The expectations come from READING ComfyUI's 2026 source (execution.py 04e2a914, main.py
02018c7e, comfy_execution/{caching 0c5058b9, graph 0b458120, cache_provider 3c8fef69,
asset_enrichment 228da558, media_enrichment 51a38a63}, comfy_api/latest 168efe45); no 2026
ComfyUI could be run to confirm them. The surface (names and signatures) is held to the record read
from the same source, pytest_comfyruntime/executor/signatures/D.json, in tests/test_mock_surface.py.
"""
from __future__ import annotations

import asyncio
import inspect
import sys

import pytest
from mockera import four_node, mock_era

NO_CLIENT: dict = {}


@pytest.fixture(params=["D-11", "D"])
def mock(request, tmp_path):
    """Both 2026 signatures: what they share (2026 caching, validation, hidden inputs, the
    CacheProvider API) runs through each one's own execution.py (test_era_d11.py has what differs)."""
    with mock_era(request.param, tmp_path) as m:
        yield m


@pytest.fixture
def mock_d(tmp_path):
    """Era D alone: the asset manager and what comes with it (12 parameters, copied UI, media metadata)."""
    with mock_era("D", tmp_path) as m:
        yield m


def _strip(data):
    return {k: v for k, v in data.items() if k != "timestamp"}


# -- the PromptExecutor and the per-node function ----------------------------------------------

def test_prompt_executor_surface(mock_d):
    execution = mock_d.execution
    params = inspect.signature(execution.PromptExecutor.__init__).parameters
    assert list(params) == ["self", "server", "cache_type", "cache_args", "asset_manager"]
    executor = mock_d.harness().executor
    assert isinstance(executor.asset_manager, execution.NoAssets) and executor.asset_manager.enabled is False
    assert executor.prompt_model_tracker is not None and executor.prompt_model_tracker.active is False
    assert executor.cache_args == {"lru": 0, "ram": 0, "ram_inactive": 0}  # main.py --cache-classic
    assert executor.cache_type is execution.CacheType.CLASSIC
    assert list(inspect.signature(execution.execute).parameters)[-1] == "asset_manager"
    assert len(inspect.signature(execution.execute).parameters) == 12
    assert not hasattr(execution.PromptExecutor, "pre_execute")


def test_an_eleven_parameter_wrapper_breaks_as_in_comfyui(mock_d):
    execution = mock_d.execution
    original = execution.execute

    async def era_c_wrapper(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                            execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs):
        return await original(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                              execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs)

    execution.execute = era_c_wrapper
    try:
        with pytest.raises(TypeError, match="takes 11 positional arguments but 12 were given"):
            mock_d.harness().run(four_node(), prompt_id="p1")
    finally:
        execution.execute = original


def test_a_variadic_wrapper_sees_the_asset_manager(mock_d):
    execution = mock_d.execution
    original, seen = execution.execute, []

    async def wrapper(*args, **kwargs):
        seen.append(len(args))
        return await original(*args, **kwargs)

    execution.execute = wrapper
    try:
        harness = mock_d.harness()
        assert harness.run(four_node(), prompt_id="p1").success
    finally:
        execution.execute = original
    assert seen == [12, 12, 12, 12]


# -- cache_args ------------------------------------------------------------------------------

@pytest.mark.parametrize("cache_args, error", [
    ({"lru": 0, "ram": 0}, KeyError),   # what era C's main.py passes
    (None, TypeError),                  # PromptExecutor(server)
])
def test_cache_args_are_read_at_the_start_of_every_prompt(mock, cache_args, error):
    execution, cp = mock.execution, sys.modules["comfy_execution.cache_provider"]
    provider = _Recorder()
    cp.register_cache_provider(provider)
    harness = mock.harness()
    harness.executor = execution.PromptExecutor(harness.server, cache_type=execution.CacheType.CLASSIC,
                                                cache_args=cache_args)
    with pytest.raises(error) as info:
        harness.run(four_node(), prompt_id="p1")
    if error is KeyError:
        assert info.value.args == ("ram_inactive",)
    else:
        assert "not subscriptable" in str(info.value)
    sent = [m.event for m in harness.recorder.messages() if m.event != "status"]  # queue updates aside
    assert sent == ["execution_start"]  # sent before the failing read; nothing after it
    assert [e for e, _ in harness.executor.status_messages] == ["execution_start"]
    # The read is outside execute_async's try: on_prompt_start ran, on_prompt_end never does.
    assert provider.calls == [("on_prompt_start", "p1")]
    assert harness.executor.prompt_model_tracker.active is True


@pytest.mark.parametrize("cache_type", ["CLASSIC", "LRU", "RAM_PRESSURE", "NONE"])
def test_every_cache_type_runs(mock, cache_type):
    execution = mock.execution
    harness = mock.harness()
    harness.executor = execution.PromptExecutor(harness.server, cache_type=execution.CacheType[cache_type],
                                                cache_args={"lru": 10, "ram": 0, "ram_inactive": 0})
    harness.run(four_node(), prompt_id="p1")
    again = harness.run(four_node(), prompt_id="p2")
    assert again.success and again.outputs["4"]["value"] == [5]
    assert sorted(again.cached_nodes) == ([] if cache_type == "NONE" else ["1", "2", "3", "4"])


def test_ram_pressure_evicts_older_prompts_when_ram_is_short(mock, monkeypatch):
    execution = mock.execution
    harness = mock.harness()
    harness.executor = execution.PromptExecutor(harness.server, cache_type=execution.CacheType.RAM_PRESSURE,
                                                cache_args={"lru": 0, "ram": 0, "ram_inactive": 1})
    harness.run(four_node(a=1), prompt_id="p1")
    harness.run(four_node(a=2), prompt_id="p2")
    outputs = harness.executor.caches.outputs
    assert len(outputs.cache) == 7  # no size limit: node 2 (b=3) is one entry for both prompts
    import comfy_execution.caching as caching

    monkeypatch.setattr(sys.modules["comfy.system_memory"], "virtual_memory_available", lambda: 0)
    if mock.era == "D":  # era D's caching imports the function; D-11's asks the module each time
        monkeypatch.setattr(caching, "virtual_memory_available", lambda: 0)
    third = harness.run(four_node(a=5), prompt_id="p3")
    # After every node, entries of older prompts go while RAM is below the inactive headroom (1 GB).
    assert third.success and len(outputs.cache) == 4
    assert outputs.active_evictions is False  # nothing of this prompt had to go


# -- get_input_data and hidden inputs -----------------------------------------------------------

def test_get_input_data_returns_a_v3_data_dict(mock):
    execution = mock.execution
    calls = []
    original = execution.get_input_data

    def wrapper(*args, **kwargs):
        result = original(*args, **kwargs)
        calls.append(result)
        return result

    execution.get_input_data = wrapper
    try:
        assert mock.harness().run(four_node(), prompt_id="p1").success
    finally:
        execution.get_input_data = original
    assert len(calls) == 4
    assert all(len(r) == 3 and r[2] == {"hidden_inputs": {}} for r in calls)


def test_a_wrapper_returning_era_c_hidden_inputs_breaks_lazy_nodes(mock):
    """execute() does v3_data.copy() before check_lazy_status: the third value must be a dict."""
    execution = mock.execution
    original = execution.get_input_data

    def wrapper(*args, **kwargs):
        data, missing, _ = original(*args, **kwargs)
        return data, missing, None

    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
              "2": {"class_type": "CRSwitch", "inputs": {"select": True, "on_true": ["1", 0], "on_false": ["1", 0]}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    execution.get_input_data = wrapper
    try:
        result = mock.harness().run(prompt, prompt_id="p1")
    finally:
        execution.get_input_data = original
    assert not result.success
    assert result.error["node_id"] == "2" and result.error["exception_type"] == "AttributeError"


def test_new_hidden_inputs(mock):
    seen = []

    class Hidden:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {}, "hidden": {"elist": "EXECUTION_LIST", "source": "COMFY_USAGE_SOURCE",
                                               "uid": "UNIQUE_ID"}}
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        def run(self, elist, source, uid):
            seen.append((type(elist).__name__, elist.staged_node_id, source, uid))
            return {}

    mock.registry.add("Hidden", Hidden)
    mock.harness().run({"7": {"class_type": "Hidden", "inputs": {}}}, prompt_id="p1",
                       extra_data={"client_id": "c", "comfy_usage_source": "api"})
    assert seen == [("ExecutionList", "7", "api", "7")]


def test_preview_method_is_set_per_prompt(mock):
    import comfy.cli_args

    methods = []

    class Peek:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"token": ("STRING", {"default": ""})}}
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        def run(self, token):
            methods.append(comfy.cli_args.args.preview_method.value)
            return {}

    mock.registry.add("Peek", Peek)
    harness = mock.harness()
    harness.run({"1": {"class_type": "Peek", "inputs": {"token": "a"}}}, prompt_id="p1",
                extra_data={"client_id": "c", "preview_method": "taesd"})
    assert comfy.cli_args.args.preview_method.value == "taesd"  # process-wide until the next prompt
    harness.run({"1": {"class_type": "Peek", "inputs": {"token": "b"}}}, prompt_id="p2")
    assert methods == ["taesd", "none"]
    assert comfy.cli_args.args.preview_method.value == "none"


# -- messages and history ------------------------------------------------------------------------

def test_headless_cached_rerun_keeps_the_ui_in_history(mock):
    harness = mock.harness()
    harness.run(four_node(), prompt_id="p1", extra_data=NO_CLIENT)
    again = harness.run(four_node(), prompt_id="p2", extra_data=NO_CLIENT)
    # Era C gives {"outputs": {}, "meta": {}} here; 2026 writes the staged cached node's UI.
    assert again.history["outputs"] == {"4": {"value": [5], "type": ["int"], "unique_id": ["4"], "label": ["sum"]}}
    assert again.history["meta"]["4"]["node_id"] == "4"
    assert {m.event for m in again.messages} == {"progress_state", "status"}  # still no executed without a client


def test_executed_output_is_a_copy_of_what_the_cache_keeps(mock_d):
    harness = mock_d.harness()
    first = harness.run(four_node(), prompt_id="p1")
    sent = first.of("executed")[0]["output"]
    cached = harness.executor.caches.outputs.get_local("4")
    assert cached.ui["output"] == sent and cached.ui["output"] is not sent
    sent["value"].append("changed by a client")  # a consumer mutating the message ...
    again = harness.run(four_node(), prompt_id="p2")
    assert again.of("executed")[0]["output"]["value"] == [5]  # ... does not change the cache
    assert again.of("executed")[0]["output"] is not cached.ui["output"]  # cached UI is copied too


def test_media_metadata_on_saved_images(mock_d):
    from pytest_comfyruntime.workflows import load_workflow

    harness = mock_d.harness()
    result = harness.run(load_workflow("txt2img", node_classes=mock_d.nodes.NODE_CLASS_MAPPINGS), prompt_id="p1")
    assert result.success
    images = result.outputs["9"]["images"]
    assert images and all(entry["metadata"]["kind"] == "image" for entry in images)
    assert images[0]["metadata"]["width"] > 0 and images[0]["metadata"]["height"] > 0
    assert result.of("executed")[0]["output"]["images"] == images
    # The cache keeps the enriched entries too (the copy goes to the client and the history).
    assert harness.executor.caches.outputs.get_local("9").ui["output"]["images"] == images


def test_intermediate_output_nodes_resend_their_cached_ui(mock):
    class Preview:
        HAS_INTERMEDIATE_OUTPUT = True

        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {"default": 0})}}
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        def run(self, value):
            return {"ui": {"shown": [value]}, "result": (value,)}

    mock.registry.add("Preview", Preview)

    def prompt(label):
        return {"1": {"class_type": "CRInt", "inputs": {"value": 4}},
                "2": {"class_type": "Preview", "inputs": {"value": ["1", 0]}},
                "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": label}}}

    harness = mock.harness()
    first = harness.run(prompt("a"), prompt_id="p1")
    assert sorted(first.outputs) == ["2", "3"]
    second = harness.run(prompt("b"), prompt_id="p2")
    assert second.executed_nodes == ["3"]  # node 2 is cached and not staged
    events = [(m.event, m.data.get("node")) for m in second.messages if m.event not in ("progress_state", "status")]
    assert events[-4:] == [("executed", "3"), ("executed", "2"), ("execution_success", None), ("executing", None)]
    assert second.outputs["2"] == {"shown": [4]}


def test_failing_node_message_ends_with_a_newline(mock):
    prompt = four_node()
    prompt["5"] = {"class_type": "CRFail", "inputs": {"value": ["3", 0], "message": "boom"}}
    prompt["4"]["inputs"]["value"] = ["5", 0]
    result = mock.harness().run(prompt, prompt_id="p1")
    assert result.error["exception_message"] == "boom\n"


# -- validate_prompt ---------------------------------------------------------------------------

def _validate(execution, prompt, targets=None):
    return asyncio.run(execution.validate_prompt("p", prompt, targets))


def test_missing_node_type_errors(mock):
    execution = mock.execution
    valid, error, good, node_errors = _validate(execution, {
        "5": {"class_type": "NoSuchNode", "inputs": {}, "_meta": {"title": "My node"}}})
    assert (valid, good, node_errors) == (False, [], {})
    assert error == {"type": "missing_node_type", "message": "Node 'My node' not found. The custom node may not be installed.",
                     "details": "Node ID '#5'", "extra_info": {"node_id": "5", "class_type": "NoSuchNode", "node_title": "My node"}}
    _, error, _, _ = _validate(execution, {"6": {"class_type": "NoSuchNode", "inputs": {}}})
    assert error["message"] == "Node 'NoSuchNode' not found. The custom node may not be installed."
    assert error["extra_info"]["node_title"] == "NoSuchNode"
    _, error, _, _ = _validate(execution, {"7": {"inputs": {}}})
    assert error["type"] == "missing_node_type" and error["extra_info"] == {"node_id": "7", "class_type": None, "node_title": None}
    assert error["message"] == ("Node 'ID #7' has no class_type. The workflow may be corrupted or a custom node is "
                                "missing.")


def test_a_static_cycle_fails_every_node_on_it(mock):
    execution = mock.execution
    prompt = {"1": {"class_type": "CRAdd", "inputs": {"a": ["2", 0], "b": 1}},
              "2": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": 1}},
              "3": {"class_type": "CRRecord", "inputs": {"value": ["2", 0], "label": ""}}}
    valid, error, good, node_errors = _validate(execution, prompt)
    assert not valid and good == [] and error["type"] == "prompt_outputs_failed_validation"
    assert sorted(node_errors) == ["1", "2"]
    for node_id in ("1", "2"):
        (reason,) = node_errors[node_id]["errors"]
        assert reason["type"] == "dependency_cycle" and reason["message"] == "Dependency cycle detected"
        assert reason["details"] == "2 (CRAdd) -> 1 (CRAdd) -> 2 (CRAdd)"
        assert reason["extra_info"] == {"node_id": node_id, "cycle_nodes": ["2", "1"]}
        assert node_errors[node_id]["dependent_outputs"] == ["3"]


def test_combo_errors_list_the_values_with_repr(mock):
    class Pick:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"n": ([1, 2, 3],), "word": ("COMBO", {"options": ["a", "b"]})}}
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        def run(self, n, word):
            return {}

    mock.registry.add("Pick", Pick)
    _, _, _, node_errors = _validate(mock.execution, {"1": {"class_type": "Pick", "inputs": {"n": 5, "word": "c"}}})
    details = sorted(e["details"] for e in node_errors["1"]["errors"])
    assert details == ["n: 5 not in [1, 2, 3]", "word: 'c' not in ['a', 'b']"]


def test_validate_inputs_without_named_inputs_still_fails(mock):
    class Strict:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {"default": 0})}}
        RETURN_TYPES = ()
        OUTPUT_NODE = True
        FUNCTION = "run"

        @classmethod
        def VALIDATE_INPUTS(cls):
            return "not today"

        def run(self, value):
            return {}

    mock.registry.add("Strict", Strict)
    _, error, _, node_errors = _validate(mock.execution, {"1": {"class_type": "Strict", "inputs": {"value": 1}}})
    assert node_errors["1"]["errors"] == [{"type": "custom_validation_failed", "message": "Custom validation failed for node",
                                           "details": "not today", "extra_info": {}}]


# -- the CacheProvider API -----------------------------------------------------------------------

class _Recorder:
    """A provider that records every call, and can serve what it stored."""

    def __init__(self, serve=False, skip=()):
        self.calls = []
        self.store = {}
        self.serve = serve
        self.skip = set(skip)

    def should_cache(self, context, value=None):
        return context.class_type not in self.skip

    async def on_lookup(self, context):
        self.calls.append(("on_lookup", context.node_id))
        return self.store.get(context.cache_key_hash) if self.serve else None

    async def on_store(self, context, value):
        self.calls.append(("on_store", context.node_id))
        self.store[context.cache_key_hash] = value

    def on_prompt_start(self, prompt_id):
        self.calls.append(("on_prompt_start", prompt_id))

    def on_prompt_end(self, prompt_id):
        self.calls.append(("on_prompt_end", prompt_id))


def _provider_base():
    from comfy_api.latest import Caching

    return Caching.CacheProvider


def _make(base, **kwargs):
    return type("Provider", (_Recorder, base), {})(**kwargs)


def test_provider_call_sequence(mock):
    cp = sys.modules["comfy_execution.cache_provider"]
    provider = _make(_provider_base())
    cp.register_cache_provider(provider)
    harness = mock.harness()
    result = harness.run(four_node(), prompt_id="p1")
    assert result.success
    lookups = [c for c in provider.calls if c[0] == "on_lookup"]
    # The execution_cached scan asks for every prompt node (prompt order), then each staged node
    # asks again when it runs (staging order), since all were misses.
    assert lookups == [("on_lookup", n) for n in ("1", "2", "3", "4", "2", "1", "3", "4")]
    assert provider.calls[0] == ("on_prompt_start", "p1")
    # on_store runs as tasks nobody awaits; the prompt never yields to the event loop after its
    # first store, so they all start after on_prompt_end, when execute_async has returned.
    assert provider.calls[9:] == [("on_prompt_end", "p1"), ("on_store", "2"), ("on_store", "1"),
                                  ("on_store", "3"), ("on_store", "4")]
    value = next(iter(v for v in provider.store.values() if v.ui))
    assert type(value).__name__ == "CacheValue" and value.ui["output"]["value"] == [5]
    assert all(len(h) == 64 for h in provider.store)
    # The harness reports the same calls (should_cache included), and no store left running.
    assert [(c.method, c.node_id) for c in result.provider_calls if c.method != "should_cache"] == [
        (m, None if m.startswith("on_prompt") else n) for m, n in provider.calls]
    assert all(c.provider is provider for c in result.provider_calls)
    assert sum(c.method == "should_cache" for c in result.provider_calls) == 12  # 8 lookups + 4 stores
    assert result.unfinished_stores == []


def test_provider_serves_a_fresh_executor(mock):
    cp = sys.modules["comfy_execution.cache_provider"]
    provider = _make(_provider_base(), serve=True)
    cp.register_cache_provider(provider)
    mock.harness().run(four_node(), prompt_id="p1")
    provider.calls.clear()
    other = mock.harness()  # a second ComfyUI sharing the external cache
    result = other.run(four_node(), prompt_id="p2")
    assert sorted(result.cached_nodes) == ["1", "2", "3", "4"] and result.executed_nodes == []
    assert [c for c in provider.calls if c[0] == "on_lookup"] == [("on_lookup", n) for n in "1234"]
    assert result.outputs["4"]["value"] == [5] and [d["node"] for d in result.of("executed")] == ["4"]


def test_should_cache_false_skips_the_provider(mock):
    cp = sys.modules["comfy_execution.cache_provider"]
    provider = _make(_provider_base(), skip={"CRInt"})
    cp.register_cache_provider(provider)
    mock.harness().run(four_node(), prompt_id="p1")
    touched = {c[1] for c in provider.calls if c[0] in ("on_lookup", "on_store")}
    assert touched == {"3", "4"}


def test_provider_exceptions_are_swallowed(mock, caplog):
    cp = sys.modules["comfy_execution.cache_provider"]

    class Broken(_provider_base()):
        def on_prompt_start(self, prompt_id):
            raise RuntimeError("start")

        async def on_lookup(self, context):
            raise RuntimeError("lookup")

        async def on_store(self, context, value):
            raise RuntimeError("store")

        def on_prompt_end(self, prompt_id):
            raise RuntimeError("end")

    class WrongType(_provider_base()):
        async def on_lookup(self, context):
            return {"outputs": []}

        async def on_store(self, context, value):
            pass

    cp.register_cache_provider(Broken())
    cp.register_cache_provider(WrongType())
    result = mock.harness().run(four_node(), prompt_id="p1")
    assert result.success and result.outputs["4"]["value"] == [5]
    text = caplog.text
    for event in ("error on start: start", "error on lookup: lookup", "async store error: store",
                  "error on end: end", "Provider WrongType returned invalid type"):
        assert event in text


def test_an_unfinished_store_is_cancelled_when_the_prompt_ends(mock):
    cp = sys.modules["comfy_execution.cache_provider"]
    finished = []

    class Slow(_provider_base()):
        async def on_lookup(self, context):
            return None

        async def on_store(self, context, value):
            await asyncio.sleep(5)
            finished.append(context.node_id)

    provider = Slow()
    cp.register_cache_provider(provider)
    result = mock.harness().run(four_node(), prompt_id="p1")
    assert result.success and finished == []
    assert sorted(c.node_id for c in result.unfinished_stores) == ["1", "2", "3", "4"]
    assert {(c.provider, c.method) for c in result.unfinished_stores} == {(provider, "on_store")}


def test_nan_is_changed_is_never_shared(mock):
    cp = sys.modules["comfy_execution.cache_provider"]

    class Always:
        @classmethod
        def INPUT_TYPES(cls):
            return {"required": {"value": ("INT", {"default": 0})}}
        RETURN_TYPES = ("INT",)
        FUNCTION = "run"

        @classmethod
        def IS_CHANGED(cls, value):
            return float("nan")

        def run(self, value):
            return (value,)

    mock.registry.add("Always", Always)
    provider = _make(_provider_base())
    cp.register_cache_provider(provider)
    prompt = {"1": {"class_type": "Always", "inputs": {"value": 1}},
              "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}}
    mock.harness().run(prompt, prompt_id="p1")
    assert {c[1] for c in provider.calls if c[0] in ("on_lookup", "on_store")} == set()  # node 2's key holds node 1's NaN


def test_registration_apis(mock):
    cp = sys.modules["comfy_execution.cache_provider"]
    from comfy_api.latest import Caching, ComfyAPI

    provider = _make(_provider_base())
    asyncio.run(Caching().register_provider(provider))
    assert Caching() is Caching() and cp._get_cache_providers() == (provider,)
    asyncio.run(ComfyAPI().caching.unregister_provider(provider))
    assert cp._has_cache_providers() is False
    with pytest.raises(TypeError):
        asyncio.run(Caching.register_provider(provider))  # the docstring's class-level call
    cp.register_cache_provider(provider)
    cp.register_cache_provider(provider)  # twice: a warning, one entry
    assert cp._get_cache_providers() == (provider,)
    cp.unregister_cache_provider(provider)
    cp.unregister_cache_provider(provider)  # not registered: a warning, no error
    with pytest.raises(TypeError):
        _provider_base()()  # abstract: on_lookup and on_store are required


def test_cache_key_hash_is_stable(mock):
    cp = sys.modules["comfy_execution.cache_provider"]
    assert cp._serialize_cache_key(frozenset({(0, "a"), (1, 2.5)})) == cp._serialize_cache_key(frozenset({(1, 2.5), (0, "a")}))
    assert cp._serialize_cache_key(object()) is None
    assert cp._contains_self_unequal(frozenset({(0, float("nan"))})) is True
    assert cp._contains_self_unequal(frozenset({(0, 1.0)})) is False


def test_interrupt_if_running(mock):
    execution = mock.execution
    import comfy.model_management as mm

    queue = execution.PromptQueue(mock.harness().server)
    queue.put((0, "p1", {}, {}, [], {}))
    assert queue.interrupt_if_running("p1") is False  # queued, not running
    queue.get(timeout=0)
    assert queue.interrupt_if_running("p1") is True and mm.processing_interrupted() is True
    mm.interrupt_current_processing(False)

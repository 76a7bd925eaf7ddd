"""Era D-11, the other 2026 signature (ComfyUI 0.17 to 0.33, before the asset manager), in the mock.

The expectations come from READING ``yzkee/ComfyUI`` at 783545f6 (Comfy-Org/ComfyUI master up to
2026-08-22, version 0.33.0): ``execution.py``, ``main.py``, ``server.py``,
``comfy_execution/{graph,caching,validation,asset_enrichment}.py``, ``comfy/cli_args.py``,
``comfy_api/latest/__init__.py``. What it shares with era D (the CacheProvider API, ``v3_data``,
2026 validation) is tested in test_era_d.py; here is what differs, each against era D side by side.
"""
from __future__ import annotations

import inspect

import pytest
from mockera import four_node, mock_era

from pytest_comfyruntime.executor.eras import ERAS, resolve_era
from pytest_comfyruntime.executor.harness import detect_era

NO_CLIENT: dict = {}


@pytest.fixture
def mock(tmp_path):
    with mock_era("D-11", tmp_path) as m:
        yield m


def test_the_era_is_named_and_is_a_variant_of_d():
    era = ERAS["D-11"]
    assert era.base == "D" and era.variant_of == "D" and era.folder == "d11"
    assert era.mock_version == "0.33.0"
    for name in ("D-11", "d11", "2026-v0.33"):
        assert resolve_era(name) is era
    assert resolve_era("2026") is ERAS["D"]  # the newest stays the default 2026


def test_eleven_parameters_and_no_asset_manager(mock):
    execution = mock.execution
    init = inspect.signature(execution.PromptExecutor.__init__).parameters
    assert list(init) == ["self", "server", "cache_type", "cache_args"]
    params = list(inspect.signature(execution.execute).parameters)
    assert len(params) == 11 and params[-1] == "ui_outputs"
    executor = mock.harness().executor
    assert not hasattr(executor, "asset_manager") and not hasattr(execution, "NoAssets")
    assert executor.prompt_model_tracker is not None  # 2026 all the same
    assert executor.cache_args == {"lru": 0, "ram": 0, "ram_inactive": 0}
    assert detect_era(execution) == "D-11"


def test_a_twelve_parameter_wrapper_breaks_and_an_eleven_parameter_one_works(mock):
    execution = mock.execution
    original = execution.execute
    seen = []

    async def era_c_wrapper(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                            execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs):
        seen.append(current_item)
        return await original(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                              execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs)

    async def era_d_wrapper(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                            execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs, asset_manager):
        return await original(server, dynprompt, caches, current_item, extra_data, executed, prompt_id,
                              execution_list, pending_subgraph_results, pending_async_nodes, ui_outputs)

    execution.execute = era_c_wrapper
    try:
        assert mock.harness().run(four_node(), prompt_id="p1").success
        assert sorted(seen) == ["1", "2", "3", "4"]
        execution.execute = era_d_wrapper
        with pytest.raises(TypeError, match="missing 1 required positional argument: 'asset_manager'"):
            mock.harness().run(four_node(), prompt_id="p2")
    finally:
        execution.execute = original


def test_the_server_takes_no_asset_manager(mock):
    import sys

    server_module = sys.modules["server"]
    assert list(inspect.signature(server_module.PromptServer).parameters) == ["loop"]
    server = server_module.PromptServer(None)
    assert not hasattr(server, "asset_manager")


def test_executed_output_is_the_object_the_cache_keeps(mock):
    # Era D deep-copies a fresh node's UI for the message and the history; this generation does not.
    harness = mock.harness()
    first = harness.run(four_node(), prompt_id="p1")
    cached = harness.executor.caches.outputs.get_local("4")
    assert first.of("executed")[0]["output"] == cached.ui["output"]
    assert harness.executor.history_result["outputs"]["4"] is cached.ui["output"]


def test_saved_images_carry_no_media_metadata(mock, tmp_path):
    from pytest_comfyruntime.workflows import load_workflow

    harness = mock.harness()
    result = harness.run(load_workflow("txt2img", node_classes=mock.nodes.NODE_CLASS_MAPPINGS), prompt_id="p1")
    assert result.success
    images = result.outputs["9"]["images"]
    assert images and all("metadata" not in entry for entry in images)
    with mock_era("D", tmp_path / "d") as newer:  # the same workflow on era D is enriched
        enriched = newer.harness().run(
            load_workflow("txt2img", node_classes=newer.nodes.NODE_CLASS_MAPPINGS), prompt_id="p1")
    assert all(entry["metadata"]["kind"] == "image" for entry in enriched.outputs["9"]["images"])


def test_a_cached_rerun_puts_the_cached_ui_entry_itself_in_the_history(mock):
    # The rest of the headless rerun is test_era_d.py's, on both signatures; era D copies the entry.
    harness = mock.harness()
    harness.run(four_node(), prompt_id="p1", extra_data=NO_CLIENT)
    harness.run(four_node(), prompt_id="p2", extra_data=NO_CLIENT)
    assert harness.executor.history_result["outputs"]["4"] is harness.executor.caches.outputs.get_local("4").ui["output"]


def test_enabled_assets_are_refused_with_a_message(mock):
    import sys

    args = sys.modules["comfy.cli_args"].args
    assert args.enable_assets is False
    args.enable_assets = True
    try:
        result = mock.harness().run(four_node(), prompt_id="p1")
    finally:
        args.enable_assets = False
    assert not result.success
    message = result.error["exception_message"]
    assert "enable_assets is set" in message and "not reproduced" in message and "--comfyui-root" in message


def test_no_loops_and_no_sdk_in_this_generation(mock):
    import importlib
    import sys

    graph = sys.modules["comfy_execution.graph"]
    for name in ("inhibit_nodes", "is_staged_node_blocked"):
        assert not hasattr(graph.ExecutionList, name)
    assert not hasattr(graph.DynamicPrompt, "override_node")
    assert not hasattr(sys.modules["comfy_execution.validation"], "validate_loops")
    latest = importlib.import_module("comfy_api.latest")
    assert not hasattr(latest, "sdk") and hasattr(latest, "Caching") and hasattr(latest, "ui")
    for missing in ("comfy_api.latest._sdk", "comfy_execution.media_enrichment"):
        with pytest.raises(ModuleNotFoundError):
            importlib.import_module(missing)
    for name in ("remove_local",):
        assert not hasattr(sys.modules["comfy_execution.caching"].BasicCache, name)


def test_the_plugin_runs_it_by_name(pytester: pytest.Pytester):
    pytester.makepyfile('''
        import inspect

        def test_it(comfy_executor, comfy_execution_module):
            assert comfy_executor.era == "D-11"
            assert len(inspect.signature(comfy_execution_module.execute).parameters) == 11
            assert comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 1}},
                                       "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}).success
    ''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era", "D-11", "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*era=D-11*"])

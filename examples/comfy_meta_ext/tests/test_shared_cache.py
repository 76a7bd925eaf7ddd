"""The 2026 CacheProvider of comfy_meta_ext.shared_cache. It needs ComfyUI's CacheProvider API, so
the tests declare the era they need: on the eras before it, ``make demo`` shows them skipped."""
import pytest
from comfy_meta_ext import shared_cache

pytestmark = pytest.mark.comfyui(era=["D-11", "D"])  # both 2026 signatures have the API (v0.17 on)


@pytest.fixture
def cache(comfy_execution_module):
    assert shared_cache.enable() is True
    yield shared_cache
    shared_cache.disable()


def test_the_provider_is_an_active_hook(cache, comfyruntime):
    report = comfyruntime.assert_hooks_active()
    assert [p for p in report.providers if p.endswith(".SharedCache")] and any(report.calls.values())


def test_a_second_comfyui_is_served_from_the_shared_cache(cache, comfy_executor, comfy_workflow):
    first = comfy_executor.run(comfy_workflow("four_node"), prompt_id="first")
    assert first.success and first.unfinished_stores == [] and cache.stored() > 0
    other = type(comfy_executor)(comfy_executor.execution, comfy_executor.server, era=comfy_executor.era)
    second = other.run(comfy_workflow("four_node"), prompt_id="second")
    assert second.executed_nodes == [] and second.outputs == first.outputs
    assert {c.method for c in second.provider_calls} >= {"on_prompt_start", "on_lookup", "on_prompt_end"}


def test_enabling_twice_registers_one_provider(cache):
    assert cache.enable() is True
    import comfy_execution.cache_provider as api
    assert len([p for p in api._get_cache_providers() if type(p).__name__ == "SharedCache"]) == 1

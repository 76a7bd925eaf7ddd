"""CacheProviders (ComfyUI of 2026) seen from an extension's suite: counted as active hooks by
``assert_hooks_active``, unregistered by the residue check, their unfinished stores visible."""
from __future__ import annotations

import pytest

PROVIDER_EXT = '''
import asyncio

from comfy_execution import cache_provider

calls = []


class DiskCache(cache_provider.CacheProvider):
    async def on_lookup(self, context):
        await asyncio.sleep(0)       # a coroutine resumed twice is still one call
        await asyncio.sleep(0)
        calls.append(("on_lookup", context.node_id))
        return None

    async def on_store(self, context, value):
        calls.append(("on_store", context.node_id))


PROVIDER = DiskCache()


def enable(execution):
    cache_provider.register_cache_provider(PROVIDER)
    return True


def disable(execution):
    cache_provider.unregister_cache_provider(PROVIDER)
'''


TWO = """
TWO_NODES = {"1": {"class_type": "CRInt", "inputs": {"value": 1}},
             "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}
"""


def extension(pytester: pytest.Pytester, source: str = PROVIDER_EXT, *, unhook: bool = True) -> None:
    """Writes the extension as ``diskcache.py`` and enables it on era D (``unhook``: and disables)."""
    pytester.makepyfile(diskcache=source)
    pytester.syspathinsert()
    pytester.makeini("[pytest]\ncomfyruntime_era = D\ncomfyruntime_hooks = diskcache:enable\n"
                     + ("comfyruntime_unhooks = diskcache:disable\n" if unhook else ""))


def test_a_provider_that_comfyui_calls_is_an_active_hook(pytester: pytest.Pytester) -> None:
    extension(pytester)
    pytester.makepyfile(TWO + '''
import diskcache

def test_it(comfyruntime):
    report = comfyruntime.assert_hooks_active()
    label = "CacheProvider diskcache.DiskCache"
    assert report.installed == [] and report.providers == [label]
    lookups = sum(1 for c in diskcache.calls if c[0] == "on_lookup")
    assert lookups == 10  # the execution_cached scan (5 nodes), then each node as it runs
    assert report.calls[label + ".on_lookup"] == lookups
    assert report.calls[label + ".on_prompt_start"] == report.calls[label + ".on_prompt_end"] == 1
    assert report.calls[label + ".should_cache"] == 10 + 5  # before every lookup and every store
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_provider_left_registered_is_residue_and_is_unregistered(pytester: pytest.Pytester) -> None:
    extension(pytester, unhook=False)  # the provider stays registered
    pytester.makepyfile(TWO + '''
import sys

def test_first(comfy_executor):
    assert comfy_executor.run(TWO_NODES).success

def test_second(comfy_executor):
    import diskcache
    providers = sys.modules["comfy_execution.cache_provider"]
    assert providers._get_cache_providers() == (diskcache.PROVIDER,)  # registered again by this test only
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, errors=2)
    result.stdout.fnmatch_lines([
        "*comfy_execution.cache_provider (registered CacheProviders): left registered: diskcache.DiskCache*"])


def test_a_misnamed_registration_is_named(pytester: pytest.Pytester) -> None:
    extension(pytester, PROVIDER_EXT.replace(
        "    cache_provider.register_cache_provider(PROVIDER)\n    return True",
        "    register = getattr(cache_provider, 'register_provider', None)  # the name is register_cache_provider\n"
        "    if register is None:\n        return False\n    register(PROVIDER)\n    return True"))
    pytester.makepyfile("def test_it(comfyruntime):\n    comfyruntime.assert_hooks_active()\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "  - enabling returned False: diskcache:enable*",
        "  - enabling patched nothing on ComfyUI's modules and classes and registered no CacheProvider",
        "*diskcache.py:*register_provider*-> comfy_execution.cache_provider has no attribute 'register_provider'"])


def test_a_store_cut_off_by_the_end_of_the_prompt_is_reported(pytester: pytest.Pytester) -> None:
    extension(pytester, PROVIDER_EXT.replace(
        '        calls.append(("on_store", context.node_id))',
        '        await asyncio.sleep(5)  # a slow upload: the prompt ends first\n'
        '        calls.append(("on_store", context.node_id))'))
    pytester.makepyfile(TWO + '''
import diskcache

def test_it(comfy_executor):
    result = comfy_executor.run(TWO_NODES)
    assert result.success
    assert sorted(c.node_id for c in result.unfinished_stores) == ["1", "2"]
    assert all(c.provider is diskcache.PROVIDER for c in result.unfinished_stores)
    assert [c.method for c in result.provider_calls].count("on_store") == 2
    assert not [c for c in diskcache.calls if c[0] == "on_store"]
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_eras_without_the_api_keep_no_record(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncomfyruntime_era = C\n")
    pytester.makepyfile(TWO + '''
def test_it(comfy_executor):
    result = comfy_executor.run(TWO_NODES)
    assert result.provider_calls is None and result.unfinished_stores is None
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)

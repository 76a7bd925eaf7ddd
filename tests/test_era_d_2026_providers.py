"""The 2026 extension points beyond ``register_cache_provider``, in the mock of era D and in the checks.

``comfy_api.latest.Caching.register_provider`` / ``unregister_provider`` (async) is the public path
to CacheProviders: a provider registered that way is a hook for ``assert_hooks_active()``, residue
when left registered, and a registration for the conformance battery. The custom-node SDK
(``comfy_api.latest.sdk``) exports ``ExecutionBackend``, ``ExecutionPlan`` and ``providers``: an
extension can put its own ``ExecutionBackend`` into ``providers`` (``register_execution_backend``),
and later 2026 cores route node calls through its ``dispatch``. The executor era D follows
(``execution.py`` at 04e2a914) never calls it, so the checks say a registered backend never ran, and
a backend left in the slot (nothing unregisters: only registering the previous object puts it back)
is residue.
"""
from __future__ import annotations

import asyncio

import pytest
from mockera import four_node, mock_era

from pytest_comfyruntime.checks.hooks_active import sdk_label, sdk_providers_since
from pytest_comfyruntime.checks.residue import find_residue
from pytest_comfyruntime.executor.snapshots import SDK_PROVIDERS, snapshot_comfyui

CACHING_EXT = '''
import asyncio

from comfy_api.latest import Caching

calls = []


class RemoteCache(Caching.CacheProvider):
    async def on_lookup(self, context):
        calls.append(("on_lookup", context.node_id))
        return None

    async def on_store(self, context, value):
        calls.append(("on_store", context.node_id))


PROVIDER = RemoteCache()


def enable(execution):
    asyncio.run(Caching().register_provider(PROVIDER))
    return True


def disable(execution):
    asyncio.run(Caching().unregister_provider(PROVIDER))
'''

SDK_EXT = '''
from comfy_api.latest import sdk

dispatched = []
_previous = []


class TimingBackend:
    async def dispatch(self, plan, local_call, runtime=None):
        dispatched.append(plan.node_id)
        return await local_call()


BACKEND = TimingBackend()


def enable(execution):
    _previous.append(sdk.providers.execution_backend)
    sdk.providers.register_execution_backend(BACKEND)
    return True


def disable(execution):
    if _previous:
        sdk.providers.register_execution_backend(_previous.pop())
'''


def _extension(pytester: pytest.Pytester, name: str, source: str, *, unhook: bool = True) -> None:
    pytester.makepyfile(**{name: source})
    pytester.syspathinsert()
    pytester.makeini(f"[pytest]\ncomfyruntime_era = D\ncomfyruntime_hooks = {name}:enable\n"
                     + (f"comfyruntime_unhooks = {name}:disable\n" if unhook else ""))


# -- the mock's surface -----------------------------------------------------------------------------

def test_the_sdk_surface_of_era_d(tmp_path):
    with mock_era("D", tmp_path):
        from comfy_api.latest import sdk

        assert {"ExecutionBackend", "ExecutionPlan", "providers"} <= set(sdk.__all__)
        providers = sdk.providers
        assert providers.engaged is False and providers.overlay_active is False
        default = providers.execution_backend
        assert isinstance(default, sdk.ExecutionBackend)  # a runtime-checkable protocol

        class Backend:
            async def dispatch(self, plan, local_call, runtime=None):
                return ("wrapped", await local_call())

        backend = Backend()
        providers.register_execution_backend(backend)
        try:
            assert providers.execution_backend is backend and providers.engaged is True

            async def local():
                return 7
            plan = sdk.ExecutionPlan(prompt_id="p", node_id="1", node_type="CRInt")
            assert asyncio.run(backend.dispatch(plan, local)) == ("wrapped", 7)
            assert asyncio.run(default.dispatch(plan, local)) == 7
        finally:
            providers.register_execution_backend(default)
        assert providers.engaged is False


@pytest.mark.parametrize("era", ["A", "B", "C", "D-11"])
def test_no_sdk_before_2026(era, tmp_path):
    """Nor in 2026 up to v0.33 (D-11): the SDK came with the newer executor."""
    with mock_era(era, tmp_path):
        with pytest.raises(ImportError):
            exec("from comfy_api.latest import sdk", {})


def test_the_executor_era_d_follows_never_dispatches_to_a_registered_backend(tmp_path):
    with mock_era("D", tmp_path) as m:
        from comfy_api.latest import sdk

        calls = []

        class Backend:
            async def dispatch(self, plan, local_call, runtime=None):
                calls.append(plan)
                return await local_call()

        previous = sdk.providers.execution_backend
        sdk.providers.register_execution_backend(Backend())
        try:
            assert m.harness().run(four_node()).success
        finally:
            sdk.providers.register_execution_backend(previous)
        assert calls == []


def test_a_backend_left_in_the_slot_is_residue_and_is_put_back(tmp_path):
    with mock_era("D", tmp_path) as m:
        from comfy_api.latest import sdk

        snap = snapshot_comfyui([], m.nodes, module_names=[])
        assert SDK_PROVIDERS in snap.registries
        default = sdk.providers.execution_backend

        class LeftBehind:
            async def dispatch(self, plan, local_call, runtime=None):
                return await local_call()

        sdk.providers.register_execution_backend(LeftBehind())
        assert [(slot, sdk_label(slot, value)) for slot, value in sdk_providers_since(snap)] == [
            ("execution_backend", f"SDK ExecutionBackend {__name__}.{LeftBehind.__qualname__}")]
        [residue] = [r for r in find_residue(snap) if r.where.startswith(SDK_PROVIDERS)]
        assert residue.kind == "registered"
        assert residue.where == f"{SDK_PROVIDERS}['execution_backend']"
        assert "LeftBehind" in residue.detail and residue.detail.endswith(", and not put back")
        from pytest_comfyruntime.state.snapshot import restore
        restore(snap)
        assert sdk.providers.execution_backend is default and not sdk_providers_since(snap)


# -- through the plugin, as an extension's suite sees it ---------------------------------------------

def test_a_provider_registered_through_caching_is_an_active_hook(pytester: pytest.Pytester) -> None:
    _extension(pytester, "remotecache", CACHING_EXT)
    pytester.makepyfile('''
import remotecache

def test_it(comfyruntime):
    report = comfyruntime.assert_hooks_active()
    label = "CacheProvider remotecache.RemoteCache"
    assert report.installed == [] and report.providers == [label]
    assert report.calls[label + ".on_lookup"] == sum(1 for c in remotecache.calls if c[0] == "on_lookup") > 0
''')
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


def test_a_provider_registered_through_caching_and_left_is_residue(pytester: pytest.Pytester) -> None:
    _extension(pytester, "remotecache", CACHING_EXT, unhook=False)
    pytester.makepyfile('''
def test_it(comfy_executor):
    assert comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 1}},
                               "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}).success
''')
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*comfy_execution.cache_provider (registered CacheProviders): left registered: remotecache.RemoteCache*"])


def test_a_registered_sdk_backend_that_never_runs_is_not_an_active_hook(pytester: pytest.Pytester) -> None:
    _extension(pytester, "sdkbackend", SDK_EXT)
    pytester.makepyfile("def test_it(comfyruntime):\n    comfyruntime.assert_hooks_active()\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*no hook ran during a prompt: installed SDK ExecutionBackend sdkbackend.TimingBackend (registered), "
        "called 0 times*",
        "*SDK ExecutionBackend sdkbackend.TimingBackend registered in comfy_api.latest.sdk.providers.execution_backend, "
        "but this executor never called its dispatch during the probe prompt*"])


def test_an_sdk_backend_left_in_its_slot_is_residue(pytester: pytest.Pytester) -> None:
    _extension(pytester, "sdkbackend", SDK_EXT, unhook=False)
    pytester.makepyfile("def test_it(comfy_executor):\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines([
        "*comfy_api.latest.sdk.providers (SDK provider slots)[[]'execution_backend'[]]: replaced by "
        "sdkbackend.TimingBackend*and not put back*"])


def test_the_battery_counts_both_registrations(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(remotecache=CACHING_EXT, sdkbackend=SDK_EXT,
                        sloppy=SDK_EXT.replace("sdk.providers.register_execution_backend(_previous.pop())",
                                               "sdk.providers.register_execution_backend(type(_previous.pop())())"))
    pytester.syspathinsert()
    reprec = pytester.inline_run("-p", "no:cacheprovider", "--comfyruntime-era", "D",
                                 "--comfyruntime-conformance", "remotecache", "--comfyruntime-conformance", "sdkbackend",
                                 "--comfyruntime-conformance", "sloppy")
    found = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            module, check = report.nodeid.split("::")[-2:]
            found.setdefault((module, check.split("[")[0]), (report.outcome, report.longreprtext))
    # a CacheProvider through Caching: active, and unregistered again by disable()
    assert found[("remotecache", "hooks_active")][0] == "passed", found[("remotecache", "hooks_active")]
    assert found[("remotecache", "teardown_restores_originals")][0] == "passed"
    # an SDK backend: registered and put back by disable(), but never dispatched to by this executor
    outcome, text = found[("sdkbackend", "hooks_active")]
    assert outcome == "failed" and "never called its dispatch" in text, text
    assert found[("sdkbackend", "teardown_restores_originals")][0] == "passed"
    # a disable() that registers a fresh default instead of the object it replaced leaves residue
    outcome, text = found[("sloppy", "teardown_restores_originals")]
    assert outcome == "failed" and "['execution_backend']: replaced by comfy_api.latest._sdk.InProcessExecutionBackend" in text, text

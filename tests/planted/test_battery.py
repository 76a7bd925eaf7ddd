"""The conformance battery against each planted fault: the right check fails, with the right
message, and every other check passes (or says why it could not run)."""
from __future__ import annotations

import pytest

CHECKS = ("hooks_active", "off_by_default", "conflict_detection", "exception_auto_disables",
          "teardown_restores_originals", "idempotent", "no_crosstalk", "never_mutates_prompt")
NEEDS_PATCHES = ("conflict_detection", "exception_auto_disables", "teardown_restores_originals", "idempotent",
                 "no_crosstalk")

# module -> (the check that must fail, fragments of its message, checks that must skip)
PLANTED = {
    "planted_global": ("no_crosstalk", [
        'breaks the principle "per-prompt isolation: no cross-talk and no exception',
        "session isolation broken", "(mode a: one after another on one executor): field ['inputs']",
        "which came from prompt 'iso-a-00000-", "this prompt has no such node: stale state kept from an earlier prompt",
    ], ()),
    "planted_timestamp": ("no_crosstalk", [
        "session isolation broken", "(mode a: one after another on one executor, two prompts in the same "
        "millisecond): field ['inputs']", "which came from prompt 'iso-a-",
    ], ()),
    "planted_swallow": ("exception_auto_disables", [
        'breaks the principle "an exception inside a hook disables the hooks',
        "InjectedFault raised inside the hook at planted_swallow.py:",
        "the original PromptExecutor.execute was called 0 time(s), 1 without the hooks: the wrapper did not call "
        "the original", "the hooks were not disabled: the next prompt raised inside them again",
        "nothing was logged, printed or warned: the exception was swallowed silently",
    ], ()),
    "planted_leaky_unhook": ("teardown_restores_originals", [
        'breaks the principle "teardown restores the exact original functions"',
        "after disable(), the originals are not back:",
        "execution.get_input_data: still replaced by planted_leaky_unhook._get_input_data_wrapper.<locals>."
        "get_input_data (planted_leaky_unhook.py:", "), wrapping execution.get_input_data",
    ], ()),
    "planted_mutate": ("never_mutates_prompt", [
        'breaks the principle "hooks never mutate the prompt they are given"',
        "['_meta'] added ({'seen_by': 'planted_mutate'})",
    ], ()),
    "planted_missing_target": ("hooks_active", [
        "hooks not active on this executor", "enabling returned False: planted_missing_target:enable",
        "enabling patched nothing on ComfyUI's modules and classes",
        "the extension tried to hook targets this executor does not have:",
        'planted_missing_target.py:27: pre_execute = getattr(target_cls, "pre_execute", None)',
        "-> execution.PromptExecutor has no attribute 'pre_execute'",
        "-> execution.PromptExecutor has no attribute 'pre_get_input_data'",
    ], NEEDS_PATCHES),
    "extra_import_time": ("off_by_default", [
        "importing extra_import_time patched execution.get_input_data = extra_import_time._get_input_data_wrapper."
        "<locals>.get_input_data (extra_import_time.py:", "), wrapping execution.get_input_data; "
        "execution.PromptExecutor.execute = extra_import_time._execute_wrapper.<locals>.execute (extra_import_time.py:",
        "), wrapping execution.PromptExecutor.execute without any opt-in: hooks must stay off until enabled",
    ], ()),
    "extra_auto_on": ("off_by_default", [
        "auto_enable() with no opt-in (its environment variables unset) returned True and patched",
    ], ()),
    "extra_no_conflict_check": ("conflict_detection", [
        "with another extension's wrapper already on", "and still patched",
        "it must refuse, say why and touch nothing",
    ], ()),
    "extra_profiler_left_on": ("teardown_restores_originals", [
        "after disable(), the originals are not back:",
        "threading.setprofile (new threads): None -> extra_profiler_left_on._node_timer",
    ], ()),
    "extra_double_wrap": ("idempotent", [
        "a second enable() replaced PromptExecutor.execute", "(a second wrapper stacked on the first)",
    ], ()),
}


def outcomes(reprec) -> dict[str, tuple[str, str]]:
    out = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            name = report.nodeid.rpartition("::")[2].split("[")[0]
            out.setdefault(name, (report.outcome, report.longreprtext))
    return out


@pytest.mark.parametrize("module", sorted(PLANTED))
def test_the_right_check_catches_the_planted_fault(pytester: pytest.Pytester, planted, backend_args, module) -> None:
    failing, fragments, skipping = PLANTED[module]
    planted(module)
    size = "threads=2,repeats=10"
    reprec = pytester.inline_run("-p", "no:cacheprovider", "--comfyruntime-conformance", f"{module}:{size}",
                                 *backend_args)
    found = outcomes(reprec)
    assert set(found) == set(CHECKS)
    outcome, text = found[failing]
    assert outcome == "failed", (failing, found[failing])
    for fragment in fragments:
        assert fragment in text, f"{fragment!r} not in:\n{text}"
    # a module that enables itself on import also answers False to the battery's own enable()
    also = {"hooks_active"} if module == "extra_import_time" else set()
    for check in set(CHECKS) - {failing} - also:
        expected = "skipped" if check in skipping else "passed"
        assert found[check][0] == expected, (check, found[check])


@pytest.mark.parametrize("module", ["good_hooks", "pytest_comfyruntime.capture"])
def test_well_behaved_modules_pass_every_check_with_8_threads_x_100_prompts(pytester: pytest.Pytester, planted, backend_args, module) -> None:
    if module == "good_hooks":
        planted("good_hooks")
    reprec = pytester.inline_run("-p", "no:cacheprovider", "--comfyruntime-conformance", module, *backend_args)
    found = outcomes(reprec)
    assert {name: o for name, (o, _) in found.items()} == dict.fromkeys(CHECKS, "passed"), found


# CacheProvider extensions (ComfyUI of 2026, so the mock of era D only): module -> (failing check, fragments)
PROVIDER_PLANTED = {
    "provider_import_time": ("off_by_default", [
        "importing provider_import_time registered CacheProvider provider_import_time.enable.<locals>.SharedCache "
        "without any opt-in: hooks must stay off until enabled",
    ]),
    "provider_left_registered": ("teardown_restores_originals", [
        "after disable(), the originals are not back:",
        "comfy_execution.cache_provider (registered CacheProviders): left registered: "
        "provider_left_registered.enable.<locals>.SharedCache instance",
    ]),
    "provider_new_each_enable": ("idempotent", [
        "a second enable() registered another CacheProvider, CacheProvider "
        "provider_new_each_enable.enable.<locals>.SharedCache: ComfyUI calls both",
    ]),
    "provider_keyed_by_class": ("no_crosstalk", [
        "cross-talk or exceptions with 2 threads x 10 prompts (no get_session to read captures: ComfyUI's results only)",
        "wrong result", "ComfyUI's output of node",
    ]),
}
#: Nothing to conflict over, and ComfyUI itself swallows a provider's exceptions.
PROVIDER_SKIPS = {"conflict_detection": "ComfyUI calls every registered provider in turn",
                  "exception_auto_disables": "ComfyUI itself catches and logs every exception a provider raises"}


def _provider_battery(pytester: pytest.Pytester, planted, module: str) -> dict[str, tuple[str, str]]:
    planted(module)
    pytester.makeini("[pytest]\ncomfyruntime_era = D\n")
    return outcomes(pytester.inline_run("-p", "no:cacheprovider", "--comfyruntime-conformance",
                                        f"{module}:threads=2,repeats=10"))


def test_the_example_cache_provider_passes_every_check_that_applies(pytester: pytest.Pytester, planted) -> None:
    found = _provider_battery(pytester, planted, "good_provider")
    assert {name: o for name, (o, _) in found.items()} == {
        check: "skipped" if check in PROVIDER_SKIPS else "passed" for check in CHECKS}, found
    for check, why in PROVIDER_SKIPS.items():
        assert "the hooks are CacheProviders only (CacheProvider good_provider.enable.<locals>.SharedCache)" in found[check][1]
        assert why in found[check][1]


@pytest.mark.parametrize("module", sorted(PROVIDER_PLANTED))
def test_the_right_check_catches_the_planted_provider_fault(pytester: pytest.Pytester, planted, module) -> None:
    failing, fragments = PROVIDER_PLANTED[module]
    found = _provider_battery(pytester, planted, module)
    assert found[failing][0] == "failed", (failing, found[failing])
    for fragment in fragments:
        assert fragment in found[failing][1], f"{fragment!r} not in:\n{found[failing][1]}"
    # registering on import also answers the battery's own enable() with nothing new to register
    also = {"hooks_active"} if module == "provider_import_time" else set()
    for check in set(CHECKS) - {failing} - also:
        assert found[check][0] == ("skipped" if check in PROVIDER_SKIPS else "passed"), (check, found[check])

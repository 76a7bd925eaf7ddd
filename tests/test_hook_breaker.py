"""ComfyUI's hook breaker: eras C and D put ``comfy.model_management.cast_to`` back right after
custom nodes load and after prompts (at most every 10 s); the harness and the fixtures do the same
and say so."""
from __future__ import annotations

import sys
import warnings

import pytest
from mockera import four_node, mock_era

from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.hook_breaker import GC_COLLECT_INTERVAL_S, HookBreaker, HookBrokenWarning


def _patch_cast_to():
    mm = sys.modules["comfy.model_management"]
    original = mm.cast_to

    def fp8_cast_to(weight, *args, **kwargs):
        return original(weight, *args, **kwargs)
    mm.cast_to = fp8_cast_to
    return mm, original, fp8_cast_to


@pytest.mark.parametrize("era", ["C", "D-11", "D"])
def test_the_first_prompt_undoes_a_cast_to_patch_then_every_ten_seconds(era, tmp_path):
    with mock_era(era, tmp_path) as m:
        harness = m.harness()
        mm, original, patch = _patch_cast_to()
        with pytest.warns(HookBrokenWarning, match=r"restored comfy\.model_management\.cast_to after prompt 'p1'"):
            harness.run(four_node(), prompt_id="p1")
        assert mm.cast_to is original
        mm.cast_to = patch  # patched again at once: the worker's next pass is 10 s away
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            harness.run(four_node(), prompt_id="p2")
        assert mm.cast_to is patch
        later = harness.hook_breaker._last_gc + GC_COLLECT_INTERVAL_S + 0.1
        with pytest.warns(HookBrokenWarning):
            assert [b.where for b in harness.hook_breaker.after_prompt("p3", now=later)] == [
                "comfy.model_management.cast_to"]
        assert mm.cast_to is original
        assert [b.when for b in harness.hook_breaker.broken] == ["after prompt 'p1'", "after prompt 'p3'"]


@pytest.mark.parametrize("era", ["A", "B"])
def test_eras_before_the_hook_breaker_keep_the_patch(era, tmp_path):
    with mock_era(era, tmp_path) as m:
        harness = m.harness()
        assert harness.hook_breaker is None and HookBreaker.save(ERAS[era]) is None
        mm, original, patch = _patch_cast_to()
        try:
            harness.run(four_node(), prompt_id="p1")
            assert mm.cast_to is patch
        finally:
            mm.cast_to = original


def test_a_harness_can_leave_the_functions_alone(tmp_path):
    with mock_era("C", tmp_path) as m:
        harness = m.harness(hook_breaker=False)
        mm, original, patch = _patch_cast_to()
        try:
            harness.run(four_node(), prompt_id="p1")
            assert harness.hook_breaker is None and mm.cast_to is patch
        finally:
            mm.cast_to = original


HOOKS = '''
import sys

def enable(execution):
    mm = sys.modules["comfy.model_management"]  # of the era in use (the matrix swaps them)
    original = mm.cast_to
    def fp8_cast_to(weight, *args, **kwargs):
        return original(weight, *args, **kwargs)
    fp8_cast_to.original = original
    mm.cast_to = fp8_cast_to
    return True

def disable(execution):
    mm = sys.modules["comfy.model_management"]
    if hasattr(mm.cast_to, "original"):
        mm.cast_to = mm.cast_to.original
'''


def test_the_fixtures_undo_it_when_the_hooks_load_and_say_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(castfp8=HOOKS)
    pytester.syspathinsert()
    pytester.makeini("[pytest]\ncomfyruntime_hooks = castfp8:enable\ncomfyruntime_unhooks = castfp8:disable\n")
    pytester.makepyfile('''
import pytest

def test_patch_is_gone(comfy_execution_module):
    import comfy.model_management as mm
    assert mm.cast_to.__qualname__ == "cast_to"  # ComfyUI's own, as on a real server

@pytest.mark.comfyui(era=["A", "B"])
def test_patch_stays_before_the_hook_breaker(comfy_execution_module):
    import comfy.model_management as mm
    assert mm.cast_to.__name__ == "fp8_cast_to"

def test_active(comfyruntime):
    comfyruntime.assert_hooks_active()
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "-rfs", "--comfyruntime-era=B,C,D")
    result.assert_outcomes(passed=3, failed=4, skipped=2)
    result.stdout.fnmatch_lines([
        "*HookBrokenWarning: ComfyUI restored comfy.model_management.cast_to right after custom nodes loaded (the "
        "hooks were just enabled), undoing the patch castfp8.enable.<locals>.fp8_cast_to: it is on "
        "ComfyUI's hook_breaker_ac10a0.HOOK_BREAK (eras C and D)*"])
    # B keeps the patch (and the CR probe never casts, so it is not active there either); C and D undo it.
    result.stdout.fnmatch_lines(["FAILED *test_patch_is_gone?mock-B?*", "FAILED *test_active?mock-B?*",
                                 "FAILED *test_active?mock-C?*", "FAILED *test_active?mock-D?*"])
    # Counted in the failure reports only: the short summary repeats each message in full when pytest
    # thinks it runs on CI (the CI variable) and cuts it to the terminal width otherwise.
    failures = result.stdout.str().split("short test summary info")[0]
    assert failures.count("  - ComfyUI restored comfy.model_management.cast_to right after custom nodes loaded") == 2

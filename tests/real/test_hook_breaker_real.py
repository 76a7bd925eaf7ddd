"""The harness's hook breaker is the real one of its era: the same (module, function) list as the
root's ``hook_breaker_ac10a0.py`` (eras C and later; read from its source), none where the root
has no such file."""
from __future__ import annotations

import ast

from realtier import backend_harness


def _dotted(node: ast.expr) -> str:
    return f"{_dotted(node.value)}.{node.attr}" if isinstance(node, ast.Attribute) else node.id


def read_hook_break(path) -> list[tuple[str, str]]:
    """``HOOK_BREAK = [(comfy.model_management, "cast_to"), ...]`` from the file, as names."""
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Assign) and [getattr(t, "id", None) for t in node.targets] == ["HOOK_BREAK"]:
            return [(_dotted(item.elts[0]), item.elts[1].value) for item in node.value.elts]
    raise AssertionError(f"{path} has no HOOK_BREAK list any more")


def test_hook_break_list_is_the_roots(runtime):
    real = runtime.backends["real"]
    path = real.real.info.root / "hook_breaker_ac10a0.py"
    if not real.era.hook_break:
        assert not path.exists(), f"{path} exists: era {real.era.key} has a hook breaker after all"
        return
    assert read_hook_break(path) == list(real.era.hook_break)
    with backend_harness(runtime, "real") as harness:
        assert harness.hook_breaker is not None
        assert list(harness.hook_breaker.saved) == [f"{m}.{n}" for m, n in real.era.hook_break]
        module, original = harness.hook_breaker.saved["comfy.model_management.cast_to"]
        assert module.__file__.startswith(str(real.real.info.root)) and original is module.cast_to


def test_a_cast_to_patch_is_undone_after_the_first_prompt_on_real_comfyui(runtime):
    import pytest

    from pytest_comfyruntime.executor.hook_breaker import HookBrokenWarning

    real = runtime.backends["real"]
    prompt = {"1": {"class_type": "CRInt", "inputs": {"value": 2}},
              "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}
    with backend_harness(runtime, "real") as harness:
        if not real.era.hook_break:  # A and B: nothing is put back
            assert harness.hook_breaker is None
            return
        import comfy.model_management as mm
        original = mm.cast_to
        mm.cast_to = lambda weight, *args, **kwargs: weight
        try:
            with pytest.warns(HookBrokenWarning, match="restored comfy.model_management.cast_to after prompt 'p1'"):
                assert harness.run(prompt, prompt_id="p1").success
            assert mm.cast_to is original
        finally:
            mm.cast_to = original

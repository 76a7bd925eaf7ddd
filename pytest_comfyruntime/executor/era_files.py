"""The mock's eras side by side: the file each module of an era runs, and how two eras differ.

Each era's mock modules are whole files under ``mock_root/`` (see :mod:`.standin`), so an era is a
set of files and two eras can be compared as two trees. ``comfyruntime eras files D`` prints
:func:`format_era_files`, ``comfyruntime eras diff C D`` prints :func:`diff_eras`.
"""
from __future__ import annotations

import difflib
from pathlib import Path

from .eras import Era, resolve_era
from .standin import MOCK_ROOT, module_files


def _era(era: Era | str) -> Era:
    return resolve_era(era) if isinstance(era, str) else era


def era_files(era: Era | str, root: Path = MOCK_ROOT) -> dict[str, str]:
    """Module name -> the file it runs in ``era``, relative to ``mock_root/`` (``cd/comfy/utils.py``),
    sorted by module name. ``era`` is an :class:`Era` or any name ``resolve_era`` accepts."""
    return {name: file.relative_to(root).as_posix() for name, file in module_files(_era(era), root).items()}


def format_era_files(era: Era | str, root: Path = MOCK_ROOT) -> str:
    """One ``module  ->  folder/path.py`` line per module of ``era``."""
    files = era_files(era, root)
    width = max(map(len, files), default=0)
    return "".join(f"{name:<{width}}  ->  {path}\n" for name, path in files.items())


def _lines(root: Path, path: str | None) -> list[str]:
    if path is None:
        return []
    lines = (root / path).read_text(encoding="utf-8").splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    return lines


def diff_eras(old: Era | str, new: Era | str, root: Path = MOCK_ROOT, context: int = 3) -> str:
    """The unified diff from era ``old``'s files to era ``new``'s, module by module in name order.

    A module both eras take from the same file is left out; a module only one era has is shown as
    a file added (``--- /dev/null``) or removed (``+++ /dev/null``). Empty when the eras run the
    same files (``diff_eras("C", "C")``).
    """
    old_files, new_files = era_files(old, root), era_files(new, root)
    chunks: list[str] = []
    for name in sorted(old_files.keys() | new_files.keys()):
        old_path, new_path = old_files.get(name), new_files.get(name)
        if old_path == new_path:
            continue
        chunks.extend(difflib.unified_diff(
            _lines(root, old_path), _lines(root, new_path),
            fromfile=old_path or "/dev/null", tofile=new_path or "/dev/null", n=context))
    return "".join(chunks)


__all__ = ["diff_eras", "era_files", "format_era_files"]

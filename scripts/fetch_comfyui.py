#!/usr/bin/env python3
"""Fetch real ComfyUI trees of eras A, B and C for pytest-comfyruntime.

A thin wrapper, kept for this repository's Makefile, benchmarks and scripts: the logic (and its
documentation) is ``pytest_comfyruntime/comfyui_fetch.py``, which an installed package runs as
``comfyruntime fetch-comfyui``. The options and the output are the same:

    python scripts/fetch_comfyui.py [--cache DIR] [--era A|B|C|all] [--force]
    python scripts/fetch_comfyui.py --print-root A      # just the path, for Makefiles

Run from a checkout where the package is not installed, it imports the checkout's package.
"""

from __future__ import annotations

import sys
from pathlib import Path

try:
    from pytest_comfyruntime import comfyui_fetch as _impl
except ImportError:  # a bare checkout: the package next to this folder
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from pytest_comfyruntime import comfyui_fetch as _impl

# The names scripts/probe_real_comfyui.py uses (`import fetch_comfyui as fc`).
ERAS = _impl.ERAS
FetchError = _impl.FetchError
default_cache = _impl.default_cache
fetch_era = _impl.fetch_era
root_for = _impl.root_for
read_marker = _impl.read_marker
main = _impl.main

__all__ = ["ERAS", "FetchError", "Path", "default_cache", "fetch_era", "main", "read_marker", "root_for"]

if __name__ == "__main__":
    sys.exit(main())

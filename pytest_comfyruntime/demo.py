"""The overhead half of ``comfyruntime demo``: the release loop on an extension's own suite.

1. Run its ``tests/test_overhead.py`` on one mock era with ``--comfyruntime-report`` and
   ``--comfyruntime-summary``, and print the per-hook table and verdicts.
2. Gate that report with the extension's ``budgets.toml``: it should pass.
3. Run the same tests with a planted slower version of the same hooks (``planted/slow_hooks.py``
   beside the tests, enabled instead of the extension's own) and gate that report against the
   first as the baseline: it should fail, naming the hook and the change.

Each step is a separate process, run exactly as an author or a CI job would run it.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TextIO

OVERHEAD_TESTS = Path("tests") / "test_overhead.py"
BUDGETS = Path("budgets.toml")
PLANTED = Path("planted") / "slow_hooks.py"


def _pytest(path: Path, era: str, report: Path, summary: Path, extra: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(OVERHEAD_TESTS), f"--comfyruntime-era={era}",
           f"--comfyruntime-report={report}", f"--comfyruntime-summary={summary}", *extra]
    return subprocess.run(cmd, cwd=path, capture_output=True, text=True, env=env)


def _gate(path: Path, report: Path, baseline: Path | None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pytest_comfyruntime.cli", "gate", str(report), "--budget", str(BUDGETS)]
    if baseline is not None:
        cmd += ["--baseline", str(baseline)]
    return subprocess.run(cmd, cwd=path, capture_output=True, text=True)


def _section(stdout: str, title: str) -> list[str]:
    """The lines of pytest's terminal section ``title`` (up to the next section or the last line)."""
    lines = stdout.splitlines()
    start = next((i for i, line in enumerate(lines) if title in line and line.startswith("=")), None)
    if start is None:
        return []
    out = []
    for line in lines[start + 1:]:
        if line.startswith("=") or line.endswith(("passed", "failed")) or " passed in " in line:
            break
        out.append(line)
    return out


def run_overhead_loop(path: Path, era: str = "C", out: TextIO = sys.stdout) -> int:
    """0 when the loop behaves as a release should: the suite passes, its report passes the gate,
    and the planted slower hooks fail it against that report; 1 otherwise; None of it (0) when the
    extension has no ``tests/test_overhead.py`` and ``budgets.toml``."""
    if not (path / OVERHEAD_TESTS).is_file() or not (path / BUDGETS).is_file():
        print(f"== overhead loop: skipped ({path} has no {OVERHEAD_TESTS} and {BUDGETS})", file=out)
        return 0
    work = Path(tempfile.mkdtemp(prefix="comfyruntime-demo-"))
    env = {k: v for k, v in os.environ.items() if k != "GITHUB_STEP_SUMMARY"}
    report, slow = work / "report.json", work / "slow.json"
    print(f"== overhead loop on era {era}: {OVERHEAD_TESTS} with --comfyruntime-report={report}", file=out)
    first = _pytest(path, era, report, work / "summary.md", [], env)
    print(f"   {first.stdout.strip().splitlines()[-1] if first.stdout.strip() else 'no output'}", file=out)
    for line in _section(first.stdout, "comfyruntime overhead"):
        print(f"   {line}", file=out)
    if first.returncode != 0 or not report.is_file():
        print(first.stdout[-4000:], first.stderr[-2000:], sep="\n", file=out)
        return 1
    print(f"   markdown summary for GitHub's step summary: {work / 'summary.md'}", file=out)
    gate = _gate(path, report, None)
    print(f"== comfyruntime gate {report.name} --budget {BUDGETS}: exit {gate.returncode}", file=out)
    for line in (gate.stdout + gate.stderr).strip().splitlines():
        print(f"   {line}", file=out)
    if not (path / PLANTED).is_file():
        print(f"== planted regression: skipped (no {PLANTED})", file=out)
        return 0 if gate.returncode == 0 else 1
    planted_env = dict(env, PYTHONPATH=os.pathsep.join(filter(None, [str(path / PLANTED.parent), env.get("PYTHONPATH")])))
    module = PLANTED.stem
    print(f"== the same tests with {PLANTED} (the same hooks, slower), gated against the first report", file=out)
    second = _pytest(path, era, slow, work / "slow.md", ["-o", f"comfyruntime_hooks={module}:enable",
                                                         "-o", f"comfyruntime_unhooks={module}:disable"], planted_env)
    if not slow.is_file():
        print(second.stdout[-4000:], second.stderr[-2000:], sep="\n", file=out)
        return 1
    regress = _gate(path, slow, report)
    print(f"== comfyruntime gate {slow.name} --budget {BUDGETS} --baseline {report.name}: exit {regress.returncode}",
          file=out)
    for line in (regress.stdout + regress.stderr).strip().splitlines():
        if line.startswith(("REGRESSION", "FAIL", "comfyruntime gate")):
            print(f"   {line}", file=out)
    ok = gate.returncode == 0 and regress.returncode == 1
    print(f"== overhead loop: {'as expected (pass, then the planted regression fails)' if ok else 'NOT as expected'}",
          file=out)
    return 0 if ok else 1


__all__ = ["run_overhead_loop"]

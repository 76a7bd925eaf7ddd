"""What the hardware markers cost at collection, and how often a run imports torch.

    .venv/bin/python benchmarks/bench_hardware_markers.py [--processes P] [--rounds R] [--tests N] [--json PATH]

Method. Two generated trees of ``--tests`` tests (20 modules): one whose every test carries one
hardware marker (all seven markers, with and without arguments and ``on_missing``), one with the
same tests unmarked; a copy of the marked tree lists the markers in its ini, so it can also be
collected with the hardware plugin disabled (``-p no:comfyruntime_hardware``). Each of
``--processes`` processes runs ``--rounds`` rounds; a round collects the five groups (marked,
unmarked, each with the plugin on and off, and the marked tree's markers written as one
``pytestmark`` per module) one after the other, in alternating order, with
``pytest --collect-only`` in that process (the test modules dropped from ``sys.modules`` first, so
their marker decorators run again), timing ``pytest_collection`` in CPU time. The first round of
each process warms up and is not counted. Each figure is the median over rounds of the ratio
within a round (the groups of one round run seconds apart in one process, so a loaded machine
moves both sides alike), with a 95% bootstrap interval (2,000 resamples). Interpreter start-up
and plugin imports are not collection and are not timed.

The figures: marked / unmarked with the plugin on (issue 6's budget: 1.05), split into pytest's
own cost of carrying a marker (both with the plugin off) and the plugin's (marked tree, on / off);
and the plugin's collection hook (its only work while collecting) timed inside each collection.
The exit code holds the plugin's part to the budget: pytest's own part is not the plugin's to
remove (``pytest.mark.x(...)`` builds and stores two Mark objects per decorator).

Then each tree is run for real on this machine (no simulation: the marked tests inspect the real
hardware), in one process and under ``-n 4``; a plugin counts how often each process looks torch
up on ``sys.meta_path`` (once per actual import) and how many inspections ran.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

BUDGET = 1.05
MODULES = 20
VARIANTS = (
    "@pytest.mark.gpu",
    "@pytest.mark.cuda(min_capability=(8, 0))",
    "@pytest.mark.bf16",
    "@pytest.mark.vram(8000)",
    "@pytest.mark.multi_gpu(2)",
    "@pytest.mark.mps",
    "@pytest.mark.hardware(device='cuda', dtype='bf16', vram_mb=4000, on_missing='downgrade')",
    "@pytest.mark.hardware(dtype='fp16', on_missing='downgrade')",
    "@pytest.mark.vram(min_mb=16000, on_missing='downgrade')",
    "@pytest.mark.cuda",
)
GROUPS = ("marked", "unmarked", "marked, plugin off", "unmarked, plugin off", "marked by module")

COLLECT = '''
"""python comfybench_collect.py ROUNDS JOBS_JSON: collect each job once per round, in this process."""
import gc, json, os, sys, time
import pytest

class Timer:
    def __init__(self):
        self.t = {"hw_hook_s": 0.0}

    def pytest_configure(self, config):
        for impl in config.pluginmanager.hook.pytest_collection_modifyitems.get_hookimpls():
            if impl.plugin_name == "comfyruntime_hardware":  # its only work during collection
                inner = impl.function
                def timed(*args, _inner=inner):
                    start = time.process_time()
                    try:
                        return _inner(*args)
                    finally:
                        self.t["hw_hook_s"] = time.process_time() - start
                impl.function = timed

    @pytest.hookimpl(wrapper=True)
    def pytest_collection(self, session):
        start = time.process_time()
        try:
            return (yield)
        finally:
            self.t["collect_s"] = time.process_time() - start
            self.t["items"] = len(session.items)
            self.t["torch"] = "torch" in sys.modules

rounds, jobs = int(sys.argv[1]), json.loads(sys.argv[2])
out = []
for r in range(rounds):
    row = {}
    for name, tree, extra in (jobs if r % 2 == 0 else jobs[::-1]):
        for mod in [m for m in sys.modules if m.startswith("test_mod_")]:
            del sys.modules[mod]
        gc.collect()
        timer = Timer()
        rc = pytest.main([tree, "--collect-only", "-q", "-p", "no:cacheprovider", "--rootdir", tree,
                          "-c", os.path.join(tree, "pytest.ini"), *extra], plugins=[timer])
        if rc != 0:
            sys.exit(f"collecting {tree} exited {rc}")
        row[name] = timer.t
    out.append(row)
with open(os.path.join(os.environ["COMFYBENCH_OUT"], "collect.json"), "w") as fh:
    json.dump(out, fh)
'''

TIMER = '''
"""Loaded with -p comfybench_timer in the real runs: counts torch look-ups and inspections."""
import json, os, sys, time
import pytest

class _CountTorch:
    lookups = 0
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            _CountTorch.lookups += 1
        return None

sys.meta_path.insert(0, _CountTorch())
_T = {"torch_at_start": "torch" in sys.modules}

@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session):
    start = time.perf_counter()
    try:
        return (yield)
    finally:
        _T["run_s"] = time.perf_counter() - start

def pytest_sessionfinish(session):
    from pytest_comfyruntime.hardware.probe import inspection_count
    _T.update(inspections=inspection_count(), torch_lookups=_CountTorch.lookups,
              torch_imported="torch" in sys.modules)
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with open(os.path.join(os.environ["COMFYBENCH_OUT"], f"{worker}.json"), "w") as fh:
        json.dump(_T, fh)
'''


def write_tree(root: Path, tests: int, marked: bool, register: bool = False, by_module: bool = False) -> Path:
    """``register``: list the markers in pytest.ini, for collections with the hardware plugin disabled;
    ``by_module``: one ``pytestmark`` per module instead of a decorator per test."""
    root.mkdir(parents=True)
    names = sorted({v.split(".")[2].split("(")[0] for v in VARIANTS})
    (root / "pytest.ini").write_text("[pytest]\n" + ("markers =\n" + "".join(f"    {n}\n" for n in names)
                                                     if register else ""))
    per = tests // MODULES
    for m in range(MODULES):
        lines = ["import pytest", ""]
        if by_module:
            lines += [f"pytestmark = {VARIANTS[m % len(VARIANTS)].removeprefix('@')}", ""]
        for t in range(per):
            if marked and not by_module:
                lines.append(VARIANTS[(m * per + t) % len(VARIANTS)])
            lines += [f"def test_{t}():", "    pass", ""]
        (root / f"test_mod_{m:02d}.py").write_text("\n".join(lines))
    return root


def _env(out: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMFYRUNTIME_")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # pytest caches rewritten test modules, as on a developer's machine
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(out.parent / "plugin"), env.get("PYTHONPATH")]))
    env["COMFYBENCH_OUT"] = str(out)
    return env


def collect_rounds(jobs: list[tuple[str, Path, tuple[str, ...]]], out: Path, rounds: int) -> list[dict]:
    spec = json.dumps([[name, str(tree), list(extra)] for name, tree, extra in jobs])
    proc = subprocess.run([sys.executable, str(out.parent / "plugin" / "comfybench_collect.py"), str(rounds), spec],
                          cwd=out.parent, env=_env(out), capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"collection failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    rows: list[dict] = json.loads((out / "collect.json").read_text())
    return rows


def pytest_run(tree: Path, out: Path, *args: str) -> list[dict]:
    for old in out.glob("*.json"):
        old.unlink()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "comfybench_timer", *args],
                   cwd=tree, env=_env(out), capture_output=True, text=True)
    return [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]


def median_ci(values: list[float], n: int = 2000) -> tuple[float, float, float]:
    """Median and its 95% bootstrap interval."""
    rng = random.Random(6)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(n))
    return statistics.median(values), medians[int(0.025 * n)], medians[int(0.975 * n) - 1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--processes", type=int, default=4, help="collecting processes (default 4)")
    parser.add_argument("--rounds", type=int, default=9, help="rounds per process, the first not counted (default 9)")
    parser.add_argument("--tests", type=int, default=2000, help="tests per tree (default 2000)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    parser.add_argument("--no-run", action="store_true", help="only the collection figures")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="comfybench-hw-") as tmp:
        base = Path(tmp)
        (base / "plugin").mkdir()
        (base / "plugin" / "comfybench_timer.py").write_text(TIMER)
        (base / "plugin" / "comfybench_collect.py").write_text(COLLECT)
        out = base / "out"
        out.mkdir()
        marked = write_tree(base / "marked", args.tests, marked=True)
        plain = write_tree(base / "unmarked", args.tests, marked=False)
        marked_off = write_tree(base / "marked_off", args.tests, marked=True, register=True)
        by_module = write_tree(base / "by_module", args.tests, marked=True, by_module=True)
        off = ("-p", "no:comfyruntime_hardware")
        jobs = [("marked", marked, ()), ("unmarked", plain, ()), ("marked, plugin off", marked_off, off),
                ("unmarked, plugin off", plain, off), ("marked by module", by_module, ())]
        rows: list[dict] = []
        for p in range(args.processes):
            got = collect_rounds(jobs if p % 2 == 0 else jobs[::-1], out, args.rounds)
            rows += got[1:]  # the first round warms the bytecode caches
        assert all(row[g]["items"] == args.tests for row in rows for g in GROUPS), "a tree collected short"
        torch_in_collection = any(row[g]["torch"] for row in rows for g in GROUPS)

        def ratios(a: str, b: str) -> list[float]:
            return [row[a]["collect_s"] / row[b]["collect_s"] for row in rows]

        total = median_ci(ratios("marked", "unmarked"))
        pytest_own = median_ci(ratios("marked, plugin off", "unmarked, plugin off"))
        ours = median_ci(ratios("marked", "marked, plugin off"))
        fixed = median_ci(ratios("unmarked", "unmarked, plugin off"))
        by_mod = median_ci(ratios("marked by module", "unmarked"))
        hook = median_ci([row["marked"]["hw_hook_s"] / row["marked"]["collect_s"] for row in rows])
        hook_plain = median_ci([row["unmarked"]["hw_hook_s"] / row["unmarked"]["collect_s"] for row in rows])
        print(f"collecting {args.tests} tests: CPU time of pytest_collection, {len(rows)} rounds "
              f"({args.processes} processes x {args.rounds - 1}); medians:")
        for g in GROUPS:
            print(f"  {g:<22} {statistics.median(row[g]['collect_s'] for row in rows) * 1e3:7.1f} ms")

        def fmt(m: tuple[float, float, float]) -> str:
            return f"{m[0]:.3f} (95% CI {m[1]:.3f}-{m[2]:.3f})"

        print(f"  marked / unmarked, plugin on: {fmt(total)}; budget {BUDGET}: "
              f"{'PASS' if total[0] <= BUDGET else 'FAIL'}")
        print(f"    pytest's own marks, plugin off: marked / unmarked {fmt(pytest_own)}")
        print(f"    the plugin, on / off: marked tree {fmt(ours)}; unmarked tree {fmt(fixed)}")
        print(f"  the same markers as one pytestmark per module, plugin on: marked / unmarked {fmt(by_mod)}")
        print(f"  the plugin's collection hook inside each collection: marked {hook[0] * 100:.2f}% "
              f"(95% CI {hook[1] * 100:.2f}-{hook[2] * 100:.2f}%), unmarked {hook_plain[0] * 100:.2f}%; "
              f"budget {(BUDGET - 1) * 100:.0f}%: {'PASS' if hook[0] <= BUDGET - 1 else 'FAIL'}")
        print(f"  torch imported during collection: {'yes' if torch_in_collection else 'no'}")
        runs = {}
        for name, tree, extra in () if args.no_run else (("marked, 1 process", marked, ()),
                                                         ("unmarked, 1 process", plain, ()),
                                                         ("marked, -n 4", marked, ("-n", "4")),
                                                         ("unmarked, -n 4", plain, ("-n", "4"))):
            results = pytest_run(tree, out, *extra)
            runs[name] = {"processes": len(results), "max_torch_lookups": max(r["torch_lookups"] for r in results),
                          "inspections": [r["inspections"] for r in results],
                          "run_s": max((r["run_s"] for r in results if "run_s" in r), default=float("nan"))}
        if runs:
            print("running the trees on this machine (real inspection; wall-clock), per process:")
        for name, run in runs.items():
            print(f"  {name:<20} processes {run['processes']}, torch look-ups at most {run['max_torch_lookups']}, "
                  f"inspections {run['inspections']}, test loop {run['run_s']:.2f} s")
        once = all(run["max_torch_lookups"] <= 1 for run in runs.values()) and not torch_in_collection
        print(f"  torch imported at most once per process, never by collection: {'PASS' if once else 'FAIL'}")
        if args.json:
            args.json.write_text(json.dumps({
                "tests": args.tests, "rounds": len(rows), "marked_over_unmarked": total, "pytest_marks": pytest_own,
                "plugin_on_off_marked": ours, "plugin_on_off_unmarked": fixed, "marked_by_module_over_unmarked": by_mod, "hook_share_marked": hook,
                "hook_share_unmarked": hook_plain, "budget": BUDGET, "runs": runs, "torch_once": once}, indent=2))
    return 0 if ours[0] <= BUDGET and hook[0] <= BUDGET - 1 and once else 1


if __name__ == "__main__":
    sys.exit(main())

"""What ``--comfyruntime-era all`` costs beyond the runs it makes: one pytest session over every
era against one session per era.

    make bench        (runs this after bench_mock_executor.py)
    .venv/bin/python benchmarks/bench_era_matrix.py [--repeat N] [--tests N]

A throwaway suite of ``--tests`` tests, each running a 4-node prompt through ``comfy_executor``, is
run in fresh ``pytest`` processes: with ``--comfyruntime-era X`` for each era, with
``--comfyruntime-era all``, and once with every test deselected (the fixed cost of a session:
interpreter, pytest, the plugin, collection). Sessions are interleaved round by round and each
figure is the median wall time over ``--repeat`` rounds. The matrix's own runs are what the four
single-era sessions spend beyond that fixed cost; the overhead is what the matrix session spends
beyond one fixed cost plus those runs. Part of it is loading the mock modules of the eras after the
first (a single-era session loads its era inside the fixed cost), timed on its own in a fresh
process per era.
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from pytest_comfyruntime.executor.eras import ERAS as _ALL

ERAS = tuple(_ALL)  # every era `--comfyruntime-era all` runs (D-11 included)
SUITE = '''
import pytest

FOUR = {{"1": {{"class_type": "CRInt", "inputs": {{"value": 1}}}},
         "2": {{"class_type": "CRInt", "inputs": {{"value": 2}}}},
         "3": {{"class_type": "CRAdd", "inputs": {{"a": ["1", 0], "b": ["2", 0]}}}},
         "4": {{"class_type": "CRRecord", "inputs": {{"value": ["3", 0], "label": "sum"}}}}}}


@pytest.mark.parametrize("n", range({tests}))
def test_prompt(comfy_executor, n):
    assert comfy_executor.run(FOUR).outputs["4"]["value"] == [3]
'''


def session(folder: Path, *args: str) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
                          cwd=folder, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if proc.returncode not in (0, 5):  # 5: every test deselected
        raise SystemExit(f"pytest {' '.join(args)} failed:\n{proc.stdout[-3000:]}{proc.stderr[-3000:]}")
    return elapsed


LOAD = """
import tempfile, time
from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.standin import StandIn
standin = StandIn(ERAS[{era!r}])
undo = standin.activate()
start = time.perf_counter()
standin.import_core(tempfile.mkdtemp())
print(time.perf_counter() - start)
undo()
"""


def era_load_s(era: str) -> float:
    """Seconds to load one era's mock modules, in a fresh process."""
    proc = subprocess.run([sys.executable, "-c", LOAD.format(era=era)], capture_output=True, text=True, check=True,
                          cwd=Path(__file__).resolve().parents[1])
    return float(proc.stdout.strip())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="rounds (default 7)")
    parser.add_argument("--tests", type=int, default=200, help="tests in the suite (default 200)")
    args = parser.parse_args()
    runs = {name: [] for name in ("fixed", *ERAS, "all")}
    with tempfile.TemporaryDirectory(prefix="comfyruntime-matrix-") as tmp:
        folder = Path(tmp)
        (folder / "test_matrix.py").write_text(SUITE.format(tests=args.tests))
        (folder / "pytest.ini").write_text("[pytest]\n")
        for _ in range(args.repeat):
            runs["fixed"].append(session(folder, "-k", "no_such_test"))
            for era in ERAS:
                runs[era].append(session(folder, f"--comfyruntime-era={era}"))
            runs["all"].append(session(folder, "--comfyruntime-era=all"))
    loads = {era: statistics.median(era_load_s(era) for _ in range(args.repeat)) for era in ERAS[1:]}
    med = {name: statistics.median(times) for name, times in runs.items()}
    own = sum(med[era] - med["fixed"] for era in ERAS)
    overhead = med["all"] - med["fixed"] - own
    print(f"era matrix benchmark: {args.tests} tests x 4-node prompt, median wall time of {args.repeat} "
          f"interleaved rounds (s)")
    print(f"  fixed cost of a session (all deselected)   {med['fixed']:7.2f}")
    for era in ERAS:
        print(f"  --comfyruntime-era={era}  ({args.tests} tests)      {med[era]:7.2f}  "
              f"(runs: {med[era] - med['fixed']:.2f})")
    print(f"  --comfyruntime-era=all ({4 * args.tests} tests)    {med['all']:7.2f}")
    print(f"  the matrix's own runs (sum of the four)     {own:7.2f}")
    print(f"  matrix overhead beyond its runs            {overhead:+7.2f}  "
          f"({overhead / own * 100:+.1f} % of its runs; one session saves {3 * med['fixed']:.2f} s of start-up "
          f"against four)")
    print(f"  of which loading eras {', '.join(loads)} once    {sum(loads.values()):7.2f}  "
          f"({', '.join(f'{e} {t * 1000:.0f} ms' for e, t in loads.items())}); the rest, swapping eras "
          f"per test: {overhead - sum(loads.values()):+.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Real ComfyUI versus the mock, per era, measured side by side in one process.

    make bench-real     (or: .venv/bin/python benchmarks/bench_real_vs_mock.py [--era A|B|C|all])

For each era (each in its own process, since ComfyUI's modules are process-wide) it reports:
the cost of importing ComfyUI once; microseconds per prompt for each bundled CR workflow on the
real executor and on the mock, alternating batches so both see the same machine load, and their
ratio; and the per-test cost of the fixtures (snapshot, node registration, residue check and
restore) on each backend. Medians of batch means; the spread is the min-max of the batch means.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench_mock_executor import batch_means  # noqa: E402  (benchmarks/ is this script's folder)

WORKFLOWS = ("four_node", "switch", "chain_100", "failing")


def _vary(prompt: dict, i: int) -> dict:
    """The prompt with its first integer constant set to i, so every run recomputes."""
    import copy

    out = copy.deepcopy(prompt)
    for node in out.values():
        if node["class_type"] == "CRInt":
            node["inputs"]["value"] = i
            break
    return out


def one_era(era: str, root: str, repeat: int) -> dict:
    from pytest_comfyruntime.config import Settings
    from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS
    from pytest_comfyruntime.runtime import ComfyRuntime
    from pytest_comfyruntime.workflows import load_workflow

    settings = Settings(executor="both", eras=era, comfyui_root=root)
    runtime = ComfyRuntime(settings, base_dir=Path(tempfile.mkdtemp(prefix="comfyruntime-bench-")))
    started = time.perf_counter()
    runtime.start()
    load_s = time.perf_counter() - started
    report: dict = {"era": era, "root": root, "version": runtime.backends["real"].version,
                    "import_comfyui_s": load_s, "workflows": {}, "per_test_ms": {}}
    prompts = {name: load_workflow(name, node_classes=TEST_NODE_CLASS_MAPPINGS) for name in WORKFLOWS}
    for name, prompt in prompts.items():
        variants = [_vary(prompt, i) for i in range(64)]
        target = [k for k, v in prompt.items() if v["class_type"] == "CRRecord"]
        batch = 5 if name == "chain_100" else 50
        samples: dict[str, list[float]] = {"mock": [], "real": []}
        for _ in range(repeat):  # alternate backends batch by batch
            for backend in ("mock", "real"):
                ctx = runtime.open_test(Path(tempfile.mkdtemp()), TEST_NODE_CLASS_MAPPINGS, backend=backend)
                try:
                    executor = ctx.harness().executor
                    samples[backend] += batch_means(
                        lambda i, executor=executor, variants=variants, target=target:
                        executor.execute(variants[i % 64], "bench", {}, target), batch, 1)
                finally:
                    ctx.close()
                    ctx.check()
        mock, real = statistics.median(samples["mock"]), statistics.median(samples["real"])
        report["workflows"][name] = {"mock_us": mock, "real_us": real, "real_over_mock": real / mock,
                                     "mock_spread": [min(samples["mock"]), max(samples["mock"])],
                                     "real_spread": [min(samples["real"]), max(samples["real"])]}
    for backend in ("mock", "real"):
        def cycle(_i, backend=backend):
            ctx = runtime.open_test(Path(tempfile.mkdtemp()), TEST_NODE_CLASS_MAPPINGS, backend=backend)
            ctx.close()
            ctx.check()
        report["per_test_ms"][backend] = statistics.median(batch_means(cycle, 20, repeat)) / 1000
    runtime.stop()
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--era", default="all", help="A, B, C or all")
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--one", nargs=2, metavar=("ERA", "ROOT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print("REPORT " + json.dumps(one_era(args.one[0], args.one[1], args.repeat)))
        return 0
    eras = ["A", "B", "C"] if args.era == "all" else [args.era.upper()]
    print(f"real ComfyUI vs mock, per era (python {sys.version.split()[0]}, median of {args.repeat} batch means)")
    for era in eras:
        root = subprocess.run([sys.executable, str(REPO / "scripts" / "fetch_comfyui.py"), "--print-root", era],
                              capture_output=True, text=True, check=True).stdout.strip()
        proc = subprocess.run([sys.executable, __file__, "--one", era, root, "--repeat", str(args.repeat)],
                              capture_output=True, text=True)
        line = next((out for out in proc.stdout.splitlines() if out.startswith("REPORT ")), None)
        if line is None:
            print(f"era {era}: failed\n{proc.stderr[-3000:]}")
            return 1
        rep = json.loads(line[7:])
        print(f"\nera {era}: ComfyUI {rep['version']} at {rep['root']}")
        print(f"  import ComfyUI once: {rep['import_comfyui_s']:.2f} s")
        print(f"  {'workflow':<11} {'real us':>10} {'mock us':>10} {'real/mock':>10}")
        for name, w in rep["workflows"].items():
            print(f"  {name:<11} {w['real_us']:10.1f} {w['mock_us']:10.1f} {w['real_over_mock']:10.2f}")
        print(f"  per-test fixture cost (snapshot, nodes, residue check): real {rep['per_test_ms']['real']:.2f} ms, "
              f"mock {rep['per_test_ms']['mock']:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Records the public surface of real ComfyUI's ``execution`` module, one era per process.

    python scripts/record_real_surface.py --python VENV/bin/python A=ROOT_A B=ROOT_B C=ROOT_C \
        > tests/data/real_surface.json

Each ROOT is a ComfyUI folder (see scripts/fetch_comfyui.py). The result holds facts only:
names, signatures (without annotations) and whether they are coroutines. tests/test_mock_surface.py holds the mock to it.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys

_PROBE = r'''
import inspect, json, os, sys
root = sys.argv[1]
sys.dont_write_bytecode = True
os.chdir(root)
sys.path.insert(0, root)
import comfy.options, comfy.cli_args
comfy.cli_args.args.cpu = True
import execution

def bare(f):
    sig = inspect.signature(f)
    sig = sig.replace(parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
                      return_annotation=sig.empty)
    return str(sig)

out = {"execution": sorted(n for n in dir(execution) if not n.startswith("_")),
       "PromptExecutor": sorted(n for n in vars(execution.PromptExecutor) if not n.startswith("__")),
       "signatures": {}}
for name in ["get_input_data", "validate_prompt", "validate_inputs", "execute", "recursive_execute",
             "get_output_data", "format_value", "full_type_name"]:
    f = getattr(execution, name, None)
    if callable(f):
        out["signatures"][name] = [bare(f), inspect.iscoroutinefunction(f)]
for name in ["__init__", "execute", "execute_async", "reset", "add_message", "handle_execution_error"]:
    f = getattr(execution.PromptExecutor, name, None)
    if f:
        out["signatures"]["PromptExecutor." + name] = [bare(f), inspect.iscoroutinefunction(f)]
print("SURFACE " + json.dumps(out))
'''


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable, help="interpreter that can import ComfyUI")
    parser.add_argument("roots", nargs="+", metavar="ERA=ROOT")
    args = parser.parse_args()
    result = {"_comment": "Public names and signatures of real ComfyUI's execution module per era "
                          "(recorded by scripts/record_real_surface.py; facts only)."}
    for pair in args.roots:
        era, _, root = pair.partition("=")
        proc = subprocess.run([args.python, "-c", _PROBE, root], capture_output=True, text=True)
        line = next((l for l in proc.stdout.splitlines() if l.startswith("SURFACE ")), None)
        if proc.returncode != 0 or line is None:
            print(f"record_real_surface: era {era} at {root} failed:\n{proc.stderr[-3000:]}", file=sys.stderr)
            return 1
        result[era] = json.loads(line[len("SURFACE "):])
    json.dump(result, sys.stdout, indent=1, sort_keys=True)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())

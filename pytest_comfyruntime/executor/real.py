"""Loading a real ComfyUI in-process, once per process, the CPU-safe way.

``inspect_root`` tells the era, version and signature from the code without importing anything (era
D, ComfyUI of 2026, from its ``execution.py`` markers or a version of 0.4 and later; which of the
2026 signatures, from the parameters of its ``PromptExecutor`` and per-node ``execute``);
``load_real_comfyui`` sets up what the root's ``main.py`` sets up before it loads custom nodes,
in its order, without importing ``main.py``: ``comfy.cli_args.args.cpu`` when the runner has no
CUDA, ``utils.extra_config`` before ``nodes`` puts ``ROOT/comfy`` first on ``sys.path`` (where the
root has a ``utils`` package), ``execution``, ``server`` and ``nodes``, then
``server.PromptServer(loop)`` (``PromptServer.instance``) and, before 2025, the
``execution.PromptQueue(server)`` ``main.py`` makes. The loop is the harness's
:class:`~.harness.RecordingLoop`: no port is bound, no thread started, no event loop run; the
server's user folder (and, where the server would look for the web frontend, its root) is a
temporary folder of the process. It returns a :class:`RealComfyUI` holding the modules and the
server. Every failure is a :class:`ComfyUIRootError` whose message names the path and the fix.
"""
from __future__ import annotations

import atexit
import importlib
import json
import os
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .eras import ERAS, version_tuple
from .harness import start_server
from .signatures import detect_signature
from .standin import is_managed

_REQUIREMENTS_HINT = "requirements/real-comfyui.txt of pytest-comfyruntime, or the root's requirements.txt"


class ComfyUIRootError(Exception):
    """The ComfyUI root cannot be used; the message names the path and the fix."""


@dataclass(frozen=True)
class RootInfo:
    root: Path
    era: str
    version: str | None
    #: The signature record that describes this root (``signatures.SIGNATURES``), read from its
    #: ``execution.py``: ``"D"`` or ``"D-11"`` for ComfyUI of 2026 (then also its era), the era
    #: for the others.
    signature: str = ""


#: Why no ``PromptServer`` is built for a root of 2026 (era D).
NO_SERVER_2026 = (
    "ComfyUI of 2026 builds PromptServer(loop, asset_manager) with the AssetManager main.py makes "
    "(app.assets, a database unless --disable-assets); that startup is read, not run, here, so the "
    "harness sends through a private RecordingServer and PromptServer.instance does not exist")


@dataclass
class RealComfyUI:
    info: RootInfo
    execution: ModuleType
    nodes: ModuleType
    modules: dict[str, ModuleType] = field(default_factory=dict)
    #: ``server.PromptServer.instance``, built as ``main.py`` builds it; None where it is not.
    server: Any = None
    #: Why no server was built (era D, or a root without ``server.py``), else None.
    no_server: str | None = None

    @property
    def era(self) -> str:
        return self.info.era

    @property
    def version(self) -> str | None:
        return self.info.version

    @property
    def signature(self) -> str:
        """The signature record of this root (``"D"`` or ``"D-11"`` in 2026), read from its code."""
        return self.info.signature or self.info.era

    def owns(self, module: ModuleType) -> bool:
        return _under(module, self.info.root)

    def own_modules(self) -> dict[str, ModuleType]:
        """The root's modules now in ``sys.modules``."""
        return {name: module for name, module in list(sys.modules.items()) if self.owns(module)}


def inspect_root(root: str | os.PathLike[str]) -> RootInfo:
    """Era and version of a ComfyUI folder, read from its files; ComfyUIRootError if it is none."""
    path = Path(root).expanduser()
    if not path.exists():
        raise ComfyUIRootError(f"pytest-comfyruntime: ComfyUI root {path} does not exist; fix: point "
                               "--comfyui-root (or COMFYUI_ROOT) at a ComfyUI checkout")
    path = path.resolve()
    execution_py, nodes_py = path / "execution.py", path / "nodes.py"
    if not path.is_dir() or not execution_py.is_file() or not nodes_py.is_file() or not (path / "comfy").is_dir():
        raise ComfyUIRootError(f"pytest-comfyruntime: {path} is not a ComfyUI root (expected execution.py, "
                               "nodes.py and comfy/ in it); fix: point --comfyui-root at the folder that holds main.py")
    source = execution_py.read_text(encoding="utf-8", errors="replace")
    version = _read_version(path)
    numeric = version if version is not None and re.fullmatch(r"\d+(\.\d+)*", version) is not None else None
    if (numeric is not None and version_tuple(numeric) >= (1,)) or "class PromptExecutor" not in source:
        raise ComfyUIRootError(
            f"pytest-comfyruntime: {path} is ComfyUI {version or '(unrecognised execution.py)'}, a version this "
            "release does not know (it knows the 2024 recursive and sync executors, 0.3.4x-0.3.75 and the 2026 "
            "generation 0.35-0.38); fix: use one of those, or the mock (--comfyruntime-executor=mock)")
    if _is_2026(path, source) or (numeric is not None and version_tuple(numeric) >= (0, 4)):
        era = "D"
    elif not (path / "comfy_execution").is_dir():
        era = "A"
    elif re.search(r"async\s+def\s+execute_async\s*\(", source):
        era = "C"
    else:
        era = "B"
    signature = detect_signature(era, source)
    # 2026's two signatures are two eras of the mock ("D" and its variant "D-11"): the root is the
    # one its code says, so a real root and the mock it is compared with run the same signature.
    return RootInfo(path, signature if era == "D" else era, version, signature)


def _is_2026_era(era: str) -> bool:
    return ERAS[era].base == "D"  # either 2026 signature


def _is_2026(path: Path, execution_source: str) -> bool:
    """ComfyUI of 2026 (0.35+ and master): cache providers, RAM thresholds, an asset manager."""
    markers = ("_notify_prompt_lifecycle", "ram_inactive", "asset_manager")
    return any(m in execution_source for m in markers) or (path / "comfy_execution" / "cache_provider.py").is_file()


def _read_version(path: Path) -> str | None:
    version_file = path / "comfyui_version.py"
    if version_file.is_file():
        match = re.search(r"__version__\s*=\s*['\"]([^'\"]+)['\"]", version_file.read_text(encoding="utf-8"))
        if match:
            return match.group(1)
    marker = path / ".comfyruntime-fetch.json"
    if marker.is_file():
        try:
            commit = json.loads(marker.read_text()).get("comfyui_commit")
        except ValueError:
            commit = None
        if commit:
            return f"git-{commit[:7]}"
    return None


_LOADED: RealComfyUI | None = None


def load_real_comfyui(root: str | os.PathLike[str]) -> RealComfyUI:
    """Imports ComfyUI from ``root`` once per process; the same root again returns the same object."""
    global _LOADED
    info = inspect_root(root)
    if _LOADED is not None:
        if _LOADED.info.root != info.root:
            raise ComfyUIRootError(
                f"pytest-comfyruntime: this process already imported ComfyUI from {_LOADED.info.root}; "
                f"it cannot also import {info.root} (ComfyUI's modules are process-wide); fix: run each "
                "root in its own pytest process")
        return _LOADED
    has_utils = (info.root / "utils" / "__init__.py").is_file()
    clashing = [n for n, m in sys.modules.items()
                if (is_managed(n) or (has_utils and _is_utils(n))) and not _under(m, info.root)]
    saved = {n: sys.modules.pop(n) for n in clashing}
    sys.path.insert(0, str(info.root))
    sys.dont_write_bytecode, old_dont_write = True, sys.dont_write_bytecode
    server: Any = None
    try:
        importlib.import_module("comfy.options")  # (cli_args parses nothing unless enabled)
        cli_args = importlib.import_module("comfy.cli_args")
        cli_args.args.cpu = not _has_cuda()
        if has_utils:
            # main.py (August 2024 on) imports utils.extra_config before anything imports nodes,
            # which puts ROOT/comfy first on sys.path: a later `import utils` (server.py's
            # app.frontend_management -> utils.install_util) would find comfy/utils.py instead.
            importlib.import_module("utils.extra_config")
        execution = importlib.import_module("execution")
        serves = not _is_2026_era(info.era) and (info.root / "server.py").is_file()
        server_module = importlib.import_module("server") if serves else None
        nodes = importlib.import_module("nodes")
        if server_module is not None:
            server = _start_server(execution, server_module, cli_args.args)
    except ModuleNotFoundError as exc:
        _forget_root_modules(info.root)
        if _is_2026_era(info.era):
            raise ComfyUIRootError(_missing_2026_package(info.root, exc.name)) from None
        raise ComfyUIRootError(
            f"pytest-comfyruntime: importing ComfyUI from {info.root} failed: package {exc.name!r} is "
            f"missing; fix: pip install -r {_REQUIREMENTS_HINT} (torch==2.14.1, torchvision==0.29.1 here)") from None
    except Exception as exc:
        _forget_root_modules(info.root)
        raise ComfyUIRootError(
            f"pytest-comfyruntime: importing ComfyUI from {info.root} failed: {type(exc).__name__}: {exc}; "
            f"fix: check that the root is complete and its requirements are installed ({_REQUIREMENTS_HINT})") from None
    finally:
        sys.dont_write_bytecode = old_dont_write
    for name, module in saved.items():
        sys.modules.setdefault(name, module)
    no_server = None if server is not None else NO_SERVER_2026 if _is_2026_era(info.era) else f"{info.root} has no server.py"
    _LOADED = RealComfyUI(info, execution, nodes, server=server, no_server=no_server)
    _LOADED.modules.update(_LOADED.own_modules())
    return _LOADED


def _is_utils(name: str) -> bool:
    return name == "utils" or name.startswith("utils.")


def _start_server(execution: ModuleType, server_module: ModuleType, args: Any) -> Any:
    """``server.PromptServer(loop)`` (and the queue before 2025) as ``main.py`` builds it, its
    user folder (``--user-directory``; era A keeps it in ``app.user_manager``) and, where it has
    the option, ``--front-end-root`` in a temporary folder of the process: the server creates the
    user folder, and 0.3.x would otherwise look for the comfyui-frontend-package and exit without it."""
    home = Path(tempfile.mkdtemp(prefix="comfyruntime-server-"))
    atexit.register(shutil.rmtree, home, True)
    user = str(home / "user")
    folder_paths = sys.modules["folder_paths"]
    if hasattr(folder_paths, "set_user_directory"):
        folder_paths.set_user_directory(user)
    else:
        user_manager: Any = sys.modules["app.user_manager"]
        user_manager.user_directory = user
    if getattr(args, "front_end_root", False) is None:
        os.makedirs(home / "web")
        args.front_end_root = str(home / "web")
    return start_server(execution, server_module)


#: Import names -> pip names of what ``import execution`` of a 2026 ComfyUI needs beyond 0.3.x:
#: execution.py imports comfy_aimdo, and app/assets/manager.py (imported by execution.py) aiohttp;
#: the rest are pinned in its requirements.txt (comfy-aimdo==0.5.5, comfy-kitchen==0.2.36, ...).
_2026_PACKAGES = {
    "comfy_aimdo": "comfy-aimdo", "comfy_kitchen": "comfy-kitchen", "aiohttp": "aiohttp", "yarl": "yarl",
    "av": "av", "sqlalchemy": "SQLAlchemy", "alembic": "alembic", "simpleeval": "simpleeval",
    "blake3": "blake3", "filelock": "filelock", "PIL": "Pillow", "yaml": "pyyaml", "psutil": "psutil",
    "tqdm": "tqdm", "einops": "einops", "safetensors": "safetensors", "torchsde": "torchsde",
    "transformers": "transformers", "tokenizers": "tokenizers", "sentencepiece": "sentencepiece",
    "scipy": "scipy", "requests": "requests", "kornia": "kornia", "spandrel": "spandrel",
}


def _missing_2026_package(root: Path, module: str | None) -> str:
    top = (module or "").split(".")[0]
    pip_name = _2026_PACKAGES.get(top)
    what = f"package {module!r} is missing" + (f" (pip name {pip_name})" if pip_name and pip_name != top else "")
    requirements = root / "requirements.txt"
    fix = f"pip install -r {requirements}" if requirements.is_file() else "pip install ComfyUI's requirements.txt"
    return (f"pytest-comfyruntime: importing ComfyUI from {root} failed: {what}; fix: {fix} "
            "(ComfyUI of 2026 imports comfy-aimdo and aiohttp when execution is imported, beyond "
            "the 0.3.x requirements; a torch build for this machine must be installed first)")


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:
        return False


def _under(module: ModuleType, root: Path) -> bool:
    """The module is the root's: its file, or for a namespace package (ComfyUI's ``comfy/`` has no
    ``__init__.py``) its folders, are inside ``root``."""
    prefix = str(root) + os.sep
    file = getattr(module, "__file__", None)
    if file:
        return str(file).startswith(prefix)
    try:
        folders = list(getattr(module, "__path__", None) or ())
    except (KeyError, AttributeError):  # a namespace sub-package whose parent left sys.modules
        return False
    return any(str(folder).startswith(prefix) for folder in folders)


def _forget_root_modules(root: Path) -> None:
    for name, module in list(sys.modules.items()):
        if _under(module, root):
            del sys.modules[name]
    try:
        sys.path.remove(str(root))
    except ValueError:
        pass

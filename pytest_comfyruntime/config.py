"""The plugin's settings, resolved in one place: command line > environment > ini > default.

``resolve_settings`` returns one frozen, validated :class:`Settings`; every mistake becomes a
:class:`ConfigError` naming the setting, where it was set, what was wrong and how to fix it.
"""
from __future__ import annotations

import importlib
import os
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .executor.eras import DEFAULT_ERA, resolve_eras
from .executor.standin import is_managed


class ConfigError(Exception):
    """A setting of the plugin is wrong; the message names it, its source and the fix."""


class Settings(BaseModel):
    """Effective settings of one pytest session."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    executor: Literal["mock", "real", "both"] = "mock"
    #: The mock eras to run, in order; the first is the one installed for the whole session.
    eras: tuple[str, ...] = (DEFAULT_ERA,)
    comfyui_root: Path | None = None
    hooks: tuple[str, ...] = ()
    unhooks: tuple[str, ...] = ()
    workflows: tuple[Path, ...] = ()
    #: Custom-node packages (or folders of them) to load as ComfyUI does, as absolute paths.
    custom_nodes: tuple[Path, ...] = ()
    session_standins: bool = True

    @field_validator("eras", mode="before")
    @classmethod
    def _known_eras(cls, value: Any) -> tuple[str, ...]:
        return resolve_eras(value)

    @property
    def era(self) -> str:
        """The session's primary mock era (installed for collection-time imports)."""
        return self.eras[0]

    @field_validator("hooks", "unhooks")
    @classmethod
    def _import_strings(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for item in value:
            module, sep, attr = item.partition(":")
            if not sep or not module.strip() or not attr.strip():
                raise ValueError(f"{item!r} is not of the form 'package.module:function'")
        return value

    @field_validator("comfyui_root")
    @classmethod
    def _existing_root(cls, value: Path | None) -> Path | None:
        # Refused with every executor: a root that is not there is a typo or a stale COMFYUI_ROOT,
        # and a run that ignores it would look like a run of the configuration it names.
        if value is not None and not value.expanduser().exists():
            raise ValueError(f"ComfyUI root {value.expanduser()} does not exist")
        return value

    @field_validator("workflows")
    @classmethod
    def _workflow_folders(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        for path in value:
            if not path.exists():
                raise ValueError(f"workflow folder {str(path)!r} does not exist")
            if not path.is_dir():
                raise ValueError(f"{str(path)!r} is not a folder")
        return value

    @field_validator("custom_nodes")
    @classmethod
    def _existing_folders(cls, value: tuple[Path, ...]) -> tuple[Path, ...]:
        for path in value:
            if not path.exists():
                raise ValueError(f"{str(path)!r} does not exist")
            if path.is_file() and path.suffix != ".py":
                raise ValueError(f"{str(path)!r} is neither a folder nor a .py module")
        return value


@dataclass(frozen=True)
class Source:
    """Where one raw value came from, for error messages."""

    option: str
    origin: str


#: Each setting's command-line option, environment variable and ini option (None: there is none).
_NAMES: dict[str, tuple[str | None, str | None, str]] = {
    "executor": ("--comfyruntime-executor", None, "comfyruntime_executor"),
    "eras": ("--comfyruntime-era", None, "comfyruntime_era"),
    "comfyui_root": ("--comfyui-root", "COMFYUI_ROOT", "comfyruntime_comfyui_root"),
    "hooks": (None, None, "comfyruntime_hooks"),
    "unhooks": (None, None, "comfyruntime_unhooks"),
    "workflows": (None, None, "comfyruntime_workflows"),
    "custom_nodes": ("--comfyruntime-custom-nodes", None, "comfyruntime_custom_nodes"),
    "session_standins": (None, None, "comfyruntime_session_standins"),
}


def _source(field: str, origin: str, inifile: str | None) -> Source:
    """Names the setting as it was given: the option on the command line, the variable, or the
    ini option and its file."""
    option, variable, ini_name = _NAMES.get(field, (None, None, field))
    if origin == "cli" and option:
        return Source(option, "command line")
    if origin == "env" and variable:
        return Source(variable, "environment variable")
    return Source(ini_name, f"ini option in {inifile}" if inifile else "ini option")


_FIXES = {
    "executor": "use one of: mock, real, both",
    "eras": "use an era (A, B, C, ...), a comma-separated list of them, or all",
    "hooks": "write each entry as 'package.module:function', one per line",
    "unhooks": "write each entry as 'package.module:function', one per line",
    "session_standins": "use true or false",
    "comfyui_root": "point it at a ComfyUI checkout (the folder that holds main.py), or unset it: the mock "
                    "executor needs none",
    "workflows": "list folders that exist and hold API-format workflow .json files, one per line, relative to "
                 "the ini file",
    "custom_nodes": "list folders that exist: a custom-node package ('.' for the extension repository "
                    "itself) or a folder of them, relative to the ini file (the command line: to the current folder)",
}


def resolve_settings(*, cli: Mapping[str, Any], ini: Mapping[str, Any], env: Mapping[str, str] | None = None,
                     inifile: str | None = None) -> Settings:
    """Merges the sources (first non-empty wins: cli, env, ini) and validates the result."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    origins: dict[str, str] = {}  # field -> "cli", "env" or "ini": where its value came from
    for key in ("executor", "era", "workflows", "hooks", "unhooks"):
        field = "eras" if key == "era" else key
        value, origins[field] = cli.get(key), "cli"
        if value in (None, "", [], ()):
            value, origins[field] = ini.get(key), "ini"
        if value not in (None, "", [], ()):
            raw[field] = tuple(value) if isinstance(value, list) else value
    for origin, root in (("cli", cli.get("comfyui_root")), ("env", env.get("COMFYUI_ROOT")),
                         ("ini", ini.get("comfyui_root"))):
        if root:
            raw["comfyui_root"], origins["comfyui_root"] = root, origin
            break
    custom_nodes = _custom_node_paths(cli.get("custom_nodes"), ini.get("custom_nodes"), inifile)
    origins["custom_nodes"] = "cli" if cli.get("custom_nodes") else "ini"
    if custom_nodes:
        raw["custom_nodes"] = custom_nodes
    standins = ini.get("session_standins")
    if standins not in (None, ""):
        raw["session_standins"] = standins
    elif raw.get("comfyui_root") and raw.get("executor", "mock") == "real":
        raw["session_standins"] = False
    try:
        return Settings(**raw)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            src = _source(field, origins.get(field, "ini"), inifile)
            msg = err["msg"].removeprefix("Value error, ")
            fix = _FIXES.get(field, "see the README's configuration section")
            lines.append(f"pytest-comfyruntime: bad setting {src.option} ({src.origin}): {msg}; fix: {fix}")
        raise ConfigError("\n".join(lines)) from None


def _custom_node_paths(cli: Any, ini: Any, inifile: str | None) -> tuple[Path, ...]:
    """Command-line entries (relative to the current folder) replace the ini's (relative to the
    ini file's folder)."""
    if cli:
        return tuple(Path(p).expanduser().resolve() for p in cli)
    base = Path(inifile).parent if inifile else Path.cwd()
    return tuple((base / Path(p).expanduser()).resolve() for p in (ini or ()) if str(p).strip())


#: Top-level packages whose frames a hook's traceback leaves out (this plugin's own, pytest's and
#: the import system's); ComfyUI's modules are left out too (:func:`is_managed`).
_HIDDEN_TOPS = frozenset({"pytest_comfyruntime", "_pytest", "pytest", "pluggy", "importlib", "_frozen_importlib",
                          "_frozen_importlib_external"})


def extension_frames(tb: TracebackType | None) -> str:
    """The frames of ``tb`` that are the extension's (and what it called), formatted as Python
    prints them; this plugin's (the reference capture aside), pytest's, pluggy's, the import
    system's and ComfyUI's are left out. Empty when none is left."""
    kept = []
    for frame, lineno in traceback.walk_tb(tb):
        name = frame.f_globals.get("__name__") or ""
        hidden = name.split(".", 1)[0] in _HIDDEN_TOPS and not name.startswith("pytest_comfyruntime.capture")
        if hidden or is_managed(name) or frame.f_code.co_filename.startswith("<frozen "):
            continue
        kept.append((frame, lineno))
    return "".join(traceback.StackSummary.extract(iter(kept)).format()).rstrip("\n")


def import_callable(spec: str, *, setting: str, inifile: str | None = None) -> Callable[..., Any]:
    """Imports ``'package.module:function'`` (dotted attributes allowed after the colon)."""
    where = f" in {inifile}" if inifile else ""
    module_name, _, attr_path = spec.partition(":")
    module_name = module_name.strip()
    failure = None
    try:
        obj: Any = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and (module_name == exc.name or module_name.startswith(exc.name + ".")):
            failure = (f"pytest-comfyruntime: {setting}{where}: cannot import module {module_name!r} for {spec!r}: "
                       f"{type(exc).__name__}: {exc}; fix: install the extension (pip install -e .), add its "
                       "folder to pytest's pythonpath ini option, or correct the module path")
        else:  # the module is there; something it imports is not
            failure = _import_raised(setting, where, module_name, spec, exc)
    except Exception as exc:
        failure = _import_raised(setting, where, module_name, spec, exc)
    if failure is not None:  # raised outside the handler: one message, not the exception twice
        raise ConfigError(failure)
    for part in attr_path.strip().split("."):
        if not hasattr(obj, part):
            raise ConfigError(
                f"pytest-comfyruntime: {setting}{where}: module {module_name!r} has no attribute "
                f"{attr_path.strip()!r} (tried {spec!r}); fix: name a function the module defines")
        obj = getattr(obj, part)
    if not callable(obj):
        raise ConfigError(f"pytest-comfyruntime: {setting}{where}: {spec!r} is a {type(obj).__name__}, "
                          "not a function; fix: point it at the function that takes the execution module")
    function: Callable[..., Any] = obj
    return function


def _import_raised(setting: str, where: str, module_name: str, spec: str, exc: BaseException) -> str:
    frames = extension_frames(exc.__traceback__)
    return (f"pytest-comfyruntime: {setting}{where}: importing {module_name!r} for {spec!r} raised "
            f"{type(exc).__name__}: {exc}" + (f"\n{frames}" if frames else "") +
            "\n  fix: correct the extension's code where it raised (above), or install what it imports")

"""The plugin's settings, resolved in one place: command line > environment > ini > default.

``resolve_settings`` returns one frozen, validated :class:`Settings`; every mistake becomes a
:class:`ConfigError` naming the setting, where it was set, what was wrong and how to fix it.
"""
from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from .executor.eras import DEFAULT_ERA, resolve_eras


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


@dataclass(frozen=True)
class Source:
    """Where one raw value came from, for error messages."""

    option: str
    origin: str


def _field_sources(inifile: str | None) -> dict[str, Source]:
    ini = f"ini option in {inifile}" if inifile else "ini option"
    return {
        "executor": Source("--comfyruntime-executor / comfyruntime_executor", ini),
        "eras": Source("--comfyruntime-era / comfyruntime_era", ini),
        "comfyui_root": Source("--comfyui-root / COMFYUI_ROOT / comfyruntime_comfyui_root", ini),
        "hooks": Source("comfyruntime_hooks", ini),
        "unhooks": Source("comfyruntime_unhooks", ini),
        "workflows": Source("comfyruntime_workflows", ini),
        "session_standins": Source("comfyruntime_session_standins", ini),
    }


_FIXES = {
    "executor": "use one of: mock, real, both",
    "eras": "use an era (A, B, C, ...), a comma-separated list of them, or all",
    "hooks": "write each entry as 'package.module:function', one per line",
    "unhooks": "write each entry as 'package.module:function', one per line",
    "session_standins": "use true or false",
}


def resolve_settings(*, cli: Mapping[str, Any], ini: Mapping[str, Any], env: Mapping[str, str] | None = None,
                     inifile: str | None = None) -> Settings:
    """Merges the sources (first non-empty wins: cli, env, ini) and validates the result."""
    env = os.environ if env is None else env
    raw: dict[str, Any] = {}
    for key in ("executor", "era", "workflows", "hooks", "unhooks"):
        value = cli.get(key)
        if value in (None, "", [], ()):
            value = ini.get(key)
        if value not in (None, "", [], ()):
            raw["eras" if key == "era" else key] = tuple(value) if isinstance(value, list) else value
    root = cli.get("comfyui_root") or env.get("COMFYUI_ROOT") or ini.get("comfyui_root")
    if root:
        raw["comfyui_root"] = root
    standins = ini.get("session_standins")
    if standins not in (None, ""):
        raw["session_standins"] = standins
    elif raw.get("comfyui_root") and raw.get("executor", "mock") == "real":
        raw["session_standins"] = False
    try:
        return Settings(**raw)
    except ValidationError as exc:
        sources = _field_sources(inifile)
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            src = sources.get(field, Source(field, "configuration"))
            msg = err["msg"].removeprefix("Value error, ")
            fix = _FIXES.get(field, "see the README's configuration section")
            lines.append(f"pytest-comfyruntime: bad setting {src.option} ({src.origin}): {msg}; fix: {fix}")
        raise ConfigError("\n".join(lines)) from None


def import_callable(spec: str, *, setting: str, inifile: str | None = None) -> Callable[..., Any]:
    """Imports ``'package.module:function'`` (dotted attributes allowed after the colon)."""
    where = f" in {inifile}" if inifile else ""
    module_name, _, attr_path = spec.partition(":")
    try:
        obj: Any = importlib.import_module(module_name.strip())
    except Exception as exc:
        raise ConfigError(
            f"pytest-comfyruntime: {setting}{where}: cannot import module {module_name.strip()!r} "
            f"for {spec!r}: {type(exc).__name__}: {exc}; fix: install the extension (pip install -e .) "
            "or correct the module path") from None
    for part in attr_path.strip().split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ConfigError(
                f"pytest-comfyruntime: {setting}{where}: module {module_name.strip()!r} has no attribute "
                f"{attr_path.strip()!r} (tried {spec!r}); fix: name a function the module defines") from None
    if not callable(obj):
        raise ConfigError(f"pytest-comfyruntime: {setting}{where}: {spec!r} is a {type(obj).__name__}, "
                          "not a function; fix: point it at the function that takes the execution module")
    function: Callable[..., Any] = obj
    return function

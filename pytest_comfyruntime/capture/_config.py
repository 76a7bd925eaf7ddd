"""Whether the capture is opted in: environment variable > config file > default (off).

``resolve_opt_in`` is the one place that decides. The environment variable takes ``1/true/yes/on``
or ``0/false/no/off`` (an empty value counts as unset); the config file is JSON whose
``runtime_hooks.enabled`` is a boolean (other keys are the extension's and are ignored). A wrong
value is a :class:`CaptureConfigError` naming the variable or the file, the field and the fix.
"""
from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

#: Opts the default capture in (``1``) or out (``0``); wins over the config file.
ENV_VAR = "COMFYRUNTIME_CAPTURE"
#: Path of a JSON config file (``{"runtime_hooks": {"enabled": true}}``) for the default capture.
CONFIG_ENV_VAR = "COMFYRUNTIME_CAPTURE_CONFIG"

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off"})


class CaptureConfigError(ValueError):
    """The opt-in setting is malformed; the message names where it was set and the fix."""


class OptIn(BaseModel):
    """The decision: ``enabled``, which ``source`` decided it, and a readable ``detail``."""

    model_config = ConfigDict(frozen=True)

    enabled: bool
    source: Literal["env", "file", "default"]
    detail: str


class _RuntimeHooks(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)

    enabled: bool | None = None


class _ConfigFile(BaseModel):
    model_config = ConfigDict(extra="allow")

    runtime_hooks: _RuntimeHooks = _RuntimeHooks()


def _from_env(value: str, env_var: str) -> bool | None:
    lowered = value.strip().lower()
    if not lowered:
        return None
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise CaptureConfigError(
        f"environment variable {env_var}={value!r} is neither on nor off; "
        f"fix: set it to 1 (or true/yes/on) to enable the capture, 0 (or false/no/off) to disable it")


def _from_file(path: Path) -> bool | None:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CaptureConfigError(f"capture config file {path} does not exist; fix: create it or unset the path") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CaptureConfigError(f"capture config file {path} is not readable JSON ({exc}); "
                                 'fix: write {"runtime_hooks": {"enabled": true}}') from None
    if not isinstance(raw, dict):
        raise CaptureConfigError(f"capture config file {path}: the top level must be an object; "
                                 'fix: write {"runtime_hooks": {"enabled": true}}')
    try:
        return _ConfigFile.model_validate(raw).runtime_hooks.enabled
    except ValidationError as exc:
        where = ".".join(str(p) for p in exc.errors()[0]["loc"])
        raise CaptureConfigError(f"capture config file {path}: field {where!r} is invalid "
                                 f"({exc.errors()[0]['msg']}); fix: runtime_hooks.enabled must be true or false") from None


def resolve_opt_in(*, env: Mapping[str, str] | None = None, config_file: str | os.PathLike[str] | None = None,
                   env_var: str = ENV_VAR, config_env_var: str | None = CONFIG_ENV_VAR) -> OptIn:
    """Decides whether the capture is opted in: ``env_var`` > config file > off.

    The config file is ``config_file`` or, when that is ``None``, the path in ``config_env_var``.
    """
    env = os.environ if env is None else env
    raw = env.get(env_var)
    if raw is not None:
        decided = _from_env(raw, env_var)
        if decided is not None:
            return OptIn(enabled=decided, source="env", detail=f"{env_var}={raw}")
    path = config_file
    if path is None and config_env_var and env.get(config_env_var, "").strip():
        path = env[config_env_var].strip()
    if path is not None:
        decided = _from_file(Path(path))
        if decided is not None:
            return OptIn(enabled=decided, source="file", detail=f"runtime_hooks.enabled={str(decided).lower()} in {path}")
    return OptIn(enabled=False, source="default", detail="off by default (opt in with "
                 f"{env_var}=1 or runtime_hooks.enabled in a config file)")

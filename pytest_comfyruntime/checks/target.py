"""What the conformance battery checks: a hook module named by a ``comfyruntime_conformance`` entry.

:func:`parse_target` reads an entry (``"my_ext.hooks"`` or ``"my_ext.hooks:enable=start,
disable=stop,read=get_session"``) into a :class:`ConformanceTarget`; :meth:`Subject.load` imports
the module and finds its enable, disable, read and auto-enable functions; :func:`call_hook` calls
one the way it asks to be called.
"""
from __future__ import annotations

import ast
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any, Final, cast

from pydantic import BaseModel, ConfigDict, ValidationError


class CheckFailed(AssertionError):
    """A principle is broken; the message says which and how."""


class CheckSkipped(Exception):
    """The check could not be made (the message says why)."""


class TargetError(ValueError):
    """A ``comfyruntime_conformance`` entry that cannot be read; the message names the entry,
    the key and the fix (the plugin turns it into a usage error)."""


class ConformanceTarget(BaseModel):
    """One ``comfyruntime_conformance`` entry: the hook module, its function names (None: the
    usual ones), and the size of the concurrent run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    module: str
    enable: str | None = None
    disable: str | None = None
    read: str | None = None
    auto: str | None = None
    threads: int = 8
    repeats: int = 100
    real_threads: bool = False


def parse_target(spec: str, *, source: str) -> ConformanceTarget:
    """``"my_ext.hooks[:key=value,...]"`` -> a :class:`ConformanceTarget`; a :class:`TargetError`
    naming ``source``, the entry, the key and the fix otherwise."""
    module, _, rest = spec.strip().partition(":")
    fields: dict[str, Any] = {"module": module.strip()}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise TargetError(f"pytest-comfyruntime: {source}: {spec!r}: {part!r} is not key=value; fix: "
                              "write 'my_ext.hooks:enable=start,disable=stop,read=get_session'")
        fields[key.strip()] = value.strip()
    if not fields["module"]:
        raise TargetError(f"pytest-comfyruntime: {source}: {spec!r} names no module; fix: 'my_ext.hooks'")
    try:
        return ConformanceTarget(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise TargetError(
            f"pytest-comfyruntime: {source}: {spec!r}: {'.'.join(map(str, err['loc']))}: {err['msg']}; fix: keys "
            "are enable, disable, read, auto (function names), threads, repeats (numbers), real_threads (true/false)"
        ) from None


_CANDIDATES: Final = {"enable": ("enable_hooks", "enable"), "disable": ("disable_hooks", "disable"),
                      "read": ("get_session",), "auto": ("auto_enable", "auto_enable_from_env")}


def call_hook(fn: Callable[..., Any], execution: ModuleType) -> Any:
    """Calls an enable/disable function the way it asks: ``fn(execution)`` when it takes a
    positional argument, ``execution=`` or ``executor_class=`` by keyword, else ``fn()``."""
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return fn(execution)
    if any(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) for p in params):
        return fn(execution)
    names = {p.name for p in params}
    if "execution" in names:
        return fn(execution=execution)
    return fn(executor_class=execution.PromptExecutor) if "executor_class" in names else fn()


@dataclass
class Subject:
    """The hook module under test, its functions, and where its wrappers' code lives."""

    target: ConformanceTarget
    module: ModuleType
    functions: dict[str, Callable[..., Any] | None]
    wrapper_modules: set[str] = field(default_factory=set)

    @classmethod
    def load(cls, target: ConformanceTarget) -> Subject:
        import importlib

        try:
            module = importlib.import_module(target.module)
        except Exception as exc:
            raise CheckFailed(f"cannot import hook module {target.module!r}: {type(exc).__name__}: {exc}; fix: "
                              "install the extension (pip install -e .) or correct comfyruntime_conformance") from None
        found: dict[str, Callable[..., Any] | None] = {}
        for role, names in _CANDIDATES.items():
            chosen = getattr(target, role)
            fn = getattr(module, chosen, None) if chosen else next(
                (getattr(module, n) for n in names if callable(getattr(module, n, None))), None)
            if fn is None and (role in ("enable", "disable") or chosen):
                raise CheckFailed(f"hook module {target.module} has no {role} function (looked for "
                                  f"{chosen or ' or '.join(names)}); fix: name it, e.g. comfyruntime_conformance = "
                                  f"\"{target.module}:{role}=my_{role}\"")
            found[role] = fn
        return cls(target, module, found)

    @property
    def prefix(self) -> str:
        """Module-name prefix of the hook module's own code: its package (or itself)."""
        if hasattr(self.module, "__path__"):
            return self.module.__name__
        return self.module.__name__.rpartition(".")[0] or self.module.__name__

    def owns(self, module_name: str | None) -> bool:
        name = module_name or ""
        return any(name == p or name.startswith(p + ".") for p in (self.prefix, *self.wrapper_modules))

    def hook(self, role: str) -> Callable[..., Any]:
        """The ``enable`` or ``disable`` function: :meth:`load` refuses a module without them, so
        for those two roles ``functions`` never holds None."""
        return cast("Callable[..., Any]", self.functions[role])

    def enable(self, execution: ModuleType) -> Any:
        return call_hook(self.hook("enable"), execution)

    def disable(self, execution: ModuleType) -> Any:
        return call_hook(self.hook("disable"), execution)

    def quiet_disable(self, execution: ModuleType) -> None:
        try:
            self.disable(execution)
        except Exception:
            pass


def env_names(subject: Subject) -> set[str]:
    """Environment-variable-like constants (``MY_EXT_ENABLE_HOOKS``) in the hook module's source."""
    base = Path(getattr(subject.module, "__file__", "") or "")
    files = base.parent.rglob("*.py") if hasattr(subject.module, "__path__") else [base]
    names: set[str] = set()
    for file in files:
        try:
            tree = ast.parse(file.read_text(encoding="utf-8"))
        except (OSError, SyntaxError, UnicodeDecodeError):
            continue
        names |= {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                  and len(n.value) > 3 and "_" in n.value and n.value.isupper() and n.value.replace("_", "").isalnum()}
    return names


__all__ = ["CheckFailed", "CheckSkipped", "ConformanceTarget", "Subject", "TargetError", "call_hook", "env_names",
           "parse_target"]

"""What the conformance battery checks: a hook module named by a ``comfyruntime_conformance`` entry.

:func:`parse_target` reads an entry (``"my_ext.hooks"`` or ``"my_ext.hooks:enable=start,
disable=stop,read=get_session"``) into a :class:`ConformanceTarget` (:func:`check_findable`: its
module is there, looked up without importing it); :meth:`Subject.load` imports
the module and finds its enable, disable, read and auto-enable functions; :func:`call_hook` calls
one the way it asks to be called.
"""
from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec
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
    #: Checks marked not applicable to this module (``skip_<check>=<reason>``), as (check, reason).
    not_applicable: tuple[tuple[str, str], ...] = ()

    def not_applicable_reason(self, check: str) -> str | None:
        """Why ``check`` does not apply to this module, as the entry says; None when it does."""
        return dict(self.not_applicable).get(check)


def parse_target(spec: str, *, source: str, checks: Iterable[str] = ()) -> ConformanceTarget:
    """``"my_ext.hooks[:key=value,...]"`` -> a :class:`ConformanceTarget`; a :class:`TargetError`
    naming ``source``, the entry, the key and the fix otherwise. ``skip_<check>=<reason>`` marks a
    check of ``checks`` (the battery's names) not applicable, with the reason its skip reports."""
    module, _, rest = spec.strip().partition(":")
    fields: dict[str, Any] = {"module": module.strip()}
    skipped: dict[str, str] = {}
    known = list(checks)
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq:
            raise TargetError(f"pytest-comfyruntime: {source}: {spec!r}: {part!r} is not key=value; fix: "
                              "write 'my_ext.hooks:enable=start,disable=stop,read=get_session'")
        key = key.strip()
        if key.startswith("skip_"):
            check = key.removeprefix("skip_")
            if known and check not in known:
                raise TargetError(f"pytest-comfyruntime: {source}: {spec!r}: {key!r} names no check of the battery; "
                                  f"fix: skip_<check>=<reason>, where <check> is one of {', '.join(known)}")
            if not value.strip():
                raise TargetError(f"pytest-comfyruntime: {source}: {spec!r}: {key!r} gives no reason; fix: "
                                  f"{key}=<why the check does not apply to this module>")
            skipped[check] = value.strip()
            continue
        fields[key] = value.strip()
    if skipped:
        fields["not_applicable"] = tuple(skipped.items())
    if not fields["module"]:
        raise TargetError(f"pytest-comfyruntime: {source}: {spec!r} names no module; fix: 'my_ext.hooks'")
    try:
        return ConformanceTarget(**fields)
    except ValidationError as exc:
        err = exc.errors()[0]
        raise TargetError(
            f"pytest-comfyruntime: {source}: {spec!r}: {'.'.join(map(str, err['loc']))}: {err['msg']}; fix: keys "
            "are enable, disable, read, auto (function names), threads, repeats (numbers), real_threads (true/false), "
            "skip_<check> (a reason)"
        ) from None


def _find_spec(name: str, path: list[str] | None) -> ModuleSpec | None | bool:
    """What the import system's finders say about ``name`` (True: a finder failed to answer)."""
    for finder in sys.meta_path:
        find = getattr(finder, "find_spec", None)
        if find is None:
            continue
        try:
            spec = find(name, path)
        except Exception:
            return True
        if spec is not None:
            return spec  # type: ignore[no-any-return]
    return None


def missing_module(name: str) -> str | None:
    """Why the module ``name`` cannot be imported, looked up as the import system would but
    without running any code of it or of its packages (an extension's package may patch ComfyUI
    when imported); None when it is there (or a finder could not say)."""
    if name in sys.modules:
        return None
    parts = name.split(".")
    path: list[str] | None = None
    for depth in range(1, len(parts) + 1):
        sub = ".".join(parts[:depth])
        module = sys.modules.get(sub)
        if module is not None:
            if ".".join(parts[:depth + 1]) in sys.modules:
                continue  # a submodule already imported (os.path)
            locations = getattr(module, "__path__", None)
        else:
            spec = _find_spec(sub, path)
            if spec is True:
                return None
            if not isinstance(spec, ModuleSpec):
                inside = f" in package {'.'.join(parts[:depth - 1])!r}" if depth > 1 else " on sys.path"
                return f"there is no module {sub!r}{inside}"
            locations = spec.submodule_search_locations
        if depth < len(parts) and locations is None:
            return f"{sub!r} is a module, not a package: it has no submodule {parts[depth]!r}"
        path = list(locations) if locations is not None else None
    return None


def check_findable(targets: list[ConformanceTarget], *, source: str) -> None:
    """A :class:`TargetError` naming ``source``, the hook module and the fix for the first target
    whose module cannot be found (:func:`missing_module`): one usage error instead of every check
    of the battery failing to import it."""
    for target in targets:
        why = missing_module(target.module)
        if why is not None:
            raise TargetError(
                f"pytest-comfyruntime: {source}: cannot find hook module {target.module!r}: {why}; fix: install "
                "the extension (pip install -e .), add its folder to pytest's pythonpath ini option, or correct "
                "the module name")


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
                              "install the extension (pip install -e .) and what it imports, correct what importing "
                              "it raised, or correct comfyruntime_conformance") from None
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


__all__ = ["CheckFailed", "CheckSkipped", "ConformanceTarget", "Subject", "TargetError", "call_hook",
           "check_findable", "env_names", "missing_module", "parse_target"]

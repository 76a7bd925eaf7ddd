"""``assert_hooks_active``: did the extension's hooks install, and do they run?

Three things make hooks dead without a word: enabling returns False, enabling patches nothing,
or what it patched is never called (a name ComfyUI does not have, such as
``PromptExecutor.pre_execute``). The check diffs ComfyUI's modules against the snapshot taken
before the hooks were enabled, runs a probe prompt counting calls into what was installed, and
names the targets the extension tried to reach that this executor lacks (:mod:`.lookups`). A
CacheProvider the extension registered (ComfyUI of 2026, through ``register_cache_provider`` or
``comfy_api.latest.Caching.register_provider``) is a hook too: it counts as active when ComfyUI
called it. So is a provider put into a slot of the custom-node SDK
(``comfy_api.latest.sdk.providers.register_execution_backend`` and its siblings): its
``dispatch`` (``build``, ``apply``) must run during the probe prompt.

A fourth makes a hook run but see nothing: a wrapper of another kind than the function it
replaced (:func:`kind_mismatch`), such as a plain ``def`` around the ``async def`` per-node
``execute`` of eras C and D, which runs when the coroutine is created and is gone before the
node runs.
"""
from __future__ import annotations

import ast
import inspect
import sys
import textwrap
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any, Final

from pydantic import BaseModel, Field

from ..executor.snapshots import PROVIDER_REGISTRY, SDK_PROVIDERS, SDK_SLOTS
from ..state.describe import describe
from ..state.snapshot import Snapshot
from ..state.undo import ABSENT
from .lookups import Observation, Watched, static_lookups


# -- what got installed, and whether it runs ---------------------------------------------------
@dataclass(frozen=True)
class Installed:
    where: str
    value: Any
    added: bool
    #: What was there in the snapshot (ABSENT for an added name).
    original: Any = ABSENT


def installed_since(snapshot: Snapshot) -> list[Installed]:
    """Callables replaced or added on ComfyUI's modules and classes since ``snapshot``."""
    out: list[Installed] = []
    spaces = [(n, before, vars(m)) for n, (m, before) in snapshot.modules.items()]
    spaces += [(k, before, dict(vars(c))) for k, (c, before) in snapshot.classes.items()]
    for where, before, now in spaces:
        for name, value in now.items():
            if name.startswith("__") or before.get(name) is value or not callable(value):
                continue
            out.append(Installed(f"{where}.{name}", value, name not in before, before.get(name, ABSENT)))
    return out


def code_of(value: Any) -> CodeType | None:
    func = getattr(value, "__func__", value)
    code = getattr(func, "__code__", None)
    if code is None:
        # B004 is about testing callability; this fetches the class's __call__ itself, for its code
        inner = getattr(func, "func", None) or getattr(type(func), "__call__", None)  # noqa: B004
        code = getattr(getattr(inner, "__func__", inner), "__code__", None)
    return code


_RESUMABLE: Final = inspect.CO_COROUTINE | inspect.CO_GENERATOR | inspect.CO_ASYNC_GENERATOR


# -- the kind of function a hook is ------------------------------------------------------------
#: kind -> (how a message names it, the fix for a wrapper of a target of that kind)
KINDS: Final = {
    "function": ("a plain function (def)",
                 "make the wrapper a plain def that returns original(...)'s result"),
    "coroutine": ("a coroutine function (async def)",
                  "define the wrapper with async def and return await original(...), so that its own code runs "
                  "around the await"),
    "generator": ("a generator function (def with yield)",
                  "make the wrapper a generator too: yield from original(...)"),
    "async generator": ("an async generator function (async def with yield)",
                        "make the wrapper an async generator too: async for item in original(...): yield item"),
}


def kind_of(value: Any) -> str | None:
    """``function``, ``coroutine``, ``generator`` or ``async generator`` (from the code's flags),
    None for a callable without Python code (a builtin, a class)."""
    code = code_of(value)
    if code is None:
        return None
    if code.co_flags & inspect.CO_COROUTINE:
        return "coroutine"
    if code.co_flags & inspect.CO_ASYNC_GENERATOR:
        return "async generator"
    return "generator" if code.co_flags & inspect.CO_GENERATOR else "function"


def returns_the_call(value: Any) -> bool:
    """Whether a plain function ends in ``return <call>`` outside any ``try``/``with`` (a lambda:
    is one call), so the object the call made (the original's coroutine or generator) goes back
    to ComfyUI unchanged and none of the function's own code runs after the call. Read from the
    source; False where it cannot be read."""
    func = getattr(value, "__func__", value)
    code = code_of(value)
    if code is None:
        return False
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(func)))
    except (OSError, TypeError, SyntaxError, ValueError):
        return False
    for node in ast.walk(tree):
        if code.co_name == "<lambda>" and isinstance(node, ast.Lambda):
            return isinstance(node.body, ast.Call)
        if isinstance(node, ast.FunctionDef) and node.name == code.co_name:
            last = node.body[-1]
            return isinstance(last, ast.Return) and isinstance(last.value, ast.Call)
    return False


def kind_mismatch(installed: Installed) -> str | None:
    """The problem with a wrapper whose kind differs from the function it replaced, or None.

    A plain ``def`` around a coroutine function (or generator) that only returns the original's
    call (:func:`returns_the_call`) is a pass-through: ComfyUI awaits the original's coroutine and
    the wrapper saw the call, so it is not flagged. Any of its own code after the call (a timer,
    ``try``/``except``, ``with``, ``finally``) runs before the node does, so that is."""
    if installed.added or installed.original is ABSENT:
        return None
    want, got = kind_of(installed.original), kind_of(installed.value)
    if want is None or got is None or want == got:
        return None
    if got == "function" and returns_the_call(installed.value):
        return None
    if got == "function":
        made = "awaits what it returns: the call only creates the coroutine" if want == "coroutine" else \
            "iterates what it returns: the call only creates the generator"
        why = (f"ComfyUI {made}, so the wrapper's own code around the call runs before any of the original does "
               "(a timer there measures about 0 ms, an except there never sees what the original raises); a "
               "plain def whose last statement is return original(...), with nothing after the call, passes "
               "it through unchanged and is accepted")
    elif want == "function":
        why = (f"ComfyUI calls it and uses the result directly, so it gets a {got} object instead of the "
               "original's result")
    else:
        why = "ComfyUI consumes it as the original's kind, which this is not"
    return (f"{installed.where} is {KINDS[want][0]}, but the hook that replaced it, {describe(installed.value)}, "
            f"is {KINDS[got][0]}: {why}; fix: {KINDS[want][1]}")


class CallCounter:
    """Counts calls of given code objects on this thread (``sys.setprofile``, chained).

    ``codes`` maps a code object to a name, or to ``{owner_id: name}`` when the code is a method
    shared by several owners (counted by the frame's ``self``). A coroutine's frame reports a
    call at every resumption; each frame is counted once.
    """

    def __init__(self, codes: Mapping[CodeType, str | Mapping[int, str]]) -> None:
        self.codes = dict(codes)
        names = [n for v in self.codes.values() for n in ([v] if isinstance(v, str) else v.values())]
        self.calls: dict[str, int] = {name: 0 for name in names}
        self._prev: Any = None
        self._resumed: dict[int, FrameType] = {}  # held, so no id is reused while counting

    def _profile(self, frame: FrameType, event: str, arg: Any) -> None:
        if event == "call":
            code = frame.f_code
            name = self.codes.get(code)
            if isinstance(name, Mapping):
                name = name.get(id(frame.f_locals.get("self")))
            if name is not None and code.co_flags & _RESUMABLE:
                if id(frame) in self._resumed:
                    name = None
                else:
                    self._resumed[id(frame)] = frame
            if name is not None:
                self.calls[name] += 1
        if self._prev is not None:
            self._prev(frame, event, arg)

    def __enter__(self) -> CallCounter:
        self._prev = sys.getprofile()
        sys.setprofile(self._profile)
        return self

    def __exit__(self, *exc: object) -> None:
        sys.setprofile(self._prev)
        self._resumed.clear()


PROVIDER_METHODS: Final = ("on_prompt_start", "should_cache", "on_lookup", "on_store", "on_prompt_end")


def providers_since(snapshot: Snapshot) -> list[Any]:
    """CacheProviders registered (and still registered) since ``snapshot``: era D only."""
    if PROVIDER_REGISTRY not in snapshot.lists:
        return []
    items, before = snapshot.lists[PROVIDER_REGISTRY]
    return [p for p in items if not any(p is b for b in before)]


def provider_label(provider: Any) -> str:
    return f"CacheProvider {type(provider).__module__}.{type(provider).__qualname__}"


_SDK_KINDS: Final = {"execution_backend": "ExecutionBackend", "ctx_provider": "CtxProvider",
                     "ops_provider": "OpsProvider", "ref_resolver_factory": "RefResolver factory"}


def sdk_providers_since(snapshot: Snapshot) -> list[tuple[str, Any]]:
    """``(slot, value)`` for each slot of the custom-node SDK's ``providers`` (ComfyUI of 2026)
    that holds another object than it did at ``snapshot``, in slot order."""
    if SDK_PROVIDERS not in snapshot.registries:
        return []
    slots, before = snapshot.registries[SDK_PROVIDERS]
    return [(slot, slots[slot]) for slot in SDK_SLOTS if slot in slots and slots[slot] is not before.get(slot)]


def sdk_label(slot: str, value: Any) -> str:
    owner = value if isinstance(value, type) or inspect.isfunction(value) else type(value)
    return f"SDK {_SDK_KINDS.get(slot, slot)} {owner.__module__}.{owner.__qualname__}"


def sdk_codes(registrations: Iterable[tuple[str, Any]]) -> dict[CodeType, str | dict[int, str]]:
    """The code ComfyUI runs of each SDK registration: the ``dispatch`` (``build``, ``apply``)
    method, counted per registered object, or the factory itself (a class: its ``__init__``)."""
    codes: dict[CodeType, str | dict[int, str]] = {}
    for slot, value in registrations:
        method = SDK_SLOTS.get(slot)
        name = f"{sdk_label(slot, value)}.{method or '(factory)'}"
        if method is None:
            code = code_of(vars(value).get("__init__") if isinstance(value, type) else value)
            if code is not None:
                codes[code] = name
            continue
        code = code_of(getattr(type(value), method, None))
        if code is not None:
            owners = codes.setdefault(code, {})
            if isinstance(owners, dict):
                owners[id(value)] = name
    return codes


def provider_codes(providers: Iterable[Any]) -> dict[CodeType, dict[int, str]]:
    """The code of every CacheProvider method of ``providers``, own or inherited, by provider."""
    codes: dict[CodeType, dict[int, str]] = {}
    for provider in providers:
        for method in PROVIDER_METHODS:
            code = code_of(getattr(type(provider), method, None))
            if code is not None:
                codes.setdefault(code, {})[id(provider)] = f"{provider_label(provider)}.{method}"
    return codes


class HooksActiveReport(BaseModel):
    backend: str
    era: str
    installed: list[str]
    providers: list[str] = Field(default_factory=list,
                                 description="CacheProviders and SDK providers registered by the hooks")
    added: list[str] = Field(description="callables installed under names ComfyUI does not have")
    calls: dict[str, int] = Field(description="calls of each installed callable during the probe prompt")
    observation: Observation
    problems: list[str]
    kinds: list[str] = Field(default_factory=list,
                             description="hooks of another kind than what they replaced (also in problems)")

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self) -> str:
        what = ("hooks installed as the wrong kind of function" if set(self.problems) <= set(self.kinds)
                else "hooks not active")
        lines = [f"{what} on this executor ({self.backend}, era {self.era}):"]
        lines += [f"  - {p}" for p in self.problems]
        lines += [f"  (inside it, {c.function} returned False)" for c in self.observation.enable_calls
                  if c.returned_false and not c.entry]
        missing = self.observation.missing
        if missing:
            lines.append("  the extension tried to hook targets this executor does not have:")
            lines += [f"    {lk}" for lk in missing]
        elif not self.observation.watched:
            lines.append("  (its enabling was not watched and its source names no missing target)")
        return "\n".join(lines)


PROBE_PROMPT: Final = {
    "1": {"class_type": "CRString", "inputs": {"value": "comfyruntime-probe"}},
    "2": {"class_type": "CRInt", "inputs": {"value": 20}},
    "3": {"class_type": "CRAdd", "inputs": {"a": ["2", 0], "b": ["2", 0]}},
    "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "probe"}},
    "5": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "probe"}},
}


def check_hooks_active(snapshot: Snapshot, run_probe: Callable[[], Any], *, backend: str, era: str,
                       observation: Observation | None = None, hook_modules: Iterable[str] = (),
                       broken: Sequence[Any] = ()) -> HooksActiveReport:
    """Diffs against ``snapshot``, runs ``run_probe()`` counting calls into what was installed,
    and collects every reason the hooks are not active. ``broken``: the patches ComfyUI's hook
    breaker undid (a live list: what the probe prompt undoes counts too)."""
    watched = Watched()
    observation = observation or Observation(watched=False)
    if not observation.watched:
        observation = Observation(watched=False, enable_calls=observation.enable_calls,
                                  lookups=static_lookups(hook_modules, watched))
    installed = installed_since(snapshot)
    providers = providers_since(snapshot)
    sdk = sdk_providers_since(snapshot)
    codes: dict[CodeType, str | dict[int, str]] = {
        c: i.where for i in installed if (c := code_of(i.value)) is not None}
    codes.update(provider_codes(providers))
    for code, owners in sdk_codes(sdk).items():
        merged = codes.get(code)
        codes[code] = {**merged, **owners} if isinstance(merged, Mapping) and isinstance(owners, Mapping) else owners
    problems: list[str] = []
    for call in observation.enable_calls:
        if call.returned_false and call.entry:
            problems.append(f"enabling returned False: {call.function}")
    if not installed and not providers and not sdk:
        problems.append("enabling patched nothing on ComfyUI's modules and classes"
                        + (" and registered no CacheProvider" if PROVIDER_REGISTRY in snapshot.lists else ""))
    counter = CallCounter(codes)
    if installed or providers or sdk:
        try:
            with counter:
                run_probe()
        except Exception as exc:
            problems.append(f"the probe prompt raised {type(exc).__name__}: {exc}")
        if not any(counter.calls.values()):
            what = [f"{i.where} = {describe(i.value)}" for i in installed]
            what += [f"{provider_label(p)} (registered)" for p in providers]
            what += [f"{sdk_label(slot, v)} (registered)" for slot, v in sdk]
            problems.append("no hook ran during a prompt: installed " + ", ".join(what) + ", called 0 times")
        for slot, value in sdk:
            method = SDK_SLOTS.get(slot) or "(factory)"
            if counter.calls.get(f"{sdk_label(slot, value)}.{method}", 0) == 0:
                problems.append(
                    f"{sdk_label(slot, value)} registered in comfy_api.latest.sdk.providers.{slot}, but this executor "
                    f"never called its {method} during the probe prompt: ComfyUI routes node calls through the SDK "
                    "seam only where its core has that call (PR #16047); execution.py at 04e2a914, which era D of the "
                    "mock follows, has none")
    added = [i.where for i in installed if i.added]
    for where in added:
        problems.append(f"installed {where}, a name this executor does not have: ComfyUI never calls it")
    kinds = [m for i in installed if (m := kind_mismatch(i)) is not None]
    problems += kinds
    problems += [str(b) for b in broken]
    return HooksActiveReport(backend=backend, era=era, installed=[i.where for i in installed],
                             providers=[provider_label(p) for p in providers] + [sdk_label(s, v) for s, v in sdk],
                             added=added,
                             calls=counter.calls, observation=observation, problems=problems, kinds=kinds)


def module_of(spec: str) -> str:
    """``"my_ext.hooks:enable"`` -> ``"my_ext.hooks"``."""
    return spec.partition(":")[0].strip()


__all__ = ["KINDS", "CallCounter", "HooksActiveReport", "Installed", "PROBE_PROMPT", "PROVIDER_METHODS",
           "check_hooks_active", "code_of", "installed_since", "kind_mismatch", "kind_of", "module_of", "provider_codes",
           "provider_label", "providers_since", "returns_the_call", "sdk_codes", "sdk_label", "sdk_providers_since"]

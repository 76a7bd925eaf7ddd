"""``RuntimeCapture``: per-prompt capture on ComfyUI's real execution targets, done safely.

The six promises, and where each is kept:

1. Off by default: nothing is patched at import; :meth:`RuntimeCapture.auto_enable` patches only
   when the environment variable or the config file opts in (env > file > default off).
2. Conflict detection: :meth:`enable` refuses, records why and touches nothing when a target is
   not ComfyUI's own function any more (another extension wrapped it first).
3. Minimal work: the wrappers record ids, scalars and ``perf_counter`` stamps under one lock.
4. Isolation: a session per prompt, keyed by the ``prompt_id`` argument ComfyUI passes to
   ``execute``; the running prompt travels in a context variable (``asyncio.run`` copies it into
   the task that runs node code), so threads and executors never share one.
5. Failure: the first exception inside the capture's own code disables it (originals restored),
   is logged once with its traceback, and the original is still called, so the prompt's result is
   what it would have been without the capture.
6. Teardown: :meth:`disable` puts back the exact original objects. If another extension wrapped
   a target after us, its wrapper is never removed or overwritten: ours stays under it as an
   inert pass-through, is named in ``status().left_installed``, and the next ``disable()`` after
   that extension unhooked removes it.
"""
from __future__ import annotations

import contextvars
import importlib
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Final

from ._config import CONFIG_ENV_VAR, ENV_VAR, CaptureConfigError, OptIn, resolve_opt_in
from ._models import MAX_STRING, CaptureStatus, HookStats, NodeCapture, PromptCapture
from ._targets import TARGETS, Target, describe, wraps_chain

_SKIP: Final = object()
_MAX_LIST: Final = 16
#: get_input_data gets six positional arguments when ComfyUI executes a node (every era); the
#: calls from IS_CHANGED checks and validation pass fewer and are not node executions.
_NODE_CALL_ARGS: Final = 6


def _one(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    if isinstance(value, str):
        text = str.__str__(value)
        return text if len(text) <= MAX_STRING else f"{text[:MAX_STRING]}…[+{len(text) - MAX_STRING} chars]"
    return _SKIP


def _scalar(values: Any) -> Any:
    """The captured form of one input's values (a list per batch item), or ``_SKIP``."""
    if not isinstance(values, (list, tuple)):
        return _one(values)
    if len(values) > _MAX_LIST:
        return _SKIP
    items = [_one(v) for v in values]
    if any(v is _SKIP for v in items):
        return _SKIP
    return items[0] if len(items) == 1 else items


def _class_type(prompt: Any, node_id: Any, class_def: Any) -> str:
    """The node's ``class_type`` from the prompt (era A) or the DynamicPrompt (B, C, D)."""
    prompt = getattr(prompt, "original_prompt", prompt)
    node = prompt.get(node_id) if isinstance(prompt, dict) else None
    class_type = node.get("class_type") if isinstance(node, dict) else None
    return class_type if isinstance(class_type, str) else getattr(class_def, "__name__", "?")


@dataclass(eq=False)
class _Session:
    prompt_id: Any
    executor_id: int
    started_at: float
    t0: float
    order: list[str] = field(default_factory=list)
    nodes: dict[Any, dict[str, Any]] = field(default_factory=dict)
    current: tuple[Any, float] | None = None
    calls: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    duration_s: float | None = None
    complete: bool = False
    error: str | None = None

    def close_node(self, now_s: float) -> None:
        if self.current is not None:
            node_id, began = self.current
            self.nodes[node_id]["duration_s"] = now_s - began
            self.current = None

    def model(self) -> PromptCapture:
        return PromptCapture(
            prompt_id=str.__str__(self.prompt_id) if isinstance(self.prompt_id, str) else str(self.prompt_id),
            executor_id=self.executor_id, started_at=self.started_at, duration_s=self.duration_s,
            complete=self.complete, error=self.error, order=list(self.order),
            nodes={n["node_id"]: NodeCapture(**n) for n in self.nodes.values()},
            stats=HookStats(calls=self.calls, total_s=self.total_s, max_s=self.max_s))


@dataclass(eq=False)
class _Patch:
    target: Target
    holder: Any
    original: Any
    wrapper: Any = None
    live: bool = True


class RuntimeCapture:
    """Captures, per prompt, the execution order, node timings and resolved scalar inputs.

    ``name`` prefixes log lines; ``env_var`` / ``config_file`` / ``config_env_var`` are the opt-in
    sources :meth:`auto_enable` reads; at most ``max_sessions`` unconsumed sessions are kept
    (the oldest is dropped first).
    """

    def __init__(self, *, name: str = "comfyruntime capture", env_var: str = ENV_VAR,
                 config_file: str | os.PathLike[str] | None = None, config_env_var: str | None = CONFIG_ENV_VAR,
                 max_sessions: int = 1000, logger: logging.Logger | None = None) -> None:
        self.name = name
        self.env_var = env_var
        self.config_file = config_file
        self.config_env_var = config_env_var
        self.max_sessions = max_sessions
        self.log = logger or logging.getLogger("pytest_comfyruntime.capture")
        self._lock = threading.RLock()
        self._active: contextvars.ContextVar[_Session | None] = contextvars.ContextVar(
            f"comfyruntime_capture_{id(self):x}", default=None)
        self._patches: list[_Patch] = []
        self._sessions: dict[Any, _Session] = {}
        self._live = False
        self._failed = False
        self._conflict = False
        self._reason: str | None = None
        self._missing: list[str] = []
        self._dropped = 0
        self.opt_in: OptIn | None = None

    # -- switching on and off -------------------------------------------------------------
    def auto_enable(self, execution: ModuleType | None = None, *, env: Mapping[str, str] | None = None) -> bool:
        """Enables only when opted in (environment variable > config file > off)."""
        try:
            self.opt_in = resolve_opt_in(env=env, config_file=self.config_file, env_var=self.env_var,
                                         config_env_var=self.config_env_var)
        except CaptureConfigError as exc:
            with self._lock:
                self._reason = str(exc)
            self.log.warning("[%s] not enabled: %s", self.name, exc)
            return False
        if not self.opt_in.enabled:
            with self._lock:
                self._reason = f"not opted in: {self.opt_in.detail}"
            return False
        return self.enable(execution)

    def enable(self, execution: ModuleType | None = None) -> bool:
        """Wraps the targets of ``execution`` (default: ``import execution``).

        Returns True when this call installed the capture; False when it was already on, when
        it refused (a target wrapped by someone else, a required target missing), or after an
        auto-disable that no ``disable()`` has acknowledged yet. ``status().reason`` says why.
        """
        with self._lock:
            if self._live or self._failed:
                return False
            try:
                module = execution if execution is not None else importlib.import_module("execution")
            except ImportError as exc:
                return self._refuse(f"ComfyUI's execution module cannot be imported ({exc})")
            self._missing = [t.name for t in TARGETS if t.current(module) is None]
            required = [t.name for t in TARGETS if t.required and t.name in self._missing]
            if required:
                return self._refuse(f"this ComfyUI has no {', '.join(required)}: nothing was patched")
            present = [t for t in TARGETS if t.name not in self._missing]
            taken = [f"{t.name} is already wrapped by {describe(t.current(module))}"
                     for t in present if not t.is_pristine(t.current(module), module)]
            if taken:
                self._conflict = True
                return self._refuse("conflict: " + "; ".join(taken) +
                                    ": another extension hooks it, so nothing was patched")
            self._conflict = False
            self._patches = [p for p in self._patches if not p.live]  # keep inert leftovers known
            for target in present:
                patch = _Patch(target, target.holder(module), target.current(module))
                patch.wrapper = self._make_wrapper(patch)
                setattr(patch.holder, target.attr, patch.wrapper)
                self._patches.append(patch)
            self._live, self._reason = True, None
        self.log.info("[%s] enabled: wrapped %s", self.name, ", ".join(t.name for t in present))
        return True

    def _refuse(self, reason: str) -> bool:
        self._reason = reason
        self.log.warning("[%s] not enabled: %s", self.name, reason)
        return False

    def disable(self, execution: ModuleType | None = None) -> bool:
        """Restores the exact originals and forgets every session; idempotent.

        Returns False when a wrapper of ours had to stay installed under another extension's
        (see ``status().left_installed``). ``execution`` is accepted for ini unhook lines and ignored.
        """
        with self._lock:
            self._live = False
            self._unpatch()
            self._sessions.clear()
            self._failed, self._conflict = False, False
            return not self._patches

    def _unpatch(self) -> None:
        kept = []
        for patch in self._patches:
            patch.live = False
            holder, attr = patch.holder, patch.target.attr
            now = vars(holder).get(attr) if isinstance(holder, type) else getattr(holder, attr, None)
            chain = wraps_chain(now)
            if now is patch.wrapper:
                setattr(holder, attr, patch.original)
            elif patch.wrapper not in chain and (now is patch.original or patch.original in chain):
                continue  # someone else already put the original back, or wraps it directly
            else:
                kept.append(patch)  # stacked on top of ours: never remove another extension's wrapper
        self._patches = kept

    # -- sessions -------------------------------------------------------------------------
    def get_session(self, prompt_id: Any) -> PromptCapture | None:
        with self._lock:
            session = self._sessions.get(prompt_id)
            return None if session is None else session.model()

    def consume_session(self, prompt_id: Any) -> PromptCapture | None:
        """The session of ``prompt_id``, removed from the capture (a save node calls this once)."""
        with self._lock:
            session = self._sessions.pop(prompt_id, None)
            return None if session is None else session.model()

    def session_ids(self) -> list[str]:
        with self._lock:
            return [str(k) for k in self._sessions]

    def status(self) -> CaptureStatus:
        with self._lock:
            return CaptureStatus(
                enabled=self._live, patched=[p.target.name for p in self._patches if p.live],
                missing=list(self._missing), conflict=self._conflict, auto_disabled=self._failed,
                reason=self._reason, left_installed=[f"{p.target.name} (under {describe(_top(p))})"
                                for p in self._patches if not p.live],
                sessions=len(self._sessions))

    # -- the wrappers ---------------------------------------------------------------------
    def _make_wrapper(self, patch: _Patch) -> Any:
        original, capture, where = patch.original, self, patch.target.name
        if patch.target.is_async:
            async def execute_async(executor: Any, *args: Any, **kwargs: Any) -> Any:
                if not patch.live:
                    return await original(executor, *args, **kwargs)
                entered = capture._enter(executor, args, kwargs, where)
                try:
                    return await original(executor, *args, **kwargs)
                finally:
                    if entered is not None:
                        capture._leave(entered, where)
            wrapper: Any = execute_async
        elif patch.target.owner:
            def execute(executor: Any, *args: Any, **kwargs: Any) -> Any:
                if not patch.live:
                    return original(executor, *args, **kwargs)
                entered = capture._enter(executor, args, kwargs, where)
                try:
                    return original(executor, *args, **kwargs)
                finally:
                    if entered is not None:
                        capture._leave(entered, where)
            wrapper = execute
        else:
            def get_input_data(*args: Any, **kwargs: Any) -> Any:
                result = original(*args, **kwargs)
                if patch.live:
                    capture._node(args, result)
                return result
            wrapper = get_input_data
        wrapper.__wrapped__ = original
        wrapper.__doc__ = f"pytest-comfyruntime capture wrapper around {where}."
        wrapper.__comfyruntime_capture__ = self
        return wrapper

    def _enter(self, executor: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
               where: str) -> tuple[_Session, Any] | None:
        began = time.perf_counter()
        try:
            prompt_id = args[1] if len(args) > 1 else kwargs["prompt_id"]
            active = self._active.get()
            if active is not None and active.prompt_id == prompt_id:  # execute_async inside execute
                self._count(active, began)
                return None
            session = _Session(prompt_id, id(executor), time.time(), began)
            with self._lock:
                if not self._live:
                    return None
                self._sessions.pop(prompt_id, None)
                self._sessions[prompt_id] = session
                while len(self._sessions) > self.max_sessions:
                    self._sessions.pop(next(iter(self._sessions)))
                    self._dropped += 1
                    if self._dropped == 1:
                        self.log.warning("[%s] more than %d sessions were never consumed; dropping the oldest",
                                         self.name, self.max_sessions)
            token = self._active.set(session)
            self._count(session, began)
            return session, token
        except Exception as exc:
            self._fail(where, exc)
            return None

    def _leave(self, entered: tuple[_Session, Any], where: str) -> None:
        session, token = entered
        began = time.perf_counter()
        try:
            self._active.reset(token)
            with self._lock:
                session.close_node(began - session.t0)
                session.duration_s = began - session.t0
                session.complete = self._live and session.error is None
            self._count(session, began)
        except Exception as exc:
            self._fail(where, exc)

    def _node(self, args: tuple[Any, ...], result: Any) -> None:
        began = time.perf_counter()
        try:
            session = self._active.get()
            if session is None:
                return
            if len(args) >= _NODE_CALL_ARGS:
                inputs_all = result[0] if isinstance(result, tuple) else result
                node_id, class_def = args[2], args[1]
                inputs, skipped = {}, []
                for name, values in inputs_all.items():
                    value = _scalar(values)
                    if value is _SKIP:
                        skipped.append(str(name))
                    else:
                        inputs[str(name)] = value
                class_type = _class_type(args[4], node_id, class_def)
                with self._lock:
                    if not self._live:
                        return
                    now_s = began - session.t0
                    session.close_node(now_s)
                    entry = session.nodes.get(node_id)
                    if entry is None:  # a node staged twice (lazy inputs) keeps its first place
                        shown = str.__str__(node_id) if isinstance(node_id, str) else str(node_id)
                        session.order.append(shown)
                    else:
                        shown = entry["node_id"]
                    session.nodes[node_id] = {"node_id": shown, "class_type": class_type, "inputs": inputs,
                                              "skipped": skipped, "started_s": now_s}
                    session.current = (node_id, now_s)
            self._count(session, began)
        except Exception as exc:
            self._fail("execution.get_input_data", exc)

    @staticmethod
    def _count(session: _Session, began: float) -> None:
        spent = time.perf_counter() - began
        session.calls += 1
        session.total_s += spent
        if spent > session.max_s:
            session.max_s = spent

    def _fail(self, where: str, exc: BaseException) -> None:
        reason = f"{type(exc).__name__} inside the {where} hook: {exc}"
        with self._lock:
            first = not self._failed
            self._failed, self._live = True, False
            if first:
                self._reason = f"auto-disabled after {reason}"
            session = self._active.get()
            if session is not None and session.error is None:
                session.error = reason
            self._unpatch()
        if first:
            self.log.error("[%s] %s; the capture is now disabled (originals restored) and the prompt "
                           "runs on unhooked", self.name, reason, exc_info=exc)


def _top(patch: _Patch) -> Any:
    holder, attr = patch.holder, patch.target.attr
    return vars(holder).get(attr) if isinstance(holder, type) else getattr(holder, attr, None)

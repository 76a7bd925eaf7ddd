"""``ExecutorHarness``: drives a ``PromptExecutor`` (mock or real) the way ComfyUI's server does.

One ``run()`` is what happens to a prompt POSTed to ``/prompt`` and picked up by ``main.py``'s
worker: ``on_prompt`` handlers, ``validate_prompt`` (which coerces widget values), a queue item,
``server.last_prompt_id``, the positional call ``execute(prompt, prompt_id, extra_data,
execute_outputs)``, ``PromptQueue.task_done`` with the era's history, and the closing
``executing {node: None}`` sent only when there is a client. Nothing is patched to observe it:
messages come from the server's ``send_sync`` record, timings from their send times.
"""
from __future__ import annotations

import asyncio
import copy
import inspect
import itertools
import sys
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from .eras import ERAS
from .hook_breaker import HookBreaker

DEFAULT_CLIENT_ID = "comfyruntime"


class PromptValidationError(AssertionError):
    """``validate_prompt`` refused the prompt, as ComfyUI's server would (HTTP 400)."""

    def __init__(self, error: dict[str, Any], node_errors: Mapping[str, Any]) -> None:
        self.error = error
        self.node_errors = dict(node_errors)
        lines = [f"prompt failed validation: {error.get('message')}" + (f": {error['details']}" if error.get("details") else "")]
        for node_id, info in self.node_errors.items():
            for reason in info.get("errors", []):
                lines.append(f"  node {node_id} ({info.get('class_type')}): {reason.get('message')}: {reason.get('details')}")
        super().__init__("\n".join(lines))


@dataclass(frozen=True)
class Message:
    """One ``send_sync`` call: ``event``, ``data``, ``sid`` and when it was sent (perf_counter s)."""

    event: str
    data: Any
    sid: str | None
    sent_at: float


@dataclass(frozen=True)
class ProviderCall:
    """One call ComfyUI made into a registered CacheProvider (era D).

    ``method`` is ``on_prompt_start``, ``should_cache``, ``on_lookup``, ``on_store`` or
    ``on_prompt_end``; ``node_id`` is the ``CacheContext``'s node (None for the prompt calls).
    """

    provider: Any
    method: str
    node_id: str | None


@dataclass
class RunResult:
    """What one prompt did, as a client and the history would see it."""

    prompt_id: str
    success: bool
    messages: list[Message]
    status_messages: list[tuple[str, dict[str, Any]]]
    history: dict[str, Any]
    duration_s: float
    timings: dict[str, float] = field(default_factory=dict)
    #: Calls into registered CacheProviders during this prompt, in order; None where the executor
    #: keeps no record (real ComfyUI, and eras A to C, which have no CacheProvider API).
    provider_calls: list[ProviderCall] | None = None
    #: ``on_store`` calls still running when the prompt's event loop closed (and so cancelled:
    #: the external cache never got the value); None where unknown, as for ``provider_calls``.
    unfinished_stores: list[ProviderCall] | None = None

    @property
    def outputs(self) -> dict[str, Any]:
        """The history's ``outputs``: UI data per node id."""
        outputs: dict[str, Any] = self.history.get("outputs", {})
        return outputs

    @property
    def events(self) -> list[str]:
        return [m.event for m in self.messages]

    def of(self, event: str) -> list[Any]:
        """The data of every message with this event name, in order."""
        return [m.data for m in self.messages if m.event == event]

    @property
    def executed_nodes(self) -> list[str]:
        """Node ids in the order their ``executing`` message was sent (needs a client)."""
        return [d["node"] for d in self.of("executing") if d.get("node") is not None]

    @property
    def cached_nodes(self) -> list[str]:
        return next((list(d["nodes"]) for e, d in self.status_messages if e == "execution_cached"), [])

    @property
    def error(self) -> dict[str, Any] | None:
        """The ``execution_error`` (or ``execution_interrupted``) data, if the prompt failed."""
        return next((d for e, d in self.status_messages if e in ("execution_error", "execution_interrupted")), None)


class RecordingServer:
    """The server object ``execution`` needs (for a real ComfyUI): records ``send_sync``."""

    def __init__(self) -> None:
        self.client_id: str | None = None
        self.last_node_id: str | None = None
        self.last_prompt_id: str | None = None
        self.sockets_metadata: dict[str, Any] = {}
        self._sent: list[tuple[str, Any, str | None, float]] = []

    def send_sync(self, event: str, data: Any, sid: str | None = None) -> None:
        self._sent.append((event, data, sid, time.perf_counter()))

    def queue_updated(self) -> None:
        pass


def detect_era(execution: ModuleType) -> str:
    executor = execution.PromptExecutor
    if hasattr(executor, "_notify_prompt_lifecycle") or "asset_manager" in _parameters(executor.__init__):
        return "D"  # 2026: cache providers are told about prompts; main.py passes an asset manager
    if hasattr(executor, "execute_async"):
        return "C"
    if hasattr(execution, "recursive_execute"):
        return "A"
    return "B"


def _parameters(function: Any) -> set[str]:
    try:
        return set(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return set()


class ExecutorHarness:
    """Runs prompts through one ``PromptExecutor`` and reports what happened.

    ``executor`` is the raw ``PromptExecutor``; ``backend`` is ``"mock"`` or ``"real"``; ``era`` is
    ``"A"`` to ``"D"``; ``comfyui_version`` is the version string (``None`` when unknown).
    ``hook_breaker``: in eras C and D, ``main.py``'s worker puts ``comfy.model_management.cast_to``
    back after prompts (:mod:`.hook_breaker`); True saves the functions as they are now, an
    instance brings its own saved originals and clock, False leaves them alone.
    """

    def __init__(self, execution: ModuleType, server: Any, *, backend: str = "mock",
                 era: str | None = None, comfyui_version: str | None = None,
                 client_id: str | None = DEFAULT_CLIENT_ID, hook_breaker: HookBreaker | bool = True) -> None:
        self.execution = execution
        self.server = server
        self.backend = backend
        self.era = era or detect_era(execution)
        self._facts = ERAS[self.era]
        self._protocol = self._facts.server
        self.comfyui_version = comfyui_version
        self.client_id = client_id
        self.hook_breaker = HookBreaker.save(self._facts) if hook_breaker is True else hook_breaker or None
        self.executor = self._facts.make_executor(execution, server)
        self.queue = execution.PromptQueue(server)
        self._numbers = itertools.count()

    def validate(self, prompt: dict[str, Any], prompt_id: str, outputs: Sequence[str] | None = None) -> list[str]:
        """Runs the era's ``validate_prompt`` (mutating ``prompt`` as ComfyUI does); returns good outputs."""
        validate = self.execution.validate_prompt
        if self._protocol.async_validation:
            coro = validate(prompt_id, prompt, None if outputs is None else list(outputs))
            valid, error, good, node_errors = asyncio.run(coro)
        else:
            valid, error, good, node_errors = validate(prompt)
        if not valid:
            raise PromptValidationError(error, node_errors)
        return list(good)

    def run(self, prompt: Mapping[str, Any], *, prompt_id: str | None = None,
            extra_data: Mapping[str, Any] | None = None,
            outputs: Sequence[str] | None = None) -> RunResult:
        """Queues and executes one API-format prompt; returns a :class:`RunResult`.

        ``extra_data`` defaults to ``{"client_id": harness.client_id}`` (so ``executing`` and
        ``executed`` are sent); pass one without ``client_id`` to run as a headless client.
        ``outputs`` are the node ids to execute (default: the output nodes that validate).
        Exceptions that escape the real ``execute()`` escape here too.
        """
        prompt_id = prompt_id or str(uuid.uuid4())
        posted_prompt: dict[str, Any] = copy.deepcopy(dict(prompt))
        extra: dict[str, Any] = dict(extra_data) if extra_data is not None else (
            {"client_id": self.client_id} if self.client_id is not None else {})
        client_id = extra.get("client_id")
        handlers = getattr(self.server, "trigger_on_prompt", None)
        if handlers is not None:
            posted = handlers({"prompt": posted_prompt, "client_id": client_id, "extra_data": extra})
            posted_prompt = posted.get("prompt", posted_prompt)
        protocol = self._protocol
        good = self.validate(posted_prompt, prompt_id, outputs)
        execute_outputs = good if outputs is None or protocol.async_validation else list(outputs)
        item: tuple[Any, ...] = (next(self._numbers), prompt_id, posted_prompt, extra, execute_outputs)
        if protocol.sensitive_keys:
            # The server moves SENSITIVE_EXTRA_DATA_KEYS out of extra_data into the queue item.
            secret = getattr(self.execution, "SENSITIVE_EXTRA_DATA_KEYS", ())
            sensitive = {k: extra.pop(k) for k in secret if k in extra}
            extra.setdefault("create_time", int(time.time() * 1000))
            item = item + (sensitive,)
        self.queue.put(item)
        queued, item_id = self.queue.get(timeout=0)
        start = len(self.server._sent)
        self.server.last_prompt_id = prompt_id
        call_extra = {**queued[3], **queued[5]} if protocol.sensitive_keys else queued[3]
        if protocol.workflow_metadata:  # main.py exposes the workflow metadata during the prompt
            self.server.workflow_metadata = queued[3].get("workflow_metadata", {})
        record = _ProviderRecord.start()
        began = time.perf_counter()
        try:
            self.executor.execute(queued[2], prompt_id, call_extra, queued[4])
        except BaseException:
            self.queue.currently_running.pop(item_id, None)
            raise
        finally:
            if protocol.workflow_metadata:
                self.server.workflow_metadata = {}
        finished = time.perf_counter()
        executor = self.executor
        history_result = getattr(executor, protocol.history)
        status = self.execution.PromptQueue.ExecutionStatus(
            status_str="success" if executor.success else "error",
            completed=executor.success, messages=executor.status_messages)
        if protocol.sensitive_keys:  # the history keeps the item without its sensitive field
            self.queue.task_done(item_id, history_result, status=status, process_item=lambda i: i[:5])
        else:
            self.queue.task_done(item_id, history_result, status=status)
        if self.server.client_id is not None:
            self.server.send_sync("executing", {"node": None, "prompt_id": prompt_id}, self.server.client_id)
        if self.hook_breaker is not None:
            self.hook_breaker.after_prompt(prompt_id)
        messages = [Message(*m) for m in self.server._sent[start:]]
        history = self.queue.get_history(prompt_id)[prompt_id]
        provider_calls, unfinished = record.since() if record is not None else (None, None)
        return RunResult(prompt_id=prompt_id, success=bool(executor.success), messages=messages,
                         status_messages=list(executor.status_messages), history=history,
                         duration_s=finished - began, timings=_node_timings(messages, finished),
                         provider_calls=provider_calls, unfinished_stores=unfinished)


@dataclass
class _ProviderRecord:
    """The era-D mock's private record of CacheProvider calls, from a mark on, for this thread."""

    module: ModuleType
    calls_from: int
    unfinished_from: int
    thread: int

    @classmethod
    def start(cls) -> _ProviderRecord | None:
        module: Any = sys.modules.get("comfy_execution.cache_provider")
        if not isinstance(getattr(module, "_comfyruntime_calls", None), list):
            return None
        return cls(module, len(module._comfyruntime_calls), len(module._comfyruntime_unfinished_stores),
                   threading.get_ident())

    def since(self) -> tuple[list[ProviderCall], list[ProviderCall]]:
        calls = [ProviderCall(provider, method, None if isinstance(arg, str) else arg.node_id)
                 for thread, provider, method, arg in self.module._comfyruntime_calls[self.calls_from:]
                 if thread == self.thread]
        unfinished = [ProviderCall(provider, "on_store", context.node_id)
                      for thread, provider, context in self.module._comfyruntime_unfinished_stores[self.unfinished_from:]
                      if thread == self.thread]
        return calls, unfinished


def _node_timings(messages: list[Message], finished: float) -> dict[str, float]:
    """Seconds from each node's ``executing`` to the next ``executing`` or the end of execute."""
    marks = [(m.data["node"], m.sent_at) for m in messages
             if m.event == "executing" and m.data.get("node") is not None]
    timings: dict[str, float] = {}
    for (node, at), nxt in zip(marks, [*marks[1:], (None, finished)]):
        timings[node] = timings.get(node, 0.0) + max(0.0, min(nxt[1], finished) - at)
    return timings

"""``ExecutorHarness``: drives a ``PromptExecutor`` (mock or real) the way ComfyUI's server does.

One ``run()`` is what happens to a prompt POSTed to ``/prompt`` and picked up by ``main.py``'s
worker: ``on_prompt`` handlers, ``validate_prompt`` (which coerces widget values), a queue item,
``server.last_prompt_id``, the positional call ``execute(prompt, prompt_id, extra_data,
execute_outputs)``, ``PromptQueue.task_done`` with the era's history, and the closing
``executing {node: None}`` sent only when there is a client. Nothing is patched to observe it:
messages come from the server's event loop, a :class:`~.recording.RecordingLoop` (ComfyUI's
``send_sync`` hands every message to ``server.loop``; the recording sits beneath it, so a wrapper an
extension puts on ``PromptServer.send_sync`` sees them all first), timings from their send times.
Prompts go through the server's own ``prompt_queue``, the one ``PromptServer.instance`` shows.
Before any of that, ``run()`` refuses what is not a prompt at all (:class:`PromptShapeError`).
"""
from __future__ import annotations

import asyncio
import copy
import inspect
import itertools
import reprlib
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

# The recording classes lived here before recording.py: still importable from this module.
from .recording import ClientSocket as ClientSocket
from .recording import Message as Message
from .recording import RecordingLoop as RecordingLoop
from .recording import RecordingServer as RecordingServer
from .recording import Sent as Sent
from .recording import recording_loop as recording_loop
from .recording import start_server as start_server

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


class PromptShapeError(ValueError):
    """``run()`` was given something that is not a prompt, or ``outputs`` / ``extra_data`` of the wrong
    shape: refused before ``on_prompt`` and ``validate_prompt``, which would fail on it with a
    ``TypeError`` or ``KeyError`` (or a message that does not name the mistake).

    Attributes: ``argument`` (``"prompt"``, ``"outputs"`` or ``"extra_data"``), ``problem``, ``fix``,
    and ``node_id`` / ``class_type`` (None unless one node is at fault). A well-formed prompt that
    ComfyUI refuses (an unknown ``class_type``, a missing input) is a :class:`PromptValidationError`.
    """

    __module__ = "pytest_comfyruntime"  # the public name, which a report shows before the message

    def __init__(self, argument: str, problem: str, fix: str, node_id: str | None = None,
                 class_type: str | None = None) -> None:
        self.argument, self.problem, self.fix = argument, problem, fix
        self.node_id, self.class_type = node_id, class_type
        where = f"run() {argument}"
        if node_id is not None:
            where += f", node {node_id!r}" + (f" ({class_type})" if class_type else "")
        super().__init__(f"{where}: {problem}. Fix: {fix}.")

    def __reduce__(self) -> tuple[type[PromptShapeError], tuple[Any, ...]]:
        return (PromptShapeError, (self.argument, self.problem, self.fix, self.node_id, self.class_type))


#: What ``comfy_workflow`` (``workflows.validate_workflow``) says of a UI-format export: the same words.
_EXPORT_FIX = 'in ComfyUI, enable the dev mode options in the settings and export with "Save (API)"'
_UI_FORMAT = "this is a UI-format workflow (it has 'nodes' and 'links' lists), which the executor cannot run"
_A_NODE = '{"class_type": "<node class>", "inputs": {...}}'
_ALL_OUTPUTS = "None to run every output node that validates"


def _a(value: Any, *, shown: bool = True) -> str:
    """``"a list ([1, 2])"``: what a value is, for a message."""
    name = type(value).__name__
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}" + (f" ({reprlib.repr(value)})" if shown else "")


def _prompt_shape_error(prompt: Any) -> PromptShapeError | None:
    """The first thing that makes ``prompt`` no API-format prompt at all; None when it is one (an
    empty mapping too: ComfyUI's ``validate_prompt`` answers that one)."""
    if not isinstance(prompt, Mapping):
        return PromptShapeError("prompt", f"it is {_a(prompt)}, not a mapping of node ids to nodes",
                                f'pass one API-format prompt, {{"<node id>": {_A_NODE}, ...}}; {_EXPORT_FIX}')
    if isinstance(prompt.get("nodes"), list) and isinstance(prompt.get("links"), list):
        return PromptShapeError("prompt", _UI_FORMAT, _EXPORT_FIX + ' instead of "Save"')
    inner = prompt.get("prompt")
    if isinstance(inner, Mapping) and any(isinstance(v, Mapping) and "class_type" in v for v in inner.values()):
        return PromptShapeError("prompt", 'this is a /prompt request body ({"prompt": {...}, ...}), not a prompt',
                                'pass the value of its "prompt" key (and its "extra_data" as extra_data=)')
    for node_id, node in prompt.items():
        if not isinstance(node_id, str):
            return PromptShapeError("prompt", f"node id {node_id!r} is {_a(node_id, shown=False)}, not a string",
                                    f"use the string {str(node_id)!r} as the key (node ids are JSON object keys)")
        if not isinstance(node, Mapping):
            return PromptShapeError("prompt", f"the node is {_a(node)}, not a mapping", f"each node is {_A_NODE}",
                                    node_id)
        class_type, inputs = node.get("class_type"), node.get("inputs")
        if not isinstance(class_type, str):
            problem = (f"'class_type' is {_a(class_type)}, not a string" if "class_type" in node
                       else "the node has no 'class_type'")
            return PromptShapeError("prompt", problem, "set \"class_type\" to the node's registered name (e.g. \"KSampler\")", node_id)
        if not isinstance(inputs, Mapping):
            problem = f"'inputs' is {_a(inputs)}, not a mapping" if "inputs" in node else "the node has no 'inputs'"
            return PromptShapeError("prompt", problem, "'inputs' maps input names to constants or [node_id, "
                                    "output_index] links (\"inputs\": {} when there are none)", node_id, class_type)
    return None


def _arguments_error(prompt: Mapping[str, Any], outputs: Any, extra_data: Any) -> PromptShapeError | None:
    """What is wrong with ``run()``'s ``outputs`` (node ids of ``prompt``) or ``extra_data``."""
    if outputs is not None and not isinstance(outputs, (list, tuple)):
        fix = f"outputs=[{outputs!r}]" if isinstance(outputs, str) else "outputs=['<node id>', ...]"
        return PromptShapeError("outputs", f"it is {_a(outputs)}, not a list of node ids",
                                f"pass a list, {fix}, or {_ALL_OUTPUTS}")
    for node_id in outputs or ():
        if not isinstance(node_id, str):
            return PromptShapeError("outputs", f"{node_id!r} is {_a(node_id, shown=False)}, not a node id (a string)",
                                    f"write it as {str(node_id)!r}")
    missing = [node_id for node_id in outputs or () if node_id not in prompt]
    if missing:
        ids = list(prompt)
        known = ", ".join(map(repr, ids[:12])) + (f" and {len(ids) - 12} more" if len(ids) > 12 else "")
        names = f"node {missing[0]!r}, which is" if len(missing) == 1 else \
            f"nodes {', '.join(map(repr, missing))}, which are"
        return PromptShapeError("outputs", f"names {names} not in the prompt (its node ids: {known or 'none'})",
                                f"name nodes of the prompt, or pass {_ALL_OUTPUTS}")
    if extra_data is not None and not isinstance(extra_data, Mapping):
        return PromptShapeError("extra_data", f"it is {_a(extra_data)}, not a mapping",
                                'pass a dict, e.g. {"client_id": "comfyruntime"}, or {} to run headless')
    return None


def _hide_refusals(excinfo: Any) -> bool:
    """``run()``'s ``__tracebackhide__``: pytest shows a refused argument at the test's call, not in
    the harness; every other exception keeps its full traceback."""
    return isinstance(getattr(excinfo, "value", None), PromptShapeError)


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


def detect_era(execution: ModuleType) -> str:
    executor = execution.PromptExecutor
    takes_assets = "asset_manager" in _parameters(executor.__init__)
    if takes_assets:
        return "D"  # 2026, the newer signature: main.py passes an asset manager
    if hasattr(executor, "_notify_prompt_lifecycle"):
        return "D-11"  # 2026 up to v0.33: cache providers are told about prompts, no asset manager
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
    ``"A"`` to ``"D"`` or ``"D-11"``; ``comfyui_version`` is the version string (``None`` when unknown).
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
        #: Where the server's messages are recorded (``server.loop``).
        self.recorder = recording_loop(server)
        self._connect()
        prompt_queue = getattr(server, "prompt_queue", None)
        if prompt_queue is None:  # a server main.py did not make a queue for (a RecordingServer)
            prompt_queue = server.prompt_queue = execution.PromptQueue(server)
        #: The server's ``prompt_queue``: the one prompts run through.
        self.queue = prompt_queue
        self._numbers = itertools.count()

    def _connect(self) -> None:
        """The harness's client is connected (``server.sockets[client_id]``), as a browser is."""
        sockets = getattr(self.server, "sockets", None)
        client_id = self.client_id
        if client_id is not None and isinstance(sockets, dict) and not isinstance(sockets.get(client_id), ClientSocket):
            sockets[client_id] = self.recorder.client_socket(client_id)

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
        Raises :class:`PromptShapeError` for what is not a prompt (a UI-format export, a list, a
        node without a string ``class_type`` or an ``inputs`` mapping), ``outputs`` that are not a
        list of the prompt's node ids, or ``extra_data`` that is not a mapping; then
        :class:`PromptValidationError` where ComfyUI's ``validate_prompt`` refuses the prompt.
        Exceptions that escape the real ``execute()`` escape here too.
        """
        __tracebackhide__ = _hide_refusals
        refused = _prompt_shape_error(prompt) or _arguments_error(prompt, outputs, extra_data)
        if refused is not None:
            raise refused
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
        self._connect()
        self.queue.put(item)
        queued, item_id = self.queue.get(timeout=0)
        start = len(self.recorder.sent)
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
        messages = self.recorder.messages(start)
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
             if m.event == "executing" and m.via == "send_sync" and m.data.get("node") is not None]
    timings: dict[str, float] = {}
    for (node, at), nxt in zip(marks, [*marks[1:], (None, finished)]):
        timings[node] = timings.get(node, 0.0) + max(0.0, min(nxt[1], finished) - at)
    return timings

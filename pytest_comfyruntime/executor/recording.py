"""What the server sends, recorded: the event loop ``main.py`` hands ``server.PromptServer(loop)``
stood in for by a :class:`RecordingLoop`, a connected client's :class:`ClientSocket`, and the
private :class:`RecordingServer` a second harness sends through.

ComfyUI's ``send_sync`` hands every message to ``server.loop``; the record sits beneath it, so a
wrapper an extension puts on ``PromptServer.send_sync`` sees each message first. Nothing here binds
a port, starts a thread or runs a loop. :class:`~.harness.ExecutorHarness` reads the record.
"""
from __future__ import annotations

import json
import queue
import time
from dataclasses import dataclass
from types import ModuleType
from typing import Any


@dataclass(frozen=True)
class Message:
    """One message to the client: ``event``, ``data``, ``sid`` and when it was sent (perf_counter s).

    ``via`` is ``"send_sync"`` for a ``send_sync`` call (``sid`` as passed: None is every client),
    ``"socket"`` for what the server sent straight to the harness's client socket (``await
    server.send_json(...)``, ``send_bytes``, ``send``; ``sid`` is that client, ``data`` what it
    received: JSON for ``send_json``, the bytes after the event number for ``send_bytes``).
    """

    event: Any
    data: Any
    sid: str | None
    sent_at: float
    via: str = "send_sync"


#: One recorded message: (event, data, sid, perf_counter seconds, via), as :class:`Message` takes it.
Sent = tuple[Any, Any, str | None, float, str]


class RecordingLoop:
    """The event loop ``main.py`` hands ``server.PromptServer(loop)``, stood in for: it records.

    ComfyUI's ``PromptServer.send_sync`` is, in every era (2024 to 2026),
    ``self.loop.call_soon_threadsafe(self.messages.put_nowait, (event, data, sid))``: it queues the
    message for ``publish_loop``, a task of the loop ``main.py`` runs next to the HTTP server. Here
    no loop runs and no port is bound: each message handed over that way is recorded in
    :attr:`sent` (with its time) instead of being queued. The record sits beneath ``send_sync``, so
    the server keeps ComfyUI's own ``send_sync`` and a wrapper an extension installs on the class
    (``PromptServer.send_sync = wrapped``) runs first and sees every message, as on ComfyUI.
    Anything else scheduled on this loop is kept in :attr:`scheduled` and never run (no loop runs
    that the test did not start). :meth:`client_socket` makes a connected client's websocket whose
    sends land in the same record.
    """

    def __init__(self) -> None:
        self.sent: list[Sent] = []
        self.scheduled: list[tuple[Any, tuple[Any, ...]]] = []

    def call_soon_threadsafe(self, callback: Any, *args: Any, context: Any = None) -> None:
        if (getattr(callback, "__name__", None) == "put_nowait" and len(args) == 1
                and isinstance(args[0], tuple) and len(args[0]) == 3):
            event, data, sid = args[0]
            self.record(event, data, sid, "send_sync")
        else:
            self.scheduled.append((callback, args))

    def is_running(self) -> bool:
        return False

    def is_closed(self) -> bool:
        return False

    def record(self, event: Any, data: Any, sid: str | None, via: str) -> None:
        self.sent.append((event, data, sid, time.perf_counter(), via))

    def messages(self, start: int = 0) -> list[Message]:
        """What was recorded, from index ``start`` on."""
        return [Message(*m) for m in self.sent[start:]]

    def clear(self) -> None:
        self.sent.clear()
        self.scheduled.clear()

    def client_socket(self, sid: str) -> ClientSocket:
        return ClientSocket(self, sid)


class ClientSocket:
    """A client connected to ``/ws?clientId=sid``, as ``server.sockets[sid]``: what the server sends
    straight to it (``await server.send_json(event, data, sid)``, ``send_bytes``, ``send``) is
    recorded on its :class:`RecordingLoop` with ``via="socket"``; JSON is encoded and decoded as
    aiohttp's ``send_json`` and the browser would (so data that is not JSON fails in the sender)."""

    closed = False

    def __init__(self, loop: RecordingLoop, sid: str) -> None:
        self.loop = loop
        self.sid = sid

    async def send_json(self, data: Any, compress: Any = None, *, dumps: Any = json.dumps) -> None:
        received = json.loads(dumps(data))
        event, payload = (received.get("type"), received.get("data")) if isinstance(received, dict) else (None, received)
        self.loop.record(event, payload, self.sid, "socket")

    async def send_bytes(self, data: bytes | bytearray, compress: Any = None) -> None:
        self.loop.record(int.from_bytes(bytes(data[:4]), "big"), bytes(data[4:]), self.sid, "socket")

    async def send_str(self, data: str, compress: Any = None) -> None:
        await self.send_json(json.loads(data))


def recording_loop(server: Any) -> RecordingLoop:
    """The :class:`RecordingLoop` the server sends through; a server built with ``loop=None``
    (``PromptServer(None)``) is given one, since its ``send_sync`` needs a loop."""
    loop = getattr(server, "loop", None)
    if loop is None:
        loop = server.loop = RecordingLoop()
    if not isinstance(loop, RecordingLoop):
        raise TypeError(f"pytest-comfyruntime: the server's loop is {loop!r}; the harness records what "
                        "send_sync hands the loop, so build the server with a RecordingLoop: "
                        "PromptServer(RecordingLoop())")
    return loop


def start_server(execution: ModuleType, server_module: ModuleType, *args: Any) -> Any:
    """``server.PromptServer(loop, *args)`` and its queue, as ``main.py`` builds them before it loads
    custom nodes: the constructor sets ``PromptServer.instance`` (and, from 2025 on, its
    ``prompt_queue``); before that ``main.py`` made the queue itself, ``execution.PromptQueue(server)``,
    which sets ``server.prompt_queue``. The loop is a :class:`RecordingLoop`; nothing is started."""
    server = server_module.PromptServer(RecordingLoop(), *args)
    if getattr(server, "prompt_queue", None) is None:
        execution.PromptQueue(server)
    return server


class RecordingServer:
    """A private server for a second harness where the test's ``PromptServer.instance`` must not
    be shared (the isolation check's threads, ``own_server=True``): the attributes ``execution``
    reads, a ``send_sync`` that hands messages to its own :class:`RecordingLoop` as ComfyUI's does,
    and the ``prompt_queue`` the harness gives it. It sends no queue ``status`` messages."""

    def __init__(self) -> None:
        self.client_id: str | None = None
        self.last_node_id: str | None = None
        self.last_prompt_id: str | None = None
        self.sockets: dict[str, Any] = {}
        self.sockets_metadata: dict[str, Any] = {}
        self.prompt_queue: Any = None
        self.loop = RecordingLoop()
        self.messages: queue.SimpleQueue[tuple[Any, Any, str | None]] = queue.SimpleQueue()

    def send_sync(self, event: Any, data: Any, sid: str | None = None) -> None:
        self.loop.call_soon_threadsafe(self.messages.put_nowait, (event, data, sid))

    def queue_updated(self) -> None:
        pass

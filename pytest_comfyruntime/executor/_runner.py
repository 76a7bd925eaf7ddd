"""``asyncio.run`` semantics for the era-C mock's ``execute``, on a reused event loop.

``asyncio.run`` builds and tears down an event loop per call (about 150 us here, three times
the mock's whole budget for a 4-node prompt). ``run`` keeps what callers can observe: it refuses
to run inside a running loop with ``asyncio.run``'s own message, runs the coroutine as a task
(so context variables set inside do not leak out), cancels the tasks it leaves behind and shuts
down async generators. The main thread reuses one loop until ``close()``; other threads get a
fresh loop per call, closed afterwards, so no thread leaves a loop behind.
"""
from __future__ import annotations

import asyncio
import threading
from typing import Any, Coroutine

_main_loop: asyncio.AbstractEventLoop | None = None


def run(coro: Coroutine[Any, Any, Any]) -> Any:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        coro.close()
        raise RuntimeError("asyncio.run() cannot be called from a running event loop")
    global _main_loop
    reuse = threading.current_thread() is threading.main_thread()
    if reuse:
        if _main_loop is None or _main_loop.is_closed():
            _main_loop = asyncio.new_event_loop()
        loop = _main_loop
    else:
        loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        _finish(loop)
        if not reuse:
            loop.close()


def _finish(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    if getattr(loop, "_asyncgens", True):  # only pay for the shutdown when a generator is alive
        loop.run_until_complete(loop.shutdown_asyncgens())


def close() -> None:
    """Closes the main thread's loop (the plugin calls this when the stand-ins are removed)."""
    global _main_loop
    if _main_loop is not None and not _main_loop.is_closed():
        _main_loop.close()
    _main_loop = None

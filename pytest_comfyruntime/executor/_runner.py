"""``asyncio.run`` semantics for the era-C mock's ``execute``, on a reused event loop.

``asyncio.run`` builds and tears down an event loop per call (about 150 us here, three times
the mock's whole budget for a 4-node prompt). ``run`` keeps what callers can observe: inside a
running loop it raises ``asyncio.run``'s own RuntimeError (leaving the coroutine un-awaited, so
Python warns about it as it does for ComfyUI), a non-coroutine gets its ValueError, the
coroutine runs as a task (so context variables set inside do not leak out) with the loop set
as the thread's current loop, leftover tasks are cancelled (an exception one of them raised is
reported to the loop's exception handler), async generators are shut down, and afterwards the
thread has no current loop (``asyncio.get_event_loop()`` raises, as after ``asyncio.run``).
The main thread reuses one loop until ``close()``; the loop is retired (closed, as
``asyncio.run`` closes its own) when the prompt used the default executor or left callbacks
scheduled, so those behave as on a closed loop. Other threads get a fresh loop per call.
What still differs: in the main thread consecutive prompts share one loop object, which is not
closed between them.
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
        raise RuntimeError("asyncio.run() cannot be called from a running event loop")
    if not asyncio.iscoroutine(coro):
        raise ValueError("a coroutine was expected, got {!r}".format(coro))
    global _main_loop
    reuse = threading.current_thread() is threading.main_thread()
    if reuse:
        if _main_loop is None or _main_loop.is_closed():
            _main_loop = asyncio.new_event_loop()
        loop = _main_loop
    else:
        loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            _finish(loop)
        finally:
            asyncio.set_event_loop(None)
            if not reuse or _leaves_traces(loop):
                if reuse:
                    _main_loop = None
                loop.close()


def _finish(loop: asyncio.AbstractEventLoop) -> None:
    leftovers = [t for t in asyncio.all_tasks(loop) if not t.done()]
    for task in leftovers:
        task.cancel()
    if leftovers:
        loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
        for task in leftovers:
            if task.cancelled():
                continue
            if task.exception() is not None:
                loop.call_exception_handler({
                    "message": "unhandled exception during asyncio.run() shutdown",
                    "exception": task.exception(),
                    "task": task,
                })
    if getattr(loop, "_asyncgens", True):  # only pay for the shutdown when a generator is alive
        loop.run_until_complete(loop.shutdown_asyncgens())
    if getattr(loop, "_default_executor", None) is not None:
        loop.run_until_complete(loop.shutdown_default_executor())


def _leaves_traces(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether reusing the loop would differ from a fresh one: executor used, callbacks pending."""
    return bool(getattr(loop, "_executor_shutdown_called", False) or getattr(loop, "_scheduled", None)
                or getattr(loop, "_ready", None))


def close() -> None:
    """Closes the main thread's loop (the plugin calls this when the stand-ins are removed)."""
    global _main_loop
    if _main_loop is not None and not _main_loop.is_closed():
        _main_loop.close()
    _main_loop = None

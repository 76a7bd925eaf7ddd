"""Memory an extension's hooks keep per prompt: tracemalloc after garbage collection, attributed to
the extension's own files.

Why: a hook that stores per-prompt state in a module-level dict and empties it only on some path
(a published extension frees its "session" in its save node, so a prompt without that node leaks
the session for good) costs nothing per call and passes every timing budget, yet the process grows
with each prompt until ComfyUI is restarted. ``measure_retained`` runs prompts, takes a snapshot
after warm-up and after each of a few equal segments, and reports what the extension's files still
hold per prompt, whether that growth levels off, and which of the extension's lines allocated it.

How an allocation is attributed: it counts when any frame of its traceback (up to
``TRACE_FRAMES`` frames) lies in ``files`` (a file, or any file under a folder), so a dict made by
``copy.deepcopy`` called from the extension counts; it is charged to the innermost such frame, the
extension's own line rather than ``copy.py``. Only frames below this module's call of
``run_prompt`` are looked at, so the bookkeeping of the measurement itself, and a caller that
happens to live in ``files`` (a test inside the extension's folder), never count.

Leak rule (see ``_grows_without_levelling_off``): the measured prompts fall in ``checkpoints``
segments of equal length. The growth rate (KB per prompt) of the last half of the segments is
compared with the rate of the segments before them, leaving out the first segment when there are
four or more (it absorbs one-time fills the warm-up missed, such as a bounded cache larger than the
warm-up). A leak is a late rate above ``LEAK_FLOOR_KB_PER_PROMPT`` that is at least ``LEAK_RATIO``
of the earlier rate. A cache that fills and stops is not a leak; a session dict that is never
emptied is, and so is a cache that fills plus a steady leak on top.

Limits, stated where they are used: tracemalloc sees memory allocated through Python's allocators
(not tensors' storage); objects taken from a free list reuse an old block and show up as no
allocation at all, which makes clean hooks read as zero, as they should; a cache still filling
over most of the measured prompts reads as a leak (raise ``warmup`` or ``prompts``).

tracemalloc is left as it was found. Not tracing before: started with ``TRACE_FRAMES`` frames and
stopped after, even when ``run_prompt`` raises. Already tracing (the user ran ``-X tracemalloc``
or called ``tracemalloc.start``): left tracing with the user's frame limit, untouched, because
raising the limit needs ``tracemalloc.stop()``, which would discard every trace the user holds;
a note says so, and that a limit below ``TRACE_FRAMES`` can miss allocations made deep below the
extension's line.

Standard library and pydantic only: importing this module imports no torch, numpy or ComfyUI.
"""
from __future__ import annotations

import gc
import os
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from .models import Retained

#: Frames recorded per allocation when this module starts tracemalloc: enough for the extension's
#: line to be in the traceback of an allocation made a few calls below it (copy.deepcopy of
#: nested data recurses two frames per level).
TRACE_FRAMES: Final = 32
#: A leak still grows, in the last half of the segments, at least this fraction of the earlier rate.
LEAK_RATIO: Final = 0.5
#: ... and by more than this many KB per prompt (below it, dict resizes and interned strings).
LEAK_FLOOR_KB_PER_PROMPT: Final = 0.05
#: How many allocating lines ``top`` names at most ...
TOP_LINES: Final = 5
#: ... each grown by at least this many KB (smaller would print as "+0.0 KB": a realloc, a resize).
TOP_MIN_KB: Final = 0.05
#: Bytes in a KB, as tracemalloc's own statistics count them.
KB: Final = 1024

Line = tuple[str, int]
Frames = Sequence[tuple[str, int]]

#: The file this module's code runs from, as tracebacks spell it: frames at and above its call of
#: ``run_prompt`` are the measurement's own, not the extension's.
_OWN_FILE: Final = (lambda: None).__code__.co_filename


# --------------------------------------------------------------------------- validation


def _check_int(name: str, value: object, minimum: int, fix: str) -> int:
    """``value`` as an int of at least ``minimum``; ValueError naming ``name`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{name}={value!r} is not a whole number; {fix}")
    if value < minimum:
        raise ValueError(f"{name}={value} is less than {minimum}; {fix}")
    return value


def _check_counts(prompts: object, checkpoints: object, warmup: object) -> tuple[int, int, int]:
    """The three counts, checked; the first problem found raises ValueError."""
    cps = _check_int("checkpoints", checkpoints, 2,
                     "a leak is growth that does not level off, which takes at least 2 checkpoints "
                     "to see: pass checkpoints >= 2 (default 4)")
    n = _check_int("prompts", prompts, 1, f"pass prompts >= checkpoints ({cps}), e.g. prompts=100")
    if n < cps:
        raise ValueError(f"prompts={n} is less than checkpoints={cps}: every checkpoint needs at least "
                         f"one prompt; pass prompts >= {cps} (e.g. prompts=100) or fewer checkpoints")
    warm = _check_int("warmup", warmup, 0,
                      "pass warmup >= 0 (default 3): prompts run before the baseline snapshot")
    return n, cps, warm


def _check_files(files: object) -> list[str]:
    """Absolute paths of ``files``, each an existing file or folder; ValueError otherwise."""
    if isinstance(files, (str, bytes)) or isinstance(files, os.PathLike):
        raise ValueError(f"files={files!r} is a single path, not a list of them; pass a list, "
                         f"e.g. files=[{os.fsdecode(os.fspath(files))!r}]")
    if not isinstance(files, Sequence) or not files:
        raise ValueError(f"files={files!r} is empty or not a list; name the extension's source files or "
                         "package folders, e.g. files=[pathlib.Path(my_ext.__file__).parent]")
    paths: list[str] = []
    for i, item in enumerate(files):
        if not isinstance(item, (str, os.PathLike)):
            raise ValueError(f"files[{i}]={item!r} is not a path; pass str or pathlib.Path items")
        path = os.fspath(item)
        if not isinstance(path, str) or not path:
            raise ValueError(f"files[{i}]={item!r} is not a usable path; pass a non-empty str or pathlib.Path")
        if not os.path.exists(path):
            raise ValueError(f"files[{i}]={path!r} does not exist; pass the extension's existing source files "
                             f"or package folders (relative paths are resolved against {os.getcwd()!r})")
        paths.append(os.path.abspath(path))
    return paths


# --------------------------------------------------------------------------- attribution


@dataclass
class _Scope:
    """Whether a traceback's filename lies in ``files``: a file itself, or anything under a folder
    (compared both as given and with symlinks resolved). Answers are cached per filename.
    ``excluded``: another scope (ComfyUI's own code); a frame there, met before any frame in
    ``files`` on the way out from the allocation, makes the allocation ComfyUI's (the original a
    hook called allocated it)."""

    files: frozenset[str]
    folders: tuple[str, ...]
    cache: dict[str, bool] = field(default_factory=dict)
    excluded: _Scope | None = None

    @classmethod
    def of(cls, paths: Sequence[str], exclude: Sequence[str] = ()) -> _Scope:
        files: set[str] = set()
        folders: set[str] = set()
        for path in paths:
            forms = {os.path.normcase(path), os.path.normcase(os.path.realpath(path))}
            if os.path.isdir(path):
                folders.update(form.rstrip(os.sep) + os.sep for form in forms)
            else:
                files.update(forms)
        return cls(frozenset(files), tuple(sorted(folders)), excluded=cls.of(exclude) if exclude else None)

    def __call__(self, filename: str) -> bool:
        hit = self.cache.get(filename)
        if hit is None:
            hit = self.cache[filename] = self._matches(filename)
        return hit

    def _matches(self, filename: str) -> bool:
        if not filename or filename.startswith("<"):  # "<frozen ...>", "<string>": no file
            return False
        forms = {os.path.normcase(os.path.abspath(filename)), os.path.normcase(os.path.realpath(filename))}
        return any(form in self.files or form.startswith(self.folders) for form in forms)


@dataclass
class _Tally:
    """One snapshot, reduced to what counts: total bytes, and bytes and blocks by the extension's line."""

    total: int = 0
    lines: dict[Line, list[int]] = field(default_factory=dict)


def _raw_traces(snapshot: tracemalloc.Snapshot) -> Sequence[tuple[Any, ...]]:
    """The snapshot's traces as ``(domain, size, frames innermost first, ...)`` tuples. Reads the
    raw tuples where they are laid out as CPython 3.4-3.13 lays them out (building ``Trace``
    objects costs seconds when the user traces a whole process); the public API otherwise."""
    raw: Any = getattr(snapshot.traces, "_traces", None)
    if isinstance(raw, list) and (not raw or (isinstance(raw[0], tuple) and len(raw[0]) >= 3)):
        return raw
    return [(0, trace.size, tuple((frame.filename, frame.lineno) for frame in reversed(trace.traceback)))
            for trace in snapshot.traces]


def _innermost_in_scope(frames: Frames, in_scope: _Scope) -> int:
    """Index of the innermost frame in ``files``, looking only below this module's call of
    ``run_prompt``; -1 when there is none. Runs once per trace while tracemalloc traces, where every
    allocation costs microseconds (32 frames are recorded), so it allocates nothing: no iterator,
    no tuple, only small cached ints."""
    cache = in_scope.cache
    excluded = in_scope.excluded
    i = 0
    n = len(frames)
    while i < n:
        filename = frames[i][0]
        if filename == _OWN_FILE:
            return -1
        hit = cache.get(filename)
        if hit is None:
            hit = in_scope(filename)
        if hit:
            return i
        if excluded is not None:
            out = excluded.cache.get(filename)
            if out is None:
                out = excluded(filename)
            if out:
                return -1
        i += 1
    return -1


def _tally(snapshot: tracemalloc.Snapshot, in_scope: _Scope) -> _Tally:
    """The bytes and blocks of ``snapshot`` that the extension's files allocated, by line."""
    tally = _Tally()
    for trace in _raw_traces(snapshot):
        frames = trace[2]
        i = _innermost_in_scope(frames, in_scope)
        if i < 0:
            continue
        size: int = trace[1]
        line: Line = (frames[i][0], frames[i][1])
        tally.total += size
        counts = tally.lines.get(line)
        if counts is None:
            tally.lines[line] = [size, 1]
        else:
            counts[0] += size
            counts[1] += 1
    return tally


def _run(run_prompt: Callable[[int], object], index: int) -> None:
    """Run prompt ``index``. A coroutine (an ``async def`` run_prompt) has run nothing: ValueError."""
    result = run_prompt(index)
    if isinstance(result, Awaitable):
        close = getattr(result, "close", None)
        if callable(close):
            close()  # no "coroutine was never awaited" warning on top of the error
        raise ValueError(f"run_prompt({index}) returned {type(result).__name__} {result!r}, so the prompt did "
                         "not run; pass a function that runs it to the end, e.g. "
                         "run_prompt=lambda i: asyncio.run(run_async(i))")


def _checkpoint(in_scope: _Scope) -> _Tally:
    """Collect garbage, snapshot, and keep only the tally (the snapshot itself is dropped)."""
    gc.collect()
    return _tally(tracemalloc.take_snapshot(), in_scope)


# --------------------------------------------------------------------------- judging and wording


def _grows_without_levelling_off(checkpoints_kb: Sequence[float], per_segment: int) -> bool:
    """The leak rule. ``checkpoints_kb``: cumulative KB over the baseline after each segment of
    ``per_segment`` prompts. Late rate: KB per prompt over the last half of the segments (the last
    ``k // 2``). Earlier rate: over the segments before those, without the first one when k >= 4.
    Leak: late rate > ``LEAK_FLOOR_KB_PER_PROMPT`` and late rate >= ``LEAK_RATIO`` x earlier rate.
    """
    k = len(checkpoints_kb)
    if k < 2 or per_segment < 1:
        return False
    growth = [b - a for a, b in zip([0.0, *checkpoints_kb], checkpoints_kb)]
    half = k // 2
    late = growth[k - half:]
    earlier = growth[1 if k >= 4 else 0:k - half]
    late_rate = sum(late) / (len(late) * per_segment)
    earlier_rate = sum(earlier) / (len(earlier) * per_segment)
    return late_rate > LEAK_FLOOR_KB_PER_PROMPT and late_rate >= LEAK_RATIO * earlier_rate


def _display_root(paths: Sequence[str]) -> str:
    """The folder ``top`` paths are shown relative to: the common folder of the files' folders and
    the folders' parents, so a package folder ``my_ext`` reads ``my_ext/hooks.py``."""
    parents = [os.path.dirname(path.rstrip(os.sep)) if os.path.isdir(path) else os.path.dirname(path)
               for path in paths]
    try:
        return os.path.commonpath(parents)
    except ValueError:  # different drives (Windows): show absolute paths
        return ""


def _shown(filename: str, root: str) -> str:
    """``filename`` relative to ``root`` where it lies under it, absolute otherwise."""
    absolute = os.path.abspath(filename)
    if not root:
        return absolute
    try:
        relative = os.path.relpath(absolute, root)
    except ValueError:
        return absolute
    return absolute if relative.startswith(os.pardir) else relative


def _top(baseline: _Tally, last: _Tally, root: str) -> list[str]:
    """Up to ``TOP_LINES`` lines that grew most (by ``TOP_MIN_KB`` or more) from baseline to the
    last checkpoint."""
    grown: list[tuple[int, int, Line]] = []
    for line, (size, blocks) in last.lines.items():
        before = baseline.lines.get(line, [0, 0])
        if size - before[0] >= TOP_MIN_KB * KB:
            grown.append((size - before[0], blocks - before[1], line))
    grown.sort(key=lambda item: (-item[0], item[2]))
    return [f"{_shown(filename, root)}:{lineno}: +{size / KB:.1f} KB ({blocks} blocks)"
            for size, blocks, (filename, lineno) in grown[:TOP_LINES]]


def _tracing_note(limit: int) -> str:
    """What the result means when the user was already tracing with ``limit`` frames."""
    note = (f"tracemalloc was already tracing (started by the user, e.g. -X tracemalloc) with a frame "
            f"limit of {limit}; it was left tracing with that limit, because raising it needs "
            f"tracemalloc.stop(), which would discard the user's traces")
    if limit < TRACE_FRAMES:
        note += (f". Allocations made more than {limit} frame(s) below the extension's line (e.g. "
                 f"copy.deepcopy of nested data) are not attributed, so the figures may read low; run "
                 f"without -X tracemalloc, or with -X tracemalloc={TRACE_FRAMES}, for full attribution")
    return note


def _kb(*values: float) -> str:
    """KB figures for a message, comma-separated, with one precision: one decimal when the largest
    is 1 KB or more, two below that; never '-0.00'."""
    digits = 1 if max((abs(value) for value in values), default=0) >= 1 else 2
    texts = [f"{value:.{digits}f}" for value in values]
    return ", ".join(f"{0:.{digits}f}" if float(text) == 0 else text for text in texts)


# --------------------------------------------------------------------------- public


def measure_retained(
    run_prompt: Callable[[int], object],
    files: Sequence[str | os.PathLike[str]],
    *,
    prompts: int = 100,
    checkpoints: int = 4,
    warmup: int = 3,
    notes: list[str] | None = None,
    exclude: Sequence[str | os.PathLike[str]] = (),
) -> Retained:
    """Measure the memory the extension's files retain per prompt after ``prompts`` prompts.

    ``run_prompt(i)`` runs the i-th prompt with the hooks on; ``i`` counts up from 0 through the
    warm-up and the measured prompts, so ids built from it are unique. ``files``: the extension's
    source files or package folders (not its tests: see the module docstring).

    Order: ``warmup`` prompts (plus ``prompts % checkpoints``, so every segment has the same
    length), ``gc.collect()`` and a baseline snapshot; then ``checkpoints`` segments of
    ``prompts // checkpoints`` prompts, each followed by ``gc.collect()`` and a snapshot.
    ``checkpoints_kb``: KB (1024 bytes) retained over the baseline at each checkpoint.
    ``retained_kb_per_prompt``: the last checkpoint's KB divided by the measured prompts (the
    ``prompts`` field). ``leak``: the module docstring's rule. ``top``: the extension's lines
    that grew most, ``"path:line: +N.N KB (M blocks)"``, paths relative to the files' common folder.

    ``exclude``: ComfyUI's own files or folders: an allocation whose way out to the extension's
    line passes through them was made by what the hook called (the original), not by the hook.

    ``notes``: a list (e.g. ``OverheadResult.notes``) that gets what the reader must know about the
    figures: tracemalloc already tracing with the user's frame limit, prompts run with the warm-up.

    Raises ValueError, before anything runs, for checkpoints < 2, prompts < checkpoints,
    warmup < 0, empty ``files`` or a path that does not exist. An exception from ``run_prompt``
    propagates unchanged, after tracemalloc is restored; a ``run_prompt`` that returns an awaitable
    (an ``async def``) ran nothing and raises ValueError, also after tracemalloc is restored.
    """
    if not callable(run_prompt):
        raise ValueError(f"run_prompt={run_prompt!r} is not callable; pass a function that runs prompt i, "
                         "e.g. run_prompt=lambda i: harness.run(workflow, prompt_id=f'p{i}')")
    n, cps, warm = _check_counts(prompts, checkpoints, warmup)
    paths = _check_files(files)
    per_segment, extra = divmod(n, cps)
    in_scope = _Scope.of(paths, [os.fspath(p) for p in exclude])
    messages: list[str] = []
    if extra:
        messages.append(f"prompts={n} is not a multiple of checkpoints={cps}: {extra} prompt(s) ran with the "
                        f"warm-up and {per_segment * cps} were measured ({per_segment} per checkpoint)")

    was_tracing = tracemalloc.is_tracing()
    if was_tracing:
        messages.append(_tracing_note(tracemalloc.get_traceback_limit()))
    else:
        tracemalloc.start(TRACE_FRAMES)
    try:
        index = 0
        for _ in range(warm + extra):
            _run(run_prompt, index)
            index += 1
        baseline = last = _checkpoint(in_scope)
        totals: list[int] = []
        for _ in range(cps):
            for _ in range(per_segment):
                _run(run_prompt, index)
                index += 1
            last = _checkpoint(in_scope)
            totals.append(last.total - baseline.total)
    finally:
        if not was_tracing:
            tracemalloc.stop()

    if notes is not None:
        notes.extend(messages)
    measured = per_segment * cps
    kb = [total / KB for total in totals]
    return Retained(
        prompts=measured,
        files=[os.fspath(item) for item in files],
        retained_kb_per_prompt=round(kb[-1] / measured, 4),
        checkpoints_kb=[round(value, 3) for value in kb],
        leak=_grows_without_levelling_off(kb, per_segment),
        top=_top(baseline, last, _display_root(paths)),
    )


def describe_retained(r: Retained) -> str:
    """One line for messages, e.g. ``retained 2.4 KB per prompt over 100 prompts (0.6, 1.2, 1.8,
    2.4 KB at checkpoints after 25, 50, 75, 100 prompts); leak: grows without levelling off; top:
    hooks.py:41: +240.0 KB (100 blocks)``."""
    text = f"retained {_kb(r.retained_kb_per_prompt)} KB per prompt over {r.prompts} prompts"
    k = len(r.checkpoints_kb)
    if k:
        per = r.prompts // k
        values = _kb(*r.checkpoints_kb)
        after = ", ".join(str(per * (i + 1)) for i in range(k))
        text += f" ({values} KB at checkpoints after {after} prompts)"
    text += "; leak: grows without levelling off" if r.leak else "; no leak: growth levels off"
    text += "; top: " + ", ".join(r.top) if r.top else "; no line of the extension's files grew"
    return text


__all__ = ["KB", "LEAK_FLOOR_KB_PER_PROMPT", "LEAK_RATIO", "TOP_LINES", "TOP_MIN_KB", "TRACE_FRAMES",
           "describe_retained", "measure_retained"]

"""measure_retained / describe_retained: memory an extension's hooks keep per prompt.

Extensions are real module files written under tmp_path and imported with importlib, so their
allocations carry real filenames and line numbers; the modules leave sys.modules after each test.
"""
from __future__ import annotations

import gc
import importlib.util
import os
import re
import subprocess
import sys
import tracemalloc
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from pytest_comfyruntime.overhead import memory
from pytest_comfyruntime.overhead.memory import describe_retained, measure_retained
from pytest_comfyruntime.overhead.models import Retained

LEAKING = """\
SESSIONS = {}


def on_prompt(prompt_id):
    SESSIONS[prompt_id] = bytearray(1000)  # ALLOC: the session only the save node would free
"""

CLEAN = """\
SESSIONS = {}


def on_prompt(prompt_id):
    SESSIONS[prompt_id] = bytearray(1000)
    finish(prompt_id)


def finish(prompt_id):
    del SESSIONS[prompt_id]
"""

BOUNDED = """\
from collections import OrderedDict

CACHE = OrderedDict()


def on_prompt(prompt_id):
    CACHE[prompt_id] = bytearray(1000)  # ALLOC
    while len(CACHE) > 10:
        CACHE.popitem(last=False)
"""

DEEPCOPY = """\
import copy

TEMPLATE = {"nodes": {str(i): {"inputs": [i, i + 1], "class_type": "KSampler"} for i in range(8)}}
SESSIONS = {}


def on_prompt(prompt_id):
    SESSIONS[prompt_id] = copy.deepcopy(TEMPLATE)  # ALLOC
"""

CYCLIC = """\
def on_prompt(prompt_id):
    session = {"id": prompt_id, "buffer": bytearray(1000)}
    session["self"] = session  # a cycle: only the garbage collector frees it
"""

SHRINKING = """\
HELD = []


def on_prompt(prompt_id):
    if prompt_id < 3:
        HELD.append(bytearray(2000))  # warm-up only; the first measured prompt frees two of the three
    else:
        del HELD[1:]
"""

Loader = Callable[[str, str], ModuleType]


@pytest.fixture
def load(tmp_path: Path) -> Iterator[Loader]:
    """Write ``source`` to tmp_path/<relative path> and import it; unload at teardown."""
    names: list[str] = []

    def _load(relative: str, source: str) -> ModuleType:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
        name = "ovhmem_" + relative.removesuffix(".py").replace("/", "_")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        names.append(name)
        spec.loader.exec_module(module)
        return module

    yield _load
    for name in names:
        sys.modules.pop(name, None)


@pytest.fixture
def not_tracing() -> Iterator[None]:
    """These tests are about tracemalloc's state when it was off; under -X tracemalloc they skip."""
    if tracemalloc.is_tracing():
        pytest.skip("tracemalloc is already tracing in this process (-X tracemalloc)")
    yield
    assert not tracemalloc.is_tracing(), "measure_retained left tracemalloc tracing"


def alloc_line(source: str) -> int:
    """The 1-based line of the source marked ``# ALLOC``."""
    return next(i for i, text in enumerate(source.splitlines(), 1) if "# ALLOC" in text)


def file_of(module: ModuleType) -> str:
    assert module.__file__ is not None
    return module.__file__


TOP = re.compile(r"^(?P<path>.+):(?P<line>\d+): \+(?P<kb>\d+\.\d) KB \((?P<blocks>\d+) blocks\)$")


# --------------------------------------------------------------------------- what is measured


@pytest.mark.usefixtures("not_tracing")
def test_leaking_hook_is_a_leak_named_by_its_line(load: Loader) -> None:
    ext = load("leak_ext.py", LEAKING)
    r = measure_retained(ext.on_prompt, [file_of(ext)])
    assert isinstance(r, Retained)
    assert r.leak is True
    assert r.prompts == 100 and len(r.checkpoints_kb) == 4
    # 1000 bytes of buffer plus the bytearray object and the dict's share: about 1.05 KB a prompt.
    assert 1000 / 1024 <= r.retained_kb_per_prompt <= 1.3
    assert r.checkpoints_kb == sorted(r.checkpoints_kb)
    top = TOP.match(r.top[0])
    assert top is not None, r.top
    assert top["path"] == "leak_ext.py" and int(top["line"]) == alloc_line(LEAKING)
    assert float(top["kb"]) >= 100 * 1000 / 1024 and int(top["blocks"]) >= 100
    assert len(ext.SESSIONS) == 103  # warm-up + measured prompts, ids 0..102
    assert sorted(ext.SESSIONS) == list(range(103))


@pytest.mark.usefixtures("not_tracing")
def test_clean_hook_retains_nothing(load: Loader) -> None:
    ext = load("clean_ext.py", CLEAN)
    r = measure_retained(ext.on_prompt, [file_of(ext)])
    assert r.leak is False
    assert abs(r.retained_kb_per_prompt) < 0.05
    # at most a dict's table between checkpoints (0.16 KB on Python 3.10), never a session's 1000 bytes
    assert all(abs(value) < 0.5 for value in r.checkpoints_kb)


@pytest.mark.usefixtures("not_tracing")
def test_bounded_cache_fills_then_levels_off(load: Loader) -> None:
    ext = load("cache_ext.py", BOUNDED)
    r = measure_retained(ext.on_prompt, [file_of(ext)], warmup=0)
    # The cache fills during the first segment (10 KB): over the floor per prompt, yet no leak.
    assert r.checkpoints_kb[0] > 9
    assert r.retained_kb_per_prompt > memory.LEAK_FLOOR_KB_PER_PROMPT
    assert r.leak is False
    assert max(r.checkpoints_kb) - min(r.checkpoints_kb) < 3
    # The one line holding the 10 entries; the eviction line's realloc noise (+0.0 KB) is left out.
    # (a tracer such as coverage's may add a little on the function's other lines: the cache's line leads)
    assert [TOP.match(line)["line"] for line in r.top][0] == str(alloc_line(BOUNDED))  # type: ignore[index]


@pytest.mark.usefixtures("not_tracing")
def test_garbage_cycles_are_collected_before_each_snapshot(load: Loader) -> None:
    ext = load("cyclic_ext.py", CYCLIC)
    enabled = gc.isenabled()
    gc.disable()  # as in a process that tunes gc: nothing frees the cycles but an explicit collect
    try:
        r = measure_retained(ext.on_prompt, [file_of(ext)], prompts=40)
    finally:
        if enabled:
            gc.enable()
    assert r.leak is False and abs(r.retained_kb_per_prompt) < 0.05 and r.top == []


@pytest.mark.usefixtures("not_tracing")
def test_lines_that_shrank_are_not_in_top(load: Loader) -> None:
    ext = load("shrink_ext.py", SHRINKING)
    r = measure_retained(ext.on_prompt, [file_of(ext)], prompts=8)
    assert r.checkpoints_kb[-1] < -3  # 4 of the warm-up's 6 KB were freed; the line still holds 2 KB
    assert r.leak is False and r.top == []


@pytest.mark.usefixtures("not_tracing")
def test_bounded_cache_plus_a_steady_leak_is_a_leak(load: Loader) -> None:
    cache = load("cache_ext.py", BOUNDED)
    leak = load("leak_ext.py", LEAKING)

    def run(i: int) -> None:
        cache.on_prompt(i)
        leak.on_prompt(i)

    r = measure_retained(run, [file_of(cache), file_of(leak)], warmup=0)
    assert r.leak is True
    assert TOP.match(r.top[0])["path"] == "leak_ext.py"  # type: ignore[index]


@pytest.mark.usefixtures("not_tracing")
def test_allocations_of_files_not_listed_do_not_count(load: Loader) -> None:
    ext = load("clean_ext.py", CLEAN)
    other = load("other_leak.py", LEAKING)

    def run(i: int) -> None:
        ext.on_prompt(i)
        other.on_prompt(i)

    mine = measure_retained(run, [file_of(ext)])
    assert mine.leak is False and abs(mine.retained_kb_per_prompt) < 0.05
    assert not any("other_leak" in line for line in mine.top)
    # The control: the same run, judged on the other file, is the leak.
    theirs = measure_retained(run, [file_of(other)], prompts=20)
    assert theirs.leak is True and theirs.retained_kb_per_prompt > 0.9


@pytest.mark.usefixtures("not_tracing")
def test_callers_of_measure_retained_in_files_do_not_count(load: Loader) -> None:
    ext = load("clean_ext.py", CLEAN)
    other = load("other_leak.py", LEAKING)
    # This test file calls measure_retained, and run_prompt is other's function itself: the test's
    # frame is above the measurement's call of run_prompt, so listing it attributes nothing.
    r = measure_retained(other.on_prompt, [file_of(ext), __file__], prompts=20)
    assert r.leak is False and abs(r.retained_kb_per_prompt) < 0.05 and r.top == []


@pytest.mark.usefixtures("not_tracing")
def test_deepcopy_called_from_the_extension_counts_on_its_line(load: Loader) -> None:
    ext = load("copy_ext.py", DEEPCOPY)
    r = measure_retained(ext.on_prompt, [file_of(ext)], prompts=40)
    assert r.leak is True
    assert r.retained_kb_per_prompt > 1.5  # 8 nested dicts, lists and strings per prompt
    assert not any("copy.py" in line for line in r.top)
    top = TOP.match(r.top[0])
    assert top is not None and top["path"] == "copy_ext.py" and int(top["line"]) == alloc_line(DEEPCOPY)


@pytest.mark.usefixtures("not_tracing")
def test_folder_counts_every_file_under_it(load: Loader, tmp_path: Path) -> None:
    load("my_ext/__init__.py", "")
    hooks = load("my_ext/hooks.py", LEAKING)
    r = measure_retained(hooks.on_prompt, [tmp_path / "my_ext"], prompts=20)
    assert r.leak is True
    assert r.files == [os.fspath(tmp_path / "my_ext")]
    assert r.top[0].startswith(os.path.join("my_ext", "hooks.py") + f":{alloc_line(LEAKING)}: +")


@pytest.mark.usefixtures("not_tracing")
def test_remainder_runs_with_the_warm_up(load: Loader) -> None:
    seen: list[int] = []
    notes: list[str] = []
    r = measure_retained(seen.append, [__file__], prompts=10, checkpoints=4, warmup=1, notes=notes)
    assert seen == list(range(11))
    assert r.prompts == 8 and len(r.checkpoints_kb) == 4
    assert notes == ["prompts=10 is not a multiple of checkpoints=4: 2 prompt(s) ran with the warm-up "
                     "and 8 were measured (2 per checkpoint)"]


# --------------------------------------------------------------------------- tracemalloc's state


@pytest.mark.usefixtures("not_tracing")
def test_tracing_stops_after_when_it_was_off(load: Loader) -> None:
    ext = load("clean_ext.py", CLEAN)
    notes: list[str] = []
    measure_retained(ext.on_prompt, [file_of(ext)], prompts=4, notes=notes)
    assert not tracemalloc.is_tracing()
    assert notes == []


@pytest.mark.usefixtures("not_tracing")
def test_exception_from_run_prompt_propagates_after_tracing_stops(load: Loader) -> None:
    boom = RuntimeError("node failed")
    seen: list[bool] = []

    def run(i: int) -> None:
        seen.append(tracemalloc.is_tracing())
        if i == 5:
            raise boom

    with pytest.raises(RuntimeError) as caught:
        measure_retained(run, [__file__], prompts=8)
    assert caught.value is boom
    assert seen == [True] * 6
    assert not tracemalloc.is_tracing()


@pytest.mark.usefixtures("not_tracing")
def test_user_tracing_is_kept_with_the_users_frame_limit(load: Loader) -> None:
    deep = load("copy_ext.py", DEEPCOPY)
    flat = load("leak_ext.py", LEAKING)
    tracemalloc.start(1)
    try:
        before = tracemalloc.take_snapshot()
        notes: list[str] = []
        r = measure_retained(flat.on_prompt, [file_of(flat)], prompts=20, notes=notes)
        assert tracemalloc.is_tracing() and tracemalloc.get_traceback_limit() == 1
        assert r.leak is True  # the allocation is on the extension's own line: one frame suffices
        assert len(notes) == 1 and "frame limit of 1" in notes[0] and "-X tracemalloc=32" in notes[0]
        # ... which the note warns about: deepcopy's allocations lie below the extension's line.
        shallow = measure_retained(deep.on_prompt, [file_of(deep)], prompts=20)
        assert shallow.retained_kb_per_prompt < 0.5
        # The user's traces were not discarded (no stop/start in between).
        assert len(tracemalloc.take_snapshot().traces) >= len(before.traces)
    finally:
        tracemalloc.stop()


def test_tracing_note_with_enough_frames_does_not_warn() -> None:
    note = memory._tracing_note(64)
    assert "frame limit of 64" in note and "may read low" not in note


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "kwargs, expected",
    [
        ({"checkpoints": 1}, "checkpoints=1 is less than 2; a leak is growth that does not level off"),
        ({"prompts": 3}, "prompts=3 is less than checkpoints=4: every checkpoint needs at least one prompt; "
                         "pass prompts >= 4"),
        ({"prompts": 0}, "prompts=0 is less than 1; pass prompts >= checkpoints (4)"),
        ({"warmup": -1}, "warmup=-1 is less than 0; pass warmup >= 0 (default 3)"),
        ({"prompts": 2.5}, "prompts=2.5 is not a whole number"),
        ({"files": []}, "files=[] is empty or not a list; name the extension's source files"),
        ({"files": "hooks.py"}, "files='hooks.py' is a single path, not a list of them; pass a list, "
                                "e.g. files=['hooks.py']"),
        ({"files": [42]}, "files[0]=42 is not a path; pass str or pathlib.Path items"),
        ({"run_prompt": None}, "run_prompt=None is not callable"),
    ],
)
def test_bad_input_raises_one_clear_value_error(kwargs: dict[str, Any], expected: str) -> None:
    calls: list[int] = []
    args: dict[str, Any] = {"run_prompt": calls.append, "files": [__file__], **kwargs}
    was_tracing = tracemalloc.is_tracing()
    with pytest.raises(ValueError) as caught:
        measure_retained(args.pop("run_prompt"), args.pop("files"), **args)
    assert expected in str(caught.value)
    assert calls == [] and tracemalloc.is_tracing() is was_tracing


@pytest.mark.usefixtures("not_tracing")
def test_async_run_prompt_is_refused_after_tracing_stops() -> None:
    async def run(i: int) -> None:
        return None

    with pytest.raises(ValueError) as caught:
        measure_retained(run, [__file__])
    assert str(caught.value).startswith("run_prompt(0) returned coroutine <coroutine object")
    assert "so the prompt did not run; pass a function that runs it to the end" in str(caught.value)


def test_missing_file_names_its_index_and_path(tmp_path: Path) -> None:
    missing = tmp_path / "nope.py"
    with pytest.raises(ValueError) as caught:
        measure_retained(lambda i: None, [__file__, missing])
    message = str(caught.value)
    assert message.startswith(f"files[1]={os.fspath(missing)!r} does not exist; pass the extension's existing")


# --------------------------------------------------------------------------- the leak rule


@pytest.mark.parametrize(
    "checkpoints_kb, leak",
    [
        ([25, 50, 75, 100], True),            # steady: the session dict never emptied
        ([10, 10, 10, 10], False),            # a cache that fills in the first segment
        ([10, 10.1, 10.0, 10.1], False),      # ... with noise
        ([30, 55, 80, 105], True),            # a cache fill plus a steady leak
        ([80, 120, 140, 150], False),         # halving every segment: levels off
        ([1, 2, 3, 4], False),                # steady, but 0.04 KB a prompt: under the floor
        ([0, 0, 10, 20], True),               # starts late, keeps going
        ([100, 110, 120, 130], True),         # a big fill in the first segment, a small steady leak
        ([50, 100], True),
        ([50, 50], False),
        ([20, 40, 60], True),
        ([20, 40, 40], False),
    ],
)
def test_leak_rule(checkpoints_kb: list[float], leak: bool) -> None:
    assert memory._grows_without_levelling_off(checkpoints_kb, 25) is leak


# --------------------------------------------------------------------------- internals worth pinning


def test_importing_the_module_imports_nothing_heavy() -> None:
    heavy = ("torch", "diffusers", "numpy", "PIL", "comfy", "execution", "folder_paths")
    code = ("import sys, pytest_comfyruntime.overhead.memory; "
            f"print(sorted(n for n in sys.modules if n.split('.')[0] in {heavy!r}))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"



@pytest.mark.usefixtures("not_tracing")
def test_public_trace_api_fallback_reads_the_same_traces(load: Loader) -> None:
    ext = load("leak_ext.py", LEAKING)
    tracemalloc.start(memory.TRACE_FRAMES)
    try:
        for i in range(5):
            ext.on_prompt(i)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    public: Any = SimpleNamespace(traces=tuple(snapshot.traces))  # no raw ``_traces`` to read
    fast = [(trace[1], tuple(trace[2])) for trace in memory._raw_traces(snapshot)]
    slow = [(trace[1], tuple(trace[2])) for trace in memory._raw_traces(public)]
    assert fast == slow and len(fast) > 5
    scope = memory._Scope.of([file_of(ext)])
    assert memory._tally(snapshot, scope) == memory._tally(public, scope)
    lines = memory._tally(public, scope).lines
    # the leaking line holds the most (a tracer such as coverage's may add a little on the def line)
    biggest = max(lines, key=lambda line: lines[line][0])
    assert biggest == (file_of(ext), alloc_line(LEAKING)) and lines[biggest][1] >= 10


def test_describe_retained_reads_as_one_line() -> None:
    leak = Retained(prompts=100, files=["hooks.py"], retained_kb_per_prompt=2.4,
                    checkpoints_kb=[0.6, 1.2, 1.8, 2.4], leak=True,
                    top=["hooks.py:41: +240.0 KB (100 blocks)", "hooks.py:50: +1.2 KB (3 blocks)"])
    assert describe_retained(leak) == (
        "retained 2.4 KB per prompt over 100 prompts (0.6, 1.2, 1.8, 2.4 KB at checkpoints after 25, 50, "
        "75, 100 prompts); leak: grows without levelling off; top: hooks.py:41: +240.0 KB (100 blocks), "
        "hooks.py:50: +1.2 KB (3 blocks)")
    clean = Retained(prompts=40, files=["hooks.py"], retained_kb_per_prompt=-0.0001,
                     checkpoints_kb=[0.0, -0.001], leak=False)
    assert describe_retained(clean) == (
        "retained 0.00 KB per prompt over 40 prompts (0.00, 0.00 KB at checkpoints after 20, 40 prompts); "
        "no leak: growth levels off; no line of the extension's files grew")

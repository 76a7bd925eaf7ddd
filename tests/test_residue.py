"""Unit tests of the residue snapshot: what counts as left behind, and restoring it."""
from __future__ import annotations

import sys
import threading
import types

from pytest_comfyruntime.checks.residue import find_residue, format_residue
from pytest_comfyruntime.state.snapshot import restore, take_snapshot


def _module() -> types.ModuleType:
    mod = types.ModuleType("fake_execution")

    class PromptExecutor:
        def execute(self):
            return "real"

    PromptExecutor.__module__ = "fake_execution"
    mod.PromptExecutor = PromptExecutor
    mod.get_input_data = lambda: "real"
    mod.state = 1
    return mod


def test_patch_added_attribute_and_state():
    mod = _module()
    registry = {"A": object}
    snap = take_snapshot([mod], registries={"nodes.NODE_CLASS_MAPPINGS": registry})
    original = mod.PromptExecutor.execute

    def wrapper(self):
        return original(self)

    mod.PromptExecutor.execute = wrapper
    mod.PromptExecutor._patched_by_me = True
    mod.state = 2  # module state ComfyUI itself may change: restored silently
    registry["B"] = int
    found = find_residue(snap)
    kinds = sorted((r.kind, r.where.replace("_module.<locals>.", "")) for r in found)
    assert kinds == [("added", "fake_execution.PromptExecutor._patched_by_me"),
                     ("node", "nodes.NODE_CLASS_MAPPINGS['B']"),
                     ("patched", "fake_execution.PromptExecutor.execute")]
    text = format_residue(found, test="t")
    assert "test_patch_added_attribute_and_state.<locals>.wrapper" in text
    restore(snap)
    assert mod.PromptExecutor.execute is original and mod.state == 1
    assert not hasattr(mod.PromptExecutor, "_patched_by_me") and registry == {"A": object}
    assert find_residue(snap) == []


def test_copying_an_instance_of_a_watched_class_is_not_residue():
    """copyreg caches ``__slotnames__`` on a class the first time an instance is copied."""
    import copy

    mod = _module()

    class Saved(dict):
        pass

    Saved.__module__ = "fake_execution"
    mod.Saved = Saved
    snap = take_snapshot([mod])
    copy.deepcopy(Saved(a=1))
    assert "__slotnames__" in vars(Saved)
    assert find_residue(snap) == []
    Saved.__marked__ = True  # any other new dunder on a class still counts
    assert [r.where.rsplit(".", 1)[-1] for r in find_residue(snap)] == ["__marked__"]


def test_comfyuis_async_to_sync_pool_is_not_residue_but_a_lookalike_is():
    import concurrent.futures

    snap = take_snapshot([])
    pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="async_to_sync_")
    stop = threading.Event()
    lookalike = threading.Thread(target=stop.wait, name="async_to_sync_fake", daemon=True)
    try:
        pool.submit(lambda: None).result()
        lookalike.start()
        found = find_residue(snap, thread_grace_s=0.05)
        assert [r.where for r in found] == ["thread 'async_to_sync_fake'"]
    finally:
        stop.set()
        lookalike.join()
        pool.shutdown(wait=True)


def test_deleted_attribute_is_residue_and_restored():
    mod = _module()
    snap = take_snapshot([mod])
    del mod.get_input_data
    assert [r.kind for r in find_residue(snap)] == ["removed"]
    restore(snap)
    assert mod.get_input_data() == "real"


def test_threads_left_running_are_named():
    snap = take_snapshot([])
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="leaky-worker", daemon=True)
    thread.start()
    try:
        found = find_residue(snap, thread_grace_s=0.05)
        assert [(r.kind, r.where) for r in found] == [("thread", "thread 'leaky-worker'")]
    finally:
        stop.set()
        thread.join()
    assert find_residue(snap, thread_grace_s=0.05) == []


def test_torch_switches_are_checked_when_torch_is_imported(monkeypatch):
    state = {"grad": True, "dtype": "float32", "det": False, "mm": "highest"}
    torch = types.ModuleType("torch")
    torch.is_grad_enabled = lambda: state["grad"]
    torch.set_grad_enabled = lambda v: state.update(grad=v)
    torch.get_default_dtype = lambda: state["dtype"]
    torch.set_default_dtype = lambda v: state.update(dtype=v)
    torch.are_deterministic_algorithms_enabled = lambda: state["det"]
    torch.use_deterministic_algorithms = lambda v: state.update(det=v)
    torch.get_float32_matmul_precision = lambda: state["mm"]
    torch.set_float32_matmul_precision = lambda v: state.update(mm=v)
    torch.backends = types.SimpleNamespace(cudnn=types.SimpleNamespace(benchmark=False))
    monkeypatch.setitem(sys.modules, "torch", torch)
    snap = take_snapshot([])
    state.update(grad=False, dtype="bfloat16", det=True, mm="medium")
    torch.backends.cudnn.benchmark = True
    found = {r.where for r in find_residue(snap)}
    assert found == {"torch grad mode", "torch default dtype", "torch deterministic algorithms",
                     "torch cudnn.benchmark", "torch float32 matmul precision"}
    restore(snap)
    assert state == {"grad": True, "dtype": "float32", "det": False, "mm": "highest"}
    assert torch.backends.cudnn.benchmark is False


def test_environment_is_restored(monkeypatch):
    monkeypatch.setenv("COMFYRUNTIME_KEEP", "1")
    snap = take_snapshot([])
    import os
    os.environ["COMFYRUNTIME_NEW"] = "x"
    os.environ["COMFYRUNTIME_KEEP"] = "2"
    assert {r.where for r in find_residue(snap)} == {"os.environ['COMFYRUNTIME_NEW']", "os.environ['COMFYRUNTIME_KEEP']"}
    restore(snap)
    assert "COMFYRUNTIME_NEW" not in os.environ and os.environ["COMFYRUNTIME_KEEP"] == "1"


def test_interpreter_hooks_left_on_are_named_and_put_back():
    import asyncio

    class Policy(asyncio.DefaultEventLoopPolicy):
        pass

    def profiler(frame, event, arg):
        return None

    saved_profile, saved_interval = sys.getprofile(), sys.getswitchinterval()
    saved_policy = asyncio.events._event_loop_policy
    snap = take_snapshot([])
    try:
        sys.setprofile(profiler)
        threading.setprofile(profiler)
        sys.setswitchinterval(0.0001)
        changed = sys.getswitchinterval()  # as the interpreter stores it (9.99...e-05)
        asyncio.set_event_loop_policy(Policy())
        found = {r.where: r.detail for r in find_residue(snap, thread_grace_s=0)}
    finally:
        restore(snap)
    assert set(found) == {"sys.setprofile (this thread)", "threading.setprofile (new threads)",
                          "sys.setswitchinterval", "asyncio event loop policy"}
    assert found["sys.setprofile (this thread)"].endswith(
        "-> test_residue.test_interpreter_hooks_left_on_are_named_and_put_back.<locals>.profiler")
    assert found["sys.setswitchinterval"] == f"{saved_interval!r} -> {changed!r}"
    assert "test_interpreter_hooks_left_on_are_named_and_put_back.<locals>.Policy instance" in \
        found["asyncio event loop policy"]
    assert sys.getprofile() is saved_profile and threading.getprofile() is None
    assert sys.getswitchinterval() == saved_interval and asyncio.events._event_loop_policy is saved_policy
    assert find_residue(snap, thread_grace_s=0) == []


def test_asyncio_creating_its_default_policy_is_not_residue(monkeypatch):
    import asyncio

    monkeypatch.setattr(asyncio.events, "_event_loop_policy", None)
    snap = take_snapshot([])
    asyncio.run(asyncio.sleep(0))  # what ComfyUI's execute does on eras C and D: creates the default policy
    assert type(asyncio.events._event_loop_policy) is asyncio.DefaultEventLoopPolicy
    assert find_residue(snap, thread_grace_s=0) == []

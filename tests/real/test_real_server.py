"""ComfyUI's ``server`` on the real backend, loaded the way ``main.py`` loads it, and the mock's
doing the same (tests/test_mock_server.py has the mock's own tests on every era).

An extension's ``import server`` works; ``PromptServer.instance`` is a real ``server.PromptServer``
built as ``PromptServer(loop)`` with a recording stand-in for the loop; the executor sends through it;
a wrapper on ``PromptServer.send_sync`` (on the class) sees every ``executing``;
``PromptServer.instance.send_json`` reaches the client; the running item is readable from
``PromptServer.instance.prompt_queue.currently_running`` during ``execute``.
"""
from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from realtier import backend_harness

from pytest_comfyruntime.executor.harness import RecordingLoop
from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS

FOUR = {"1": {"class_type": "CRInt", "inputs": {"value": 2}},
        "2": {"class_type": "CRInt", "inputs": {"value": 3}},
        "3": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "sum"}}}
BACKENDS = ["mock", "real"]


@contextmanager
def patched(owner, name: str, make) -> Iterator[None]:
    """``owner.name = make(original)`` for the block (undone before the residue check runs)."""
    original = owner.__dict__[name]
    setattr(owner, name, make(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def test_import_server_is_the_roots_and_its_instance_drives_the_executor(runtime) -> None:
    root = runtime.backends["real"].real.info.root
    with backend_harness(runtime, "real") as harness:
        import server

        assert server.__file__ == str(root / "server.py")
        assert isinstance(harness.server, server.PromptServer)
        assert server.PromptServer.instance is harness.server is harness.executor.server
        assert isinstance(harness.server.loop, RecordingLoop) and not harness.server.loop.is_running()
        assert "send_sync" not in vars(harness.server)  # ComfyUI's own method, from the class
        assert harness.run(FOUR, prompt_id="p1").success


def test_utils_is_the_roots_package_where_it_has_one(runtime) -> None:
    """main.py imports utils.extra_config before nodes puts ROOT/comfy first on sys.path."""
    root = runtime.backends["real"].real.info.root
    with backend_harness(runtime, "real"):
        import comfy.utils

        assert comfy.utils.__file__ == str(root / "comfy" / "utils.py")
        if not (root / "utils").is_dir():  # era A: no utils package, nothing to clash with
            assert runtime.backends["real"].era.key == "A"
            return
        assert sys.modules["utils"].__file__ == str(root / "utils" / "__init__.py")
        assert sys.modules["utils.extra_config"].__file__ == str(root / "utils" / "extra_config.py")
        if (root / "utils" / "install_util.py").is_file():  # 0.3.x: server.py's frontend manager imports it
            assert sys.modules["utils.install_util"].__file__ == str(root / "utils" / "install_util.py")


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_class_level_send_sync_patch_sees_every_executing(runtime, backend) -> None:
    seen: list = []

    def wrap(original):
        def send_sync(self, event, data, sid=None):
            seen.append((event, data, sid))
            return original(self, event, data, sid)
        return send_sync

    with backend_harness(runtime, backend) as harness:
        prompt_server = sys.modules["server"].PromptServer
        with patched(prompt_server, "send_sync", wrap):
            result = harness.run(FOUR, prompt_id="p1")
    executing = [data for event, data, _sid in seen if event == "executing"]
    assert executing == result.of("executing")
    assert [d["node"] for d in executing] == [*result.executed_nodes, None]
    assert len(executing) == 5
    assert [(m.event, m.data, m.sid) for m in result.messages] == seen[-len(result.messages):]


@pytest.mark.parametrize("backend", BACKENDS)
def test_send_json_reaches_the_client_and_is_recorded(runtime, backend) -> None:
    seen: list = []

    def wrap_send_sync(original):
        def send_sync(self, event, data, sid=None):
            seen.append(event)
            return original(self, event, data, sid)
        return send_sync

    with backend_harness(runtime, backend) as harness:
        execution, prompt_server = harness.execution, sys.modules["server"].PromptServer

        def wrap_execute(original):
            def execute(self, *args, **kwargs):
                asyncio.run(prompt_server.instance.send_json("my_ext.event", {"prompt": args[1]}))
                asyncio.run(prompt_server.instance.send_json("my_ext.event", {"to": "someone else"}, "other"))
                return original(self, *args, **kwargs)
            return execute

        with patched(execution.PromptExecutor, "execute", wrap_execute), \
                patched(prompt_server, "send_sync", wrap_send_sync):
            result = harness.run(FOUR, prompt_id="p1")
    mine = [(m.data, m.sid, m.via) for m in result.messages if m.event == "my_ext.event"]
    assert mine == [({"prompt": "p1"}, "comfyruntime", "socket")]
    assert "my_ext.event" not in seen  # send_json writes to the sockets; it does not go through send_sync


@pytest.mark.parametrize("backend", BACKENDS)
def test_prompt_queue_is_the_harness_queue_and_shows_the_running_item(runtime, backend) -> None:
    running: list = []
    with backend_harness(runtime, backend) as harness:
        prompt_server = sys.modules["server"].PromptServer
        queue = prompt_server.instance.prompt_queue
        assert queue is harness.queue

        def wrap(original):
            def execute(self, *args, **kwargs):
                running.extend(prompt_server.instance.prompt_queue.currently_running.values())
                return original(self, *args, **kwargs)
            return execute

        with patched(harness.execution.PromptExecutor, "execute", wrap):
            result = harness.run(FOUR, prompt_id="p1")
        assert queue.currently_running == {} and result.history == queue.get_history("p1")["p1"]
    assert [item[1] for item in running] == ["p1"]
    assert running[0][2] == FOUR and running[0][3]["client_id"] == "comfyruntime"


@pytest.mark.parametrize("backend", BACKENDS)
def test_queue_updates_send_status(runtime, backend) -> None:
    with backend_harness(runtime, backend) as harness:
        result = harness.run(FOUR, prompt_id="p1")
        everything = harness.recorder.messages()
    statuses = [(m.data, m.sid) for m in everything if m.event == "status"]
    assert statuses == [({"status": {"exec_info": {"queue_remaining": n}}}, None) for n in (1, 1, 0)]
    assert [m.event for m in result.messages][-2:] == ["status", "executing"]  # task_done's, then main.py's


def test_a_class_patch_left_behind_is_residue(runtime) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ctx = runtime.open_test(Path(tmp), dict(TEST_NODE_CLASS_MAPPINGS), backend="real")
        prompt_server = sys.modules["server"].PromptServer
        original = prompt_server.send_sync

        def leftover(self, event, data, sid=None):
            return original(self, event, data, sid)
        prompt_server.send_sync = leftover
        ctx.close()
        residue = [str(r) for r in ctx.check()]
    assert any("server.PromptServer.send_sync" in r and "leftover" in r for r in residue), residue
    assert prompt_server.send_sync is original


def test_folders_point_into_the_test_and_the_server_writes_outside_the_root(runtime) -> None:
    real = runtime.backends["real"].real
    root = str(real.info.root) + os.sep
    with tempfile.TemporaryDirectory() as tmp:
        ctx = runtime.open_test(Path(tmp), {}, backend="real")
        try:
            folder_paths = sys.modules["folder_paths"]
            for kind in ("output", "temp", "input"):
                assert getattr(folder_paths, f"get_{kind}_directory")() == os.path.join(tmp, kind)
            if hasattr(folder_paths, "get_user_directory"):  # August 2024 on
                assert folder_paths.get_user_directory() == os.path.join(tmp, "user")
            else:  # era A keeps the user folder in app.user_manager: the server's, outside the root
                assert not sys.modules["app.user_manager"].user_directory.startswith(root)
        finally:
            ctx.close()
            assert not ctx.check()
    assert not (real.info.root / "user").exists()

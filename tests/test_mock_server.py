"""The mock's ``server`` on every era: ``PromptServer.instance`` is the server the executor sends
through, built as ``main.py`` builds it, recorded beneath ``send_sync``.

What extensions do with it, as on ComfyUI (tests/real/test_real_server.py runs the same on the real
roots): wrap ``PromptServer.send_sync`` on the class to see ``executing``; ``await
PromptServer.instance.send_json(...)`` to their client; read the running item from
``PromptServer.instance.prompt_queue.currently_running``.
"""
from __future__ import annotations

import asyncio
import inspect
import sys

import pytest
from mockera import ALL_ERAS, four_node, mock_era

from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.harness import ExecutorHarness, Message, RecordingLoop, RecordingServer

NO_CLIENT: dict = {}


@pytest.fixture(params=ALL_ERAS)
def mock(request, tmp_path):
    with mock_era(request.param, tmp_path) as m:
        yield m


@pytest.fixture
def prompt_server(mock):
    return sys.modules["server"].PromptServer


def _wrap_class_send_sync(monkeypatch, prompt_server) -> list[tuple]:
    """An extension's per-node timer: wraps ``send_sync`` on the class; returns what it saw."""
    seen: list[tuple] = []
    original = prompt_server.send_sync

    def send_sync(self, event, data, sid=None):
        seen.append((event, data, sid))
        return original(self, event, data, sid)
    monkeypatch.setattr(prompt_server, "send_sync", send_sync)
    return seen


def _wrap_execute(monkeypatch, execution, during) -> None:
    """A prefix wrapper on ``PromptExecutor.execute`` that runs ``during(self)`` first."""
    original = execution.PromptExecutor.execute

    def execute(self, *args, **kwargs):
        during(self)
        return original(self, *args, **kwargs)
    monkeypatch.setattr(execution.PromptExecutor, "execute", execute)


def test_server_is_built_as_main_py_builds_it(mock, prompt_server):
    server_module = sys.modules["server"]
    assert not hasattr(prompt_server, "instance")  # ComfyUI's class has none before main.py builds one
    harness = mock.harness()
    server = prompt_server.instance
    assert harness.server is server and harness.executor.server is server
    assert isinstance(server.loop, RecordingLoop) and not server.loop.is_running()
    for name in ("send", "send_json", "send_bytes", "send_image"):
        assert asyncio.iscoroutinefunction(getattr(prompt_server, name)), name
    assert not asyncio.iscoroutinefunction(prompt_server.send_sync)
    later = mock.gen in ("C", "D")  # 2025 on: the constructor builds the queue; protocol's event types
    assert hasattr(prompt_server, "send_image_with_metadata") == later
    assert hasattr(server_module.BinaryEventTypes, "PREVIEW_IMAGE_WITH_METADATA") == later
    assert hasattr(server, "sockets_metadata") == later
    fresh = prompt_server(RecordingLoop())
    assert prompt_server.instance is fresh
    assert (fresh.prompt_queue is not None) == later
    if not later:  # before 2025 main.py makes the queue: PromptQueue(server) sets server.prompt_queue
        queue = mock.execution.PromptQueue(fresh)
        assert fresh.prompt_queue is queue
    if mock.era == "D":  # 2026: PromptServer(loop, asset_manager); None stands for --disable-assets
        assert fresh.asset_manager.enabled is False
    if mock.era == "D-11":  # 2026 up to v0.33: PromptServer(loop), no asset manager
        assert list(inspect.signature(prompt_server).parameters) == ["loop"]
        assert not hasattr(fresh, "asset_manager")


def test_a_class_level_send_sync_patch_sees_every_executing(mock, prompt_server, monkeypatch):
    harness = mock.harness()
    seen = _wrap_class_send_sync(monkeypatch, prompt_server)
    result = harness.run(four_node(), prompt_id="p1")
    executing = [data for event, data, _sid in seen if event == "executing"]
    assert executing == result.of("executing")
    assert [d["node"] for d in executing] == [*result.executed_nodes, None]  # the closing one too
    assert len(executing) == 5
    # Every send_sync is still recorded, beneath the wrapper, in order.
    assert [(m.event, m.data, m.sid) for m in result.messages] == seen[-len(result.messages):]
    assert all(m.via == "send_sync" for m in result.messages)


def test_send_json_goes_to_the_client_socket_not_through_send_sync(mock, prompt_server, monkeypatch):
    harness = mock.harness()
    seen = _wrap_class_send_sync(monkeypatch, prompt_server)

    def during(executor):
        server = prompt_server.instance
        asyncio.run(server.send_json("my_ext.event", {"prompt": "starting"}))  # to every client
        asyncio.run(server.send_json("my_ext.event", {"to": "mine"}, "comfyruntime"))
        asyncio.run(server.send_json("my_ext.event", {"to": "nobody"}, "another-client"))
    _wrap_execute(monkeypatch, mock.execution, during)
    result = harness.run(four_node(), prompt_id="p1")
    mine = [m for m in result.messages if m.event == "my_ext.event"]
    assert [(m.data, m.sid, m.via) for m in mine] == [({"prompt": "starting"}, "comfyruntime", "socket"),
                                                       ({"to": "mine"}, "comfyruntime", "socket")]
    assert result.messages.index(mine[0]) < result.events.index("execution_start")
    assert "my_ext.event" not in [event for event, _data, _sid in seen]  # as in ComfyUI: not send_sync
    with pytest.raises(TypeError):  # aiohttp's send_json encodes JSON: an object that is not fails
        asyncio.run(prompt_server.instance.send_json("my_ext.event", {"bad": object()}))


def test_send_sync_of_an_extension_is_recorded(mock, prompt_server, monkeypatch):
    harness = mock.harness()
    _wrap_execute(monkeypatch, mock.execution,
                  lambda executor: prompt_server.instance.send_sync("my_ext.event", {"n": 1}, "comfyruntime"))
    result = harness.run(four_node(), prompt_id="p1")
    assert Message("my_ext.event", {"n": 1}, "comfyruntime", result.messages[0].sent_at) == result.messages[0]


def test_prompt_queue_is_the_harness_queue_and_shows_the_running_item(mock, prompt_server, monkeypatch):
    harness = mock.harness()
    queue = prompt_server.instance.prompt_queue
    assert queue is harness.queue
    running: list = []
    _wrap_execute(monkeypatch, mock.execution,
                  lambda executor: running.extend(prompt_server.instance.prompt_queue.currently_running.values()))
    prompt = four_node()
    result = harness.run(prompt, prompt_id="p1")
    assert [item[1] for item in running] == ["p1"]
    assert running[0][2] == prompt and running[0][3]["client_id"] == "comfyruntime"
    assert queue.currently_running == {} and list(queue.get_history()) == ["p1"]
    assert result.history == queue.get_history("p1")["p1"]


def test_queue_updates_send_status_as_comfyui_does(mock):
    harness = mock.harness()
    result = harness.run(four_node(), prompt_id="p1", extra_data=NO_CLIENT)
    # put and get (before execution) and task_done each send the queue's status to every client.
    statuses = [m for m in harness.recorder.messages() if m.event == "status"]
    assert [m.data for m in statuses] == [{"status": {"exec_info": {"queue_remaining": n}}} for n in (1, 1, 0)]
    assert all(m.sid is None for m in statuses)
    assert [m.event for m in result.messages if m.event != "progress_state"] == ["status"]  # task_done's


def test_a_private_server_records_on_its_own(mock, prompt_server, monkeypatch):
    """``own_server=True`` and the isolation check's threads: a RecordingServer, not the instance."""
    shared = mock.harness()
    seen = _wrap_class_send_sync(monkeypatch, prompt_server)
    private = ExecutorHarness(mock.execution, RecordingServer(), era=mock.era)
    assert private.queue is private.server.prompt_queue and private.queue is not shared.queue
    result = private.run(four_node(), prompt_id="p1")
    assert result.success and len(result.of("executing")) == 5
    assert seen == [] and shared.recorder.sent == []  # the test's server saw nothing of it
    assert prompt_server.instance is shared.server


def test_through_the_plugin_on_every_era(pytester: pytest.Pytester) -> None:
    """The fixtures' server (MockBackend.load): PromptServer.instance, built once per era as main.py
    builds it, is what comfy_executor sends and queues through; a class-level wrapper sees it all."""
    pytester.makepyfile('''
FOUR = {"1": {"class_type": "CRInt", "inputs": {"value": 2}},
        "2": {"class_type": "CRInt", "inputs": {"value": 3}},
        "3": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "sum"}}}

from server import PromptServer

QUEUE_AT_IMPORT = PromptServer.instance.prompt_queue  # an extension imported at collection time

def test_it(comfy_execution_module, request, monkeypatch):
    from server import PromptServer
    assert QUEUE_AT_IMPORT is not None
    queue = PromptServer.instance.prompt_queue  # there before any harness: main.py made it
    assert queue is not None
    comfy_executor = request.getfixturevalue("comfy_executor")
    assert PromptServer.instance is comfy_executor.server is comfy_executor.executor.server
    assert queue is comfy_executor.queue
    seen = []
    original = PromptServer.send_sync
    def send_sync(self, event, data, sid=None):
        seen.append(event)
        return original(self, event, data, sid)
    monkeypatch.setattr(PromptServer, "send_sync", send_sync)
    result = comfy_executor.run(FOUR, prompt_id="p1")
    assert seen.count("executing") == 5 and result.events[-2:] == ["status", "executing"]
    assert comfy_executor.queue.get_history("p1")["p1"]["outputs"]["4"]["value"] == [5]
''')
    pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all").assert_outcomes(passed=len(ERAS))

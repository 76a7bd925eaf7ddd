"""Bad ComfyUI roots and missing ones: one usage error naming the path and the fix.

These run in subprocesses (pytester) so a half-imported fake root never touches this process.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from pytest_comfyruntime.executor.real import ComfyUIRootError, inspect_root


def _fake_root(base: Path, execution_source: str = "", version: str | None = None, era_c: bool = True) -> Path:
    root = base / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "comfy" / "__init__.py").write_text("")
    (root / "comfy" / "options.py").write_text("")
    (root / "comfy" / "cli_args.py").write_text("import types\nargs = types.SimpleNamespace(cpu=False)\n")
    (root / "execution.py").write_text(execution_source or "class PromptExecutor:\n    async def execute_async(self): pass\n")
    (root / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {}\nNODE_DISPLAY_NAME_MAPPINGS = {}\n")
    if era_c:
        (root / "comfy_execution").mkdir()
    if version:
        (root / "comfyui_version.py").write_text(f'__version__ = "{version}"\n')
    return root


def test_inspect_root_eras(tmp_path):
    assert inspect_root(_fake_root(tmp_path / "c", version="0.3.75")).era == "C"
    assert inspect_root(_fake_root(tmp_path / "b", "class PromptExecutor:\n    def execute(self): pass\n")).era == "B"
    assert inspect_root(_fake_root(tmp_path / "a", era_c=False)).era == "A"
    assert inspect_root(_fake_root(tmp_path / "v", version="0.3.75")).version == "0.3.75"


@pytest.mark.parametrize("make", [
    lambda p: _fake_root(p, version="0.38.1"),
    lambda p: _fake_root(p, version="0.35.1"),
    lambda p: _fake_root(p, "class PromptExecutor:\n    def __init__(self, server, asset_manager=None): pass\n"),
    lambda p: _fake_root(p, "class PromptExecutor:\n    x = {'ram_inactive': 0}\n"),
    lambda p: _fake_root(p, "class PromptExecutor:\n    def _notify_prompt_lifecycle(self, event, prompt_id): pass\n"),
])
def test_a_2026_root_is_era_d(tmp_path, make):
    """ComfyUI of 2026 (0.35+ and master) is recognised from its code, not rejected."""
    assert inspect_root(make(tmp_path)).era == "D"


@pytest.mark.parametrize("make, message", [
    (lambda p: p / "missing", "does not exist; fix: point --comfyui-root"),
    (lambda p: (p / "empty").mkdir() or p / "empty", "is not a ComfyUI root (expected execution.py, nodes.py and comfy/"),
    (lambda p: _fake_root(p, version="1.2.0"), "is ComfyUI 1.2.0, a version this release does not know"),
    (lambda p: _fake_root(p, "def run_everything(): pass\n"), "(unrecognised execution.py), a version this release does not know"),
])
def test_bad_roots(tmp_path, make, message):
    with pytest.raises(ComfyUIRootError, match=re.escape(message)):
        inspect_root(make(tmp_path))


def test_real_without_a_root_is_a_usage_error(pytester: pytest.Pytester, monkeypatch) -> None:
    monkeypatch.delenv("COMFYUI_ROOT", raising=False)
    pytester.makepyfile("def test_x(comfy_executor): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--comfyruntime-executor=real")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--comfyruntime-executor=real needs a real ComfyUI; fix: pass --comfyui-root=PATH*"])


def test_import_failure_names_the_missing_package(pytester: pytest.Pytester, tmp_path) -> None:
    root = _fake_root(tmp_path, "import surely_not_installed_pkg\nclass PromptExecutor:\n    async def execute_async(self): pass\n")
    pytester.makepyfile("def test_x(comfy_executor): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--comfyruntime-executor=real",
                                           f"--comfyui-root={root}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*importing ComfyUI from {root} failed: package 'surely_not_installed_pkg' is "
                                 "missing; fix: pip install -r *requirements*"])


# A small ComfyUI of 2026: the surface the real backend touches (main.py's executor arguments,
# the async validate_prompt, the 6-tuple queue item), with execute_async reading both RAM keys.
_FAKE_2026_EXECUTION = '''
import asyncio, copy, enum, typing
import comfy.cli_args


class CacheType(enum.Enum):
    CLASSIC = 0
    LRU = 1
    NONE = 2
    RAM_PRESSURE = 3


class NoAssets:
    enabled = False


BUILT = []


class PromptExecutor:
    def __init__(self, server, cache_type=False, cache_args=None, asset_manager=None):
        self.server, self.cache_type, self.cache_args = server, cache_type, cache_args
        self.asset_manager = asset_manager if asset_manager is not None else NoAssets()
        self.status_messages, self.success = [], True
        BUILT.append({"cache_type": cache_type, "cache_args": cache_args, "asset_manager": asset_manager})

    def _notify_prompt_lifecycle(self, event, prompt_id):
        pass

    def execute(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        asyncio.run(self.execute_async(prompt, prompt_id, extra_data, execute_outputs))

    async def execute_async(self, prompt, prompt_id, extra_data={}, execute_outputs=[]):
        self.server.client_id = extra_data.get("client_id")
        self.status_messages = [("execution_start", {"prompt_id": prompt_id})]
        ram = self.cache_args["ram"], self.cache_args["ram_inactive"]
        self.history_result = {"outputs": {}, "meta": {}, "ran": list(execute_outputs), "ram": ram}
        self.status_messages.append(("execution_success", {"prompt_id": prompt_id}))


async def validate_prompt(prompt_id, prompt, partial_execution_list):
    import nodes
    outputs = [k for k, v in prompt.items() if getattr(nodes.NODE_CLASS_MAPPINGS[v["class_type"]], "OUTPUT_NODE", False) is True]
    return (True, None, outputs, {})


class PromptQueue:
    class ExecutionStatus(typing.NamedTuple):
        status_str: str
        completed: bool
        messages: list

    def __init__(self, server):
        self.queue, self.running, self.history, self.counter = [], {}, {}, 0

    def put(self, item):
        self.queue.append(item)

    def get(self, timeout=None):
        item, self.counter = self.queue.pop(0), self.counter + 1
        self.running[self.counter] = copy.deepcopy(item)
        return item, self.counter

    def task_done(self, item_id, history_result, status, process_item=None):
        prompt = self.running.pop(item_id)
        prompt = process_item(prompt) if process_item is not None else prompt
        self.history[prompt[1]] = {"prompt": prompt, "outputs": {}, "status": status._asdict(), **history_result}

    def get_history(self, prompt_id=None):
        return {prompt_id: copy.deepcopy(self.history[prompt_id])}
'''

_FAKE_FOLDER_PATHS = '''
dirs = {}
def set_output_directory(p): dirs["output"] = p
def set_temp_directory(p): dirs["temp"] = p
def set_input_directory(p): dirs["input"] = p
'''


def _fake_2026_root(base: Path, execution_source: str = _FAKE_2026_EXECUTION) -> Path:
    root = _fake_root(base, execution_source, version="0.38.1")
    (root / "comfy_execution" / "__init__.py").write_text("")
    (root / "comfy_execution" / "cache_provider.py").write_text("_providers = []\n")
    (root / "folder_paths.py").write_text(_FAKE_FOLDER_PATHS)
    (root / "nodes.py").write_text("import folder_paths\nNODE_CLASS_MAPPINGS = {}\nNODE_DISPLAY_NAME_MAPPINGS = {}\n")
    (root / "requirements.txt").write_text("comfy-aimdo==0.5.5\naiohttp>=3.11.8\n")
    return root


def test_a_2026_root_runs_on_the_real_backend(pytester: pytest.Pytester, tmp_path) -> None:
    """The real path for a 2026 checkout (no real 2026 ComfyUI can run here): era D is read from
    the code and the executor is built as 2026's main.py builds it."""
    root = _fake_2026_root(tmp_path)
    pytester.makepyfile("""
import pytest

def test_it(comfy_executor):
    assert comfy_executor.backend == "real"
    assert (comfy_executor.era, comfy_executor.comfyui_version) == ("D", "0.38.1")
    execution = comfy_executor.execution
    assert execution.BUILT[-1] == {"cache_type": execution.CacheType.CLASSIC,
                                   "cache_args": {"lru": 0, "ram": 0, "ram_inactive": 0},
                                   "asset_manager": None}
    result = comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 1}},
                                 "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": ""}}},
                                prompt_id="p1", extra_data={"client_id": "c", "api_key_comfy_org": "k"})
    assert result.success and result.history["ran"] == ["2"] and result.history["ram"] == (0, 0)
    assert len(result.history["prompt"]) == 5  # the sensitive sixth element is dropped from history

@pytest.mark.comfyui(era="D")
def test_marker(comfy_executor):
    pass
""")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rs", "--comfyruntime-executor=real",
                                           f"--comfyui-root={root}")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["comfyruntime: real ComfyUI * era D *"])


def test_a_2026_root_names_its_extra_packages(pytester: pytest.Pytester, tmp_path) -> None:
    root = _fake_2026_root(tmp_path, "import comfy_aimdo.model_vbar\n" + _FAKE_2026_EXECUTION)
    pytester.makepyfile("def test_x(comfy_executor): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--comfyruntime-executor=real",
                                           f"--comfyui-root={root}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*importing ComfyUI from {root} failed: package 'comfy_aimdo' is missing "
                                 f"(pip name comfy-aimdo); fix: pip install -r {root / 'requirements.txt'} "
                                 "(ComfyUI of 2026 imports comfy-aimdo and aiohttp*"])


def test_root_from_environment(pytester: pytest.Pytester, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("COMFYUI_ROOT", str(tmp_path / "nowhere"))
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "--comfyruntime-executor=real")
    result.stderr.fnmatch_lines(["*ComfyUI root *nowhere does not exist*"])


@pytest.mark.parametrize("args, expected", [
    ("min_version=3", "min_version=3 is not a version like '0.3.60'"),
    ("'C'", "takes keyword arguments only"),
    ("era='Z'", "unknown ComfyUI era 'Z'"),
    ("flavour='x'", "unknown argument(s) ['flavour']"),
])
def test_bad_comfyui_marker_is_a_collection_error(pytester: pytest.Pytester, args: str, expected: str) -> None:
    pytester.makepyfile(f"""
import pytest

@pytest.mark.comfyui({args})
def test_x(comfy_executor):
    pass
""")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "test_bad_comfyui_marker_is_a_collection_error.py::test_x: @pytest.mark.comfyui: " in result.stderr.str()
    assert expected in result.stderr.str()


def test_comfyui_marker_on_the_mock(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("""
import pytest

@pytest.mark.comfyui(min_version="0.3.60")
def test_new(comfy_executor):
    assert comfy_executor.comfyui_version == "0.3.75"

@pytest.mark.comfyui(min_version="0.4.0")
def test_newer(comfy_executor):
    pass

@pytest.mark.comfyui(era=["A", "B"])
def test_old(comfy_executor):
    pass
""")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "--strict-markers", "--comfyruntime-era=C")
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(["*needs ComfyUI >= 0.4.0, this is 0.3.75 (mock backend)*",
                                 "*needs ComfyUI era A/B, this is era C (mock backend)*"])

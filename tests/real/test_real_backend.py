"""The real backend behind the same fixtures, seen from a user's test suite (pytester)."""
from __future__ import annotations

import pytest

USER_TEST = '''
import pytest

FOUR = {"1": {"class_type": "CRInt", "inputs": {"value": 2}},
        "2": {"class_type": "CRInt", "inputs": {"value": 3}},
        "3": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
        "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "sum"}}}

def test_runs(comfy_executor, comfy_execution_module, request):
    backend = request.node.callspec.id if hasattr(request.node, "callspec") else comfy_executor.backend
    assert comfy_executor.backend == backend
    assert comfy_execution_module.__file__.endswith("execution.py")
    result = comfy_executor.run(FOUR, prompt_id="p1")
    assert result.success and result.outputs["4"]["value"] == [5]

def test_nodes_are_removed_again():
    import nodes
    assert "CRAdd" not in nodes.NODE_CLASS_MAPPINGS

@pytest.mark.comfyui(era="A")
def test_only_on_a(comfy_executor):
    assert comfy_executor.era == "A"
'''


def test_one_test_two_backends(pytester: pytest.Pytester, runtime) -> None:
    real = runtime.backends["real"]
    pytester.makepyfile(USER_TEST)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "-rs", "--comfyruntime-executor=both",
                                f"--comfyui-root={real.real.info.root}", f"--comfyruntime-era={real.era.key}")
    expected_skips = 0 if real.era.key == "A" else 2
    result.assert_outcomes(passed=5 - expected_skips, skipped=expected_skips)
    result.stdout.fnmatch_lines(["*test_runs?mock? PASSED*", "*test_runs?real? PASSED*"])
    if expected_skips:
        result.stdout.fnmatch_lines([f"*needs ComfyUI era A, this is era {real.era.key} (real backend)*"])


def test_real_only_session(pytester: pytest.Pytester, runtime) -> None:
    real = runtime.backends["real"]
    pytester.makepyfile('''
import execution

def test_it(comfy_executor):
    assert comfy_executor.backend == "real"
    assert comfy_executor.execution is execution
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-executor=real",
                                f"--comfyui-root={real.real.info.root}")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines([f"comfyruntime: real ComfyUI * era {real.era.key} *"])


def test_residue_check_watches_the_real_modules(pytester: pytest.Pytester, runtime) -> None:
    real = runtime.backends["real"]
    pytester.makepyfile('''
def test_leaves_a_wrapper(comfy_execution_module):
    original = comfy_execution_module.PromptExecutor.execute
    def leftover(self, *a, **k):
        return original(self, *a, **k)
    comfy_execution_module.PromptExecutor.execute = leftover

def test_clean_again(comfy_execution_module):
    assert comfy_execution_module.PromptExecutor.execute.__name__ == "execute"
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-executor=real",
                                f"--comfyui-root={real.real.info.root}")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(["*execution.PromptExecutor.execute: still replaced by *leftover*"])


def test_a_second_root_in_one_process_is_refused(runtime, tmp_path) -> None:
    from pytest_comfyruntime.executor.real import ComfyUIRootError, load_real_comfyui

    other = tmp_path / "OtherComfyUI"
    (other / "comfy").mkdir(parents=True)
    (other / "execution.py").write_text("class PromptExecutor:\n    async def execute_async(self): pass\n")
    (other / "nodes.py").write_text("")
    (other / "comfy_execution").mkdir()
    with pytest.raises(ComfyUIRootError, match="already imported ComfyUI from .*run each root in its own pytest process"):
        load_real_comfyui(other)

"""pytester tests of what a user sees: markers, skip reasons, downgrades, strict mode, simulation,
the header and summary, usage errors, xdist pinning, and that nothing imports torch twice."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

GPU_MODULE = (Path(__file__).parent / "gpu_real.py").read_text()
SIM = "--comfyruntime-simulate-hardware"
EVERY_MARKER = '''
import pytest

@pytest.mark.gpu
def test_gpu(comfy_hw): assert comfy_hw.device == "cuda:0"

@pytest.mark.cuda(min_capability=(8, 0))
def test_cuda(comfy_hw): assert comfy_hw.capabilities.devices[0].compute_capability == (8, 0)

@pytest.mark.bf16
def test_bf16(comfy_hw): assert comfy_hw.dtype == "bfloat16"

@pytest.mark.vram(20000)
def test_vram(comfy_hw): assert comfy_hw.memory_mb == 24576

@pytest.mark.multi_gpu(2)
def test_multi(comfy_hw): assert (comfy_hw.device_count, comfy_hw.describe()) == (2, "device=cuda:0 dtype=bfloat16 scale=1 gpus=2")

@pytest.mark.mps
def test_mps(): pass

@pytest.mark.hardware(device="cuda", dtype="bf16", vram_mb=8000, on_missing="fail")
def test_hardware(comfy_hw):  # one GPU of the two (gpus= is printed only when not 1), as asked, no downgrade
    assert (comfy_hw.describe(), comfy_hw.device_count, comfy_hw.downgraded_from) == (
        "device=cuda:0 dtype=bfloat16 scale=1", 1, {})
'''


def test_markers_are_registered_for_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(EVERY_MARKER)
    result = pytester.runpytest("-p", "no:cacheprovider", "--strict-markers", SIM, "cuda:sm_80:24GB:x2", "-rs")
    result.assert_outcomes(passed=6, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED [[]1[]] test_markers_are_registered_for_strict_markers.py:18: "
                                 "comfyruntime hardware: needs Apple MPS (@pytest.mark.mps); found cuda:0*"])
    markers = pytester.runpytest("--markers").stdout.str()
    for line in ("@pytest.mark.gpu(on_missing='skip')", "@pytest.mark.cuda(min_capability=None",
                 "@pytest.mark.bf16(", "@pytest.mark.vram(min_mb,", "@pytest.mark.multi_gpu(n=2",
                 "@pytest.mark.mps(", "@pytest.mark.hardware(device=None, dtype=None, vram_mb=None, on_missing='skip')"):
        assert line in markers


def test_skip_reasons_on_a_runner_without_gpu(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(EVERY_MARKER.replace('on_missing="fail"', 'on_missing="skip"'))
    result = pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu", "-rs")
    result.assert_outcomes(skipped=7)
    result.stdout.fnmatch_lines([
        "7 tests decided on hardware: 0 ran as asked, 0 downgraded, 7 skipped for missing hardware, 0 failed*",
        "*.py:3: comfyruntime hardware: needs a GPU (CUDA or Apple MPS) (@pytest.mark.gpu); found no GPU [[]simulated: cpu[]]",
        "*.py:6: comfyruntime hardware: needs a CUDA GPU with compute capability >= 8.0*found no GPU*",
        "*.py:9: comfyruntime hardware: needs bfloat16 (@pytest.mark.bf16); found only the CPU*gives float32",
    ])


def test_a_skipped_test_sets_up_no_fixture(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.fixture
def model():
    raise AssertionError("a model loaded onto a GPU that is not there")

@pytest.mark.cuda
def test_it(model): pass
''')
    pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu").assert_outcomes(skipped=1)


def test_downgrade_runs_and_is_recorded(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

ON_CPU = "cpu"  # the spec of the second run

@pytest.mark.hardware(device="cuda", dtype="bf16", on_missing="downgrade")
def test_down(comfy_hw):
    if comfy_hw.capabilities.simulated_spec == ON_CPU:
        assert (comfy_hw.device, comfy_hw.dtype) == ("cpu", "float32")
        assert comfy_hw.downgraded_from == {"device": "cuda", "dtype": "bfloat16"}
    else:
        assert (comfy_hw.device, comfy_hw.dtype) == ("cuda:0", "float16")
        assert comfy_hw.downgraded_from == {"dtype": "bfloat16"}

@pytest.mark.vram(49152, on_missing="downgrade")
def test_scale(comfy_hw):
    if comfy_hw.capabilities.simulated_spec == ON_CPU:  # RAM (32GB simulated) stands in for VRAM
        assert (comfy_hw.device, comfy_hw.scale) == ("cpu", 0.66)
    else:
        assert (comfy_hw.device, comfy_hw.scale, comfy_hw.scaled(64)) == ("cuda:0", 0.5, 32)

def test_plain(comfy_hw):
    assert not comfy_hw.downgraded
''')
    reprec = pytester.inline_run("-p", "no:cacheprovider", SIM, "cuda:sm_75:24GB")
    reprec.assertoutcome(passed=3)
    props = {r.nodeid.split("::")[1]: {k: str(v) for k, v in r.user_properties}
             for r in reprec.getreports("pytest_runtest_logreport") if r.when == "call"}
    assert props["test_down"]["comfyruntime_hardware"] == "device=cuda:0 dtype=float16 scale=1"
    assert props["test_down"]["comfyruntime_downgraded"].startswith("dtype bfloat16 -> float16 (cuda:0 Simulated GPU")
    assert props["test_scale"]["comfyruntime_downgraded"].startswith("vram 49152 MB -> 24576 MB (scale 0.5)")
    assert props["test_plain"] == {"comfyruntime_hardware": "device=cuda:0 dtype=float16 scale=1"}
    result = pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([
        "*-- comfyruntime hardware --*",
        "capabilities: OS: Linux (linux)*source: simulated (cpu)",
        "3 tests decided on hardware: 1 ran as asked, 2 downgraded, 0 skipped for missing hardware, 0 failed*",
        "  downgraded test_downgrade_runs_and_is_recorded.py::test_down: device cuda -> cpu (no GPU*); "
        "dtype bfloat16 -> float32 (*",
        "  downgraded test_downgrade_runs_and_is_recorded.py::test_scale: device gpu -> cpu (*); "
        "vram 49152 MB -> 32768 MB (scale 0.66) (*",
    ])


def test_require_hardware_turns_a_skip_into_a_failure(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.cuda
def test_needs_cuda(): pass

@pytest.mark.bf16(on_missing="downgrade")
def test_downgrades_still_run(comfy_hw): assert comfy_hw.dtype == "float32"
''')
    result = pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu", "--comfyruntime-require-hardware")
    result.assert_outcomes(passed=1, errors=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([
        "*test_require_hardware_turns_a_skip_into_a_failure.py::test_needs_cuda: comfyruntime hardware: needs a CUDA "
        "GPU (@pytest.mark.cuda); found no GPU [[]simulated: cpu[]]; --comfyruntime-require-hardware turns this skip "
        "into a failure (fix: run it on a runner that has this hardware, or leave the flag off)",
        "*0 skipped for missing hardware, 1 failed for missing hardware",
    ])
    assert "strict: a missing-hardware skip fails" in result.stdout.str()


def test_on_missing_fail(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.vram(80000, on_missing="fail")
def test_big(): pass
''')
    result = pytester.runpytest("-p", "no:cacheprovider", SIM, "cuda:sm_90:40GB")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*needs 80000 MB of GPU memory (@pytest.mark.vram(80000, on_missing='fail')); found "
                                 "40960 MB free on cuda:0*; the marker says on_missing='fail'*"])


def test_the_gpu_module_fails_under_require_hardware_without_gpu(pytester: pytest.Pytester) -> None:
    """tests/hardware/gpu_real.py on a runner without a GPU: reasoned skips, or failures when required."""
    pytester.makepyfile(test_gpu_module_copy=GPU_MODULE)
    plain = pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu", "-rs")
    plain.assert_outcomes(passed=0, skipped=5)  # the downgraded one skips too: simulated hardware runs no tensors
    plain.stdout.fnmatch_lines(["*test_gpu_module_copy.py:*: comfyruntime hardware: needs a CUDA GPU (@pytest.mark.cuda); "
                                "found no GPU [[]simulated: cpu[]]",
                                "*runs tensors on real hardware; this session simulates cpu"])
    strict = pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu", "--comfyruntime-require-hardware")
    strict.assert_outcomes(errors=4, skipped=1)
    assert strict.ret == pytest.ExitCode.TESTS_FAILED


def test_settings_from_environment_and_ini(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.cuda
def test_it(comfy_hw): assert comfy_hw.capabilities.simulated_spec == "cuda:sm_86"
''')
    monkeypatch.setenv("COMFYRUNTIME_SIMULATE_HARDWARE", "cuda:sm_86")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)
    monkeypatch.setenv("COMFYRUNTIME_REQUIRE_HARDWARE", "1")
    pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu").assert_outcomes(errors=1)  # cli beats env
    monkeypatch.delenv("COMFYRUNTIME_SIMULATE_HARDWARE")
    monkeypatch.delenv("COMFYRUNTIME_REQUIRE_HARDWARE")
    pytester.makeini("[pytest]\ncomfyruntime_simulate_hardware = cpu\ncomfyruntime_require_hardware = true\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(errors=1)
    monkeypatch.setenv("COMFYRUNTIME_REQUIRE_HARDWARE", "maybe")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*bad setting --comfyruntime-require-hardware (environment variable "
                                 "COMFYRUNTIME_REQUIRE_HARDWARE): 'maybe' is not a boolean; fix: use true or false*"])


def test_malformed_spec_is_a_usage_error_showing_the_grammar(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", SIM, "cuda:sm80:24GB")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: pytest-comfyruntime: bad hardware spec 'cuda:sm80:24GB' (--comfyruntime-simulate-hardware): "
        "unknown token 'sm80'", "hardware spec grammar:  KIND[[]:TOKEN[]]...", "*examples: cpu | cuda:sm_80:24GB:bf16*"])


def test_wrong_marker_arguments_are_a_collection_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.vram("lots")
def test_a(): pass

class TestB:
    pytestmark = pytest.mark.cuda(min_capability=8)
    def test_b(self): pass
''')
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([
        "ERROR: pytest-comfyruntime: wrong hardware marker arguments:",
        "test_wrong_marker_arguments_are_a_collection_error.py::test_a: @pytest.mark.vram('lots'): "
        "min_mb='lots' must be a positive whole number",
        "test_wrong_marker_arguments_are_a_collection_error.py::TestB::test_b: @pytest.mark.cuda(min_capability=8): "
        "min_capability=8 must be a (major, minor) tuple such as (8, 0)"])


def test_class_and_module_markers_merge(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

pytestmark = pytest.mark.gpu(on_missing="downgrade")

@pytest.mark.bf16(on_missing="downgrade")
class TestIt:
    @pytest.mark.vram(100)
    def test_it(self, comfy_hw):
        assert comfy_hw.downgraded_from == {"dtype": "bfloat16"} and comfy_hw.device == "mps"
''')
    pytester.runpytest("-p", "no:cacheprovider", SIM, "mps").assert_outcomes(passed=1)


def test_comfy_hw_works_alone_and_late(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """With this plugin alone (no executor plugin loaded at all), and through request.getfixturevalue."""
    pytester.makepyfile('''
import pytest

def test_alone(comfy_hw, request):
    assert (comfy_hw.device, comfy_hw.dtype) == ("mps", "float16")
    assert set(request.fixturenames) == {"comfy_hw", "request"}

@pytest.mark.hardware(dtype="bf16", on_missing="downgrade")
def test_late(request):
    hw = request.getfixturevalue("comfy_hw")
    assert hw.downgraded_from == {"dtype": "bfloat16"}
''')
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    result = pytester.runpytest("-p", "no:cacheprovider", "-p", "pytest_comfyruntime.hardware.plugin", SIM, "mps:16GB")
    result.assert_outcomes(passed=2)
    assert "comfyruntime: executor=" not in result.stdout.str()


def test_with_the_executor_fixtures(pytester: pytest.Pytester) -> None:
    pytester.makepyfile('''
import pytest

@pytest.mark.hardware(device="cuda", on_missing="downgrade")
def test_it(comfy_hw, comfy_executor):
    assert comfy_executor.backend == "mock" and comfy_hw.device == "cpu"
''')
    pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu").assert_outcomes(passed=1)


def test_header_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", SIM, "cuda:sm_80:24GB:bf16")
    result.stdout.fnmatch_lines(["comfyruntime hardware: OS: Linux (linux) | Python * | CUDA: yes (simulated) | "
                                 "GPU: cuda:0 Simulated GPU (sm_80, 24576 MB, 24576 MB free, bf16) | MPS: no | "
                                 "CPU: * | RAM: 32.0 GB | source: simulated (cuda:sm_80:24GB:bf16)"])
    assert "-- comfyruntime hardware --" not in result.stdout.str()  # no hardware test, no summary


CHECK_TORCH = '''
import json, os, sys

class _CountTorch:
    """Counts how often Python looks for torch (only when it is not imported yet)."""
    count = 0
    def find_spec(self, name, path=None, target=None):
        if name == "torch":
            _CountTorch.count += 1
        return None

sys.meta_path.insert(0, _CountTorch())
TORCH_AT_START = "torch" in sys.modules

def pytest_sessionfinish(session):
    from pytest_comfyruntime.hardware.probe import inspection_count
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    data = {"at_start": TORCH_AT_START, "lookups": _CountTorch.count, "imported": "torch" in sys.modules,
            "inspections": inspection_count(), "cvd": os.environ.get("CUDA_VISIBLE_DEVICES")}
    with open(f"torch-{worker}.json", "w") as fh:
        json.dump(data, fh)
'''


def test_no_hardware_test_no_torch(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real (not simulated) session without hardware tests never imports torch; its header says so."""
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)  # when this suite itself runs under xdist
    pytester.makeconftest(CHECK_TORCH)
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["comfyruntime hardware: *GPU: not inspected yet (torch is imported by the first "
                                 "test that needs hardware facts)*"])
    data = json.loads((pytester.path / "torch-main.json").read_text())
    assert data == {"at_start": False, "lookups": 0, "imported": False, "inspections": 0, "cvd": None}


def _outside_xdist(monkeypatch: pytest.MonkeyPatch) -> None:
    """The inner session starts its own xdist workers: none of this suite's worker variables leak in."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)


def test_each_xdist_worker_inspects_once_and_imports_torch_once(pytester: pytest.Pytester,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    _outside_xdist(monkeypatch)
    pytester.makeconftest(CHECK_TORCH)
    pytester.makepyfile("\n".join(f"import pytest\n@pytest.mark.hardware(device='cuda', on_missing='downgrade')\n"
                                  f"def test_{i}(comfy_hw): assert comfy_hw.capabilities.source != 'simulated'\n"
                                  for i in range(8)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["capabilities (gw0): *", "capabilities (gw1): *"])
    for worker in ("gw0", "gw1"):
        data = json.loads((pytester.path / f"torch-{worker}.json").read_text())
        assert data["at_start"] is False and data["inspections"] == 1 and data["lookups"] <= 1, data


def test_gpu_per_worker_pins_each_worker(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    _outside_xdist(monkeypatch)
    pytester.makeconftest(CHECK_TORCH)
    pytester.makepyfile('''
import os

def test_pinned(comfy_hw):
    worker = int(os.environ["PYTEST_XDIST_WORKER"][2:])
    assert os.environ["CUDA_VISIBLE_DEVICES"] == str(worker % 2)
    assert comfy_hw.capabilities.gpu_count == 1 and comfy_hw.device == "cuda:0"
    assert comfy_hw.capabilities.pinned.startswith(f"worker gw{worker} -> CUDA_VISIBLE_DEVICES={worker % 2}")
''' + "".join(f"\ndef test_{i}(comfy_hw): test_pinned(comfy_hw)\n" for i in range(5)))
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-n", "3", SIM, "cuda:sm_86:x2",
                                           "--comfyruntime-gpu-per-worker")
    result.assert_outcomes(passed=6)
    result.stdout.fnmatch_lines(["*pinned: worker gw2 -> CUDA_VISIBLE_DEVICES=0 (device 1 of 2)*"])
    cvd = {w: json.loads((pytester.path / f"torch-{w}.json").read_text())["cvd"] for w in ("gw0", "gw1", "gw2")}
    assert cvd == {"gw0": "0", "gw1": "1", "gw2": "0"}


def test_gpu_per_worker_without_xdist_says_so(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest("-p", "no:cacheprovider", SIM, "cpu", "--comfyruntime-gpu-per-worker")
    result.stdout.fnmatch_lines(["comfyruntime hardware: *| gpu-per-worker: each xdist worker (-n) is pinned to one GPU"])


def test_importing_the_plugin_imports_nothing_heavy() -> None:
    code = "import pytest_comfyruntime.hardware.plugin"
    proc = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True, check=True)
    modules = {line.rsplit("|", 1)[-1].strip().split(".")[0] for line in proc.stderr.splitlines() if "|" in line}
    assert "pytest_comfyruntime" in modules
    assert not modules & {"torch", "numpy", "PIL", "diffusers", "pynvml", "execution", "comfy", "comfy_execution", "nodes"}


README_EXAMPLE = '''
import pytest

@pytest.mark.hardware(device="cuda", dtype="bf16", vram_mb=16000, on_missing="downgrade")
def test_sampler_step(comfy_hw):
    torch = pytest.importorskip("torch")
    batch = comfy_hw.scaled(8)          # 8, or fewer where VRAM is short
    latents = torch.randn(batch, 4, 64, 64, device=comfy_hw.device, dtype=comfy_hw.torch_dtype)
    assert latents.dtype == comfy_hw.torch_dtype
    print(comfy_hw.describe(), comfy_hw.downgraded_from)

@pytest.mark.cuda(min_capability=(8, 0))
def test_flash_attention():
    ...
'''


# torch as the README example sees it, made the same on every runner: a stand-in that records what
# the example asks of it ("present"), or an import that fails ("absent"). Real torch is never used:
# simulated hardware runs no tensors, and whether torch is installed here must not change the outcome.
TORCH_PRESENT = '''
import sys, types

torch = types.ModuleType("torch")
torch.float32, torch.float16, torch.bfloat16 = "torch.float32", "torch.float16", "torch.bfloat16"


class _Tensor:
    def __init__(self, shape, device, dtype):
        self.shape, self.device, self.dtype = shape, device, dtype


def randn(*shape, device, dtype):
    print("randn", shape, device, dtype)
    return _Tensor(shape, device, dtype)


torch.randn = randn
sys.modules["torch"] = torch
'''
TORCH_ABSENT = '''
import sys

sys.modules["torch"] = None  # import torch raises ImportError, as where torch is not installed
'''


NO_GPU = "no GPU [[]simulated: cpu:ram=8GB[]]"
TURING = "cuda:0 Simulated GPU (sm_75, 8192 MB, 8192 MB free)"
FLASH_SKIPPED = ("SKIPPED [[]1[]] test_readme_example.py:*: comfyruntime hardware: needs a CUDA GPU with compute "
                 "capability >= 8.0 (@pytest.mark.cuda(min_capability=(8, 0))); found ")
ON_THE_CPU = ("  downgraded test_readme_example.py::test_sampler_step: device cuda -> cpu (" + NO_GPU + "); "
              "vram 16000 MB -> 8192 MB (scale 0.51) (8192 MB of RAM on the CPU (" + NO_GPU + ")); "
              "dtype bfloat16 -> float32 (only the CPU (" + NO_GPU + "), where the safe-dtype policy gives float32)")


@pytest.mark.parametrize("torch, spec, outcomes, lines", [
    pytest.param("present", "cpu:ram=8GB", {"passed": 1, "skipped": 1}, [
        "randn (4, 4, 64, 64) cpu torch.float32",  # RAM stands in for VRAM: 8192 of 16000 MB, batch 8 -> 4
        "device=cpu dtype=float32 scale=0.51 {'device': 'cuda', 'vram': '16000 MB', 'dtype': 'bfloat16'}",
        "2 tests decided on hardware: 0 ran as asked, 1 downgraded, 1 skipped for missing hardware, "
        "0 failed for missing hardware",
        ON_THE_CPU,
        "PASSED test_readme_example.py::test_sampler_step",
        FLASH_SKIPPED + NO_GPU,
    ], id="no-gpu"),
    pytest.param("absent", "cpu:ram=8GB", {"skipped": 2}, [
        "2 tests decided on hardware: 0 ran as asked, 1 downgraded, 1 skipped for missing hardware, "
        "0 failed for missing hardware",
        ON_THE_CPU,  # decided before the test body; then importorskip skips it
        "SKIPPED [[]1[]] test_readme_example.py:*: could not import 'torch': import of torch halted; "
        "None in sys.modules",
        FLASH_SKIPPED + NO_GPU,
    ], id="no-gpu-no-torch"),
    pytest.param("present", "cuda:sm_80:24GB:bf16", {"passed": 2}, [
        "randn (8, 4, 64, 64) cuda:0 torch.bfloat16",
        "device=cuda:0 dtype=bfloat16 scale=1 {}",
        "2 tests decided on hardware: 2 ran as asked, 0 downgraded, 0 skipped for missing hardware, "
        "0 failed for missing hardware",
        "PASSED test_readme_example.py::test_sampler_step",
        "PASSED test_readme_example.py::test_flash_attention",
    ], id="ampere-24gb"),
    pytest.param("present", "cuda:sm_75:8GB", {"passed": 1, "skipped": 1}, [
        "randn (4, 4, 64, 64) cuda:0 torch.float16",
        "device=cuda:0 dtype=float16 scale=0.51 {'vram': '16000 MB', 'dtype': 'bfloat16'}",
        "2 tests decided on hardware: 0 ran as asked, 1 downgraded, 1 skipped for missing hardware, "
        "0 failed for missing hardware",
        "  downgraded test_readme_example.py::test_sampler_step: vram 16000 MB -> 8192 MB (scale 0.51) "
        "(8192 MB free on " + TURING + " [[]simulated: cuda:sm_75:8GB[]]); dtype bfloat16 -> float16 (" + TURING +
        ", without bfloat16 (needs sm_80+) [[]simulated: cuda:sm_75:8GB[]], where the safe-dtype policy gives float16)",
        "PASSED test_readme_example.py::test_sampler_step",
        FLASH_SKIPPED + TURING + " [[]simulated: cuda:sm_75:8GB[]]",
    ], id="turing-8gb"),
])
def test_readme_example(pytester: pytest.Pytester, torch: str, spec: str, outcomes: dict, lines: list) -> None:
    """The README's example on simulated runners, with torch present (a stand-in) or absent: each
    case has one exact outcome, whether or not torch is installed where this suite runs."""
    pytester.makeconftest(TORCH_PRESENT if torch == "present" else TORCH_ABSENT)
    pytester.makepyfile(README_EXAMPLE)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-rA", SIM, spec)
    result.assert_outcomes(**outcomes)
    result.stdout.fnmatch_lines(lines, consecutive=False)

"""What the capture costs: per hook and end to end, on ComfyUI's default graph."""
import pytest


def test_capture_overhead_per_call(comfyruntime):
    result = comfyruntime.assert_overhead(per_call_us=2000, workload="txt2img")
    assert "execution.get_input_data" in {t.target for t in result.targets}


@pytest.mark.overhead_budget(per_call_us=2000, workload="trivial")
def test_capture_overhead_on_a_small_graph(comfy_executor):
    assert comfy_executor.run({"1": {"class_type": "CRInt", "inputs": {"value": 1}},
                               "2": {"class_type": "CRRecord", "inputs": {"value": ["1", 0], "label": "x"}}}).success

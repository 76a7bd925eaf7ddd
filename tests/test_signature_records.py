"""The signature record of every era (pytest_comfyruntime/executor/signatures/<era>.json) holds
the facts of each hookable target; the mock of that era must match it exactly, and may expose
no public name the record's ComfyUI lacks. (For eras A-C the records themselves are checked
against the real modules in tests/real/test_signature_records.py; era D's was written from
reading ComfyUI's 2026 source.)"""
from __future__ import annotations

import copy

import pytest

from mockera import ALL_ERAS, mock_era
from pytest_comfyruntime.executor import signatures
from pytest_comfyruntime.executor.eras import ERAS


def test_every_era_has_a_record_with_its_targets():
    assert sorted(ERAS) == sorted(signatures.TARGETS)
    for era in ERAS:
        record = signatures.load_record(era)
        assert record["era"] == era
        assert list(record["targets"]) == list(signatures.TARGETS[era])
        assert set(record["public_names"]) == set(signatures.PUBLIC_NAME_MODULES[era])


@pytest.mark.parametrize("era", ALL_ERAS)
def test_mock_matches_its_record(era, tmp_path):
    with mock_era(era, tmp_path):
        mock = signatures.record_from_modules(era)
    diff = signatures.compare(signatures.load_record(era), mock, left="record", right=f"era {era} mock")
    assert not diff, "\n".join(diff)


def test_era_d_record_was_read_not_run():
    record = signatures.load_record("D")
    assert "read, not run" in record["source"]
    assert all("read_from" in facts for facts in record["targets"].values())
    facts = record["targets"]
    assert [p["name"] for p in facts["execution:execute"]["params"]][-1] == "asset_manager"
    assert len(facts["execution:execute"]["params"]) == 12
    assert facts["execution:PromptExecutor.__init__"]["params"][-1] == {"name": "asset_manager", "default": "None"}
    assert facts["comfy_execution.caching:HierarchicalCache.get"]["async"] is True
    assert facts["comfy_execution.caching:HierarchicalCache.get_local"]["async"] is False


def test_a_drift_names_the_function_and_the_parameter():
    record = signatures.load_record("C")
    drifted = copy.deepcopy(record)
    params = drifted["targets"]["execution:get_input_data"]["params"]
    params[3] = {"name": "outputs", "default": "None"}
    drifted["targets"]["execution:PromptExecutor.execute_async"]["async"] = False
    del drifted["targets"]["execution:execute"]["params"][-1]
    drifted["public_names"]["execution"].remove("CacheType")
    lines = signatures.compare(record, drifted, left="record", right="real")
    assert "execution:get_input_data: parameter 4 ('execution_list'): record execution_list=None, real outputs=None" in lines
    assert "execution:PromptExecutor.execute_async: async def in the record, def in the real" in lines
    assert "execution:execute: parameter 11 ('ui_outputs'): record ui_outputs, real <none>" in lines
    assert any("public names in the real that the record lacks" in line for line in
               signatures.compare(drifted, record, left="record", right="real"))


def test_public_names_must_be_equal_against_the_real_module_but_a_subset_for_the_mock():
    record = signatures.load_record("B")
    fewer = copy.deepcopy(record)
    fewer["public_names"]["execution"].remove("heapq")
    assert signatures.compare(record, fewer) == []
    assert signatures.compare(record, fewer, public_names_subset=False) == [
        "execution: public names in the record that the mock lacks: ['heapq']"]


def test_as_real_surface_shape_for_era_d():
    surface = signatures.as_real_surface("D")
    assert surface["PromptExecutor"] == ["_notify_prompt_lifecycle", "add_message", "execute", "execute_async",
                                         "handle_execution_error", "reset"]
    assert surface["signatures"]["PromptExecutor.__init__"] == [
        "(self, server, cache_type=False, cache_args=None, asset_manager=None)", False]
    assert surface["signatures"]["validate_inputs"] == ["(prompt_id, prompt, item, validated, visiting=None)", True]
    assert "NoAssets" in surface["execution"]

"""The signature record of every era (pytest_comfyruntime/executor/signatures/<era>.json, the
project's one store of facts about real ComfyUI's surface) holds the facts of each hookable
target; the mock of that era must match it exactly, and may expose no public name the record's
ComfyUI lacks. Eras A-C were recorded from real ComfyUI (``obtained: "run"``; checked against the
real modules in tests/real/test_signature_records.py); era D's record was read from ComfyUI's
2026 source (``obtained: "read"``), never run.
"""
from __future__ import annotations

import copy
import re

import pytest
from mockera import ALL_ERAS, mock_era

from pytest_comfyruntime.executor import signatures
from pytest_comfyruntime.executor.eras import ERAS


def test_every_era_has_a_record_with_its_targets():
    assert sorted(ERAS) == sorted(signatures.TARGETS)
    for era in ERAS:
        record = signatures.load_record(era)
        assert record["era"] == ERAS[era].base and record.get("variant", era) == era  # "D", "D-11"
        assert list(record["targets"]) == list(signatures.TARGETS[era])
        assert set(record["public_names"]) == set(signatures.PUBLIC_NAME_MODULES[era])
        assert record["obtained"] == ("read" if ERAS[era].base == "D" else "run")


def test_the_records_are_the_one_store():
    """No second copy of these facts in the tests, and no second generator."""
    root = signatures.RECORD_DIR.parents[2]
    assert not (root / "tests" / "data" / "real_surface.json").exists()
    assert not (root / "scripts" / "record_real_surface.py").exists()
    assert "--write" in (signatures.RECORD_DIR / "__main__.py").read_text().split('"""')[1]


@pytest.mark.parametrize("era", ALL_ERAS)
def test_mock_matches_its_record(era, tmp_path):
    with mock_era(era, tmp_path):
        mock = signatures.record_from_modules(era)
    record = signatures.load_record(era)
    diff = signatures.compare(record, mock, left=signatures.origin(record), right=f"era {era} mock")
    assert not diff, "\n".join(diff)


def test_era_d_record_says_it_was_read_not_run_and_names_the_commits():
    record = signatures.load_record("D")
    assert record["obtained"] == "read" and "read, not run" in record["source"]
    assert signatures.origin(record) == "the era D record, read from the 2026 source (not run)"
    read = set(record["sources"].values())
    assert all(re.fullmatch(r"\S+/ComfyUI \S+@[0-9a-f]{8}( \(.*\))?", source) for source in read), read
    for target, facts in record["targets"].items():
        if facts is not None:  # each target names one of the files and commits read
            assert facts["read_from"].split(" (")[0] in {s.split(" (")[0] for s in read}, target
    facts = record["targets"]
    assert [p["name"] for p in facts["execution:execute"]["params"]][-1] == "asset_manager"
    assert len(facts["execution:execute"]["params"]) == 12
    assert facts["execution:PromptExecutor.__init__"]["params"][-1] == {"name": "asset_manager", "default": "None"}
    assert facts["comfy_execution.caching:HierarchicalCache.get"]["async"] is True
    assert facts["comfy_execution.caching:HierarchicalCache.get_local"]["async"] is False


def test_eras_a_to_c_say_they_were_recorded_from_real_comfyui():
    for era, version in (("A", "16eabdf"), ("B", "ca08597"), ("C", "0.3.75")):
        record = signatures.load_record(era)
        assert record["obtained"] == "run" and "generated from the real module" in record["source"]
        assert signatures.origin(record).startswith(f"the era {era} record, recorded from real ComfyUI {version}")


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


def test_era_d_facts_read_from_the_2026_source():
    record = signatures.load_record("D")
    assert record["PromptExecutor"] == ["_notify_prompt_lifecycle", "add_message", "execute", "execute_async",
                                        "handle_execution_error", "reset"]
    init = record["targets"]["execution:PromptExecutor.__init__"]
    assert [(p["name"], p.get("default")) for p in init["params"]] == [
        ("self", None), ("server", None), ("cache_type", "False"), ("cache_args", "None"), ("asset_manager", "None")]
    validate = record["targets"]["execution:validate_inputs"]
    assert validate["async"] is True
    assert [(p["name"], p.get("default")) for p in validate["params"]] == [
        ("prompt_id", None), ("prompt", None), ("item", None), ("validated", None), ("visiting", "None")]
    assert "NoAssets" in record["public_names"]["execution"]

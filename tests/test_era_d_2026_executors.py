"""Which 2026 executor is newer, every 2026 signature a user can meet with its own record, and the real
backend telling them apart from a root's code.

``D.json`` (``execution.py`` at 04e2a914: ``PromptExecutor(..., asset_manager=None)``, a 12-parameter
per-node ``execute``) is the newer signature and the one the mock of era D follows; ``D-11.json``
is the older 2026 signature (master v0.17.0 to v0.33.0 and after, up to the asset manager: the 11
parameters of 0.3.75; cb707e9c, a loop-branch commit, has the same hookable signatures). Both were
read from the source, never run.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from mockera import mock_era

from pytest_comfyruntime.executor import signatures
from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.real import inspect_root

SOURCE = re.compile(r"\S+/ComfyUI \S+@[0-9a-f]{8}( \(.*\))?")


def test_every_era_lists_its_signatures_and_each_has_a_record():
    assert set(signatures.SIGNATURES) == {era.base for era in ERAS.values()}
    assert {key for keys in signatures.SIGNATURES.values() for key in keys} == set(ERAS)  # each one a mock era
    for era, keys in signatures.SIGNATURES.items():
        assert keys[0] == era  # the era's own record is the newest signature, the one the mock follows
        for key in keys:
            record = signatures.load_record(key)
            assert record["era"] == era
            assert list(record["targets"]) == list(signatures.TARGETS[era])
    assert signatures.SIGNATURES["D"] == ("D", "D-11")


def test_the_two_2026_signatures_differ_exactly_in_the_asset_manager_and_the_loops():
    diff = signatures.compare(signatures.load_record("D"), signatures.load_record("D-11"), left="D", right="D-11")
    assert diff == [
        "execution:PromptExecutor.__init__: parameter 5 ('asset_manager'): D asset_manager=None, D-11 <none>",
        "execution:execute: parameter 12 ('asset_manager'): D asset_manager, D-11 <none>",
        "execution:emit_cached_output: present in the D, missing in the D-11",
        "execution:register_executed_outputs: present in the D, missing in the D-11",
        "execution:enrich_output_with_media_metadata: present in the D, missing in the D-11",
        "comfy_execution.caching:BasicCache.remove_local: present in the D, missing in the D-11",
        "comfy_execution.caching:HierarchicalCache.remove_local: present in the D, missing in the D-11",
        "comfy_execution.caching:LRUCache.remove_local: present in the D, missing in the D-11",
        "comfy_execution.caching:RAMPressureCache.remove_local: present in the D, missing in the D-11",
        "comfy_execution.caching:NullCache.remove_local: present in the D, missing in the D-11",
        "comfy_execution.graph:ExecutionList.inhibit_nodes: present in the D, missing in the D-11",
        "comfy_execution.graph:ExecutionList.is_staged_node_blocked: present in the D, missing in the D-11",
        "execution: public names in the D-11 that the D lacks: ['enrich_output_with_assets', 'psutil']",
        "comfy_api.latest: public names in the D-11 that the D lacks: ['comfy_api']",
    ]


def test_the_d11_record_was_read_and_names_every_file_and_commit():
    record = signatures.load_record("D-11")
    assert record["obtained"] == "read" and record["variant"] == "D-11"
    assert signatures.origin(record) == "the era D record of signature D-11, read from the 2026 source (not run)"
    assert all(SOURCE.fullmatch(s) for s in record["sources"].values()), record["sources"]
    read = {s.split(" (")[0] for s in record["sources"].values()}
    for target, facts in record["targets"].items():
        if facts is not None:
            assert facts["read_from"].split(" (")[0] in read, target
    execute = record["targets"]["execution:execute"]
    assert execute["async"] is True and len(execute["params"]) == 11 and execute["params"][-1]["name"] == "ui_outputs"
    assert [p["name"] for p in record["targets"]["execution:PromptExecutor.__init__"]["params"]] == [
        "self", "server", "cache_type", "cache_args"]
    assert "enrich_output_with_assets" in record["public_names"]["execution"]
    assert record["PromptExecutor"] == signatures.load_record("D")["PromptExecutor"]


def test_the_d_record_says_which_executor_is_newer_and_how_that_was_established():
    record = signatures.load_record("D")
    executors = record["executors"]
    assert executors["newer"] == "04e2a914" and executors["older"] == "cb707e9c"
    text = " ".join(executors["established_by"])
    for fact in ("2026-08-22", "app/assets/manager.py", "#16227", "inhibit_nodes", "0.35.1", "0.38.1"):
        assert fact in text, fact
    assert set(executors["releases"]) == {"D", "D-11"}
    assert all(SOURCE.fullmatch(s) for s in record["sources"].values()), record["sources"]
    read = " ".join(record["sources"].values())
    for commit in ("execution.py@04e2a914", "execution.py@cb707e9c", "execution.py@783545f6",
                   "comfyui_version.py@856a922b", "comfyui_version.py@20ca544e", "_sdk.py@04f054fd"):
        assert commit in read, commit


def test_the_mock_of_era_d_follows_the_newer_signature(tmp_path):
    with mock_era("D", tmp_path):
        mock = signatures.record_from_modules("D")
    assert signatures.compare(signatures.load_record("D"), mock) == []
    older = signatures.compare(signatures.load_record("D-11"), mock, left="D-11", right="mock")
    assert "execution:execute: parameter 12 ('asset_manager'): D-11 <none>, mock asset_manager" in older


_12 = ("class PromptExecutor:\n    def __init__(self, server, cache_type=False, cache_args=None, asset_manager=None):\n"
       "        self.cache_args = {'ram_inactive': 0}\n"
       "async def execute(server, dynprompt, caches, current_item, extra_data, executed, prompt_id, execution_list, "
       "pending_subgraph_results, pending_async_nodes, ui_outputs, asset_manager):\n    pass\n")
_11 = ("class PromptExecutor:\n    def __init__(self, server, cache_type=False, cache_args=None):\n"
       "        self.cache_args = {'ram_inactive': 0}\n    def _notify_prompt_lifecycle(self, event, prompt_id):\n"
       "        pass\n"
       "async def execute(server, dynprompt, caches, current_item, extra_data, executed, prompt_id, execution_list, "
       "pending_subgraph_results, pending_async_nodes, ui_outputs):\n    pass\n")


@pytest.mark.parametrize("source, expected", [
    (_12, "D"), (_11, "D-11"),
    (_11.split("async def execute")[0], "D-11"),  # no per-node execute read: __init__ without asset_manager
    ("class PromptExecutor:\n    pass\n", "D"),  # nothing to tell: the newest
    ("def broken(:\n", "D"),
])
def test_detect_signature_reads_the_parameters(source, expected):
    assert signatures.detect_signature("D", source) == expected
    assert signatures.detect_signature("C", source) == "C"


def _root(base: Path, execution_source: str, version: str | None = None) -> Path:
    root = base / "ComfyUI"
    (root / "comfy").mkdir(parents=True)
    (root / "comfy_execution").mkdir()
    (root / "execution.py").write_text(execution_source)
    (root / "nodes.py").write_text("NODE_CLASS_MAPPINGS = {}\n")
    if version:
        (root / "comfyui_version.py").write_text(f'__version__ = "{version}"\n')
    return root


@pytest.mark.parametrize("source, version, signature", [
    (_12, "0.38.1", "D"), (_11, "0.30.0", "D-11"), (_11, None, "D-11"),
    ("class PromptExecutor:\n    async def execute_async(self): pass\n", "0.3.75", "C"),
])
def test_the_real_backend_reads_the_signature_from_the_root(tmp_path, source, version, signature):
    info = inspect_root(_root(tmp_path, source, version))
    assert info.signature == signature
    assert info.era == signature  # a 2026 root is the era of its signature: "D" or its variant "D-11"
    assert signatures.load_record(info.signature)["era"] == ERAS[info.era].base

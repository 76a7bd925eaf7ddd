"""The mock of each era has exactly the surface of its signature record
(pytest_comfyruntime/executor/signatures/<era>.json, the project's one store of these facts): no
public name of ``execution`` the record lacks, the same PromptExecutor methods, and the same
signatures for every ``execution`` target of the record.

Eras A, B and C: the records were recorded from real ComfyUI (``python -m
pytest_comfyruntime.executor.signatures``; tests/real/test_signature_records.py holds them to the
real modules). Era D: the record was read from ComfyUI's 2026 source, never run; its tests say so.
"""
from __future__ import annotations

import inspect

import pytest
from mockera import ALL_ERAS, mock_era

from pytest_comfyruntime.executor import signatures

RECORDED_FROM_REAL = ["A", "B", "C"]
READ_FROM_SOURCE = ["D", "D-11"]


def test_every_era_is_checked_under_the_right_name():
    assert sorted(RECORDED_FROM_REAL + READ_FROM_SOURCE) == ALL_ERAS
    assert {era: signatures.load_record(era)["obtained"] for era in ALL_ERAS} == {
        **{era: "run" for era in RECORDED_FROM_REAL}, **{era: "read" for era in READ_FROM_SOURCE}}


def _extra_public_names(era, tmp_path) -> str:
    record = signatures.load_record(era)
    with mock_era(era, tmp_path) as mock:
        public = set(signatures.public_names(mock.execution))
    extra = sorted(public - set(record["public_names"]["execution"]))
    return f"era {era} mock exposes names missing from {signatures.origin(record)}: {extra}" if extra else ""


def _prompt_executor_methods(era, tmp_path) -> tuple[list[str], list[str]]:
    with mock_era(era, tmp_path) as mock:
        names = sorted(n for n in vars(mock.execution.PromptExecutor) if not n.startswith("__"))
    assert "pre_execute" not in names
    return names, signatures.load_record(era)["PromptExecutor"]


def _bare(function) -> str:
    sig = inspect.signature(function)
    return str(sig.replace(parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()],
                           return_annotation=sig.empty))


class _Default:
    """A recorded default (its ``repr``), printed as it was recorded."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text


def _recorded(facts: dict) -> str:
    """The recorded parameters as ``_bare`` prints a signature (``*``, ``/`` and ``**`` included)."""
    return str(inspect.Signature([
        inspect.Parameter(p["name"], getattr(inspect.Parameter, p.get("kind", "positional_or_keyword").upper()),
                          default=_Default(p["default"]) if "default" in p else inspect.Parameter.empty)
        for p in facts["params"]]))


def _signature_mismatches(era, tmp_path) -> str:
    """One line per ``execution:`` target of the record whose mock differs (or is missing)."""
    record = signatures.load_record(era)
    targets = {t: f for t, f in record["targets"].items() if t.startswith("execution:")}
    assert targets, f"era {era}: the record has no execution targets"
    mismatches = []
    with mock_era(era, tmp_path):
        for target, facts in targets.items():
            name = target.partition(":")[2]
            try:
                mine = signatures.resolve(target)
            except AttributeError:
                if facts is not None:
                    mismatches.append(f"{name}: missing in the mock")
                continue
            if facts is None:
                mismatches.append(f"{name}: in the mock, absent from the record")
            elif "value" in facts:
                if repr(mine) != facts["value"]:
                    mismatches.append(f"{name}: mock {mine!r} != record {facts['value']}")
            elif (_bare(mine), inspect.iscoroutinefunction(mine)) != (_recorded(facts), facts["async"]):
                mismatches.append(f"{name}: mock {(_bare(mine), inspect.iscoroutinefunction(mine))} != "
                                  f"record {(_recorded(facts), facts['async'])}")
    if not mismatches:
        return ""
    return f"era {era} mock against {signatures.origin(record)}:\n" + "\n".join(mismatches)


# -- eras A, B, C: the records recorded from real ComfyUI -------------------------------------

@pytest.mark.parametrize("era", RECORDED_FROM_REAL)
def test_no_public_name_the_real_module_lacks(era, tmp_path):
    problem = _extra_public_names(era, tmp_path)
    assert not problem, problem


@pytest.mark.parametrize("era", RECORDED_FROM_REAL)
def test_prompt_executor_has_exactly_the_real_methods(era, tmp_path):
    mock, recorded = _prompt_executor_methods(era, tmp_path)
    assert mock == recorded, f"era {era}: mock {mock}, recorded from real ComfyUI {recorded}"


@pytest.mark.parametrize("era", RECORDED_FROM_REAL)
def test_signatures_match_the_ones_recorded_from_real_comfyui(era, tmp_path):
    problem = _signature_mismatches(era, tmp_path)
    assert not problem, problem


# -- era D: the record read from the 2026 source (not run) ---------------------------------------

@pytest.mark.parametrize("era", READ_FROM_SOURCE)
def test_no_public_name_the_record_read_from_the_2026_source_lacks(era, tmp_path):
    problem = _extra_public_names(era, tmp_path)
    assert not problem, problem


@pytest.mark.parametrize("era", READ_FROM_SOURCE)
def test_prompt_executor_has_exactly_the_methods_read_from_the_2026_source(era, tmp_path):
    mock, read = _prompt_executor_methods(era, tmp_path)
    assert mock == read, f"era {era}: mock {mock}, the record read from the 2026 source {read}"


@pytest.mark.parametrize("era", READ_FROM_SOURCE)
def test_signatures_match_the_record_read_from_the_2026_source(era, tmp_path):
    problem = _signature_mismatches(era, tmp_path)
    assert not problem, problem


def test_hooking_a_method_comfyui_lacks_finds_it_missing(tmp_path):
    """The seeds' pattern: getattr(PromptExecutor, "pre_execute", None) must be None, as in ComfyUI."""
    with mock_era("C", tmp_path) as mock:
        assert getattr(mock.execution.PromptExecutor, "pre_execute", None) is None
        assert getattr(mock.execution, "pre_get_input_data", None) is None
        assert mock.execution.map_node_over_list is None

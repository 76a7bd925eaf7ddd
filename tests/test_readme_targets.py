"""README.md's reference sections, checked against the code they describe; every example run.

- "Hookable targets, era by era": the table between the ``targets`` markers is the one
  ``pytest_comfyruntime.executor.signatures.table`` renders from the signature records; the reset
  idiom of "Resetting the extension's own state between eras" runs as written on every era, and
  is needed (without its ``conftest.py`` the example fails from the second era on).
- "Built-in node pack": the exports it lists are ``pytest_comfyruntime.nodes.__all__``; each CR
  node's row gives the node's inputs (section, name, type, default, laziness, range) and outputs;
  the ``read_png_text`` example runs on every era, and what the text says it returns holds.
- "What each check expects": one bullet per battery check, the entry's keys, and the
  conflict-detection example, which passes ``conflict_detection`` on every era and fails it without
  its check.
- The hardware downgrade bullet says, device by device, what ``decide`` does.
"""
from __future__ import annotations

import ast
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import pytest

from pytest_comfyruntime.executor.eras import ERAS
from pytest_comfyruntime.executor.signatures import TARGETS, load_record
from pytest_comfyruntime.executor.signatures.__main__ import main as signatures_main
from pytest_comfyruntime.executor.signatures.table import (
    ABSENT,
    TABLE_ERAS,
    extract_block,
    format_cell,
    format_params,
    render_block,
)

README = Path(__file__).resolve().parents[1] / "README.md"
REGENERATE = ".venv/bin/python -m pytest_comfyruntime.executor.signatures --table"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def section(heading: str, text: str | None = None) -> str:
    """The body of the README section ``heading`` (a whole heading line, ``"## Built-in node pack"``),
    up to the next heading of the same or a higher level; fenced code is not searched for headings."""
    lines = (readme() if text is None else text).splitlines()
    if heading not in lines:
        raise AssertionError(f"README.md has no heading {heading!r}")
    level = len(heading.split(" ", 1)[0])
    body: list[str] = []
    fenced = False
    for line in lines[lines.index(heading) + 1:]:
        if line.startswith("```"):
            fenced = not fenced
        elif not fenced and re.match(rf"#{{1,{level}}} ", line):
            break
        body.append(line)
    return "\n".join(body) + "\n"


def block(text: str, language: str, first_line: str) -> str:
    """The fenced ``language`` block of ``text`` whose first line is ``first_line``."""
    for body in re.findall(rf"^```{language}\n(.*?)^```", text, re.M | re.S):
        if body.splitlines()[0].strip() == first_line:
            return str(body)
    raise AssertionError(f"README.md has no ```{language} block starting with {first_line!r}")


# -- Hookable targets, era by era ---------------------------------------------------------------
def test_the_readme_targets_table_is_the_one_rendered_from_the_signature_records() -> None:
    found = extract_block(section("## Hookable targets, era by era"))
    assert found == render_block(), f"README.md's hookable-targets table is stale: run {REGENERATE} and paste it"


def test_the_table_flag_prints_the_block_and_recording_still_needs_era_and_root(
        capsys: pytest.CaptureFixture[str]) -> None:
    assert signatures_main(["--table"]) == 0
    assert capsys.readouterr().out == render_block()
    with pytest.raises(SystemExit) as exc:
        signatures_main(["--era", "C"])
    assert exc.value.code == 2
    assert "--era and --root are required (or --table)" in capsys.readouterr().err


def test_the_table_has_every_target_of_every_era_once_with_its_async_marker() -> None:
    table = render_block()
    records = {era: load_record(era) for era in TABLE_ERAS}  # the columns' order
    assert sorted(TABLE_ERAS) == sorted(TARGETS)
    rows = {line.split(" | ")[0][3:-1]: line.strip("|").split(" | ")[1:] for line in table.splitlines()
            if line.startswith("| `")}
    every = {t for r in records.values() for t in r["targets"]}
    assert set(rows) == {t.replace(":", ".") for t in every}
    for era_index, (era, record) in enumerate(records.items()):
        for target in every:
            cell = rows[target.replace(":", ".")][era_index].strip()
            entry = record["targets"].get(target)
            assert cell == format_cell(entry), (era, target)
            assert (cell == ABSENT) == (entry is None), (era, target)
            assert cell.startswith("**async**") == bool(entry and entry.get("async")), (era, target)
    caption = table.splitlines()[1]
    assert "era A recorded from running real ComfyUI 16eabdf" in caption
    assert "era D read from the 2026 source, never run" in caption
    assert "era D-11 read from the 2026 source, never run" in caption


def test_parameters_are_written_as_python_writes_them() -> None:
    params: list[dict[str, Any]] = [
        {"name": "a", "kind": "positional_only"}, {"name": "b", "kind": "positional_only", "default": "1"},
        {"name": "c"}, {"name": "args", "kind": "var_positional"}, {"name": "d", "kind": "keyword_only"},
        {"name": "kwargs", "kind": "var_keyword"}]
    assert format_params(params) == "(a, b=1, /, c, *args, d, **kwargs)"
    assert format_params([{"name": "x"}, {"name": "y", "kind": "keyword_only", "default": "'|'"}]) == "(x, *, y='|')"
    assert format_cell({"async": False, "params": [{"name": "s", "default": "'a|b'"}]}) == "`(s='a\\|b')`"
    assert format_cell({"value": "None"}) == "`= None` (not a function)"


# the extension of the reset example: counts prompts in module state
COUNTING_HOOKS = '''
import functools

_counts = {"prompts": 0}
_originals = {}


def prompt_count():
    return _counts["prompts"]


def reset():
    _counts["prompts"] = 0


def enable(execution):
    if _originals:
        return
    execute = _originals["execute"] = execution.PromptExecutor.execute

    @functools.wraps(execute)
    def counting_execute(self, *args, **kwargs):
        _counts["prompts"] += 1
        return execute(self, *args, **kwargs)

    execution.PromptExecutor.execute = counting_execute


def disable(execution):
    if _originals:
        execution.PromptExecutor.execute = _originals.pop("execute")
'''


def _counting_extension(pytester: pytest.Pytester, *, with_conftest: bool) -> None:
    text = readme()
    reset = section("### Resetting the extension's own state between eras", text)
    pytester.makefile(".toml", pyproject=block(text, "toml", "# pyproject.toml of an extension with enable/disable functions"))
    pytester.mkpydir("my_ext").joinpath("hooks.py").write_text(COUNTING_HOOKS)
    if with_conftest:
        pytester.makeconftest(block(reset, "python", "# conftest.py of an extension enabled with comfyruntime_hooks"))
    tests = pytester.mkdir("tests")
    tests.joinpath("test_counts.py").write_text(block(reset, "python", "# tests/test_counts.py"))
    pytester.syspathinsert()


def test_the_reset_idiom_runs_as_written_on_every_era(pytester: pytest.Pytester) -> None:
    _counting_extension(pytester, with_conftest=True)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--comfyruntime-era=all", "tests")
    result.assert_outcomes(passed=len(ERAS))


def test_without_the_reset_the_counts_of_earlier_eras_leak_into_later_ones(pytester: pytest.Pytester) -> None:
    _counting_extension(pytester, with_conftest=False)
    result = pytester.runpytest("-p", "no:cacheprovider", "-v", "--comfyruntime-era=all", "tests")
    result.assert_outcomes(passed=1, failed=len(ERAS) - 1)
    result.stdout.fnmatch_lines(["*test_one_prompt_is_counted_once?mock-A? PASSED*",
                                 "*test_one_prompt_is_counted_once?mock-B? FAILED*", "*assert 2 == 1*"])


# -- Built-in node pack -------------------------------------------------------------------------
def _rows(lines: list[str]) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip().strip("|").split(" | ")] for line in lines if line.startswith("| `")]


def _node_pack_tables() -> tuple[list[list[str]], list[list[str]]]:
    lines = section("## Built-in node pack").splitlines()
    split = next(i for i, line in enumerate(lines) if line.startswith("| class_type |"))
    return _rows(lines[:split]), _rows(lines[split:])


def test_the_node_pack_section_lists_the_real_exports() -> None:
    import pytest_comfyruntime.nodes as nodes

    exports, _ = _node_pack_tables()
    listed = [name for row in exports for name in re.findall(r"`(\w+)`", row[0])]
    assert sorted(listed) == sorted(nodes.__all__)
    assert all(hasattr(nodes, name) for name in listed)
    txt2img = next(row for row in exports if row[0] == "`TXT2IMG_NODE_CLASS_MAPPINGS`")
    assert set(nodes.TXT2IMG_NODE_CLASS_MAPPINGS) <= set(re.findall(r"`(\w+)`", txt2img[1]))


_INPUT = re.compile(r"(?:(optional|hidden) )?`(\w+): ([^`=]+?)(?: = ([^`]+))?`(?: \((lazy)\))?"
                    r"(?: \(([\d,]+) to ([\d,]+)\))?")


def _documented_inputs(cell: str) -> set[tuple[Any, ...]]:
    found = set()
    for where, name, kind, default, lazy, low, high in _INPUT.findall(cell):
        found.add((where or "required", name, kind, ast.literal_eval(default) if default else None, bool(lazy),
                   (int(low.replace(",", "")), int(high.replace(",", ""))) if low else None))
    return found


def _actual_inputs(cls: type) -> set[tuple[Any, ...]]:
    from pytest_comfyruntime.nodes.basic import _INT_LIMIT

    found = set()
    for where, inputs in cls.INPUT_TYPES().items():  # type: ignore[attr-defined]
        for name, spec in inputs.items():
            if where == "hidden":
                found.add((where, name, spec, None, False, None))
                continue
            options = spec[1] if len(spec) > 1 else {}
            bounds = (options.get("min"), options.get("max"))
            ranged = str(spec[0]) == "INT" and "min" in options and bounds != (-_INT_LIMIT, _INT_LIMIT)
            found.add((where, name, str(spec[0]), options.get("default"), bool(options.get("lazy")),
                       bounds if ranged else None))
    return found


def test_the_node_pack_section_lists_every_cr_node_with_its_inputs_and_outputs() -> None:
    from pytest_comfyruntime.nodes import TEST_NODE_CLASS_MAPPINGS

    _, nodes = _node_pack_tables()
    listed = {row[0].strip("`"): row for row in nodes}
    assert sorted(listed) == sorted(TEST_NODE_CLASS_MAPPINGS), "every CR node, and only those, has a row"
    for name, (_, inputs, outputs, _what) in listed.items():
        cls = TEST_NODE_CLASS_MAPPINGS[name]
        assert _documented_inputs(inputs) == _actual_inputs(cls), name
        flags = {"OUTPUT_IS_LIST", "OUTPUT_NODE"}
        assert tuple(t for t in re.findall(r"`([A-Z_]+|\*)`", outputs) if t not in flags) == \
            tuple(str(t) for t in cls.RETURN_TYPES), name  # type: ignore[attr-defined]
        assert ("`OUTPUT_IS_LIST`" in outputs) == bool(getattr(cls, "OUTPUT_IS_LIST", False)), name
        assert ("`OUTPUT_NODE`" in outputs) == bool(getattr(cls, "OUTPUT_NODE", False)), name
        assert ("`INPUT_IS_LIST`" in inputs) == bool(getattr(cls, "INPUT_IS_LIST", False)), name


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def test_read_png_text_returns_what_the_section_says(tmp_path: Path) -> None:
    from pytest_comfyruntime.nodes import read_png_text
    from pytest_comfyruntime.nodes._png import png_bytes

    text = section("### Reading PNG metadata: `read_png_text`")
    assert "`read_png_text(path: str | os.PathLike[str]) -> dict[str, str]`" in text
    assert "without the PNG signature raises" in text
    data = png_bytes(1, 1, [b"\0\0\0"], [("prompt", "{}"), ("prompt", "last"), ("title", "caf\u00e9 \u2615")])
    extra = _chunk(b"zTXt", b"packed\0\0" + zlib.compress(b"deflated"))
    path = tmp_path / "x.png"
    path.write_bytes(data[:33] + extra + data[33:])
    assert read_png_text(str(path)) == {"prompt": "last", "title": "caf\u00e9 \u2615", "packed": "deflated"}
    (tmp_path / "not.png").write_bytes(b"GIF89a")
    with pytest.raises(ValueError, match="is not a PNG file"):
        read_png_text(tmp_path / "not.png")
    assert "`ValueError`, as does one that ends inside a chunk's data" in " ".join(text.split())
    (tmp_path / "short.png").write_bytes(data[:45])  # inside the first text chunk's data
    with pytest.raises(ValueError, match="truncated"):
        read_png_text(tmp_path / "short.png")


def test_the_read_png_text_example_runs_as_written_on_every_era(pytester: pytest.Pytester) -> None:
    text = section("### Reading PNG metadata: `read_png_text`")
    pytester.makepyfile(test_png=block(text, "python", "# tests/test_png.py"))
    pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-era=all").assert_outcomes(passed=len(ERAS))


# -- What each check expects --------------------------------------------------------------------
CHECKS_HEADING = "### What each check expects"


def test_the_check_section_has_one_bullet_per_check_and_the_real_entry_keys() -> None:
    from pytest_comfyruntime.checks.conformance import CHECKS
    from pytest_comfyruntime.checks.target import ConformanceTarget

    text = section(CHECKS_HEADING)
    assert re.findall(r"^- `(\w+)`: ", text, re.M) == list(CHECKS)
    keys = re.search(r"The entry's other keys are (.*?)\. To leave", " ".join(text.split()))
    assert keys is not None
    assert "`skip_<check>=<reason>`" in text
    assert re.findall(r"`(\w+)`", keys.group(1)) == [
        f for f in ConformanceTarget.model_fields if f not in ("module", "not_applicable")]
    assert "other_extension.other_extension_wrapper" in " ".join(text.split())
    from pytest_comfyruntime.checks.conformance import _foreign

    foreign = _foreign(lambda: None, False)
    assert (foreign.__module__, foreign.__qualname__, hasattr(foreign, "__wrapped__")) == (
        "other_extension", "other_extension_wrapper", False)


def _conflict_run(pytester: pytest.Pytester, source: str) -> pytest.RunResult:
    pytester.mkpydir("my_ext").joinpath("hooks.py").write_text(source)
    pytester.syspathinsert()
    return pytester.runpytest("-p", "no:cacheprovider", "-v", "--comfyruntime-era=all", "-k", "conflict_detection",
                              "--comfyruntime-conformance", "my_ext.hooks:threads=2,repeats=5")


EXAMPLE_FIRST_LINE = ("# my_ext/hooks.py: refuse, say why and touch nothing when another extension wrapped a "
                      "target first")


def test_the_conflict_detection_example_passes_the_check_on_every_era(pytester: pytest.Pytester) -> None:
    source = block(section(CHECKS_HEADING), "python", EXAMPLE_FIRST_LINE)
    result = _conflict_run(pytester, source)
    result.assert_outcomes(passed=len(ERAS))


def test_the_conflict_detection_example_fails_the_check_without_its_check(pytester: pytest.Pytester) -> None:
    source = block(section(CHECKS_HEADING), "python", EXAMPLE_FIRST_LINE)
    assert source.count("    if taken:") == 1
    result = _conflict_run(pytester, source.replace("    if taken:", "    if False:"))
    result.assert_outcomes(failed=len(ERAS))
    result.stdout.fnmatch_lines(["*with another extension's wrapper already on*it must refuse, say why and touch nothing*"])


# -- Hardware: the downgrade of each device -----------------------------------------------------
def test_the_device_downgrades_the_readme_names_are_the_ones_decide_makes() -> None:
    from pytest_comfyruntime.hardware import decide, parse_hardware_spec, requirement_from_marks

    text = section("### Skip, downgrade or fail")
    bullet = " ".join(text[text.index("- **downgrade**:"):].split("\n\n")[0].split())
    cases = [
        ("`gpu` → the CPU (it is missing only where there is no GPU at all)",
         [("cpu", pytest.mark.gpu, "cpu"), ("mps", pytest.mark.gpu, "mps"), ("cuda:sm_80", pytest.mark.gpu, "cuda:0")]),
        ("`cuda` → the best CUDA GPU there is (one below `min_capability`), else the CPU, never Apple MPS",
         [("cuda:sm_75", pytest.mark.cuda(min_capability=(8, 0)), "cuda:0"), ("mps", pytest.mark.cuda, "cpu"),
          ("cpu", pytest.mark.cuda, "cpu")]),
        ("`mps` → the CPU, even on a runner with a CUDA GPU",
         [("cuda:sm_80", pytest.mark.mps, "cpu"), ("cpu", pytest.mark.mps, "cpu")]),
    ]
    for phrase, runs in cases:
        assert phrase in bullet, f"{phrase!r} not in README's downgrade bullet: {bullet}"
        for spec, marker, device in runs:
            mark = marker(on_missing="downgrade").mark
            decision = decide(requirement_from_marks([mark]), parse_hardware_spec(spec))
            assert decision.target.device == device, (phrase, spec, mark)

"""The hookable targets of every era as one markdown table, rendered from the signature records.

One row per target (``execution.PromptExecutor.execute``, ``execution.get_input_data``, the
per-node ``execute`` / ``recursive_execute``, the cache classes' ``get`` / ``set``, ...), one
column per era: the target's parameters as Python writes them, ``async`` for a coroutine
function, ``—`` where the era has no such target. Rows follow the records' own order (each era's
targets in the order its record lists them, a target new in a later era placed after the one
before it there), grouped by the module or class that holds them. The caption says where each record's facts come from (``obtained``): run from
real ComfyUI for eras A to C, read from the 2026 source for era D.

README.md holds the output between ``<!-- targets:begin -->`` and ``<!-- targets:end -->``;
``tests/test_readme_targets.py`` checks that it is the same. Regenerate it with::

    .venv/bin/python -m pytest_comfyruntime.executor.signatures --table
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from ..eras import ERAS
from . import load_record

#: The eras the table shows, in order.
TABLE_ERAS: Final = ("A", "B", "C", "D-11", "D")
BEGIN: Final = "<!-- targets:begin -->"
END: Final = "<!-- targets:end -->"
ABSENT: Final = "—"


def target_label(target: str) -> str:
    """``"execution:PromptExecutor.execute"`` -> ``"execution.PromptExecutor.execute"``."""
    module, _, qualname = target.partition(":")
    return f"{module}.{qualname}"


def format_params(params: Sequence[Mapping[str, Any]]) -> str:
    """A parameter list as Python writes it: ``(self, prompt, extra_data={}, *args, key=None, **kwargs)``."""
    parts: list[str] = []
    star_written = False
    for i, p in enumerate(params):
        kind = p.get("kind", "positional_or_keyword")
        name = str(p["name"])
        if kind == "var_positional":
            parts.append(f"*{name}")
            star_written = True
        elif kind == "var_keyword":
            parts.append(f"**{name}")
        else:
            if kind == "keyword_only" and not star_written:
                parts.append("*")
                star_written = True
            parts.append(f"{name}={p['default']}" if "default" in p else name)
        following = params[i + 1].get("kind", "positional_or_keyword") if i + 1 < len(params) else None
        if kind == "positional_only" and following != "positional_only":
            parts.append("/")
    return "(" + ", ".join(parts) + ")"


def format_cell(entry: Mapping[str, Any] | None) -> str:
    """One table cell: ``async `(self, ...)` ``, `` `(x)` ``, `` `= None` (not a function)``, or ``—``."""
    if entry is None:
        return ABSENT
    if "value" in entry:
        return f"`= {_cell_code(str(entry['value']))}` (not a function)"
    code = f"`{_cell_code(format_params(entry['params']))}`"
    return f"**async** {code}" if entry["async"] else code


def _cell_code(text: str) -> str:
    # A pipe ends a markdown table cell even inside backticks.
    return text.replace("|", "\\|")


def _holder(target: str) -> str:
    """``"execution:PromptExecutor.execute"`` -> ``"execution:PromptExecutor"``; ``"execution:"``
    for a module-level function."""
    module, _, qualname = target.partition(":")
    return f"{module}:{qualname.rpartition('.')[0]}"


def ordered_targets(records: Iterable[Mapping[str, Any]]) -> list[str]:
    """Every target of the records, each era's in its record's order; a target an earlier era
    lacks goes right after the target before it in the era that has it; then grouped by the
    module or class that holds them, groups in order of first appearance."""
    merged: list[str] = []
    for record in records:
        previous: str | None = None
        for target in record["targets"]:
            if target not in merged:
                merged.insert(merged.index(previous) + 1 if previous is not None else 0, target)
            previous = target
    holders = list(dict.fromkeys(_holder(t) for t in merged))
    return sorted(merged, key=lambda t: holders.index(_holder(t)))


def _source(record: Mapping[str, Any]) -> str:
    era = str(record.get("variant", record["era"]))
    if record.get("obtained") == "read":
        return f"era {era} read from the 2026 source, never run ({record.get('comfyui', 'ComfyUI of 2026')})"
    return f"era {era} recorded from running real {record.get('comfyui', 'ComfyUI')}"


def render_table(eras: Sequence[str] = TABLE_ERAS) -> str:
    """The caption and the markdown table of every era's hookable targets (no markers)."""
    records = [load_record(era) for era in eras]
    caption = (
        "Generated from `pytest_comfyruntime/executor/signatures/{" + ",".join(eras) + "}.json` by "
        "`python -m pytest_comfyruntime.executor.signatures --table`: "
        + "; ".join(_source(r) for r in records)
        + ". `—`: the era has no such target; **async**: a coroutine function (`async def`)."
    )
    header = "| target | " + " | ".join(f"{era} ({ERAS[era].name})" for era in eras) + " |"
    rule = "| --- |" + " --- |" * len(eras)
    rows = [
        f"| `{target_label(target)}` | "
        + " | ".join(format_cell(r["targets"].get(target)) for r in records)
        + " |"
        for target in ordered_targets(records)
    ]
    return "\n".join([caption, "", header, rule, *rows]) + "\n"


def render_block(eras: Sequence[str] = TABLE_ERAS) -> str:
    """:func:`render_table` between the README's markers, as README.md holds it."""
    return f"{BEGIN}\n{render_table(eras)}{END}\n"


def extract_block(text: str) -> str:
    """The marked block of a README text (markers included); ValueError when the markers are missing."""
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"no {BEGIN} ... {END} block")
    return text[start:end + len(END)] + "\n"


__all__ = ["ABSENT", "BEGIN", "END", "TABLE_ERAS", "extract_block", "format_cell", "format_params",
           "ordered_targets", "render_block", "render_table", "target_label"]

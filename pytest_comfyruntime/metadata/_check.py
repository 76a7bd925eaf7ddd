"""``check_metadata``: is what a save node wrote true, complete and safe to share?

For each file (a path, or every file a ``RunResult``'s nodes reported): it reads (bad files are one
problem each), finds and validates ``ai_info.runtime`` (inline up to the limit, else a sidecar that
exists, is referenced and whose hash matches), judges it against the run (prompt id, execution
order, resolved inputs with a per-field diff, seed 001's disagreements, timings), checks ComfyUI's own
chunks and the A1111 ``parameters`` text, and searches every entry, the sidecar and the file's bytes
for secrets (:mod:`._secrets`). For a ``RunResult`` the ``executed`` outputs (with 2026's
``metadata`` entries) are searched too.

With ``rerun`` (a harness factory; the ``comfyruntime`` fixture gives its own) and a ``RunResult``,
the run's prompt is run twice more on one executor, each time renumbered and with canaries in its
text widgets (:class:`~pytest_comfyruntime.checks.canaries.CanaryPlan`), with canary API keys in
``extra_data`` and a :class:`~._witness.RunWitness` watching: the files of each rerun are checked in
full against what the witness saw (so linked inputs, a switch's choice included, are judged too),
and any canary of the other rerun in them is a value from another prompt.
"""
from __future__ import annotations

import dataclasses
import json
import re
import secrets as _random
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ..checks.canaries import CanaryPlan, Origin, _Planned, scan
from ..executor.harness import ExecutorHarness, RunResult
from ..nodes.metadata_save import SENSITIVE_EXTRA_DATA_KEYS
from ._errors import MetadataFileError
from ._read import read_metadata
from ._report import FileChecked, Kind, MetadataProblem, MetadataReport
from ._secrets import Leak, Secret, find_leaks, secrets_from
from ._sections import Add, load_section
from ._truth import OutputFile, Truth, files_of, is_link, truth_of
from ._values import (
    check_comfy_chunks,
    check_executed_metadata,
    check_order,
    check_parameters,
    check_prompt_id,
    check_timings,
    check_values,
)
from ._witness import RunWitness

HarnessFactory = Callable[[], ExecutorHarness]
_RERUNS = 2


def _adder(report: MetadataReport, file: str | None, during: str) -> Add:
    def add(kind: Kind, field: str, problem: str, fix: str) -> None:
        report.problems.append(MetadataProblem(kind=kind, file=file, field=field, problem=problem, fix=fix,
                                               during=during))
    return add


def _secret_fix(secret: Secret) -> str:
    if secret.source.startswith("extra_data"):
        return ("never write extra_data (ComfyUI merges the Comfy.org API key and token back into it) nor hidden "
                "API_KEY_COMFY_ORG / AUTH_TOKEN_COMFY_ORG inputs; drop " + ", ".join(SENSITIVE_EXTRA_DATA_KEYS)
                + " before saving")
    if secret.source.startswith("environment"):
        return "never write environment variables into metadata"
    return "keep this value out of everything the save node writes"


def _report_leaks(leaks: list[Leak], add: Add) -> None:
    for leak in leaks:
        how = "" if leak.encoding == "raw" else f", {leak.encoding}"
        add("secret", leak.where, f"holds the value of {leak.secret.source} ({leak.secret.shown}{how}): a secret "
            "is leaked", _secret_fix(leak.secret))


def _check_file(file: OutputFile, truth: Truth, limit_kb: float, report: MetadataReport,
                during: str) -> tuple[dict[str, Any], bool] | None:
    """Checks one file; returns what it holds (for the canary scan) and whether it had a section."""
    add = _adder(report, str(file.path), during)
    try:
        meta = read_metadata(file.path)
    except MetadataFileError as exc:
        report.problems.append(MetadataProblem(kind="bad file", file=exc.path, field=exc.field, problem=exc.problem,
                                               fix=exc.fix, during=during))
        return None
    checked = FileChecked(path=str(file.path), format=meta.format, node_id=file.node_id, during=during)
    report.files.append(checked)
    check_comfy_chunks(meta, truth, add)
    if truth.prompt is None:  # a file on its own: its runtime section must agree with its own prompt chunk
        try:
            own = meta.json("prompt")
        except MetadataFileError:
            own = None
        if isinstance(own, dict):
            truth = dataclasses.replace(truth, prompt=own)
    found = load_section(meta, limit_kb, add)
    holds: dict[str, Any] = {}
    texts = []
    for entry in meta.entries:
        texts.append((entry.where, entry.text))
        try:
            holds[entry.where] = json.loads(entry.text)
        except json.JSONDecodeError:
            holds[entry.where] = entry.text
    if found is not None:
        checked.placement = None if found.section is None else "inline" if found.section.inline else "sidecar"
        checked.capture_mode = found.section.capture_mode if found.section else None
        checked.data_bytes = found.data_bytes
        other_prompt = False
        if found.section is not None:
            other_prompt = check_prompt_id(found.section, truth, add)
        if found.sidecar_text is not None and found.sidecar is not None:
            where = f"sidecar {found.sidecar.name}"
            texts.append((where, found.sidecar_text))
            holds[where] = found.sidecar_json if found.sidecar_json is not None else found.sidecar_text
        if found.data is not None and found.data is not found.section and not other_prompt:
            other_prompt = check_prompt_id(found.data, truth, add)
        if found.data is not None and not other_prompt:  # another prompt's data: its order and values say no more
            check_order(found.data, truth, file.node_id, add)
            check_values(found.data, truth, add, report.disagreements)
            check_timings(found.data, truth, add)
    check_parameters(meta, truth, add)
    check_executed_metadata(meta, file.entry, add)
    leaks = find_leaks(truth.secrets, texts)
    hidden = [s for s in truth.secrets if all(leak.secret != s for leak in leaks)]
    leaks += find_leaks(hidden, [("the file's bytes (outside the chunks read)", meta.raw.decode("latin-1"))])
    _report_leaks(leaks, add)
    return holds, found is not None


def _check_files(files: list[OutputFile], truth: Truth, limit_kb: float, report: MetadataReport,
                 during: str = "") -> dict[Path, dict[str, Any]]:
    held: dict[Path, dict[str, Any]] = {}
    without = []
    for file in files:
        checked = _check_file(file, truth, limit_kb, report, during)
        if checked is None:
            continue
        held[file.path] = checked[0]
        if not checked[1]:
            without.append(file)
    if without and len(without) == len(held):
        for file in without:
            _adder(report, str(file.path), during)(
                "no runtime section", "ai_info.runtime", "is not in the file (no 'ai_info' entry in any text chunk, "
                "EXIF tag, XMP or comment)", "write ai_info = {\"runtime\": {...}} as a text chunk (see "
                "`comfyruntime schema metadata`)")
    elif without:
        report.notes.append("files without a runtime section (checked for ComfyUI's chunks and secrets only): "
                            + ", ".join(f"{f.path.name} (node {f.node_id})" for f in without))
    if truth.outputs:
        texts = [(f"the executed output of node {node_id}", json.dumps(ui, default=repr))
                 for node_id, ui in truth.outputs.items()]
        _report_leaks(find_leaks(truth.secrets, texts), _adder(report, None, during))
    return held


# -- the canary reruns ---------------------------------------------------------------------------------
def _canary_prompt(plan: CanaryPlan, g: int, prompt_id: str, prompt: Mapping[str, Any]) -> dict[str, Any]:
    """``prompt`` renumbered for prompt ``g``, a canary appended to every text widget (file name
    prefixes and combos excepted); numbers are left alone (they may be steps or sizes)."""
    plan.prompt_ids[g] = prompt_id
    ids = {old: plan.node_id(g, j) for j, old in enumerate(prompt, start=1)}
    out: dict[str, Any] = {}
    for j, (old, node) in enumerate(prompt.items(), start=1):
        class_type = node["class_type"]
        inputs = {}
        for pos, (name, value) in enumerate(node.get("inputs", {}).items()):
            if is_link(value) and value[0] in ids:
                value = [ids[value[0]], value[1]]
            elif (isinstance(value, str) and name != "filename_prefix"
                  and plan._widget_type(class_type, name) == "STRING"):
                value = plan._text(g, j, pos, class_type, name, value)
            inputs[name] = value
        out[ids[old]] = {**{k: v for k, v in node.items() if k != "is_changed"}, "inputs": inputs}
        plan.origins[("id", g, j, "")] = Origin(prompt_id, ids[old], class_type, None)
    return out


def _original_ids(line: str, aliases: Mapping[str, str]) -> str:
    return re.sub(r"nodes\.(\d+)\.", lambda m: f"nodes.{aliases.get(m[1], m[1])}.", line)


def _reruns(make_harness: HarnessFactory, truth: Truth, node_classes: Mapping[str, type], limit_kb: float,
            forbid: Sequence[str], env: Mapping[str, str] | None, report: MetadataReport) -> None:
    assert truth.prompt is not None
    try:
        harness = make_harness()
    except Exception as exc:
        report.notes.append(f"the canary reruns did not run: no executor ({type(exc).__name__}: {exc})")
        return
    plan = CanaryPlan(node_classes)
    held: list[tuple[_Planned, dict[Path, dict[str, Any]]]] = []
    base = {k: v for k, v in truth.extra_data.items() if k not in SENSITIVE_EXTRA_DATA_KEYS and k != "client_id"}
    for g in range(_RERUNS):
        prompt_id = f"comfyruntime-metadata-{plan.salt}-{g}-{_random.token_hex(4)}"
        prompt = _canary_prompt(plan, g, prompt_id, truth.prompt)
        planted = {key: f"comfyruntime-canary-{key.split('_')[0]}-{_random.token_hex(12)}"
                   for key in SENSITIVE_EXTRA_DATA_KEYS}
        extra = {**base, **({"client_id": harness.client_id} if harness.client_id else {}), **planted}
        during = f"canary rerun {g + 1} of {_RERUNS}, prompt {prompt_id}"
        try:
            with RunWitness() as seen:
                result = harness.run(prompt, prompt_id=prompt_id, extra_data=extra)
        except Exception as exc:
            report.notes.append(f"the canary reruns stopped: {during} raised {type(exc).__name__}: {exc}")
            return
        report.reruns += 1
        if not result.success:
            report.notes.append(f"{during} failed in ComfyUI ({(result.error or {}).get('exception_message')}); "
                                "its files were not checked")
            continue
        rerun_truth = truth_of(result, seen)
        rerun_truth.extra_data = {**rerun_truth.extra_data, **planted}
        rerun_truth.secrets = secrets_from(rerun_truth.extra_data, forbid, env)
        rerun_truth.aliases = {plan.node_id(g, j): old for j, old in enumerate(truth.prompt, start=1)}
        files, why = files_of(result)
        if why:
            report.notes.append(why)
            return
        known = len(report.disagreements)
        held.append((_Planned(prompt_id, during, g, prompt), _check_files(files, rerun_truth, limit_kb, report,
                                                                           during)))
        lines = [_original_ids(line, rerun_truth.aliases) for line in report.disagreements[known:]]
        report.disagreements[known:] = [line for line in lines if line not in report.disagreements[:known]]
    for planned, files_held in held:
        for path, holds in files_held.items():
            add = _adder(report, str(path), planned.mode)
            by_prompt: dict[str | None, list[Any]] = {}
            for problem in scan(plan, planned, holds):
                if problem.kind in ("leak", "stale"):
                    by_prompt.setdefault(problem.source_prompt, []).append(problem)
            for source_prompt, found in by_prompt.items():
                found.sort(key=lambda p: not p.source.startswith("canary"))  # a canary says more than an id
                first = found[0]
                more = f" (and {len(found) - 1} more field(s) from that prompt)" if len(found) > 1 else ""
                add("another prompt", first.field, f"holds {first.value}, which came from prompt {source_prompt!r} "
                    f"({first.source}){more}", "write only the running prompt's data: read its session by its own "
                    "prompt id and keep nothing from an earlier prompt")


def check_metadata(path_or_result: Any, *, expect: Any = None, inline_limit_kb: float = 32, forbid: Sequence[str] = (),
                   env: Mapping[str, str] | None = None, rerun: HarnessFactory | None = None,
                   node_classes: Mapping[str, type] | None = None) -> MetadataReport:
    """Checks a file (``str`` / ``PathLike``) or every file of a ``RunResult``; see the module docstring.

    ``expect``: what the run resolved (:class:`RunWitness`, a ``PromptCapture``, or ``{node_id:
    {input: value}}``); ``inline_limit_kb``: the inline limit the saver was given; ``forbid``:
    more strings that must not appear; ``env``: the environment searched for tokens (default
    ``os.environ``); ``rerun`` and ``node_classes``: for the canary reruns (a ``RunResult`` only).
    Raises ``TypeError`` / ``ValueError`` for arguments of the wrong kind, naming the fix.
    """
    if isinstance(inline_limit_kb, bool) or not isinstance(inline_limit_kb, (int, float)) or inline_limit_kb < 0:
        raise ValueError(f"inline_limit_kb={inline_limit_kb!r}; fix: pass a number of KiB, 0 or more (default 32)")
    if isinstance(forbid, str):
        raise TypeError(f"forbid={forbid!r} is one string; fix: pass a tuple, forbid=({forbid!r},)")
    report = MetadataReport()
    truth = truth_of(path_or_result, expect)
    truth.secrets = secrets_from(truth.extra_data, forbid, env)
    if isinstance(path_or_result, RunResult):
        files, why = files_of(path_or_result)
        if why is not None or not files:
            _adder(report, None, "")("bad file", "the run's outputs", why or "no node of the run reported a file "
                                     f"(outputs of nodes {sorted(path_or_result.outputs)})",
                                     "run a prompt whose save node reports its images in its UI output")
        _check_files(files, truth, inline_limit_kb, report)
        if rerun is not None and truth.prompt is not None:
            _reruns(rerun, truth, node_classes or {}, inline_limit_kb, forbid, env, report)
        elif rerun is None:
            report.notes.append("values of another prompt: no canary reruns (they need the comfyruntime fixture, "
                                "or rerun=)")
    elif isinstance(path_or_result, (str, Path)) or hasattr(path_or_result, "__fspath__"):
        _check_files([OutputFile(Path(path_or_result), None)], truth, inline_limit_kb, report)
    else:
        raise TypeError(f"assert_metadata got {type(path_or_result).__name__}; fix: pass the image's path or the "
                        "RunResult of comfy_executor.run(...)")
    if truth.prompt is not None and not truth.knows_links and rerun is None:
        report.notes.append(f"linked inputs of the run checked: no ({truth.source}); pass expect=RunWitness(...) "
                            "or use the comfyruntime fixture, whose canary reruns judge them")
    return report


__all__ = ["HarnessFactory", "check_metadata"]

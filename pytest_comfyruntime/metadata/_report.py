"""What ``assert_metadata`` found: one :class:`MetadataProblem` per finding, the files read, the
parser/runtime disagreements (listed, not failures) and notes on what could not be checked."""
from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

Kind = Literal["bad file", "no runtime section", "schema", "sidecar", "inline limit", "prompt id", "order", "values",
               "disagreement", "timings", "comfyui chunk", "parameters", "secret", "another prompt",
               "executed metadata", "rerun"]


class MetadataProblem(BaseModel):
    """One finding: the ``file`` (None: the run itself), the ``field`` in it, what is wrong and the fix."""

    kind: Kind
    file: str | None = None
    field: str
    problem: str
    fix: str
    during: str = Field(default="", description="'' for the run checked, else which canary rerun")

    def __str__(self) -> str:
        where = f"{self.file}: " if self.file else ""
        during = f" [{self.during}]" if self.during else ""
        return f"{where}{self.field}: {self.problem}; fix: {self.fix}{during}"


class FileChecked(BaseModel):
    path: str
    format: str | None = None
    node_id: str | None = Field(default=None, description="the node that reported the file (RunResult only)")
    capture_mode: str | None = None
    placement: Literal["inline", "sidecar"] | None = None
    data_bytes: int | None = Field(default=None, description="size of the runtime data as compact JSON")
    during: str = ""


class MetadataReport(BaseModel):
    """The verdict of :func:`check_metadata`; ``ok`` when there is no problem."""

    files: list[FileChecked] = Field(default_factory=list)
    problems: list[MetadataProblem] = Field(default_factory=list)
    disagreements: list[str] = Field(default_factory=list,
                                     description="seed 001's lines: Disagreement at '<path>': parser=X → runtime=Y")
    notes: list[str] = Field(default_factory=list)
    reruns: int = Field(default=0, description="canary prompts run to look for values of another prompt")

    @property
    def ok(self) -> bool:
        return not self.problems

    def message(self, limit: int = 20) -> str:
        files = len({p.file for p in self.problems if p.file}) or len(self.files)
        head = (f"metadata check failed: {len(self.problems)} problem(s) in {files} file(s)" if self.problems
                else f"metadata check passed: {len(self.files)} file(s)")
        lines = [head]
        groups: dict[tuple[str, str, str, str], list[MetadataProblem]] = {}
        for problem in self.problems:  # the same finding in several files (the reruns) is shown once
            groups.setdefault((problem.kind, problem.field, problem.problem, problem.fix), []).append(problem)
        for same in list(groups.values())[:limit]:
            text = str(same[0]).replace("\n", "\n    ")
            lines.append(f"  - {text}")
            if len(same) > 1:
                also = "; ".join(f"{Path(p.file).name if p.file else 'the run'}" + (f" [{p.during}]" if p.during else "")
                                 for p in same[1:])
                lines.append(f"    (the same in {len(same) - 1} more: {also})")
        if len(groups) > limit:
            lines.append(f"  ... and {len(groups) - limit} more")
        if self.disagreements:
            lines.append("parser/runtime disagreements (runtime values win; listed, not failures):")
            lines += [f"  {line}" for line in self.disagreements[:limit]]
        if self.notes:
            lines.append("not checked:")
            lines += [f"  - {note}" for note in self.notes]
        return "\n".join(lines)


__all__ = ["FileChecked", "Kind", "MetadataProblem", "MetadataReport"]

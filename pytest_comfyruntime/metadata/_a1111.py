"""The A1111-style ``parameters`` string that many savers write, parsed into fields.

The format (AUTOMATIC1111's ``create_infotext``)::

    a photo of a cat
    Negative prompt: blurry
    Steps: 20, Sampler: Euler a, CFG scale: 7, Seed: 42, Size: 512x512, Model: v1-5, Lora hashes: "a: 1, b: 2"

The last line that starts with ``Steps:`` holds ``name: value`` pairs separated by ``, ``; a value
in double quotes may contain commas (and JSON escapes). Lines before ``Negative prompt:`` are the
positive prompt; the lines from it to the parameter line are the negative prompt.
"""
from __future__ import annotations

import json
import re
from typing import Final

from pydantic import BaseModel, Field

_PAIR: Final = re.compile(r'\s*([\w][\w \-/().+]*?):\s*("(?:\\.|[^\\"])*"|[^,]*)(?:,|$)')
#: A1111 field name -> the ComfyUI KSampler input it corresponds to.
KSAMPLER_FIELDS: Final = {"Steps": "steps", "Seed": "seed", "CFG scale": "cfg", "Denoising strength": "denoise"}


class A1111Parameters(BaseModel):
    """The parsed ``parameters`` text: ``positive``, ``negative`` and the ``fields`` of the last line."""

    positive: str = ""
    negative: str = ""
    fields: dict[str, str] = Field(default_factory=dict)

    def number(self, name: str) -> float | None:
        """A field as a number (None when absent or not a number)."""
        try:
            return float(self.fields[name])
        except (KeyError, ValueError):
            return None


def looks_like_parameters(text: str) -> bool:
    return bool(re.search(r"(^|\n)Steps: \d", text))


def _fields(line: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for match in _PAIR.finditer(line):
        name, value = match[1].strip(), match[2].strip()
        if not name:
            continue
        if value.startswith('"') and value.endswith('"') and len(value) >= 2:
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                value = value[1:-1]
        found[name] = value
    return found


def parse_parameters(text: str) -> A1111Parameters:
    """Parses an A1111 ``parameters`` string (see the module docstring); never raises."""
    lines = text.strip().split("\n")
    params_at = next((i for i in range(len(lines) - 1, -1, -1) if lines[i].startswith("Steps:")), None)
    fields = _fields(lines[params_at]) if params_at is not None else {}
    body = lines[:params_at] if params_at is not None else lines
    negative_at = next((i for i, line in enumerate(body) if line.startswith("Negative prompt:")), None)
    if negative_at is None:
        return A1111Parameters(positive="\n".join(body).strip(), fields=fields)
    negative = "\n".join(body[negative_at:])[len("Negative prompt:"):].strip()
    return A1111Parameters(positive="\n".join(body[:negative_at]).strip(), negative=negative, fields=fields)


__all__ = ["A1111Parameters", "KSAMPLER_FIELDS", "looks_like_parameters", "parse_parameters"]

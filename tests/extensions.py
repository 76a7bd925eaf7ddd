"""Custom-node packages written the way published ones are, for the custom-nodes tests (mock and
real tier): a package ``__init__`` that patches ``execution`` at import and registers V1 nodes (a
metadata saver); one that patches ``PromptServer.send_sync`` on the class to time nodes and sends
its own events (a per-node timer); one written for 2024's executor that reads
``execution.recursive_execute`` at import (a profiler that every ComfyUI since mid-2024 refuses).
"""
from __future__ import annotations

import textwrap
from pathlib import Path

METADATA_SAVER = '''
"""A metadata saver: wraps get_input_data when ComfyUI imports it, and brings a save node."""
import functools

import execution

SEEN = []
_original = execution.get_input_data


@functools.wraps(_original)
def _get_input_data(inputs, class_def, unique_id, *args, **kwargs):
    SEEN.append(class_def.__name__)
    return _original(inputs, class_def, unique_id, *args, **kwargs)


execution.get_input_data = _get_input_data


class MetaSave:
    @classmethod
    def INPUT_TYPES(cls):
        return {"required": {"value": ("INT", {"default": 0})}}

    RETURN_TYPES = ()
    FUNCTION = "save"
    OUTPUT_NODE = True
    CATEGORY = "meta"

    def save(self, value):
        return {"ui": {"saved": [value]}}


NODE_CLASS_MAPPINGS = {"MetaSave": MetaSave}
NODE_DISPLAY_NAME_MAPPINGS = {"MetaSave": "Save with metadata"}
'''

NODE_TIMER = '''
"""A per-node timer: patches PromptServer.send_sync on the class, and reports each prompt."""
import time

from server import PromptServer

TIMINGS = {}
_started = {}
_original = PromptServer.send_sync


def send_sync(self, event, data, sid=None):
    if event == "executing" and data.get("node") is not None:
        _started[data["node"]] = time.perf_counter()
        TIMINGS.setdefault(data.get("prompt_id"), []).append(data["node"])
    _original(self, event, data, sid)
    if event == "executing" and data.get("node") is None:  # the prompt is over (main.py says so, every era)
        _original(self, "node_timer.report", {"prompt_id": data.get("prompt_id"),
                                              "nodes": TIMINGS.get(data.get("prompt_id"), [])}, sid)


PromptServer.send_sync = send_sync
NODE_CLASS_MAPPINGS = {}
'''

OLD_PROFILER = '''
"""A profiler written for 2024's recursive executor."""
import execution

_original = execution.recursive_execute
NODE_CLASS_MAPPINGS = {}
'''

PROMPT = {"1": {"class_type": "CRInt", "inputs": {"value": 3}},
          "2": {"class_type": "MetaSave", "inputs": {"value": ["1", 0]}}}




def write_package(base: Path, folder: str, name: str, source: str) -> None:
    package = base / folder / name
    package.mkdir(parents=True, exist_ok=True)
    (package / "__init__.py").write_text(textwrap.dedent(source))

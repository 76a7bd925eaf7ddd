"""Stand-in for ``comfy_execution.utils`` (era D; read, not run): which node is running, as a
context variable. 2026 adds ``expected_outputs`` (the output indices a LAZY_OUTPUTS node may
skip) and ``is_output_needed`` (read from ``comfyanonymous/ComfyUI`` at 38e7afa8).
"""
import contextvars
from typing import FrozenSet, NamedTuple, Optional


class ExecutionContext(NamedTuple):
    prompt_id: str
    node_id: str
    list_index: Optional[int]
    expected_outputs: Optional[FrozenSet[int]] = None


current_executing_context = contextvars.ContextVar("current_executing_context", default=None)


def get_executing_context():
    return current_executing_context.get(None)


def is_output_needed(output_index):
    """False only when the running node knows that output is not connected downstream."""
    context = get_executing_context()
    if context is None or context.expected_outputs is None:
        return True
    return output_index in context.expected_outputs


class CurrentNodeContext:
    """Sets ``current_executing_context`` for the duration of a ``with`` block."""

    def __init__(self, prompt_id, node_id, list_index=None, expected_outputs=None):
        self.context = ExecutionContext(prompt_id=prompt_id, node_id=node_id, list_index=list_index,
                                        expected_outputs=expected_outputs)
        self.token = None

    def __enter__(self):
        self.token = current_executing_context.set(self.context)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if self.token is not None:
            current_executing_context.reset(self.token)

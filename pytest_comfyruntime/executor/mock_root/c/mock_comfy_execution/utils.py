"""Stand-in for ``comfy_execution.utils`` (era C): which node is running, as a context variable."""
import contextvars
from typing import NamedTuple, Optional


class ExecutionContext(NamedTuple):
    prompt_id: str
    node_id: str
    list_index: Optional[int]


current_executing_context = contextvars.ContextVar("current_executing_context", default=None)


def get_executing_context():
    return current_executing_context.get(None)


class CurrentNodeContext:
    """Sets ``current_executing_context`` for the duration of a ``with`` block."""

    def __init__(self, prompt_id, node_id, list_index=None):
        self.context = ExecutionContext(prompt_id=prompt_id, node_id=node_id, list_index=list_index)
        self.token = None

    def __enter__(self):
        self.token = current_executing_context.set(self.context)
        return self

    def __exit__(self, exc_type, exc_val, exc_tb):
        if self.token is not None:
            current_executing_context.reset(self.token)

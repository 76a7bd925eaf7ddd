"""Stand-in for ``comfy_execution.graph_utils`` (eras C and D)."""


def is_link(obj):
    """A link is a two-item list ``[node_id: str, output_index: int or float]``."""
    if not isinstance(obj, list) or len(obj) != 2:
        return False
    return isinstance(obj[0], str) and isinstance(obj[1], (int, float))


# Era C moved ExecutionBlocker here from ``comfy_execution.graph``.
class ExecutionBlocker:
    """Returned as an output, it makes consumers skip their function and pass it on."""

    def __init__(self, message):
        self.message = message

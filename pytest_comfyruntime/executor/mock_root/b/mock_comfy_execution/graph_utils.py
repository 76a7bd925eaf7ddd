"""Stand-in for ``comfy_execution.graph_utils`` (era B; ``ExecutionBlocker`` is in ``comfy_execution.graph``)."""


def is_link(obj):
    """A link is a two-item list ``[node_id: str, output_index: int or float]``."""
    if not isinstance(obj, list) or len(obj) != 2:
        return False
    return isinstance(obj[0], str) and isinstance(obj[1], (int, float))

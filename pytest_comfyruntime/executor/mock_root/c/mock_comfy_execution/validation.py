"""Stand-in for ``comfy_execution.validation`` (era C)."""


def validate_node_input(received_type, input_type, strict=False):
    """Types are ``"T1,T2,..."`` strings; non-strict needs an overlap, strict needs a subset."""
    if not received_type != input_type:  # honours custom ``__ne__`` on type objects
        return True
    if not isinstance(received_type, str) or not isinstance(input_type, str):
        return False
    received = {t.strip() for t in received_type.split(",")}
    wanted = {t.strip() for t in input_type.split(",")}
    return received.issubset(wanted) if strict else bool(received & wanted)

"""Stand-in for ``comfy_execution.validation`` (variant D-11 of 2026; read, not run: ``yzkee/ComfyUI``
``comfy_execution/validation.py`` at 783545f6, master up to 2026-08-22).

``validate_node_input`` with the 2026 shortcuts: ``"*"`` (any type) and the V3 match type
``"COMFY_MATCHTYPE_V3"`` always connect, and a list of options fits a ``"COMBO"`` input. This
generation has no loop validation (era D's ``validate_loops`` came later).
"""
_ANY = "*"
_MATCH_TYPE = "COMFY_MATCHTYPE_V3"
_COMBO = "COMBO"


def validate_node_input(received_type, input_type, strict=False):
    """Types are ``"T1,T2,..."`` strings; non-strict needs an overlap, strict needs a subset."""
    if not received_type != input_type:  # honours custom ``__ne__`` on type objects
        return True
    if received_type == _ANY or input_type == _ANY:
        return True
    if received_type == _MATCH_TYPE or input_type == _MATCH_TYPE:
        return True
    if isinstance(received_type, list) and input_type == _COMBO:
        return True
    if not isinstance(received_type, str) or not isinstance(input_type, str):
        return False
    received = {t.strip() for t in received_type.split(",")}
    wanted = {t.strip() for t in input_type.split(",")}
    if _ANY in received or _ANY in wanted:
        return True
    return received.issubset(wanted) if strict else bool(received & wanted)

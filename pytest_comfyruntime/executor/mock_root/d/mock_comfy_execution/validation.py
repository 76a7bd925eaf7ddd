"""Stand-in for ``comfy_execution.validation`` (era D; read, not run: ``Comfy-Org/ComfyUI`` at 503745c9).

``validate_node_input`` gained the 2026 shortcuts: ``"*"`` (any type) and the V3 match type
``"COMFY_MATCHTYPE_V3"`` always connect, and a list of options fits a ``"COMBO"`` input.
``validate_loops`` pairs V3 loop boundary nodes (Start/End Loop); the mock runs V1 nodes only,
which never declare a boundary, so it only has the "no loops" path.
"""
_ANY = "*"
_MATCH_TYPE = "COMFY_MATCHTYPE_V3"
_COMBO = "COMBO"


class LoopValidationError(Exception):
    def __init__(self, error_type, message, details, node_ids, output_ids):
        super().__init__(details)
        self.error = {
            "type": "custom_validation_failed",
            "message": message,
            "details": details,
            "extra_info": {
                "input_name": "loop boundary",
                "loop_error_type": error_type,
                "node_ids": sorted(node_ids),
                "output_ids": sorted(output_ids),
            },
        }


def validate_loops(prompt, outputs, node_ids, start_nodes, end_nodes):
    """``{start_id: end_id}`` for the loop pairs; ``{}`` when the prompt has no loop boundaries."""
    if not start_nodes and not end_nodes:
        return {}
    raise NotImplementedError(
        "loop boundary nodes (V3 Start/End Loop) are not run by the pytest-comfyruntime mock; "
        "use the real ComfyUI backend for them")


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

"""Pure pieces of ``validate_inputs`` / ``validate_prompt`` shared by the mock eras.

Nothing here calls a name an extension can patch (``get_input_data``, ``validate_inputs``): the
era modules keep those calls, as module globals, in their own code. Error dicts have ComfyUI's
exact keys, types and messages.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeAlias

#: One of ComfyUI's error dicts (``type``, ``message``, ``details``, ``extra_info``).
ErrorDict: TypeAlias = dict[str, Any]


def error(kind: str, message: str, details: str, extra_info: dict[str, Any]) -> ErrorDict:
    return {"type": kind, "message": message, "details": details, "extra_info": extra_info}


def required_missing(name: str) -> ErrorDict:
    return error("required_input_missing", "Required input is missing", f"{name}", {"input_name": name})


def bad_link(name: str, info: Any, value: Any) -> ErrorDict:
    return error(
        "bad_linked_input",
        "Bad linked input, must be a length-2 list of [node_id, slot_index]",
        f"{name}",
        {"input_name": name, "input_config": info, "received_value": value},
    )


def type_mismatch(name: str, info: Any, received_type: Any, input_type: Any, link: Any) -> ErrorDict:
    return error(
        "return_type_mismatch",
        "Return type mismatch between linked nodes",
        f"{name}, received_type({received_type}) mismatch input_type({input_type})",
        {"input_name": name, "input_config": info, "received_type": received_type, "linked_node": link},
    )


def inner_exception(name: str, info: Any, ex: BaseException, exception_type: str, tb: list[str],
                    link: Any) -> ErrorDict:
    return error(
        "exception_during_inner_validation",
        "Exception when validating inner node",
        str(ex),
        {"input_name": name, "input_config": info, "exception_message": str(ex),
         "exception_type": exception_type, "traceback": tb, "linked_node": link},
    )


def validation_exception(ex: BaseException, exception_type: str, tb: list[str]) -> ErrorDict:
    return error("exception_during_validation", "Exception when validating node", str(ex),
                 {"exception_type": exception_type, "traceback": tb})


_COERCE: dict[str, type] = {"INT": int, "FLOAT": float, "STRING": str, "BOOLEAN": bool}


def coerce_constant(name: str, val: Any, input_type: Any, info: Any, *, boolean: bool) -> tuple[Any, ErrorDict | None]:
    """Converts a widget value as ComfyUI does; returns ``(value, error_or_None)``."""
    convert = _COERCE.get(input_type) if isinstance(input_type, str) else None
    if convert is None or (input_type == "BOOLEAN" and not boolean):
        return val, None
    try:
        return convert(val), None
    except Exception as ex:  # ComfyUI reports any conversion failure the same way
        return val, error(
            "invalid_input_type",
            f"Failed to convert an input value to a {input_type} value",
            f"{name}, {val}, {ex}",
            {"input_name": name, "input_config": info, "received_value": val, "exception_message": str(ex)},
        )


def range_and_combo(name: str, val: Any, input_type: Any, extra_info: dict[str, Any], info: Any) -> ErrorDict | None:
    """The min / max / combo checks, in ComfyUI's order; the first failure or None."""
    if "min" in extra_info and val < extra_info["min"]:
        return error("value_smaller_than_min", "Value {} smaller than min of {}".format(val, extra_info["min"]),
                     f"{name}", {"input_name": name, "input_config": info, "received_value": val})
    if "max" in extra_info and val > extra_info["max"]:
        return error("value_bigger_than_max", "Value {} bigger than max of {}".format(val, extra_info["max"]),
                     f"{name}", {"input_name": name, "input_config": info, "received_value": val})
    if isinstance(input_type, list) and val not in input_type:
        if len(input_type) > 20:
            list_info, input_config = f"(list of length {len(input_type)})", None
        else:
            list_info, input_config = str(input_type), info
        return error("value_not_in_list", "Value not in list", f"{name}: '{val}' not in {list_info}",
                     {"input_name": name, "input_config": input_config, "received_value": val})
    return None


def custom_validation_failures(input_names: Iterable[str], results: Iterable[Any],
                               blocker: type | None = None) -> list[ErrorDict]:
    """``blocker``: the era's ExecutionBlocker class (results that are one pass); else by name."""
    errors: list[ErrorDict] = []
    for name in input_names:
        for r in results:
            if r is True or (isinstance(r, blocker) if blocker is not None else type(r).__name__ == "ExecutionBlocker"):
                continue
            details = f"{name}" if r is False else f"{name} - {str(r)}"  # str(), not format(): as ComfyUI
            errors.append(error("custom_validation_failed", "Custom validation failed for node", details,
                                {"input_name": name}))
    return errors


def collect_node_errors(prompt: dict[str, Any], output_id: str, validated: dict[str, Any],
                        node_errors: dict[str, Any]) -> None:
    """Adds every node that failed with reasons of its own (not only because of upstream)."""
    for node_id, result in validated.items():
        valid, reasons = result[0], result[1]
        if valid is not True and len(reasons) > 0:
            if node_id not in node_errors:
                node_errors[node_id] = {"errors": reasons, "dependent_outputs": [],
                                        "class_type": prompt[node_id]["class_type"]}
            node_errors[node_id]["dependent_outputs"].append(output_id)


def outputs_failed(errors: list[tuple[str, list[ErrorDict]]]) -> ErrorDict:
    lines = [f"{e['message']}: {e['details']}" for _, reasons in errors for e in reasons]
    return error("prompt_outputs_failed_validation", "Prompt outputs failed validation", "\n".join(lines), {})


def no_outputs() -> ErrorDict:
    return error("prompt_no_outputs", "Prompt has no outputs", "", {})

"""A custom-node package as a user writes it: it patches ComfyUI when ComfyUI imports it."""
import execution

CALLS = []
_original = execution.get_input_data


def get_input_data(*args, **kwargs):
    CALLS.append(args[1] if len(args) > 1 else kwargs.get("class_def"))
    return _original(*args, **kwargs)


execution.get_input_data = get_input_data
NODE_CLASS_MAPPINGS = {}

"""Stand-in for ComfyUI's ``folder_paths``.

The plugin points ``base_path`` and the output, temp, input and user directories into the test
session's temporary folder (and each test's ``tmp_path``) right after loading this module.
"""
import os
import time

supported_pt_extensions = {".ckpt", ".pt", ".pt2", ".bin", ".pth", ".safetensors", ".pkl", ".sft"}

base_path = ""
models_dir = ""
output_directory = ""
temp_directory = ""
input_directory = ""
user_directory = ""

folder_names_and_paths = {}
filename_list_cache = {}


def _point_to(base):
    """Called by the plugin: put every directory under ``base`` (created on demand)."""
    global base_path, models_dir, output_directory, temp_directory, input_directory, user_directory
    global folder_names_and_paths, filename_list_cache
    base_path = base
    models_dir = os.path.join(base, "models")
    output_directory = os.path.join(base, "output")
    temp_directory = os.path.join(base, "temp")
    input_directory = os.path.join(base, "input")
    user_directory = os.path.join(base, "user")
    folder_names_and_paths = {
        name: ([os.path.join(models_dir, name)], set(supported_pt_extensions))
        for name in ("checkpoints", "vae", "loras", "embeddings", "upscale_models", "clip", "unet")
    }
    filename_list_cache = {}


def set_output_directory(output_dir):
    global output_directory
    output_directory = output_dir


def set_temp_directory(temp_dir):
    global temp_directory
    temp_directory = temp_dir


def set_input_directory(input_dir):
    global input_directory
    input_directory = input_dir


def set_user_directory(user_dir):
    global user_directory
    user_directory = user_dir


def get_output_directory():
    return output_directory


def get_temp_directory():
    return temp_directory


def get_input_directory():
    return input_directory


def get_user_directory():
    return user_directory


SYSTEM_USER_PREFIX = "__"


def get_system_user_directory(name="system"):
    """``<user directory>/__<name>``: a System User folder, reachable through the internal API
    only (never through the HTTP user endpoints); ComfyUI 0.3.x on."""
    if not name or not isinstance(name, str):
        raise ValueError("System user name cannot be empty")
    if not name.replace("_", "").isalnum():
        raise ValueError(f"Invalid system user name: '{name}'")
    if name.startswith("_"):
        raise ValueError("System user name should not start with underscore")
    return os.path.join(get_user_directory(), f"{SYSTEM_USER_PREFIX}{name}")


def get_public_user_directory(user_id):
    """The folder of a public user, or None for an empty id or a System User (``__`` prefix)."""
    if not user_id or not isinstance(user_id, str):
        return None
    if user_id.startswith(SYSTEM_USER_PREFIX):
        return None
    return os.path.join(get_user_directory(), user_id)


def get_directory_by_type(type_name):
    if type_name == "output":
        return get_output_directory()
    if type_name == "temp":
        return get_temp_directory()
    if type_name == "input":
        return get_input_directory()
    return None


def annotated_filepath(name):
    for suffix, getter in ((" [output]", get_output_directory), (" [input]", get_input_directory),
                           (" [temp]", get_temp_directory)):
        if name.endswith(suffix):
            return name[: -len(suffix)], getter()
    return name, None


def get_annotated_filepath(name, default_dir=None):
    name, base_dir = annotated_filepath(name)
    if base_dir is None:
        base_dir = default_dir if default_dir is not None else get_input_directory()
    return os.path.join(base_dir, name)


def exists_annotated_filepath(name):
    return os.path.exists(get_annotated_filepath(name))


def add_model_folder_path(folder_name, full_folder_path, is_default=False):
    paths, exts = folder_names_and_paths.setdefault(folder_name, ([], set()))
    if full_folder_path in paths:
        return
    if is_default:
        paths.insert(0, full_folder_path)
    else:
        paths.append(full_folder_path)
    filename_list_cache.pop(folder_name, None)


def get_folder_paths(folder_name):
    return folder_names_and_paths[folder_name][0][:]


def get_filename_list(folder_name):
    paths, exts = folder_names_and_paths.get(folder_name, ([], set()))
    found = set()
    for directory in paths:
        if not os.path.isdir(directory):
            continue
        for root, _dirs, files in os.walk(directory, followlinks=True):
            for f in files:
                if not exts or os.path.splitext(f)[1].lower() in exts:
                    found.add(os.path.relpath(os.path.join(root, f), directory).replace(os.sep, "/"))
    return sorted(found)


def get_full_path(folder_name, filename):
    paths, _ = folder_names_and_paths.get(folder_name, ([], set()))
    for directory in paths:
        candidate = os.path.join(directory, os.path.normpath("/" + filename).lstrip(os.sep))
        if os.path.isfile(candidate):
            return candidate
    return None


def get_full_path_or_raise(folder_name, filename):
    full_path = get_full_path(folder_name, filename)
    if full_path is None:
        raise FileNotFoundError(f"Model in folder '{folder_name}' with filename '{filename}' not found.")
    return full_path


def get_save_image_path(filename_prefix, output_dir, image_width=0, image_height=0):
    """Returns ``(full_output_folder, filename, counter, subfolder, filename_prefix)`` as ComfyUI does."""
    if "%" in filename_prefix:
        now = time.localtime()
        for key, value in (("%width%", image_width), ("%height%", image_height), ("%year%", now.tm_year),
                           ("%month%", f"{now.tm_mon:02d}"), ("%day%", f"{now.tm_mday:02d}"),
                           ("%hour%", f"{now.tm_hour:02d}"), ("%minute%", f"{now.tm_min:02d}"),
                           ("%second%", f"{now.tm_sec:02d}")):
            filename_prefix = filename_prefix.replace(key, str(value))
    subfolder = os.path.dirname(os.path.normpath(filename_prefix))
    filename = os.path.basename(os.path.normpath(filename_prefix))
    full_output_folder = os.path.join(output_dir, subfolder)
    if os.path.commonpath((output_dir, os.path.abspath(full_output_folder))) != output_dir:
        raise Exception("Saving image outside the output folder is not allowed.")
    counter = 1
    if os.path.isdir(full_output_folder):
        for existing in os.listdir(full_output_folder):
            stem = existing.rsplit(".", 1)[0]
            if stem[: len(filename) + 1] != filename + "_":
                continue
            digits = stem[len(filename) + 1:].split("_")[0]
            if digits.isdigit():
                counter = max(counter, int(digits) + 1)
    else:
        os.makedirs(full_output_folder, exist_ok=True)
    return full_output_folder, filename, counter, subfolder, filename_prefix

"""Stand-in for ComfyUI's ``nodes`` module, era D (ComfyUI of 2026; read, not run).

``NODE_CLASS_MAPPINGS`` starts with pure-Python stand-ins for the built-in txt2img nodes (real
class names and input names); the plugin registers test nodes into it per test and removes them
afterwards. The interrupt helpers wrap ``comfy.model_management`` exactly as ComfyUI's do.

``load_custom_node(module_path, ignore=set(), module_parent="custom_nodes")`` loads a custom-node
package as ``Comfy-Org/ComfyUI`` ``nodes.py`` at 02217e36 does: era C's loader (``_x_`` module
names for packages, ``LOADED_MODULE_DIRS``, ``pyproject.toml`` web folders, ``RELATIVE_PYTHON_MODULE``)
with display names of ignored nodes left out too, and the V3 branch: ``comfy_entrypoint()``
(awaited when it is a coroutine function) must return a ``comfy_api.latest.ComfyExtension``, whose
``on_load()`` and ``get_node_list()`` are awaited; each node's ``GET_SCHEMA()`` gives its id and
display name. ComfyUI builds the spec with ``app.governance.pack_module_spec`` for ``custom_nodes``,
which without an organisation's custom-node policy is ``importlib.util.spec_from_file_location``
itself (with one, a loader that never reads bytecode); the mock has no ``app`` package and no
policy, so it calls ``spec_from_file_location``.
"""
import importlib.util
import inspect
import logging
import os
import sys
import traceback

import comfy.model_management
import folder_paths
from comfy_api.latest import ComfyExtension

from pytest_comfyruntime.nodes import txt2img as _txt2img

MAX_RESOLUTION = 16384


def before_node_execution():
    comfy.model_management.throw_exception_if_processing_interrupted()


def interrupt_processing(value=True):
    comfy.model_management.interrupt_current_processing(value)


CheckpointLoaderSimple = _txt2img.CheckpointLoaderSimple
CLIPTextEncode = _txt2img.CLIPTextEncode
EmptyLatentImage = _txt2img.EmptyLatentImage
KSampler = _txt2img.KSampler
VAEDecode = _txt2img.VAEDecode
SaveImage = _txt2img.SaveImage
PreviewImage = _txt2img.PreviewImage

NODE_CLASS_MAPPINGS = dict(_txt2img.TXT2IMG_NODE_CLASS_MAPPINGS)
NODE_DISPLAY_NAME_MAPPINGS = dict(_txt2img.TXT2IMG_NODE_DISPLAY_NAME_MAPPINGS)
EXTENSION_WEB_DIRS = {}

# Module name -> folder of each custom-node module loaded.
LOADED_MODULE_DIRS = {}


def get_module_name(module_path: str) -> str:
    """The custom node's name: the basename of ``module_path``, without its extension when it is
    a file (``.../custom_nodes/my_node.py`` and ``.../custom_nodes/my_node`` -> ``my_node``)."""
    base_path = os.path.basename(module_path)
    if os.path.isfile(module_path):
        base_path = os.path.splitext(base_path)[0]
    return base_path


def _project_web(module_path):
    """``comfy_config.config_parser.extract_node_configuration(module_path)`` as far as
    ``load_custom_node`` reads it: ``(project.name, tool.comfy.web)``. A single file is a project
    named for the file, without a web folder; so is a folder without ``pyproject.toml``. A
    ``pyproject.toml`` that is no TOML raises, as ComfyUI's parser does."""
    if os.path.isfile(module_path):
        return os.path.splitext(os.path.basename(module_path))[0], None
    toml_path = os.path.join(module_path, "pyproject.toml")
    if not os.path.exists(toml_path):
        return os.path.basename(module_path), None
    try:
        import tomllib
    except ImportError:  # Python 3.10: pydantic-settings reads TOML with tomli there
        import tomli as tomllib
    with open(toml_path, "rb") as toml_file:
        pyproject = tomllib.load(toml_file)
    comfy = (pyproject.get("tool") or {}).get("comfy", {})
    return pyproject.get("project", {}).get("name", ""), comfy.get("web")


async def load_custom_node(module_path: str, ignore=set(), module_parent="custom_nodes") -> bool:
    module_name = get_module_name(module_path)
    if os.path.isfile(module_path):
        module_name = os.path.splitext(module_path)[0]
        sys_module_name = module_name
    elif os.path.isdir(module_path):
        sys_module_name = module_path.replace(".", "_x_")

    try:
        logging.debug("Trying to load custom node {}".format(module_path))
        # ComfyUI: app.governance.pack_module_spec (= spec_from_file_location without a custom-node policy)
        if os.path.isfile(module_path):
            module_spec = importlib.util.spec_from_file_location(sys_module_name, module_path)
            module_dir = os.path.split(module_path)[0]
        else:
            module_spec = importlib.util.spec_from_file_location(sys_module_name, os.path.join(module_path, "__init__.py"))
            module_dir = module_path

        module = importlib.util.module_from_spec(module_spec)
        sys.modules[sys_module_name] = module
        module_spec.loader.exec_module(module)

        LOADED_MODULE_DIRS[module_name] = os.path.abspath(module_dir)

        try:
            project_name, web_dir_name = _project_web(module_path)
            if web_dir_name:
                web_dir_path = os.path.join(module_path, web_dir_name)
                if os.path.isdir(web_dir_path):
                    EXTENSION_WEB_DIRS[project_name] = web_dir_path
                    logging.info("Automatically register web folder {} for {}".format(web_dir_name, project_name))
        except Exception as e:
            logging.warning("Unable to parse pyproject.toml due to lack dependency pydantic-settings, "
                            f"please run 'pip install -r requirements.txt': {e}")

        if getattr(module, "WEB_DIRECTORY", None) is not None:
            web_dir = os.path.abspath(os.path.join(module_dir, module.WEB_DIRECTORY))
            if os.path.isdir(web_dir):
                EXTENSION_WEB_DIRS[module_name] = web_dir

        # V1 node definition
        if getattr(module, "NODE_CLASS_MAPPINGS", None) is not None:
            for name, node_cls in module.NODE_CLASS_MAPPINGS.items():
                if name not in ignore:
                    NODE_CLASS_MAPPINGS[name] = node_cls
                    node_cls.RELATIVE_PYTHON_MODULE = "{}.{}".format(module_parent, get_module_name(module_path))
            if getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", None) is not None:
                for name, display_name in module.NODE_DISPLAY_NAME_MAPPINGS.items():
                    if name not in ignore:
                        NODE_DISPLAY_NAME_MAPPINGS[name] = display_name
            return True
        # V3 extension definition
        elif hasattr(module, "comfy_entrypoint"):
            entrypoint = module.comfy_entrypoint
            if not callable(entrypoint):
                logging.warning(f"comfy_entrypoint in {module_path} is not callable, skipping.")
                return False
            try:
                if inspect.iscoroutinefunction(entrypoint):
                    extension = await entrypoint()
                else:
                    extension = entrypoint()
                if not isinstance(extension, ComfyExtension):
                    logging.warning(f"comfy_entrypoint in {module_path} did not return a ComfyExtension, skipping.")
                    return False
                await extension.on_load()
                node_list = await extension.get_node_list()
                if not isinstance(node_list, list):
                    logging.warning(f"comfy_entrypoint in {module_path} did not return a list of nodes, skipping.")
                    return False
                for node_cls in node_list:
                    schema = node_cls.GET_SCHEMA()
                    if schema.node_id not in ignore:
                        NODE_CLASS_MAPPINGS[schema.node_id] = node_cls
                        node_cls.RELATIVE_PYTHON_MODULE = "{}.{}".format(module_parent, get_module_name(module_path))
                        if schema.display_name is not None:
                            NODE_DISPLAY_NAME_MAPPINGS[schema.node_id] = schema.display_name
                return True
            except Exception as e:
                logging.warning(f"Error while calling comfy_entrypoint in {module_path}: {e}")
                return False
        else:
            logging.warning(f"Skip {module_path} module for custom nodes due to the lack of NODE_CLASS_MAPPINGS or comfy_entrypoint (need one).")
            return False
    except Exception as e:
        logging.warning(traceback.format_exc())
        logging.warning(f"Cannot import {module_path} module for custom nodes: {e}")
        return False

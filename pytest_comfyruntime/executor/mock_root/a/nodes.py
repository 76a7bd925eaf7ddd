"""Stand-in for ComfyUI's ``nodes`` module, era A (spring 2024).

``NODE_CLASS_MAPPINGS`` starts with pure-Python stand-ins for the built-in txt2img nodes (real
class names and input names); the plugin registers test nodes into it per test and removes them
afterwards. The interrupt helpers wrap ``comfy.model_management`` exactly as ComfyUI's do.

``load_custom_node(module_path, ignore=set())`` loads a custom-node package as this era's ComfyUI
does (written from reading its ``nodes.py``): a plain function; the ``sys.modules`` name is the
folder's basename for a package and the path without its extension for a single file; node
classes are registered unless their name is in ``ignore`` (display names are all taken); no
``LOADED_MODULE_DIRS``, no ``get_module_name``, no ``RELATIVE_PYTHON_MODULE``, no V3 extensions.
"""
import importlib.util
import logging
import os
import sys
import traceback

import comfy.model_management
import folder_paths

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


def load_custom_node(module_path, ignore=set()):
    module_name = os.path.basename(module_path)
    if os.path.isfile(module_path):
        module_name = os.path.splitext(module_path)[0]
    try:
        logging.debug("Trying to load custom node {}".format(module_path))
        if os.path.isfile(module_path):
            module_spec = importlib.util.spec_from_file_location(module_name, module_path)
            module_dir = os.path.split(module_path)[0]
        else:
            module_spec = importlib.util.spec_from_file_location(module_name, os.path.join(module_path, "__init__.py"))
            module_dir = module_path

        module = importlib.util.module_from_spec(module_spec)
        sys.modules[module_name] = module
        module_spec.loader.exec_module(module)

        if getattr(module, "WEB_DIRECTORY", None) is not None:
            web_dir = os.path.abspath(os.path.join(module_dir, module.WEB_DIRECTORY))
            if os.path.isdir(web_dir):
                EXTENSION_WEB_DIRS[module_name] = web_dir

        if getattr(module, "NODE_CLASS_MAPPINGS", None) is not None:
            for name in module.NODE_CLASS_MAPPINGS:
                if name not in ignore:
                    NODE_CLASS_MAPPINGS[name] = module.NODE_CLASS_MAPPINGS[name]
            if getattr(module, "NODE_DISPLAY_NAME_MAPPINGS", None) is not None:
                NODE_DISPLAY_NAME_MAPPINGS.update(module.NODE_DISPLAY_NAME_MAPPINGS)
            return True
        logging.warning(f"Skip {module_path} module for custom nodes due to the lack of NODE_CLASS_MAPPINGS.")
        return False
    except Exception as e:
        logging.warning(traceback.format_exc())
        logging.warning(f"Cannot import {module_path} module for custom nodes: {e}")
        return False

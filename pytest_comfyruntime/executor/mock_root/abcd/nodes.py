"""Stand-in for ComfyUI's ``nodes`` module.

``NODE_CLASS_MAPPINGS`` starts with pure-Python stand-ins for the built-in txt2img nodes (real
class names and input names); the plugin registers test nodes into it per test and removes them
afterwards. The interrupt helpers wrap ``comfy.model_management`` exactly as ComfyUI's do.
"""
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
LOADED_MODULE_DIRS = {}

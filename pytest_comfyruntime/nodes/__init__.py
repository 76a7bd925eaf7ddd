"""Built-in node packs for tests: pure Python, importable without torch, numpy, PIL or ComfyUI.

- The ``CR`` test pack (:mod:`.basic`): constants, arithmetic, a lazy switch, a failing node, a
  CPU burner, an ``IS_CHANGED`` node, list nodes and the ``CRRecord`` output node.
- Stand-ins for ComfyUI's default text-to-image nodes (:mod:`.txt2img`), with ComfyUI's real
  class names, inputs and outputs, doing cheap deterministic work and writing real PNG files.

The mappings are read-only; copy them (``{**TEST_NODE_CLASS_MAPPINGS}``) to extend them.
"""
from ._png import read_png_text
from .basic import ANY, TEST_NODE_CLASS_MAPPINGS, TEST_NODE_DISPLAY_NAME_MAPPINGS, AnyType
from .txt2img import TXT2IMG_NODE_CLASS_MAPPINGS, TXT2IMG_NODE_DISPLAY_NAME_MAPPINGS

__all__ = [
    "ANY",
    "AnyType",
    "TEST_NODE_CLASS_MAPPINGS",
    "TEST_NODE_DISPLAY_NAME_MAPPINGS",
    "TXT2IMG_NODE_CLASS_MAPPINGS",
    "TXT2IMG_NODE_DISPLAY_NAME_MAPPINGS",
    "read_png_text",
]

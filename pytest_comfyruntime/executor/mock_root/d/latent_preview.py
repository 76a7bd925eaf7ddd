"""Stand-in for ComfyUI's ``latent_preview`` (era D; read, not run: ``Comfy-Org/ComfyUI`` at 2d619ed9).

Only the preview-method switch that ``execution`` of 2026 calls at the start of every prompt:
``set_preview_method(extra_data.get("preview_method"))`` sets the process-wide
``comfy.cli_args.args.preview_method`` to that method (a ``LatentPreviewMethod`` value such as
``"taesd"``), or back to the value it had when this module was imported when the prompt names
none, ``"default"`` or an unknown one. No previewers (they need torch).
"""
from comfy.cli_args import LatentPreviewMethod, args

default_preview_method = args.preview_method

MAX_PREVIEW_RESOLUTION = args.preview_size


def set_preview_method(override=None):
    if override and override != "default":
        method = LatentPreviewMethod.from_string(override)
        if method is not None:
            args.preview_method = method
            return
    args.preview_method = default_preview_method

"""Stand-in for ``comfy.cli_args`` (variant D-11 of 2026): ``args`` with ComfyUI's defaults for a CPU
run. Era D's copy plus ``--enable-assets`` / ``--enable-asset-hashing`` (off by default), which
``yzkee/ComfyUI`` ``comfy/cli_args.py`` at 783545f6 has and ``comfy_execution.asset_enrichment`` reads.

2026: ``--preview-method`` parses into ``LatentPreviewMethod`` (``latent_preview.set_preview_method``
switches it per prompt) and ``--cache-ram`` takes zero, one or two numbers.
"""
import argparse
import enum


class LatentPreviewMethod(enum.Enum):
    NoPreviews = "none"
    Auto = "auto"
    Latent2RGB = "latent2rgb"
    TAESD = "taesd"

    @classmethod
    def from_string(cls, value):
        for member in cls:
            if member.value == value:
                return member
        return None


args = argparse.Namespace(
    cpu=True,
    listen="127.0.0.1",
    port=8188,
    output_directory=None,
    temp_directory=None,
    input_directory=None,
    cache_lru=0,
    cache_ram=[],
    cache_classic=False,
    cache_none=False,
    disable_smart_memory=False,
    preview_method=LatentPreviewMethod.NoPreviews,
    verbose="INFO",
    disable_all_custom_nodes=False,
    disable_metadata=False,
    preview_size=512,
    enable_assets=False,
    enable_asset_hashing=False,
)

"""Stand-in for ``comfy.cli_args`` (eras A to C): ``args`` with ComfyUI's defaults for a CPU run."""
import argparse

args = argparse.Namespace(
    cpu=True,
    listen="127.0.0.1",
    port=8188,
    output_directory=None,
    temp_directory=None,
    input_directory=None,
    cache_lru=0,
    cache_ram=0,
    cache_classic=False,
    cache_none=False,
    disable_smart_memory=False,
    preview_method="none",
    verbose="INFO",
    disable_all_custom_nodes=False,
    disable_metadata=False,
)

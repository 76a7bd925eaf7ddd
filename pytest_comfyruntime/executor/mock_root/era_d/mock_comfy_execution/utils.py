"""Stand-in for ``comfy_execution.utils`` (era D; read, not run): which node is running, as a
context variable. 2026 adds ``expected_outputs`` (the output indices a LAZY_OUTPUTS node may
skip) and ``is_output_needed`` (read from ``comfyanonymous/ComfyUI`` at 38e7afa8).
"""
__comfyruntime_include__("utils.py")  # shared with era C

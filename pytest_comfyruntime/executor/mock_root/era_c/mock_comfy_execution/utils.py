"""Stand-in for ``comfy_execution.utils`` (era C): which node is running, as a context variable."""
__comfyruntime_include__("utils.py")  # shared with era D

"""Stand-in for ComfyUI's ``comfy`` package (only the sub-modules extensions commonly touch)."""

"""Stand-in for ComfyUI's ``comfy_api`` package (era C, ComfyUI 0.3.75).

``comfy_api.latest`` holds the V3 node API (``io``) and ``ComfyExtension``; ``comfy_api.internal``
the markers ``execution.py`` uses for V3 nodes. Nothing heavy (no torch, PIL or numpy).
"""

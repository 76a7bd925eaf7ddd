"""Stand-in for ComfyUI's ``comfy_api`` package (era D, ComfyUI of 2026; read, not run).

``comfy_api.latest`` holds the V3 node API (``io``), ``ComfyExtension``, the CacheProvider API
(``Caching`` and its types) and the custom-node SDK's provider seam (``sdk``);
``comfy_api.internal`` the markers ``execution.py`` uses for V3 nodes. Nothing heavy (no torch,
PIL or numpy).
"""

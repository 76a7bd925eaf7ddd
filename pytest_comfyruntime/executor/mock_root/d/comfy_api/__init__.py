"""Stand-in for ComfyUI's ``comfy_api`` package (era D, ComfyUI of 2026; read, not run).

Only what the CacheProvider API needs: ``comfy_api.latest`` with ``Caching`` and its types.
No V3 node classes (``io``, ``ui``) and nothing heavy (no torch, PIL or numpy).
"""

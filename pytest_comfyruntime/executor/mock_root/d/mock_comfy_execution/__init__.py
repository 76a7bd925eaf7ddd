"""Stand-in for ComfyUI's ``comfy_execution`` package (era D, ComfyUI of 2026; read, not run)."""

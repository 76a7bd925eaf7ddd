"""Example ComfyUI extension: per-prompt capture of node inputs (see hooks.py)."""

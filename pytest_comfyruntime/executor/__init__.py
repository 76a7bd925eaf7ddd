"""The executor backends: the mock ComfyUI of each era, and the harness that drives one."""

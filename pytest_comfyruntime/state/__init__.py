"""The bottom layer: one undo record (:mod:`.undo`) and the snapshot/restore core (:mod:`.snapshot`).

Nothing here knows about ComfyUI, pytest or the checks; every other sub-package builds on it.
"""

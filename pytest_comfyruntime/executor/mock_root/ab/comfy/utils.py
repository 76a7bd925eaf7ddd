"""Stand-in for ``comfy.utils`` (eras A and B): the progress bar and its process-wide hook.

The hook is called with three arguments, ``(value, total, preview)``; eras C and D add
``node_id=``, so a hook written for one breaks on the other exactly as it does in ComfyUI.
"""
import comfy.model_management

PROGRESS_BAR_ENABLED = True


def set_progress_bar_enabled(enabled):
    global PROGRESS_BAR_ENABLED
    PROGRESS_BAR_ENABLED = enabled


PROGRESS_BAR_HOOK = None


def set_progress_bar_global_hook(function):
    global PROGRESS_BAR_HOOK
    PROGRESS_BAR_HOOK = function


class ProgressBar:
    def __init__(self, total):
        self.total = total
        self.current = 0
        self.hook = PROGRESS_BAR_HOOK

    def update_absolute(self, value, total=None, preview=None):
        if total is not None:
            self.total = total
        self.current = min(value, self.total)
        if self.hook is None:
            return
        self.hook(self.current, self.total, preview)

    def update(self, value):
        self.update_absolute(self.current + value)

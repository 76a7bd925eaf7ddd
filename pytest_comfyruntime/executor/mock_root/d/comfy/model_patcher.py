"""Stand-in for ``comfy.model_patcher`` (era D; read, not run): only what ``execution`` and
``comfy_execution.caching`` of 2026 use, and nothing heavy (no torch, no ModelPatcher).

``PromptModelTracker`` is known from its call sites in ``execution.py`` (04e2a914): one per
``PromptExecutor`` (attribute ``prompt_model_tracker``), ``start()`` right after the interrupt
flag is cleared, ``add(output_values)`` as the ``ExecutionList``'s ``output_link_callback`` for
every value list linked into a consumer, ``end()`` in ``execute_async``'s ``finally``. What the
real tracker does with models is not reproduced: the mock has no models, so it only records
the linked value lists of the running prompt (``linked``) and whether a prompt is running.
"""


def is_model_patcher_output(output):
    """Whether a cached output is a model patcher (never, in the mock)."""
    return False


class PromptModelTracker:
    def __init__(self):
        self.active = False
        self.linked = 0

    def start(self):
        self.active = True
        self.linked = 0

    def add(self, outputs):
        if self.active:
            self.linked += 1

    def end(self):
        self.active = False

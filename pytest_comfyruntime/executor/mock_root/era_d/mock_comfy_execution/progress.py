"""Stand-in for ``comfy_execution.progress`` (era D; read, not run: ``Comfy-Org/ComfyUI`` at 1b71f275).

As in era C: ``execute_async`` replaces the process-wide ``global_progress_registry`` for every
prompt and registers one ``WebUIProgressHandler``, which sends ``progress_state`` with every
non-pending node seen so far to ``server.client_id`` (so with ``sid=None`` without a client).
2026 adds a node ``activity`` ("what a running node is spending time on"), set with
``ProgressRegistry.set_activity`` and sent in ``progress_state`` only while set. No tqdm
(``CLIProgressHandler`` is not reproduced), no PIL.
"""
__comfyruntime_include__("progress.py")  # shared with era C

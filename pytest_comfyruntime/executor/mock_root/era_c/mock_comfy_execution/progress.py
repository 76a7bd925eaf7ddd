"""Stand-in for ``comfy_execution.progress`` (era C): the per-prompt progress registry.

``execute_async`` replaces the process-wide ``global_progress_registry`` for every prompt and
registers one ``WebUIProgressHandler``, which sends ``progress_state`` with every non-pending node
seen so far, to ``server.client_id`` (so with ``sid=None`` when there is no client).
"""
__comfyruntime_include__("progress.py")  # shared with era D

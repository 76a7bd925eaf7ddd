"""Stand-in for ``comfy_execution.asset_enrichment`` (era D; read, not run: ``Comfy-Org/ComfyUI`` at 228da558).

How a node's UI output reaches the client and the history in 2026:
- ``register_executed_outputs`` returns a *deep copy* of a fresh node's UI output (which goes
  into the ``executed`` message and the history; the cache keeps the uncopied one), enriched
  with asset ids when an asset manager is enabled.
- ``emit_cached_output`` is what a cached node does: unless this prompt already has a UI entry
  for it, it deep-copies the cached ``{"meta", "output"}`` entry (dropping asset ids), puts it
  into this prompt's UI outputs (so into the history, with or without a client) and, only when
  there is a client, sends ``executed`` with its ``output`` (``None`` when it had no UI).

The mock's executors use ``NoAssets`` (assets disabled), so no ids are ever added.
"""
import copy


def _strip_ids(output_ui):
    for entries in output_ui.values():
        if not isinstance(entries, list):
            continue
        for entry in entries:
            if isinstance(entry, dict):
                entry.pop("id", None)
                entry.pop("preview_id", None)


def register_executed_outputs(output_ui, job_id, asset_manager):
    enriched = copy.deepcopy(output_ui)
    if not asset_manager.enabled:
        return enriched
    raise NotImplementedError("asset registration (an enabled asset manager) is not reproduced by the mock")


def register_cached_outputs(ui_wrapper, job_id, asset_manager):
    if ui_wrapper is None:
        return None
    enriched = copy.deepcopy(ui_wrapper)
    output_ui = enriched.get("output")
    if not isinstance(output_ui, dict):
        return enriched
    _strip_ids(output_ui)
    if not asset_manager.enabled:
        return enriched
    raise NotImplementedError("asset registration (an enabled asset manager) is not reproduced by the mock")


def emit_cached_output(server, node_id, display_node_id, cached, prompt_id, ui_outputs, asset_manager):
    if node_id in ui_outputs:
        return
    enriched = register_cached_outputs(cached.ui, prompt_id, asset_manager)
    if enriched is not None:
        ui_outputs[node_id] = enriched
    if server.client_id is None:
        return
    output = enriched.get("output") if enriched is not None else None
    server.send_sync("executed", {"node": node_id, "display_node": display_node_id, "output": output,
                                  "prompt_id": prompt_id}, server.client_id)

"""Stand-in for ``comfy_execution.asset_enrichment`` (variant D-11 of 2026; read, not run:
``yzkee/ComfyUI`` ``comfy_execution/asset_enrichment.py`` at 783545f6).

``enrich_output_with_assets(output_ui)`` runs once per fresh UI output in ``execute``. Unless
ComfyUI was started with ``--enable-assets`` (``comfy.cli_args.args.enable_assets``, off by
default) it returns the very dict it was given. With assets on, ComfyUI registers each file entry
(one with ``filename`` and ``type`` whose file exists under that type's folder) through
``app.assets`` and returns a new dict whose entries carry an ``id``; the mock has no asset
database, so with ``enable_assets`` set it refuses with a message instead of guessing ids.
"""


def enrich_output_with_assets(output_ui: dict) -> dict:
    from comfy.cli_args import args
    if not args.enable_assets:
        return output_ui
    raise NotImplementedError(
        "comfy.cli_args.args.enable_assets is set, and asset registration (ComfyUI's app.assets "
        "database) is not reproduced by the pytest-comfyruntime mock; leave enable_assets off, or "
        "use a real ComfyUI root (--comfyui-root PATH)")

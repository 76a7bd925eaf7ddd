"""The overhead report and what reads it: ``models`` (the JSON report, merging xdist parts),
``budgets`` (the budgets TOML), ``gate`` (``comfyruntime gate``) and ``summary`` (markdown, SVG and
terminal views). Nothing here imports pytest, torch or ComfyUI: the gate runs on release machines
that have neither. Import the submodules; this package re-exports nothing.
"""

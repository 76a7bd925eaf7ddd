"""The checks, without pytest's wiring (that is ``pytest_comfyruntime/checks_plugin.py``).

- :mod:`.residue`: what a test left behind. :mod:`.parity`: mock against real ComfyUI.
- :mod:`.hooks_active` (with :mod:`.lookups` and :mod:`.watch`): did the hooks install and run.
- :mod:`.canaries` and :mod:`.isolation`: per-prompt isolation.
- :mod:`.target`, :mod:`.faults`, :mod:`.reports` and :mod:`.conformance`: the conformance battery,
  run on a ``Bench`` the runtime builds.
- :mod:`.assertions`: ``RuntimeChecks``, what the ``comfyruntime`` fixture hands out.

Nothing here imports the runtime or a plugin (``tests/test_layers.py``).
"""

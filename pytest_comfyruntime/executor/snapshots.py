"""Snapshots of a loaded ComfyUI (mock or real): its modules, node registry, CacheProvider
registry, the custom-node SDK's provider slots and ``sys.modules`` entries, taken before the
extension's hooks are enabled."""
from __future__ import annotations

import sys
from collections.abc import Iterable
from types import ModuleType

from ..state.snapshot import Snapshot, take_snapshot
from .standin import is_managed

#: The CacheProvider registry of ComfyUI of 2026, as named in the snapshot's lists.
PROVIDER_REGISTRY = "comfy_execution.cache_provider (registered CacheProviders)"
#: The custom-node SDK's provider slots of ComfyUI of 2026 (``comfy_api.latest.sdk.providers``:
#: ``execution_backend``, ``ctx_provider``, ``ops_provider``, ``ref_resolver_factory``), as named
#: in the snapshot's registries: ``providers.register_*`` replaces a slot, nothing unregisters.
SDK_PROVIDERS = "comfy_api.latest.sdk.providers (SDK provider slots)"
#: The slots an extension fills to take part in running nodes, and the method ComfyUI calls on each.
SDK_SLOTS = {"execution_backend": "dispatch", "ctx_provider": "build", "ops_provider": "apply",
             "ref_resolver_factory": None}


def snapshot_comfyui(modules: Iterable[ModuleType], nodes: ModuleType, *, display_names: bool = True,
                     module_names: Iterable[str] | None = None) -> Snapshot:
    """:func:`take_snapshot` of a loaded ComfyUI (mock or real): its modules, the node registry,
    the CacheProvider registry and the SDK's provider slots where there are some (put back as a
    registry is), and ComfyUI's entries in ``sys.modules``
    (``module_names``, from the backend that put them there; default: every ComfyUI name found
    there, which costs a pass over ``sys.modules``)."""
    registries = {"nodes.NODE_CLASS_MAPPINGS": nodes.NODE_CLASS_MAPPINGS}
    if display_names:
        registries["nodes.NODE_DISPLAY_NAME_MAPPINGS"] = nodes.NODE_DISPLAY_NAME_MAPPINGS
    providers = getattr(sys.modules.get("comfy_execution.cache_provider"), "_providers", None)
    sdk_providers = getattr(sys.modules.get("comfy_api.latest._sdk"), "providers", None)
    if sdk_providers is not None and isinstance(getattr(sdk_providers, "__dict__", None), dict):
        registries[SDK_PROVIDERS] = vars(sdk_providers)
    return take_snapshot(modules, registries=registries,
                         lists={PROVIDER_REGISTRY: providers} if isinstance(providers, list) else None,
                         sys_module_names=module_names if module_names is not None
                         else [n for n in sys.modules if is_managed(n)])


__all__ = ["PROVIDER_REGISTRY", "SDK_PROVIDERS", "SDK_SLOTS", "snapshot_comfyui"]

"""An external outputs cache for ComfyUI of 2026: a ``CacheProvider`` that lets every ComfyUI in the
process reuse each other's node outputs, keyed by the ``cache_key_hash`` ComfyUI computes.

Off until ``enable()``; ``enable()`` returns False on a ComfyUI without the CacheProvider API
(before 2026) and registers one provider however often it is called; ``disable()`` unregisters
it and drops what it stored.
"""
from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_store: dict[str, Any] = {}
_registered: list[Any] = []


def _provider_api() -> Any:
    try:
        from comfy_execution import cache_provider
    except ImportError:  # ComfyUI before 2026
        return None
    return cache_provider


def enable() -> bool:
    api = _provider_api()
    if api is None:
        return False

    class SharedCache(api.CacheProvider):
        async def on_lookup(self, context):
            with _lock:
                return _store.get(context.cache_key_hash)

        async def on_store(self, context, value):
            with _lock:
                _store[context.cache_key_hash] = value

    with _lock:
        if _registered:
            return True
        provider = SharedCache()
        _registered.append(provider)
    api.register_cache_provider(provider)
    return True


def disable() -> None:
    api = _provider_api()
    with _lock:
        providers, _registered[:] = list(_registered), []
        _store.clear()
    for provider in providers:
        if api is not None:
            api.unregister_cache_provider(provider)


def stored() -> int:
    """How many node outputs the cache holds."""
    with _lock:
        return len(_store)

"""A hand-written CacheProvider extension (ComfyUI of 2026) that keeps every promise. Each
``provider_*`` fault (``../planted_faults.py``) is this module with exactly one thing broken."""
from __future__ import annotations

import logging
import threading

from comfy_execution import cache_provider

log = logging.getLogger("good_provider")
_lock = threading.Lock()
_store: dict = {}
_registered: list = []


class SharedCache(cache_provider.CacheProvider):
    """An external cache shared by every ComfyUI of the process, keyed as ComfyUI asks."""

    async def on_lookup(self, context):
        with _lock:
            return _store.get(context.cache_key_hash)

    async def on_store(self, context, value):
        with _lock:
            _store[context.cache_key_hash] = value


def enable(execution=None):
    with _lock:
        if _registered:
            return True
        provider = SharedCache()
        _registered.append(provider)
    cache_provider.register_cache_provider(provider)
    return True


def disable(execution=None):
    with _lock:
        providers = list(_registered)
        _registered.clear()
        _store.clear()
    for provider in providers:
        cache_provider.unregister_cache_provider(provider)
    return True

"""Stand-in for ``comfy_execution.cache_provider`` (era D, ComfyUI of 2026; read, not run).

Read from ``comfyanonymous/ComfyUI`` (= ``Comfy-Org/ComfyUI``) at 3c8fef69, and from its callers
in ``execution.py`` (04e2a914) and ``comfy_execution/caching.py`` (0c5058b9). The provider
registry is process-wide: ``_providers`` (a list, changed in place under ``_providers_lock``) and
``_providers_snapshot`` (a tuple, rebound on every change), which is what the callers iterate.

How ComfyUI calls a provider (every exception a provider raises is logged and swallowed):
- ``on_prompt_start(prompt_id)`` right after ``execution_start`` and ``on_prompt_end(prompt_id)``
  in ``execute_async``'s ``finally`` (so not when ``cache_args`` lacks a key: that fails before
  the ``try``).
- On a local miss of the outputs cache (``get`` of a cache built with ``enable_providers=True``;
  also during the ``execution_cached`` scan, which looks up every prompt node concurrently):
  ``should_cache(context)`` then ``await on_lookup(context)``, provider by provider until one
  returns a ``CacheValue`` with list/tuple ``outputs``; that value is stored locally.
- After each outputs ``set``: ``should_cache(context, value)`` and, when true, ``on_store``
  started as a task nobody awaits. Since every prompt runs in its own ``asyncio.run``, a store
  still running when the prompt ends is cancelled when that event loop closes.
- No provider is asked about a key that is not equal to itself (a NaN ``IS_CHANGED``, an
  unhashable input) or that cannot be serialised; the objects cache never asks.

Mock-only bookkeeping for the plugin (real ComfyUI keeps none of it; all private):
``_comfyruntime_calls`` lists ``(thread_id, provider, method_name, argument)`` for every provider
method the mock called, in order (``argument``: the prompt id for ``on_prompt_start``/``_end``,
else the ``CacheContext``); ``_comfyruntime_unfinished_stores`` lists ``(thread_id, provider,
context)`` for every ``on_store`` task that had not finished when its prompt's event loop closed.
The thread id tells apart prompts run at once on executors in several threads.
"""
import hashlib
import json
import logging
import sys as _sys
import threading
from typing import Any, List, Optional, Tuple

from comfy_api.latest._caching import CacheContext, CacheProvider, CacheValue  # noqa: F401 (re-exported)

_logger = logging.getLogger(__name__)

_providers: List[CacheProvider] = []
_providers_lock = threading.Lock()
_providers_snapshot: Tuple[CacheProvider, ...] = ()

_comfyruntime_calls: list = []
_comfyruntime_unfinished_stores: list = []


def register_cache_provider(provider):
    """Registers an external cache provider; providers are called in registration order."""
    global _providers_snapshot
    with _providers_lock:
        if provider in _providers:
            _logger.warning(f"Provider {provider.__class__.__name__} already registered")
            return
        _providers.append(provider)
        _providers_snapshot = tuple(_providers)
        _logger.debug(f"Registered cache provider: {provider.__class__.__name__}")


def unregister_cache_provider(provider):
    global _providers_snapshot
    with _providers_lock:
        try:
            _providers.remove(provider)
        except ValueError:
            _logger.warning(f"Provider {provider.__class__.__name__} was not registered")
            return
        _providers_snapshot = tuple(_providers)
        _logger.debug(f"Unregistered cache provider: {provider.__class__.__name__}")


def _get_cache_providers():
    return _providers_snapshot


def _has_cache_providers():
    return bool(_providers_snapshot)


def _clear_cache_providers():
    global _providers_snapshot
    with _providers_lock:
        _providers.clear()
        _providers_snapshot = ()


def _comfyruntime_note(provider, method, argument):
    _comfyruntime_calls.append((threading.get_ident(), provider, method, argument))


def _comfyruntime_note_unfinished(provider, context):
    _comfyruntime_unfinished_stores.append((threading.get_ident(), provider, context))


def _json_sort_key(item):
    return json.dumps(item, sort_keys=True)


def _canonicalize(obj: Any) -> Any:
    """A JSON-serialisable form with a fixed order (frozensets iterate differently per process);
    ValueError for anything else (``Unhashable`` included), so the key is not shared."""
    if isinstance(obj, frozenset):
        return ("__frozenset__", sorted((_canonicalize(item) for item in obj), key=_json_sort_key))
    if isinstance(obj, set):
        return ("__set__", sorted((_canonicalize(item) for item in obj), key=_json_sort_key))
    if isinstance(obj, tuple):
        return ("__tuple__", [_canonicalize(item) for item in obj])
    if isinstance(obj, list):
        return [_canonicalize(item) for item in obj]
    if isinstance(obj, dict):
        return {"__dict__": sorted(([_canonicalize(k), _canonicalize(v)] for k, v in obj.items()),
                                   key=_json_sort_key)}
    if isinstance(obj, (int, float, str, bool, type(None))):
        return (type(obj).__name__, obj)
    if isinstance(obj, bytes):
        return ("__bytes__", obj.hex())
    raise ValueError(f"Cannot canonicalize type: {type(obj).__name__}")


def _serialize_cache_key(cache_key: Any) -> Optional[str]:
    """SHA-256 hex digest of the canonical JSON of a cache key, or None when it has none."""
    try:
        text = json.dumps(_canonicalize(cache_key), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode("utf-8")).hexdigest()
    except Exception as e:
        _logger.warning(f"Failed to serialize cache key: {e}")
        return None


def _contains_self_unequal(obj: Any) -> bool:
    """True when ``obj`` (or anything inside it) is not equal to itself, such as NaN."""
    try:
        if not (obj == obj):
            return True
    except Exception:
        return True
    if isinstance(obj, (frozenset, tuple, list, set)):
        return any(_contains_self_unequal(item) for item in obj)
    if isinstance(obj, dict):
        return any(_contains_self_unequal(k) or _contains_self_unequal(v) for k, v in obj.items())
    if hasattr(obj, "value"):
        return _contains_self_unequal(obj.value)
    return False


def _estimate_value_size(value: CacheValue) -> int:
    """Bytes of the tensors in ``value.outputs`` (0 when torch is not imported: the stand-in
    never imports it)."""
    torch = _sys.modules.get("torch")
    if torch is None or not hasattr(torch, "Tensor"):
        return 0
    total = 0

    def estimate(obj):
        nonlocal total
        if isinstance(obj, torch.Tensor):
            total += obj.numel() * obj.element_size()
        elif isinstance(obj, dict):
            for v in obj.values():
                estimate(v)
        elif isinstance(obj, (list, tuple)):
            for item in obj:
                estimate(item)

    for output in value.outputs:
        estimate(output)
    return total

"""Stand-in for ``comfy_execution.caching`` (variant D-11 of 2026; read, not run).

Era D's copy (``Comfy-Org/ComfyUI`` ``comfy_execution/caching.py`` at 0c5058b9) without
``remove_local``, which ``yzkee/ComfyUI`` ``comfy_execution/caching.py`` at 783545f6 (master up to
2026-08-22, after v0.33.0) does not have on any cache class. Keys are era C's
(input signature of the node and its ancestors, computed asynchronously through
``IsChangedCache.get``). What changed for a mock and for hook authors:

- ``get`` and ``set`` are coroutines on every cache class; the new synchronous
  ``get_local`` / ``set_local`` touch only this process's dict (the graph
  uses them, so it never asks an external provider).
- A cache built with ``enable_providers=True`` (``CacheSet`` does so for the outputs cache)
  asks the registered ``comfy_execution.cache_provider`` providers on a local miss in ``get``
  and starts an ``on_store`` task after each ``set`` (see that module).
- ``RAMPressureCache`` has no ``poll`` any more: ``execute_async`` calls ``ram_release(target,
  free_active=False, min_entry_size=0)`` after every node, which evicts entries of older
  prompts (or, with ``free_active``, of this one) while available RAM is below ``target``
  bytes, and flags ``active_evictions`` / ``full_evictions``.
"""
import asyncio
import bisect
import itertools
import logging as _logging  # (not a public name: 783545f6's module does not import logging)
import sys as _sys  # (not a public name: ComfyUI's module imports torch instead)
import time
from abc import ABC, abstractmethod
from typing import Dict, Mapping, Sequence

import nodes
from comfy.model_patcher import is_model_patcher_output
import comfy.system_memory as _system_memory  # (not a public name: ComfyUI asks psutil here)
from comfy_execution.graph_utils import is_link

NODE_CLASS_CONTAINS_UNIQUE_ID: Dict[str, bool] = {}


def include_unique_id_in_input(class_type):
    # Cached per class_type *name*, as in ComfyUI (re-registering a name keeps the answer).
    if class_type not in NODE_CLASS_CONTAINS_UNIQUE_ID:
        class_def = nodes.NODE_CLASS_MAPPINGS[class_type]
        NODE_CLASS_CONTAINS_UNIQUE_ID[class_type] = "UNIQUE_ID" in class_def.INPUT_TYPES().get("hidden", {}).values()
    return NODE_CLASS_CONTAINS_UNIQUE_ID[class_type]


class CacheKeySet(ABC):
    def __init__(self, dynprompt, node_ids, is_changed_cache):
        self.keys = {}
        self.subcache_keys = {}

    @abstractmethod
    async def add_keys(self, node_ids):
        raise NotImplementedError()

    def all_node_ids(self):
        return set(self.keys.keys())

    def get_used_keys(self):
        return self.keys.values()

    def get_used_subcache_keys(self):
        return self.subcache_keys.values()

    def get_data_key(self, node_id):
        return self.keys.get(node_id, None)

    def get_subcache_key(self, node_id):
        return self.subcache_keys.get(node_id, None)


class Unhashable:
    def __init__(self):
        self.value = float("NaN")


_HASHABLE_SCALARS = (int, float, str, bool, bytes, type(None))
_EXACT_SCALARS = frozenset(_HASHABLE_SCALARS)


def to_hashable(obj):
    # The exact built-in types first (the common case); subclasses and other mappings and
    # sequences take ComfyUI's isinstance path below, with the same result.
    kind = type(obj)
    if kind in _EXACT_SCALARS:
        return obj
    if kind is list or kind is tuple:
        return frozenset(zip(itertools.count(), [to_hashable(i) for i in obj]))
    if kind is dict:
        return frozenset([(to_hashable(k), to_hashable(v)) for k, v in sorted(obj.items())])
    if isinstance(obj, _HASHABLE_SCALARS):
        return obj
    if isinstance(obj, Mapping):
        return frozenset((to_hashable(k), to_hashable(v)) for k, v in sorted(obj.items()))
    if isinstance(obj, Sequence):
        return frozenset(zip(itertools.count(), [to_hashable(i) for i in obj]))
    return Unhashable()  # never equal to anything, so the node is never a cache hit


class CacheKeySetID(CacheKeySet):
    def __init__(self, dynprompt, node_ids, is_changed_cache):
        super().__init__(dynprompt, node_ids, is_changed_cache)
        self.dynprompt = dynprompt

    async def add_keys(self, node_ids):
        for node_id in node_ids:
            if node_id in self.keys or not self.dynprompt.has_node(node_id):
                continue
            node = self.dynprompt.get_node(node_id)
            self.keys[node_id] = (node_id, node["class_type"])
            self.subcache_keys[node_id] = (node_id, node["class_type"])


class CacheKeySetInputSignature(CacheKeySet):
    def __init__(self, dynprompt, node_ids, is_changed_cache):
        super().__init__(dynprompt, node_ids, is_changed_cache)
        self.dynprompt = dynprompt
        self.is_changed_cache = is_changed_cache

    def include_node_id_in_input(self):
        return False

    async def add_keys(self, node_ids):
        for node_id in node_ids:
            if node_id in self.keys or not self.dynprompt.has_node(node_id):
                continue
            node = self.dynprompt.get_node(node_id)
            self.keys[node_id] = await self.get_node_signature(self.dynprompt, node_id)
            self.subcache_keys[node_id] = (node_id, node["class_type"])

    async def get_node_signature(self, dynprompt, node_id):
        ancestors, order_mapping = self.get_ordered_ancestry(dynprompt, node_id)
        return to_hashable([await self.get_immediate_node_signature(dynprompt, n, order_mapping)
                            for n in [node_id, *ancestors]])

    async def get_immediate_node_signature(self, dynprompt, node_id, ancestor_order_mapping):
        if not dynprompt.has_node(node_id):
            return [float("NaN")]  # a node that does not exist cannot be cached
        node = dynprompt.get_node(node_id)
        class_type = node["class_type"]
        class_def = nodes.NODE_CLASS_MAPPINGS[class_type]
        signature = [class_type, await self.is_changed_cache.get(node_id)]
        if self.include_node_id_in_input() or getattr(class_def, "NOT_IDEMPOTENT", False) \
                or include_unique_id_in_input(class_type):
            signature.append(node_id)
        inputs = node["inputs"]
        for key in sorted(inputs.keys()):
            value = inputs[key]
            if is_link(value):
                signature.append((key, ("ANCESTOR", ancestor_order_mapping[value[0]], value[1])))
            else:
                signature.append((key, value))
        return signature

    def get_ordered_ancestry(self, dynprompt, node_id):
        """Ancestors in depth-first order over sorted input names, and each one's index."""
        ancestors = []
        order_mapping = {}
        self.get_ordered_ancestry_internal(dynprompt, node_id, ancestors, order_mapping)
        return ancestors, order_mapping

    def get_ordered_ancestry_internal(self, dynprompt, node_id, ancestors, order_mapping):
        if not dynprompt.has_node(node_id):
            return
        inputs = dynprompt.get_node(node_id)["inputs"]
        for key in sorted(inputs.keys()):
            if is_link(inputs[key]):
                ancestor_id = inputs[key][0]
                if ancestor_id not in order_mapping:
                    ancestors.append(ancestor_id)
                    order_mapping[ancestor_id] = len(ancestors) - 1
                    self.get_ordered_ancestry_internal(dynprompt, ancestor_id, ancestors, order_mapping)


def _provider_api():
    # Imported at call time, as ComfyUI does (comfy_execution.cache_provider imports comfy_api).
    from comfy_execution import cache_provider
    return cache_provider


class BasicCache:
    def __init__(self, key_class, enable_providers=False):
        self.key_class = key_class
        self.initialized = False
        self.enable_providers = enable_providers
        self.cache = {}
        self.subcaches = {}
        self._pending_store_tasks = set()

    async def set_prompt(self, dynprompt, node_ids, is_changed_cache):
        self.dynprompt = dynprompt
        self.cache_key_set = self.key_class(dynprompt, node_ids, is_changed_cache)
        await self.cache_key_set.add_keys(node_ids)
        self.is_changed_cache = is_changed_cache
        self.initialized = True

    def all_node_ids(self):
        assert self.initialized
        node_ids = self.cache_key_set.all_node_ids()
        for subcache in self.subcaches.values():
            node_ids = node_ids.union(subcache.all_node_ids())
        return node_ids

    def _clean_cache(self):
        preserve_keys = set(self.cache_key_set.get_used_keys())
        for key in [k for k in self.cache if k not in preserve_keys]:
            del self.cache[key]

    def _clean_subcaches(self):
        preserve = set(self.cache_key_set.get_used_subcache_keys())
        for key in [k for k in self.subcaches if k not in preserve]:
            del self.subcaches[key]

    def clean_unused(self):
        assert self.initialized
        self._clean_cache()
        self._clean_subcaches()

    def poll(self, **kwargs):
        pass

    def get_local(self, node_id):
        if not self.initialized:
            return None
        return self.cache.get(self.cache_key_set.get_data_key(node_id))

    def set_local(self, node_id, value):
        assert self.initialized
        self.cache[self.cache_key_set.get_data_key(node_id)] = value

    async def _set_immediate(self, node_id, value):
        assert self.initialized
        cache_key = self.cache_key_set.get_data_key(node_id)
        self.cache[cache_key] = value
        await self._notify_providers_store(node_id, cache_key, value)

    async def _get_immediate(self, node_id):
        if not self.initialized:
            return None
        cache_key = self.cache_key_set.get_data_key(node_id)
        if cache_key in self.cache:
            return self.cache[cache_key]
        external_result = await self._check_providers_lookup(node_id, cache_key)
        if external_result is not None:
            self.cache[cache_key] = external_result
            return external_result
        return None

    async def _notify_providers_store(self, node_id, cache_key, value):
        api = _provider_api()
        if not self.enable_providers or not api._has_cache_providers():
            return
        if not self._is_external_cacheable_value(value) or api._contains_self_unequal(cache_key):
            return
        context = self._build_context(node_id, cache_key)
        if context is None:
            return
        cache_value = api.CacheValue(outputs=value.outputs, ui=value.ui)
        for provider in api._get_cache_providers():
            try:
                api._comfyruntime_note(provider, "should_cache", context)
                if provider.should_cache(context, cache_value):
                    task = asyncio.create_task(self._safe_provider_store(provider, context, cache_value))
                    self._pending_store_tasks.add(task)
                    task.add_done_callback(self._pending_store_tasks.discard)
                    task.add_done_callback(_note_unfinished_store(provider, context))
            except Exception as e:
                api._logger.warning(f"Cache provider {provider.__class__.__name__} error on store: {e}")

    @staticmethod
    async def _safe_provider_store(provider, context, cache_value):
        api = _provider_api()
        try:
            api._comfyruntime_note(provider, "on_store", context)
            await provider.on_store(context, cache_value)
        except Exception as e:
            api._logger.warning(f"Cache provider {provider.__class__.__name__} async store error: {e}")

    async def _check_providers_lookup(self, node_id, cache_key):
        api = _provider_api()
        if not self.enable_providers or not api._has_cache_providers():
            return None
        if api._contains_self_unequal(cache_key):
            return None
        context = self._build_context(node_id, cache_key)
        if context is None:
            return None
        for provider in api._get_cache_providers():
            try:
                api._comfyruntime_note(provider, "should_cache", context)
                if not provider.should_cache(context):
                    continue
                api._comfyruntime_note(provider, "on_lookup", context)
                result = await provider.on_lookup(context)
                if result is not None:
                    if not isinstance(result, api.CacheValue):
                        api._logger.warning(f"Provider {provider.__class__.__name__} returned invalid type")
                        continue
                    if not isinstance(result.outputs, (list, tuple)):
                        api._logger.warning(f"Provider {provider.__class__.__name__} returned invalid outputs")
                        continue
                    from execution import CacheEntry
                    return CacheEntry(ui=result.ui, outputs=list(result.outputs))
            except Exception as e:
                api._logger.warning(f"Cache provider {provider.__class__.__name__} error on lookup: {e}")
        return None

    def _is_external_cacheable_value(self, value):
        return hasattr(value, "outputs") and hasattr(value, "ui")

    def _get_class_type(self, node_id):
        if not self.initialized or not self.dynprompt:
            return ""
        try:
            return self.dynprompt.get_node(node_id).get("class_type", "")
        except Exception:
            return ""

    def _build_context(self, node_id, cache_key):
        api = _provider_api()
        try:
            cache_key_hash = api._serialize_cache_key(cache_key)
            if cache_key_hash is None:
                return None
            return api.CacheContext(node_id=node_id, class_type=self._get_class_type(node_id),
                                    cache_key_hash=cache_key_hash)
        except Exception as e:
            api._logger.warning(f"Failed to build cache context for node {node_id}: {e}")
            return None

    async def _ensure_subcache(self, node_id, children_ids):
        subcache_key = self.cache_key_set.get_subcache_key(node_id)
        subcache = self.subcaches.get(subcache_key, None)
        if subcache is None:
            subcache = BasicCache(self.key_class)
            self.subcaches[subcache_key] = subcache
        await subcache.set_prompt(self.dynprompt, children_ids, self.is_changed_cache)
        return subcache

    def _get_subcache(self, node_id):
        assert self.initialized
        return self.subcaches.get(self.cache_key_set.get_subcache_key(node_id))

    def recursive_debug_dump(self):
        result = [{"key": key, "value": value} for key, value in self.cache.items()]
        for key, subcache in self.subcaches.items():
            result.append({"subcache_key": key, "subcache": subcache.recursive_debug_dump()})
        return result


def _note_unfinished_store(provider, context):
    """A done-callback: an ``on_store`` task cancelled (by its prompt's event loop closing) is recorded."""
    def done(task):
        if task.cancelled():
            _provider_api()._comfyruntime_note_unfinished(provider, context)
    return done


class HierarchicalCache(BasicCache):
    def __init__(self, key_class, enable_providers=False):
        super().__init__(key_class, enable_providers=enable_providers)

    def _get_cache_for(self, node_id):
        assert self.dynprompt is not None
        parent_id = self.dynprompt.get_parent_node_id(node_id)
        if parent_id is None:
            return self
        hierarchy = []
        while parent_id is not None:
            hierarchy.append(parent_id)
            parent_id = self.dynprompt.get_parent_node_id(parent_id)
        cache = self
        for parent_id in reversed(hierarchy):
            cache = cache._get_subcache(parent_id)
            if cache is None:
                return None
        return cache

    async def get(self, node_id):
        cache = self._get_cache_for(node_id)
        if cache is None:
            return None
        return await cache._get_immediate(node_id)

    def get_local(self, node_id):
        cache = self._get_cache_for(node_id)
        if cache is None:
            return None
        return BasicCache.get_local(cache, node_id)

    async def set(self, node_id, value):
        cache = self._get_cache_for(node_id)
        assert cache is not None
        await cache._set_immediate(node_id, value)

    def set_local(self, node_id, value):
        cache = self._get_cache_for(node_id)
        assert cache is not None
        BasicCache.set_local(cache, node_id, value)

    async def ensure_subcache_for(self, node_id, children_ids):
        cache = self._get_cache_for(node_id)
        assert cache is not None
        return await cache._ensure_subcache(node_id, children_ids)


class NullCache:
    async def set_prompt(self, dynprompt, node_ids, is_changed_cache):
        pass

    def all_node_ids(self):
        return []

    def clean_unused(self):
        pass

    def poll(self, **kwargs):
        pass

    async def get(self, node_id):
        return None

    def get_local(self, node_id):
        return None

    async def set(self, node_id, value):
        pass

    def set_local(self, node_id, value):
        pass

    async def ensure_subcache_for(self, node_id, children_ids):
        return self


class LRUCache(BasicCache):
    def __init__(self, key_class, max_size=100, enable_providers=False):
        super().__init__(key_class, enable_providers=enable_providers)
        self.max_size = max_size
        self.min_generation = 0
        self.generation = 0
        self.used_generation = {}
        self.children = {}

    async def set_prompt(self, dynprompt, node_ids, is_changed_cache):
        await super().set_prompt(dynprompt, node_ids, is_changed_cache)
        self.generation += 1
        for node_id in node_ids:
            self._mark_used(node_id)

    def clean_unused(self):
        while len(self.cache) > self.max_size and self.min_generation < self.generation:
            self.min_generation += 1
            for key in [k for k in self.cache if self.used_generation[k] < self.min_generation]:
                del self.cache[key]
                del self.used_generation[key]
                self.children.pop(key, None)
        self._clean_subcaches()

    async def get(self, node_id):
        self._mark_used(node_id)
        return await self._get_immediate(node_id)

    def _mark_used(self, node_id):
        cache_key = self.cache_key_set.get_data_key(node_id)
        if cache_key is not None:
            self.used_generation[cache_key] = self.generation

    async def set(self, node_id, value):
        self._mark_used(node_id)
        return await self._set_immediate(node_id, value)

    def set_local(self, node_id, value):
        self._mark_used(node_id)
        BasicCache.set_local(self, node_id, value)

    async def ensure_subcache_for(self, node_id, children_ids):
        # Subcaches only track which nodes are live here.
        await super()._ensure_subcache(node_id, children_ids)
        await self.cache_key_set.add_keys(children_ids)
        self._mark_used(node_id)
        cache_key = self.cache_key_set.get_data_key(node_id)
        self.children[cache_key] = []
        for child_id in children_ids:
            self._mark_used(child_id)
            self.children[cache_key].append(self.cache_key_set.get_data_key(child_id))
        return self


RAM_CACHE_DEFAULT_RAM_USAGE = 0.05
RAM_CACHE_OLD_WORKFLOW_OOM_MULTIPLIER = 1.3
RAM_CACHE_LARGE_INTERMEDIATE = 512 * 1024 ** 2


def all_outputs_dynamic(outputs):
    """Whether every value in the (nested) outputs says ``is_dynamic()``."""
    if outputs is None:
        return False
    for output in outputs:
        if isinstance(output, (list, tuple)):
            if not all_outputs_dynamic(output):
                return False
        elif not hasattr(output, "is_dynamic") or not output.is_dynamic():
            return False
    return True


class RAMPressureCache(LRUCache):
    """LRU bookkeeping without a size limit; ``ram_release`` evicts under RAM pressure.

    The eviction score is ``RAM_CACHE_OLD_WORKFLOW_OOM_MULTIPLIER ** age * usage``, where usage
    is ``RAM_CACHE_DEFAULT_RAM_USAGE`` plus the bytes of CPU tensors found in the entry's
    outputs (counted only when the test process has imported torch; the mock never does).
    """

    def __init__(self, key_class, enable_providers=False):
        super().__init__(key_class, 0, enable_providers=enable_providers)
        self.timestamps = {}
        self.active_evictions = False
        self.full_evictions = False

    async def set_prompt(self, dynprompt, node_ids, is_changed_cache):
        self.active_evictions = False
        self.full_evictions = False
        await super().set_prompt(dynprompt, node_ids, is_changed_cache)

    def clean_unused(self):
        self._clean_subcaches()

    async def set(self, node_id, value):
        self.timestamps[self.cache_key_set.get_data_key(node_id)] = time.time()
        await super().set(node_id, value)

    async def get(self, node_id):
        self.timestamps[self.cache_key_set.get_data_key(node_id)] = time.time()
        return await super().get(node_id)

    def set_local(self, node_id, value):
        self.timestamps[self.cache_key_set.get_data_key(node_id)] = time.time()
        super().set_local(node_id, value)

    def ram_release(self, target, free_active=False, min_entry_size=0):
        """Evicts while available RAM is below ``target`` bytes; returns the bytes accounted freed."""
        if _system_memory.virtual_memory_available() >= target:
            return 0
        torch = _sys.modules.get("torch")
        tensor_type = getattr(torch, "Tensor", None)
        clean_list = []
        for key, cache_entry in self.cache.items():
            current = self.used_generation[key] == self.generation
            if not free_active and current:
                continue
            if all_outputs_dynamic(cache_entry.outputs) and current:
                continue
            oom_score = RAM_CACHE_OLD_WORKFLOW_OOM_MULTIPLIER ** (self.generation - self.used_generation[key])
            ram_usage = RAM_CACHE_DEFAULT_RAM_USAGE
            oom_ram_usage = ram_usage
            sizing_failed = False
            seen_storages = set()

            def scan(outputs):
                nonlocal ram_usage, oom_ram_usage
                if outputs is None:
                    return
                if isinstance(outputs, Mapping):
                    outputs = outputs.values()
                elif not isinstance(outputs, (list, tuple)):
                    outputs = (outputs,)
                for output in outputs:
                    if isinstance(output, (list, tuple, Mapping)):
                        scan(output)
                    elif tensor_type is not None and isinstance(output, tensor_type) and output.device.type == "cpu":
                        storage = output.untyped_storage()
                        storage_key = (storage.data_ptr(), storage.nbytes())
                        if storage_key not in seen_storages:
                            seen_storages.add(storage_key)
                            ram_usage += storage.nbytes()
                            oom_ram_usage += storage.nbytes()
                    elif is_model_patcher_output(output) and not current:
                        oom_ram_usage = 1e30  # old model patchers go first
                    elif hasattr(output, "_comfy_cache_tensors"):
                        scan(output._comfy_cache_tensors())

            try:
                scan(cache_entry.outputs)
            except Exception:
                _logging.warning("Could not size cache entry %s; evicting it first", key, exc_info=True)
                sizing_failed = True
                oom_ram_usage = 1e30
            if not sizing_failed and ram_usage < min_entry_size:
                continue
            bisect.insort(clean_list, (oom_score * oom_ram_usage, self.timestamps[key], key, ram_usage))

        freed = 0
        while _system_memory.virtual_memory_available() < target and clean_list:
            _, _, key, ram_usage = clean_list.pop()
            del self.cache[key]
            self.used_generation.pop(key, None)
            self.timestamps.pop(key, None)
            self.children.pop(key, None)
            freed += ram_usage
        if freed and free_active:
            self.active_evictions = True
            if min_entry_size == 0:
                self.full_evictions = True
        return freed

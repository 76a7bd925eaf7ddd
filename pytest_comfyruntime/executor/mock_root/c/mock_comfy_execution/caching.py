"""Stand-in for ``comfy_execution.caching`` (era C): caches keyed by input signature.

A node's key is the hashable form of ``[own signature, ancestor signatures...]``; each signature
is ``[class_type, is_changed, (node_id if NOT_IDEMPOTENT or hidden UNIQUE_ID), sorted inputs]``
with links written as ``("ANCESTOR", ancestor_index, socket)``. Computing keys awaits
``IsChangedCache.get``, so ``set_prompt`` / ``add_keys`` / the signature methods are coroutines
(era B's are plain functions). ``get`` and ``set`` are synchronous, as in ComfyUI.
"""
import bisect
import itertools
import time
from abc import ABC, abstractmethod
from typing import Mapping, Sequence

import nodes
from comfy_execution.graph_utils import is_link


NODE_CLASS_CONTAINS_UNIQUE_ID = {}


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
    # The exact built-in types first (the common case, and no ABC machinery); subclasses and
    # other mappings/sequences take ComfyUI's isinstance path below, with the same result.
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

    def _add_id_keys(self, node_ids):
        for node_id in node_ids:
            if node_id in self.keys or not self.dynprompt.has_node(node_id):
                continue
            node = self.dynprompt.get_node(node_id)
            self.keys[node_id] = (node_id, node["class_type"])
            self.subcache_keys[node_id] = (node_id, node["class_type"])

    async def add_keys(self, node_ids):
        self._add_id_keys(node_ids)


class CacheKeySetInputSignature(CacheKeySet):
    def __init__(self, dynprompt, node_ids, is_changed_cache):
        super().__init__(dynprompt, node_ids, is_changed_cache)
        self.dynprompt = dynprompt
        self.is_changed_cache = is_changed_cache

    def include_node_id_in_input(self):
        return False

    def _signature_of(self, dynprompt, node_id, is_changed, ancestor_order_mapping):
        node = dynprompt.get_node(node_id)
        class_type = node["class_type"]
        class_def = nodes.NODE_CLASS_MAPPINGS[class_type]
        signature = [class_type, is_changed]
        has_unique_id = include_unique_id_in_input(class_type)
        if self.include_node_id_in_input() or getattr(class_def, "NOT_IDEMPOTENT", False) or has_unique_id:
            signature.append(node_id)
        inputs = node["inputs"]
        for key in sorted(inputs.keys()):
            value = inputs[key]
            if is_link(value):
                signature.append((key, ("ANCESTOR", ancestor_order_mapping[value[0]], value[1])))
            else:
                signature.append((key, value))
        return signature

    async def add_keys(self, node_ids):
        for node_id in node_ids:
            if node_id in self.keys or not self.dynprompt.has_node(node_id):
                continue
            self.keys[node_id] = await self.get_node_signature(self.dynprompt, node_id)
            self.subcache_keys[node_id] = (node_id, self.dynprompt.get_node(node_id)["class_type"])

    async def get_node_signature(self, dynprompt, node_id):
        ancestors, order_mapping = self.get_ordered_ancestry(dynprompt, node_id)
        return to_hashable([await self.get_immediate_node_signature(dynprompt, n, order_mapping)
                            for n in [node_id, *ancestors]])

    async def get_immediate_node_signature(self, dynprompt, node_id, ancestor_order_mapping):
        if not dynprompt.has_node(node_id):
            return [float("NaN")]
        is_changed = await self.is_changed_cache.get(node_id)
        return self._signature_of(dynprompt, node_id, is_changed, ancestor_order_mapping)

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


class BasicCache:
    def __init__(self, key_class):
        self.key_class = key_class
        self.initialized = False
        self.cache = {}
        self.subcaches = {}

    def _begin_prompt(self, dynprompt, node_ids, is_changed_cache):
        self.dynprompt = dynprompt
        self.cache_key_set = self.key_class(dynprompt, node_ids, is_changed_cache)
        self.is_changed_cache = is_changed_cache

    async def set_prompt(self, dynprompt, node_ids, is_changed_cache):
        self._begin_prompt(dynprompt, node_ids, is_changed_cache)
        await self.cache_key_set.add_keys(node_ids)
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

    def _set_immediate(self, node_id, value):
        assert self.initialized
        self.cache[self.cache_key_set.get_data_key(node_id)] = value

    def _get_immediate(self, node_id):
        if not self.initialized:
            return None
        return self.cache.get(self.cache_key_set.get_data_key(node_id))

    async def _ensure_subcache(self, node_id, children_ids):
        """The cache of the nodes ``node_id`` expanded into (made on first use), set to them."""
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


class HierarchicalCache(BasicCache):
    def _get_cache_for(self, node_id):
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

    def get(self, node_id):
        cache = self._get_cache_for(node_id)
        if cache is None:
            return None
        return cache._get_immediate(node_id)

    def set(self, node_id, value):
        cache = self._get_cache_for(node_id)
        assert cache is not None
        cache._set_immediate(node_id, value)

    async def ensure_subcache_for(self, node_id, children_ids):
        cache = self._get_cache_for(node_id)
        assert cache is not None
        return await cache._ensure_subcache(node_id, children_ids)


class LRUCache(BasicCache):
    def __init__(self, key_class, max_size=100):
        super().__init__(key_class)
        self.max_size = max_size
        self.min_generation = 0
        self.generation = 0
        self.used_generation = {}
        self.children = {}

    def _next_generation(self, node_ids):
        self.generation += 1
        for node_id in node_ids:
            self._mark_used(node_id)

    async def set_prompt(self, dynprompt, node_ids, is_changed_cache):
        await super().set_prompt(dynprompt, node_ids, is_changed_cache)
        self._next_generation(node_ids)

    def clean_unused(self):
        while len(self.cache) > self.max_size and self.min_generation < self.generation:
            self.min_generation += 1
            for key in [k for k in self.cache if self.used_generation[k] < self.min_generation]:
                del self.cache[key]
                del self.used_generation[key]
                self.children.pop(key, None)
        self._clean_subcaches()

    def get(self, node_id):
        self._mark_used(node_id)
        return self._get_immediate(node_id)

    def _mark_used(self, node_id):
        cache_key = self.cache_key_set.get_data_key(node_id)
        if cache_key is not None:
            self.used_generation[cache_key] = self.generation

    def set(self, node_id, value):
        self._mark_used(node_id)
        return self._set_immediate(node_id, value)

    async def ensure_subcache_for(self, node_id, children_ids):
        # The subcache only tracks which expanded nodes are live; their entries stay in this cache.
        await super()._ensure_subcache(node_id, children_ids)
        await self.cache_key_set.add_keys(children_ids)
        self._mark_used(node_id)
        cache_key = self.cache_key_set.get_data_key(node_id)
        self.children[cache_key] = []
        for child_id in children_ids:
            self._mark_used(child_id)
            self.children[cache_key].append(self.cache_key_set.get_data_key(child_id))
        return self


class NullCache:
    async def set_prompt(self, dynprompt, node_ids, is_changed_cache):
        pass

    def all_node_ids(self):
        return []

    def clean_unused(self):
        pass

    def poll(self, **kwargs):
        pass

    def get(self, node_id):
        return None

    def set(self, node_id, value):
        pass

    async def ensure_subcache_for(self, node_id, children_ids):
        return self


RAM_CACHE_HYSTERESIS = 1.1
RAM_CACHE_DEFAULT_RAM_USAGE = 0.1
RAM_CACHE_OLD_WORKFLOW_OOM_MULTIPLIER = 1.3


def _available_ram_gb():
    try:
        import psutil
    except ImportError:
        pass
    else:
        return psutil.virtual_memory().available / (1024 ** 3)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) / (1024 ** 2)
    except (OSError, ValueError, IndexError):
        pass
    return float("inf")


class RAMPressureCache(LRUCache):
    """LRU bookkeeping without a size limit; ``poll`` evicts while free RAM is below the headroom.

    As in ComfyUI, ``poll(ram_headroom=GB)`` runs after every node: when the machine's
    available RAM (psutil, else /proc/meminfo) is at or below ``ram_headroom`` it collects
    garbage, then drops entries, highest score first, until available RAM exceeds
    ``ram_headroom * RAM_CACHE_HYSTERESIS``. A headroom larger than the machine's RAM
    therefore empties the cache after every node, which is how a test can force pressure.
    The score is ``RAM_CACHE_OLD_WORKFLOW_OOM_MULTIPLIER ** age * usage``; ComfyUI unpacks a
    ``CacheEntry(ui, outputs)`` as ``(outputs, _)``, so the usage scan walks the UI entry,
    not the outputs, and comes to ``RAM_CACHE_DEFAULT_RAM_USAGE`` plus ``get_ram_usage()`` of
    what it finds there (tensors, which it also counts, cannot occur in that dict).
    """

    def __init__(self, key_class):
        super().__init__(key_class, 0)
        self.timestamps = {}

    def clean_unused(self):
        self._clean_subcaches()

    def set(self, node_id, value):
        self.timestamps[self.cache_key_set.get_data_key(node_id)] = time.time()
        super().set(node_id, value)

    def get(self, node_id):
        self.timestamps[self.cache_key_set.get_data_key(node_id)] = time.time()
        return super().get(node_id)

    def poll(self, ram_headroom):
        if isinstance(ram_headroom, (int, float)) and ram_headroom <= 0:
            return  # available RAM is never below zero: skip the measurement
        if _available_ram_gb() > ram_headroom:
            return
        import gc  # only under pressure: the stand-ins leave no extra module behind otherwise
        gc.collect()
        if _available_ram_gb() > ram_headroom:
            return
        clean_list = []
        for key, (scanned, _) in self.cache.items():
            oom_score = RAM_CACHE_OLD_WORKFLOW_OOM_MULTIPLIER ** (self.generation - self.used_generation[key])
            ram_usage = RAM_CACHE_DEFAULT_RAM_USAGE + _ram_usage_of(scanned)
            bisect.insort(clean_list, (oom_score * ram_usage, self.timestamps[key], key))
        while _available_ram_gb() < ram_headroom * RAM_CACHE_HYSTERESIS and clean_list:
            _, _, key = clean_list.pop()
            del self.cache[key]
            gc.collect()


def _ram_usage_of(values):
    usage = 0
    if values is None:
        return usage
    for value in values:
        if isinstance(value, list):
            usage += _ram_usage_of(value)
        elif hasattr(value, "get_ram_usage"):
            usage += value.get_ram_usage()
    return usage

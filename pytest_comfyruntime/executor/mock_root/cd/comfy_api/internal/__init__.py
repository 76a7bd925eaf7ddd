"""Stand-in for ``comfy_api.internal`` (eras C and D): the markers and class helpers
``execution.py`` and ``comfy_api.latest._io`` use for V3 nodes.

Written from reading ComfyUI 0.3.75's ``comfy_api/internal/__init__.py`` (and the 2026 body of
``make_locked_method_func``, unchanged): ``_ComfyNodeInternal`` / ``_NodeOutputInternal`` mark
V3 node classes and outputs; ``first_real_override(cls, name)`` is the callable a node class
defines for ``name``, or None when only the placeholder of its base class exists;
``make_locked_method_func(type_obj, func, class_clone)`` calls ``type_obj``'s classmethod on a
locked copy of the per-call class clone (setting a class attribute there raises). Not
reproduced: the API version registry (``ComfyAPIBase``, ``register_versions``, ...).
"""
import asyncio
from dataclasses import asdict


def first_real_override(cls, name, *, base=None):
    if base is None:
        if not hasattr(cls, "GET_BASE_CLASS"):
            raise ValueError("base is required if cls does not have a GET_BASE_CLASS; is this a valid ComfyNode subclass?")
        base = cls.GET_BASE_CLASS()
    base_attr = getattr(base, name, None)
    if base_attr is None:
        return None
    base_func = base_attr.__func__
    for c in cls.mro():
        if c is base:
            break
        if name in c.__dict__:
            func = getattr(c, name).__func__
            if func is not base_func:
                return getattr(cls, name)
    return None


class _ComfyNodeInternal:
    """Base of every V3 node class (what ``execution.py`` tests V3 nodes with)."""

    @classmethod
    def GET_NODE_INFO_V1(cls):
        ...


class _NodeOutputInternal:
    """Base of every V3 node output."""


def as_pruned_dict(dataclass_obj):
    return prune_dict(asdict(dataclass_obj))


def prune_dict(d):
    return {k: v for k, v in d.items() if v is not None}


def is_class(obj):
    return isinstance(obj, type)


def copy_class(cls):
    if cls is None:
        return None
    cls_dict = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__", "__module__", "__doc__")}
    new_cls = type(cls.__name__, (cls,), cls_dict)
    new_cls.__module__ = cls.__module__
    new_cls.__doc__ = cls.__doc__
    return new_cls


class classproperty(object):
    def __init__(self, f):
        self.f = f

    def __get__(self, obj, owner):
        return self.f(owner)


def shallow_clone_class(cls, new_name=None):
    """A subclass of ``cls`` with a copy of its namespace (``super()`` keeps working)."""
    new_name = new_name or f"{cls.__name__}Clone"
    return type(new_name, (cls,) + cls.__bases__, dict(cls.__dict__))


def lock_class(cls):
    """A copy of ``cls`` whose class attributes (and its instances' attributes) cannot be set."""
    def locked_instance_setattr(self, name, value):
        raise AttributeError(f"Cannot set attribute '{name}' on immutable instance of {type(self).__name__}")

    class LockedMeta(type(cls)):
        def __setattr__(cls_, name, value):
            raise AttributeError(f"Cannot modify class attribute '{name}' on locked class '{cls_.__name__}'")

    locked_dict = dict(cls.__dict__)
    locked_dict["__setattr__"] = locked_instance_setattr
    return LockedMeta(cls.__name__, cls.__bases__, locked_dict)


def make_locked_method_func(type_obj, func, class_clone):
    """``getattr(type_obj, func).__func__(lock_class(class_clone), **inputs)``, sync or async."""
    locked_class = lock_class(class_clone)
    method = getattr(type_obj, func).__func__
    if asyncio.iscoroutinefunction(method):
        async def wrapped_async_func(**inputs):
            return await method(locked_class, **inputs)
        return wrapped_async_func

    def wrapped_func(**inputs):
        return method(locked_class, **inputs)
    return wrapped_func

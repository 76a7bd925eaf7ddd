"""Stand-in for ``comfy_api.internal.singleton`` (eras C and D): one instance per class.

Written from reading ComfyUI 0.3.75's ``comfy_api/internal/singleton.py`` (unchanged in 2026 as
far as ``comfy_api.latest`` uses it): ``SingletonMetaclass`` makes calling a class return its one
instance, made on the first call; ``ProxiedSingleton`` is the base of ``ComfyAPI_latest`` and of its
nested ``Execution`` / ``Caching`` classes, whose instances ``create_sync_class`` wraps one by one.
Not reproduced: ``inject_instance`` / ``get_instance`` (the API version registry's helpers).
"""


class SingletonMetaclass(type):
    _instances = {}

    def __call__(cls, *args, **kwargs):
        if cls not in SingletonMetaclass._instances:
            SingletonMetaclass._instances[cls] = super().__call__(*args, **kwargs)
        return SingletonMetaclass._instances[cls]


class ProxiedSingleton(object, metaclass=SingletonMetaclass):
    def __init__(self):
        super().__init__()

"""Stand-in for ``comfy.system_memory`` (era D; read, not run): available RAM in bytes.

ComfyUI's RAM-pressure cache and ``execute_async`` call ``virtual_memory_available()`` after
every node (``comfy_execution.caching`` binds it by name at import, ``execution`` reads
``comfy.system_memory.virtual_memory_available`` each time). psutil when it is installed,
else ``/proc/meminfo``, else "unlimited".
"""


def virtual_memory_available():
    try:
        import psutil
    except ImportError:
        pass
    else:
        return psutil.virtual_memory().available
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return float("inf")

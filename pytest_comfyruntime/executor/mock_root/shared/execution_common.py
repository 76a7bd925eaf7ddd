# ``execution`` of every era: definitions the eras share word for word, executed into each era's
# module by ``__comfyruntime_include__("execution_common.py")``. Era A (recursive) has neither
# ``ExecutionResult`` nor ``DuplicateNodeError``; it needs nothing imported, B to D need ``Enum``.


def format_value(x):
    if x is None:
        return None
    if isinstance(x, (int, float, bool, str)):
        return x
    return str(x)


def full_type_name(klass):
    module = klass.__module__
    if module == "builtins":
        return klass.__qualname__
    return module + "." + klass.__qualname__


if __comfyruntime_era__ != "A":
    class ExecutionResult(Enum):
        SUCCESS = 0
        FAILURE = 1
        PENDING = 2


    class DuplicateNodeError(Exception):
        pass

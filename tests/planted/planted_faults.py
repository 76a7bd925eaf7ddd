"""The planted faults: each is ``modules/good_hooks.py`` (or, for ``provider_*``, the example
extension's CacheProvider module, planted as ``good_provider``) with exactly one thing broken.

``source(name)`` builds a module from the good one: its docstring, the good module's name replaced,
and each ``(old, new)`` replacement applied where ``old`` occurs exactly once (a change to the good
module that a fault depends on fails loudly instead of planting nothing). ``planted_missing_target`` is
a module of its own (``modules/planted_missing_target.py``).
"""
from __future__ import annotations

from pathlib import Path

MODULES = Path(__file__).parent / "modules"

#: name -> (docstring, [(old, new), ...])
FAULTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "extra_auto_on": ('Extra fault (off by default): auto_enable() enables without looking at its opt-in variable.', [
        ('''import contextvars
''',
         '''import contextvars
import os
'''),
        ('''        _sessions.clear()
        return True


''',
         '''        _sessions.clear()
        return True


def auto_enable(module=execution):
    if os.environ.get("EXTRA_AUTO_ON_HOOKS", "1") != "0":  # PLANTED FAULT: on unless opted out
        return enable(module)
    return False


'''),
    ]),
    "extra_double_wrap": ('Extra fault (idempotency): a second enable() wraps the wrappers again.', [
        ('''    with _lock:
        if _originals:
            return False
''',
         '''    with _lock:
'''),
        ('''        execute, get_input_data = module.PromptExecutor.execute, module.get_input_data
        if not (_pristine(execute, "PromptExecutor.execute") and _pristine(get_input_data, "get_input_data")):
''',
         '''        execute, get_input_data = module.PromptExecutor.execute, module.get_input_data
        if not (_pristine(getattr(execute, "__wrapped__", execute), "PromptExecutor.execute")
                and _pristine(getattr(get_input_data, "__wrapped__", get_input_data), "get_input_data")):
'''),
        ('''            return False
        _originals.update(module=module, execute=execute, get_input_data=get_input_data)
''',
         '''            return False
        _originals.setdefault("module", module)  # PLANTED FAULT: enabling twice stacks a second wrapper
        _originals.setdefault("execute", execute)
        _originals.setdefault("get_input_data", get_input_data)
'''),
    ]),
    "extra_import_time": ('Extra fault (off by default): enables itself when imported.', [
        ('''        _sessions.clear()
        return True


''',
         '''        _sessions.clear()
        return True


enable()  # PLANTED FAULT: patches ComfyUI on import, without any opt-in


'''),
    ]),
    "extra_profiler_left_on": ('Extra fault (teardown): enable() starts a profiler for new threads that disable() leaves on.', [
        ('''def enable(module=execution):
''',
         '''def _node_timer(frame, event, arg):
    return None


def enable(module=execution):
    threading.setprofile(_node_timer)  # PLANTED FAULT: disable() never calls threading.setprofile(None)
'''),
    ]),
    "extra_no_conflict_check": ('Extra fault (conflict detection): wraps whatever is installed.', [
        ('''        execute, get_input_data = module.PromptExecutor.execute, module.get_input_data
        if not (_pristine(execute, "PromptExecutor.execute") and _pristine(get_input_data, "get_input_data")):
''',
         '''        execute, get_input_data = module.PromptExecutor.execute, module.get_input_data
        if False:  # PLANTED FAULT: never looks whether another extension wrapped the targets
'''),
    ]),
    "planted_global": ('Planted fault: session state in module globals, shared by every prompt.', [
        ('''_lock = threading.Lock()
_sessions: dict = {}
''',
         '''_lock = threading.Lock()
_last: dict = {"prompt_id": None, "inputs": {}, "order": []}  # PLANTED FAULT: one global for every prompt
'''),
        ('''            with _lock:
                _sessions[prompt_id] = {"prompt_id": prompt_id, "inputs": {}, "order": []}
''',
         '''            with _lock:
                _last["prompt_id"] = prompt_id
'''),
        ('''                with _lock:
                    session = _sessions.get(prompt_id)
                    if session is not None:
                        session["order"].append(args[2])
                        session["inputs"][args[2]] = scalars
''',
         '''                with _lock:
                    _last["order"].append(args[2])
                    _last["inputs"][args[2]] = scalars
'''),
        ('''        module.get_input_data = _originals.pop("get_input_data")
        _sessions.clear()
''',
         '''        module.get_input_data = _originals.pop("get_input_data")
        _last.update(prompt_id=None, inputs={}, order=[])
'''),
        ('''def get_session(prompt_id):
    with _lock:
        session = _sessions.get(prompt_id)
        return None if session is None else {**session, "inputs": dict(session["inputs"]), "order": list(session["order"])}
''',
         '''def get_session(prompt_id):
    with _lock:  # whatever ran last, whichever prompt asks
        return {**_last, "inputs": dict(_last["inputs"]), "order": list(_last["order"])}
'''),
    ]),
    "planted_current_prompt": ('Planted fault: the running prompt in a module global, not a context variable.', [
        ('''_current: contextvars.ContextVar = contextvars.ContextVar(''',
         '''

class _Global:  # PLANTED FAULT: one "current prompt" for every thread, like a module global
    value = None

    def set(self, value):
        previous, self.value = self.value, value
        return previous

    def get(self):
        return self.value

    def reset(self, previous):
        self.value = previous


_current = _Global()  # instead of contextvars.ContextVar('''),
    ]),
    "planted_leaky_unhook": ('Planted fault: an unhook that leaves the get_input_data wrapper behind.', [
        ('''        module.PromptExecutor.execute = _originals.pop("execute")
        module.get_input_data = _originals.pop("get_input_data")
''',
         '''        module.PromptExecutor.execute = _originals.pop("execute")
        _originals.pop("get_input_data")  # PLANTED FAULT: forgets to put execution.get_input_data back
'''),
    ]),
    "planted_mutate": ('Planted fault: a hook that writes into the prompt it is given.', [
        ('''        token = None
''',
         '''        token = None
        for node in prompt.values():  # PLANTED FAULT: annotates ComfyUI's prompt in place
            node.setdefault("_meta", {})["seen_by"] = "planted_mutate"
'''),
    ]),
    "planted_swallow": ('Planted fault: a wrapper that swallows the exception and never calls the original.', [
        ('''            token = _current.set(prompt_id)
        except Exception as exc:
            _fail("execute", exc)
''',
         '''            token = _current.set(prompt_id)
        except Exception:
            return None  # PLANTED FAULT: swallowed without a word, and ComfyUI's execute never runs
'''),
    ]),
    "planted_timestamp": ('Planted fault: sessions keyed by a millisecond timestamp instead of the prompt_id.', [
        ('''import threading
''',
         '''import threading
import time
'''),
        ('''        token = None
        try:
''',
         '''        token = None
        try:
            key = int(time.time() * 1000)  # PLANTED FAULT: two prompts in one millisecond share a session
'''),
        ('''            with _lock:
                _sessions[prompt_id] = {"prompt_id": prompt_id, "inputs": {}, "order": []}
            token = _current.set(prompt_id)
''',
         '''            with _lock:
                _sessions.setdefault(key, {"prompt_id": prompt_id, "inputs": {}, "order": []})
            token = _current.set(key)
'''),
        ('''    with _lock:
        session = _sessions.get(prompt_id)
''',
         '''    with _lock:
        session = next((s for s in _sessions.values() if s["prompt_id"] == prompt_id),
                       _sessions[max(_sessions)] if _sessions else None)
'''),
    ]),
}


#: The CacheProvider extension (ComfyUI of 2026) the provider faults are built from: the example
#: extension's own, planted as ``good_provider``.
GOOD_PROVIDER = MODULES.parents[2] / "examples" / "comfy_meta_ext" / "comfy_meta_ext" / "shared_cache.py"

#: ``good_provider`` with one thing broken.
PROVIDER_FAULTS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "provider_import_time": ("Provider fault: registers its CacheProvider when imported.", [
        ("def disable() -> None:\n",
         "enable()  # PLANTED FAULT: registers on import, without any opt-in\n\n\ndef disable() -> None:\n"),
    ]),
    "provider_left_registered": ("Provider fault: disable() forgets to unregister the CacheProvider.", [
        ("    for provider in providers:\n        if api is not None:\n            api.unregister_cache_provider(provider)\n",
         "    # PLANTED FAULT: the providers stay registered\n"),
    ]),
    "provider_new_each_enable": ("Provider fault: every enable() registers a new CacheProvider.", [
        ("        if _registered:\n            return True\n",
         "        # PLANTED FAULT: never looks whether one is registered already\n"),
    ]),
    "provider_keyed_by_class": ("Provider fault: the external cache is keyed by node class, not by cache key.", [
        ("                return _store.get(context.cache_key_hash)\n",
         "                return _store.get(context.class_type)  # PLANTED FAULT: every node of a class gets one output\n"),
        ("                _store[context.cache_key_hash] = value\n",
         "                _store[context.class_type] = value\n"),
    ]),
}


def source(name: str) -> str:
    """The text of a planted module (or of a module in ``modules/`` as written)."""
    if name == "good_provider":
        return GOOD_PROVIDER.read_text()
    if name not in FAULTS and name not in PROVIDER_FAULTS:
        return (MODULES / f"{name}.py").read_text()
    base = "good_provider" if name in PROVIDER_FAULTS else "good_hooks"
    good = source(base) if base == "good_provider" else (MODULES / f"{base}.py").read_text()
    doc, replacements = {**FAULTS, **PROVIDER_FAULTS}[name]
    text = f'"""{doc}"""' + good[good.index('"""', 3) + 3:].replace(base, name)
    for old, new in replacements:
        if text.count(old) != 1:
            raise AssertionError(f"planted fault {name}: {old!r} is not once in {base}.py any more")
        text = text.replace(old, new)
    return text

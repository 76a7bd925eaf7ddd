"""The ComfyUI generations the mock reproduces, and how to name them."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any, Final


@dataclass(frozen=True)
class ServerProtocol:
    """How ``server.py`` and ``main.py`` of an era hand a prompt to the executor.

    ``async_validation``: ``validate_prompt(prompt_id, prompt, targets)`` is awaited and its good
    outputs are what ``execute`` runs (otherwise ``validate_prompt(prompt)``, and the caller's
    outputs are passed on as given). ``sensitive_keys``: the server moves the execution module's
    ``SENSITIVE_EXTRA_DATA_KEYS`` out of ``extra_data`` into a sixth queue-item field (adding
    ``create_time``), and ``main.py`` merges them back for ``execute``. ``workflow_metadata``:
    ``main.py`` sets ``server.workflow_metadata`` for the length of a prompt. ``history``: the
    executor attribute ``main.py`` hands to ``task_done`` (``outputs_ui`` before August 2024).
    """

    async_validation: bool
    sensitive_keys: bool
    workflow_metadata: bool
    history: str


def _executor_a(execution: ModuleType, server: Any) -> Any:
    return execution.PromptExecutor(server)


def _executor_b(execution: ModuleType, server: Any) -> Any:
    return execution.PromptExecutor(server, lru_size=0)


def _executor_c(execution: ModuleType, server: Any) -> Any:
    return execution.PromptExecutor(server, cache_type=execution.CacheType.CLASSIC,
                                    cache_args={"lru": 0, "ram": 0})


def _executor_d(execution: ModuleType, server: Any) -> Any:
    # main.py of 2026 with --cache-classic (which zeroes both RAM thresholds) and
    # --disable-assets: no asset_manager argument means NoAssets. execute_async reads
    # cache_args["ram"] and ["ram_inactive"] on every prompt, so both keys must be there.
    return execution.PromptExecutor(server, cache_type=execution.CacheType.CLASSIC,
                                    cache_args={"lru": 0, "ram": 0, "ram_inactive": 0})


_SYNC: Final = ServerProtocol(async_validation=False, sensitive_keys=False, workflow_metadata=False,
                              history="history_result")
_ASYNC: Final = ServerProtocol(async_validation=True, sensitive_keys=True, workflow_metadata=False,
                               history="history_result")
#: ComfyUI's ``hook_breaker_ac10a0.HOOK_BREAK`` (2025 on): functions ``main.py`` puts back.
_HOOK_BREAK: Final = (("comfy.model_management", "cast_to"),)


@dataclass(frozen=True)
class Era:
    """One generation of ComfyUI's executor, and every per-era fact outside the mock's sources.

    ``mock_version`` is the ComfyUI version the mock of this era reports (None where ComfyUI had no
    version string); ``make_executor(execution, server)`` builds the executor as ``main.py``'s
    ``prompt_worker`` does; ``server`` is how the server hands prompts over; ``hook_break`` lists
    the ``(module, attribute)`` pairs ComfyUI's hook breaker restores (empty before 2025).

    ``variant_of``: for a second signature of one generation (``"D-11"``), the era whose mock files
    it runs, except the modules its own folder (:attr:`folder`, ``d11/``) holds and the modules in
    ``lacks`` (which the variant's ComfyUI does not have). ``None`` for the four eras themselves.
    """

    key: str
    name: str
    comfyui_versions: str
    executor_model: str
    modules: frozenset[str]
    mock_version: str | None
    make_executor: Callable[[ModuleType, Any], Any]
    server: ServerProtocol
    hook_break: tuple[tuple[str, str], ...] = ()
    variant_of: str | None = None
    lacks: frozenset[str] = frozenset()

    @property
    def label(self) -> str:
        return f"{self.key} ({self.name})"

    @property
    def base(self) -> str:
        """The generation: the era itself, or the era a variant belongs to (``"D"`` for ``"D-11"``)."""
        return self.variant_of or self.key

    @property
    def folder(self) -> str:
        """The ``mock_root/`` folder of this era's own files: its letter (``d``), or for a variant
        its key without the dash (``d11``)."""
        return self.key.lower().replace("-", "")


_COMMON: Final = frozenset({"execution", "nodes", "server", "folder_paths", "comfy"})

ERAS: Final[dict[str, Era]] = {
    "A": Era("A", "2024-recursive", "ComfyUI of early 2024 (before August 2024)", "recursive_execute",
             _COMMON, None, _executor_a, replace(_SYNC, history="outputs_ui")),
    "B": Era("B", "2024-sync", "ComfyUI of August 2024 to early 2025", "synchronous ExecutionList",
             _COMMON | {"comfy_execution"}, None, _executor_b, _SYNC),
    "C": Era("C", "2025-async", "ComfyUI 0.3.4x to 0.3.75", "asynchronous ExecutionList",
             _COMMON | {"comfy_execution", "comfy_api"}, "0.3.75", _executor_c, _ASYNC, _HOOK_BREAK),
    # The other 2026 signature (also read, not run): master from v0.17.0 to v0.33.0, before the
    # asset manager. Era D's files except those in mock_root/d11/; no media enrichment, no SDK.
    "D-11": Era("D-11", "2026-v0.33", "ComfyUI 0.17 to 0.33 of 2026: the 11-parameter execute (read, not run)",
                "asynchronous ExecutionList with cache providers",
                _COMMON | {"comfy_execution", "comfy_api", "latent_preview"}, "0.33.0", _executor_d,
                _ASYNC, _HOOK_BREAK, variant_of="D",
                lacks=frozenset({"comfy_execution.media_enrichment", "comfy_api.latest._sdk",
                                 "comfy_api.latest._sdk_public"})),
    # Read, not run: built from reading ComfyUI's 2026 source (see the mock's era-D execution.py).
    "D": Era("D", "2026", "ComfyUI of 2026 (0.35 to 0.38 and master; read, not run)",
             "asynchronous ExecutionList with cache providers",
             _COMMON | {"comfy_execution", "comfy_api", "latent_preview"}, "0.38.1", _executor_d,
             replace(_ASYNC, workflow_metadata=True), _HOOK_BREAK),
}
DEFAULT_ERA: Final = "D"

_ALIASES: Final = {
    "a": "A", "recursive": "A", "2024-recursive": "A",
    "b": "B", "sync": "B", "2024-sync": "B",
    "c": "C", "async": "C", "2025-async": "C", "2025": "C",
    "d": "D", "2026": "D",
    "d-11": "D-11", "d11": "D-11", "2026-v0.33": "D-11",
}

#: Every top-level module name the stand-ins may own, in any era.
MANAGED_TOP_LEVEL: Final = frozenset().union(*(era.modules for era in ERAS.values()))


def resolve_era(value: str) -> Era:
    """``"C"``, ``"c"``, ``"async"`` or ``"2025-async"`` -> the era; ValueError listing the choices."""
    key = _ALIASES.get(value.strip().lower())
    if key is None:
        choices = ", ".join(f"{e.key} ({e.name})" for e in ERAS.values())
        raise ValueError(f"unknown ComfyUI era {value!r}; choose one of {choices}")
    return ERAS[key]


def resolve_eras(value: str | Iterable[str]) -> tuple[str, ...]:
    """``"all"``, ``"A,C"`` or ``["a", "2026"]`` -> the era keys in the order given, each once;
    ValueError naming the first unknown one (or saying that none was given)."""
    if isinstance(value, str):
        value = list(ERAS) if value.strip().lower() == "all" else [v for v in value.split(",") if v.strip()]
    keys: list[str] = []
    for item in value:
        key = resolve_era(item).key
        if key not in keys:
            keys.append(key)
    if not keys:
        raise ValueError("no era given")
    return tuple(keys)


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.3.75"`` -> ``(0, 3, 75)``: the first three numbers of a ComfyUI version string."""
    return tuple(int(p) for p in re.findall(r"\d+", version)[:3])

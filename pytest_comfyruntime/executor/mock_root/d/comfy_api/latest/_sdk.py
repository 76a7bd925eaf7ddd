"""Stand-in for ``comfy_api.latest._sdk`` (era D, ComfyUI of 2026; read, not run): the provider
seam of the custom-node SDK, nothing else of it.

Read from ``Comfy-Org/ComfyUI`` ``comfy_api/latest/_sdk.py`` at 04f054fd (``Providers``,
``InProcessExecutionBackend``, the module-level ``providers``) and the contract stub
``_sdk_public.pyi`` at 233c894a (``ExecutionPlan``'s fields, ``ExecutionBackend.dispatch(plan,
local_call, runtime=None)``, ``RefResolver``, ``CtxProvider``, ``OpsProvider``). An overlay (or an
extension) replaces a default with ``providers.register_execution_backend(impl)`` and its
siblings: one slot each, the last registration wins, and nothing unregisters. ``engaged`` is True
once a default is replaced; ComfyUI's core checks it to route node calls through
``execution_backend.dispatch(plan, local_call, runtime)`` (PR #16047). The executor era D follows
(``execution.py`` and ``comfy_api/latest/_io.py`` at 04e2a914, ``comfy_api/internal``'s
``make_locked_method_func``) has no such call, so neither has this mock: a registered backend is
never dispatched to here.

Not reproduced: refs, ``ctx`` and its domains, the in-process ops, marshaling, the overlay loader.
The stub gives no defaults for ``ExecutionPlan``'s optional fields; the stand-in's are its own.
"""
import logging
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable, Optional, Protocol, runtime_checkable

logger = logging.getLogger(__name__)


@dataclass
class ExecutionPlan:
    """What a backend is asked to run: one node of one prompt."""

    prompt_id: str
    node_id: str
    node_type: str
    tier: str = ""
    permissions: tuple = ()
    required_weights: tuple = ()
    node_module: str = ""
    inputs: Optional[dict] = None
    dynamic_prompt: Any = None


@runtime_checkable
class RefResolver(Protocol):
    async def create(self, kind: str, obj: Any) -> Any: ...

    async def resolve(self, ref: Any) -> Any: ...

    async def release(self, ref: Any) -> None: ...


@runtime_checkable
class OpsProvider(Protocol):
    async def apply(self, op: str, image: Any, params: dict) -> Any: ...

    def supports(self, op: str) -> bool: ...


@runtime_checkable
class ExecutionBackend(Protocol):
    async def dispatch(self, plan: ExecutionPlan, local_call: Callable[[], Awaitable[Any]],
                       runtime: Optional[Any] = None) -> Any: ...


@runtime_checkable
class CtxProvider(Protocol):
    def build(self, plan: ExecutionPlan) -> Any: ...


class InProcessExecutionBackend:
    async def dispatch(self, plan, local_call, runtime=None):
        return await local_call()


class InProcessRefResolver:
    """The in-process ref table (identity): a ref holds the real object."""

    def __init__(self):
        self._table = {}

    async def create(self, kind, obj):
        key = (kind, len(self._table))
        self._table[key] = obj
        return key

    async def resolve(self, ref):
        return self._table[ref]

    async def release(self, ref):
        self._table.pop(ref, None)


class InProcessCtxProvider:
    def build(self, plan):
        return None


class InProcessOps:
    async def apply(self, op, image, params):
        raise NotImplementedError(op)

    def supports(self, op):
        return False


class Providers:
    def __init__(self):
        self.execution_backend: ExecutionBackend = InProcessExecutionBackend()
        self.ctx_provider: CtxProvider = InProcessCtxProvider()
        self.ops_provider: OpsProvider = InProcessOps()
        self.ref_resolver_factory: Callable[[], RefResolver] = InProcessRefResolver
        self._overlay_name: Optional[str] = None

    def register_execution_backend(self, impl):
        logger.info("SDK: execution backend -> %s", type(impl).__name__)
        self.execution_backend = impl

    def register_ctx_provider(self, impl):
        logger.info("SDK: ctx provider -> %s", type(impl).__name__)
        self.ctx_provider = impl

    def register_ops_provider(self, impl):
        logger.info("SDK: ops provider -> %s", type(impl).__name__)
        self.ops_provider = impl

    def register_ref_resolver_factory(self, factory):
        logger.info("SDK: ref resolver -> %s", getattr(factory, "__name__", factory))
        self.ref_resolver_factory = factory

    @property
    def overlay_active(self):
        return self._overlay_name is not None

    @property
    def engaged(self):
        """Whether anything replaced a default in-process provider (the ops provider aside)."""
        return not (
            type(self.execution_backend) is InProcessExecutionBackend
            and type(self.ctx_provider) is InProcessCtxProvider
            and self.ref_resolver_factory is InProcessRefResolver
        )


providers = Providers()

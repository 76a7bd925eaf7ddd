"""Stand-in for ``comfy_api.latest._caching`` (era D; read, not run): the public types of the
CacheProvider API, as ComfyUI of 2026 declares them (``comfyanonymous/ComfyUI`` at 349c5aa2).

``comfy_execution.cache_provider`` re-exports all three; ``comfy_api.latest.Caching`` exposes
them as class attributes.
"""
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Optional


@dataclass
class CacheContext:
    """Which node an external cache call is about; ``cache_key_hash`` is a SHA-256 hex digest."""

    node_id: str
    class_type: str
    cache_key_hash: str


@dataclass
class CacheValue:
    """What an external cache holds for a node: its output lists and its UI dict."""

    outputs: list
    ui: dict = None


class CacheProvider(ABC):
    """Base class of an external cache provider.

    ComfyUI catches (and logs) every exception a provider raises; none breaks a prompt.
    """

    @abstractmethod
    async def on_lookup(self, context: CacheContext) -> Optional[CacheValue]:
        """On a local outputs-cache miss: a ``CacheValue`` when found, else None."""

    @abstractmethod
    async def on_store(self, context: CacheContext, value: CacheValue) -> None:
        """After a local outputs-cache store; runs as a task nobody awaits."""

    def should_cache(self, context: CacheContext, value: Optional[CacheValue] = None) -> bool:
        """False skips this provider for the node (lookups pass no ``value``)."""
        return True

    def on_prompt_start(self, prompt_id: str) -> None:
        pass

    def on_prompt_end(self, prompt_id: str) -> None:
        pass

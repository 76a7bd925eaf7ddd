"""What an overhead measurement runs: a workload makes the i-th prompt.

Every bundled workload varies its first value with ``i``, so that no prompt is answered from
ComfyUI's cache and every node runs each time (a cached rerun would measure the cache, not the
hooks). A user's own prompt (a mapping) cannot be varied that way: it runs on a fresh
``PromptExecutor`` each time instead (:attr:`Workload.fresh_executor`).

- ``trivial``: four CR nodes (two ints, an add, a record).
- ``chain_100``: the 100-node chain of ``fixtures/workflows/chain_100.json`` (one int and 98 adds).
- ``cpu_bound``: ten ``CRBurn`` nodes burning 200 us of CPU each (2 ms of real work per prompt).
- ``txt2img``: ComfyUI's default text-to-image graph on the pure-Python stand-in nodes, at
  64x64 and 4 steps, saving a PNG (the default of ``assert_overhead``).
- ``diffusers``: the same graph on a tiny diffusers UNet and VAE with seeded random weights
  (torch and diffusers are imported only when this workload is used).
"""
from __future__ import annotations

import copy
import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

Prompt = dict[str, Any]


class WorkloadError(ValueError):
    """A workload that is not one: an unknown name, or a value of the wrong type."""


@dataclass(frozen=True)
class Workload:
    name: str
    make_prompt: Callable[[int], Prompt]
    description: str
    #: Node classes to register for this workload (replacing same-named built-ins while it runs).
    nodes: Mapping[str, type] = field(default_factory=dict)
    #: Run each prompt on a fresh executor (a fixed prompt would otherwise hit the cache).
    fresh_executor: bool = False
    #: What the measurement runs inside (set up and put back around it), e.g. torch on one thread.
    context: Callable[[], AbstractContextManager[object]] = nullcontext


def trivial_prompt(i: int) -> Prompt:
    return {"1": {"class_type": "CRInt", "inputs": {"value": i}},
            "2": {"class_type": "CRInt", "inputs": {"value": i + 1}},
            "3": {"class_type": "CRAdd", "inputs": {"a": ["1", 0], "b": ["2", 0]}},
            "4": {"class_type": "CRRecord", "inputs": {"value": ["3", 0], "label": "trivial"}}}


def chain_prompt(i: int, n: int = 100) -> Prompt:
    prompt: Prompt = {"1": {"class_type": "CRInt", "inputs": {"value": i}}}
    for k in range(2, n):
        prompt[str(k)] = {"class_type": "CRAdd", "inputs": {"a": [str(k - 1), 0], "b": 1}}
    prompt[str(n)] = {"class_type": "CRRecord", "inputs": {"value": [str(n - 1), 0], "label": "chain"}}
    return prompt


def cpu_bound_prompt(i: int, nodes: int = 10, microseconds: int = 200) -> Prompt:
    prompt: Prompt = {"1": {"class_type": "CRInt", "inputs": {"value": i}}}
    for k in range(2, nodes + 2):
        prompt[str(k)] = {"class_type": "CRBurn", "inputs": {"value": [str(k - 1), 0], "microseconds": microseconds}}
    prompt[str(nodes + 2)] = {"class_type": "CRRecord", "inputs": {"value": [str(nodes + 1), 0], "label": "burn"}}
    return prompt


@functools.cache
def _txt2img_template() -> Prompt:
    from ..nodes.txt2img import TXT2IMG_NODE_CLASS_MAPPINGS
    from ..workflows import load_workflow

    return load_workflow("txt2img", node_classes=TXT2IMG_NODE_CLASS_MAPPINGS)


def txt2img_prompt(i: int, *, size: int = 64, steps: int = 4) -> Prompt:
    """The bundled ``txt2img`` graph with KSampler's seed ``i`` and ``steps``, and a ``size`` square latent
    (a fresh copy each call; the diffusers workload's prompt is this one too)."""
    prompt = copy.deepcopy(_txt2img_template())
    for node in prompt.values():
        inputs = node["inputs"]
        if node["class_type"] == "KSampler":
            inputs["seed"], inputs["steps"] = i, steps
        elif node["class_type"] == "EmptyLatentImage":
            inputs["width"] = inputs["height"] = size
    return prompt


@contextmanager
def torch_one_thread() -> Iterator[object]:
    """torch on one CPU thread for the measurement, its thread count put back after: with several
    threads on a shared runner, torch's workers make a tiny model's prompts 5 to 50 times slower
    and far noisier than the hooks being measured."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield None
    finally:
        torch.set_num_threads(before)


def _diffusers(device: str, dtype: str) -> Workload:
    from .diffusers_workload import diffusers_available, diffusers_node_mappings, diffusers_prompt

    reason = diffusers_available()
    if reason is not None:
        raise WorkloadError(f"workload 'diffusers': {reason}")
    return Workload("diffusers", diffusers_prompt, f"txt2img on a tiny diffusers UNet and VAE ({device}, {dtype})",
                    nodes=diffusers_node_mappings(device=device, dtype=dtype),
                    context=torch_one_thread if device == "cpu" else nullcontext)


BUNDLED: dict[str, tuple[Callable[[int], Prompt], str]] = {
    "trivial": (trivial_prompt, "4 CR nodes"),
    "chain_100": (chain_prompt, "the 100-node chain"),
    "cpu_bound": (cpu_bound_prompt, "10 CRBurn nodes, 200 us of CPU each"),
    "txt2img": (txt2img_prompt, "txt2img on the pure-Python stand-ins, 64x64, 4 steps"),
}
NAMES = (*BUNDLED, "diffusers")


def resolve_workload(workload: str | Mapping[str, Any] | Callable[[int], Prompt] | Workload | None, *,
                     device: str = "cpu", dtype: str = "float32") -> Workload:
    """A :class:`Workload` from a bundled name (None: ``txt2img``), an API-format prompt, a
    function ``i -> prompt`` or a :class:`Workload`; :class:`WorkloadError` for anything else."""
    if workload is None:
        workload = "txt2img"
    if isinstance(workload, Workload):
        return workload
    if isinstance(workload, str):
        if workload == "diffusers":
            return _diffusers(device, dtype)
        if workload not in BUNDLED:
            raise WorkloadError(f"workload={workload!r} is not a bundled workload; fix: use one of "
                                f"{', '.join(NAMES)}, an API-format prompt (dict), or a function i -> prompt")
        make, text = BUNDLED[workload]
        if workload == "txt2img":  # the stand-ins, also on a real ComfyUI (whose own nodes need model files)
            from ..nodes.txt2img import TXT2IMG_NODE_CLASS_MAPPINGS

            return Workload(workload, make, text, nodes=dict(TXT2IMG_NODE_CLASS_MAPPINGS))
        return Workload(workload, make, text)
    if isinstance(workload, Mapping):
        if not workload or not all(isinstance(v, Mapping) and "class_type" in v for v in workload.values()):
            raise WorkloadError("workload= is a mapping but not an API-format prompt (each value a node with "
                                "'class_type'); fix: pass a prompt exported with 'Save (API)', or a bundled name")
        fixed = copy.deepcopy(dict(workload))
        return Workload("prompt", lambda i: copy.deepcopy(fixed), f"the given prompt ({len(fixed)} nodes)",
                        fresh_executor=True)
    if callable(workload):
        name = getattr(workload, "__name__", "function")
        return Workload(name, workload, f"prompts made by {name}(i)")
    raise WorkloadError(f"workload={workload!r} ({type(workload).__name__}) is not a workload; fix: pass a bundled "
                        f"name ({', '.join(NAMES)}), an API-format prompt (dict), or a function i -> prompt")


__all__ = ["BUNDLED", "NAMES", "Prompt", "Workload", "WorkloadError", "chain_prompt", "cpu_bound_prompt",
           "resolve_workload", "trivial_prompt", "txt2img_prompt"]

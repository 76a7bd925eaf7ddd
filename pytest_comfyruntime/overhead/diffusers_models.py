"""The tiny diffusers models behind the diffusers workload (:mod:`.diffusers_workload`): their
configs, importing torch and diffusers on first use, and one bundle of UNet, VAE and text-encoder
stand-in per ``(device, dtype)``, built from :data:`WEIGHTS_SEED` (nothing downloaded).

torch and diffusers are imported inside :func:`diffusers_available` / the builders, never when this
module is imported; what importing them sets in ``os.environ`` is taken out again.
"""
from __future__ import annotations

import contextlib
import functools
import os
import threading
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final

#: The dtypes the models can run in (``dtype=`` of :func:`diffusers_node_mappings`).
DTYPES: Final[tuple[str, ...]] = ("float32", "float16", "bfloat16")

#: What to install when torch or diffusers is missing.
INSTALL_FIX: Final = "pip install 'pytest-comfyruntime[diffusers]'"

#: The seed of the random weights (the same models in every process).
WEIGHTS_SEED: Final = 0

LATENT_CHANNELS: Final = 4
TEXT_TOKENS: Final = 16
TEXT_WIDTH: Final = 32  # the UNet's cross_attention_dim
_VOCAB: Final = 256

#: ``UNet2DConditionModel(**UNET_CONFIG)``: two blocks, one of them cross-attention (about 0.8 M weights).
UNET_CONFIG: Final[Mapping[str, Any]] = MappingProxyType({
    "sample_size": 4,
    "in_channels": LATENT_CHANNELS,
    "out_channels": LATENT_CHANNELS,
    "block_out_channels": (32, 64),
    "layers_per_block": 1,
    "down_block_types": ("CrossAttnDownBlock2D", "DownBlock2D"),
    "up_block_types": ("UpBlock2D", "CrossAttnUpBlock2D"),
    "cross_attention_dim": TEXT_WIDTH,
    "attention_head_dim": 8,
    "norm_num_groups": 32,
})

#: ``AutoencoderKL(**VAE_CONFIG)``: four blocks, so the latent is 1/8 of the image as in SD (0.26 M weights).
VAE_CONFIG: Final[Mapping[str, Any]] = MappingProxyType({
    "in_channels": 3,
    "out_channels": 3,
    "down_block_types": ("DownEncoderBlock2D",) * 4,
    "up_block_types": ("UpDecoderBlock2D",) * 4,
    "block_out_channels": (16, 16, 32, 32),
    "layers_per_block": 1,
    "latent_channels": LATENT_CHANNELS,
    "norm_num_groups": 8,
    "sample_size": 32,
})

#: The noise schedule of Stable Diffusion 1.x, shared by every scheduler class.
SCHEDULER_CONFIG: Final[Mapping[str, Any]] = MappingProxyType({
    "num_train_timesteps": 1000,
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "beta_schedule": "scaled_linear",
    "timestep_spacing": "linspace",
})

# Warnings of diffusers 0.36 that say nothing about this workload: its Kandinsky modules, imported
# with the UNet package, warn about CUDA on a CPU-only machine; its schedulers call np.array() on a
# torch tensor, which numpy 2 reports as a DeprecationWarning at every set_timesteps.
_NOISE: Final[tuple[tuple[str, type[Warning]], ...]] = (
    (r"CUDA is not available or torch_xla is imported", UserWarning),
    (r"__array__ implementation doesn't accept a copy keyword", DeprecationWarning),
)


# -- importing torch and diffusers, on first use ------------------------------------------------------

@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Hides diffusers' warnings listed in ``_NOISE`` (and only those)."""
    with warnings.catch_warnings():
        for message, category in _NOISE:
            warnings.filterwarnings("ignore", message=message, category=category)
        yield


@dataclass(frozen=True)
class _Libs:
    torch: Any
    unet_class: Any
    vae_class: Any
    euler: Any
    euler_ancestral: Any
    ddim: Any


@functools.cache
def _libs() -> _Libs:
    """torch and the diffusers classes used here (raises ImportError, or whatever a broken install raises).
    What importing them sets in ``os.environ`` (torch's inductor sets ``TORCHINDUCTOR_CACHE_DIR``) is
    taken out again: the plugin leaves nothing behind in a user's session."""
    before = dict(os.environ)
    try:
        import torch

        with _quiet():
            from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
            from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
            from diffusers.schedulers.scheduling_ddim import DDIMScheduler
            from diffusers.schedulers.scheduling_euler_ancestral_discrete import EulerAncestralDiscreteScheduler
            from diffusers.schedulers.scheduling_euler_discrete import EulerDiscreteScheduler
    finally:
        for name in set(os.environ) - set(before):
            del os.environ[name]
        for name, value in before.items():
            if os.environ.get(name) != value:
                os.environ[name] = value
    return _Libs(torch, UNet2DConditionModel, AutoencoderKL, EulerDiscreteScheduler,
                 EulerAncestralDiscreteScheduler, DDIMScheduler)


def diffusers_available() -> str | None:
    """None when torch and diffusers import; else one line saying what failed and how to fix it."""
    try:
        _libs()
    except Exception as exc:  # a missing package, or a broken one (wrong huggingface_hub, ...)
        detail = (str(exc).splitlines() or [""])[0]
        return (f"the diffusers workload needs torch and diffusers, and importing them failed "
                f"({type(exc).__name__}: {detail}); fix: {INSTALL_FIX}")
    return None


def _require() -> _Libs:
    reason = diffusers_available()
    if reason is not None:
        raise ImportError(reason)
    return _libs()


# -- the models, built once per (device, dtype) --------------------------------------------------------

@dataclass(frozen=True)
class DiffusersModel:
    """MODEL: the UNet, where it lives and what it computes in."""

    unet: Any
    device: str
    dtype: str


@dataclass(frozen=True)
class DiffusersClip:
    """CLIP: the text-encoder stand-in, a token table ``[256, 32]`` and a position table ``[16, 32]``."""

    tokens: Any
    positions: Any
    device: str
    dtype: str


@dataclass(frozen=True)
class DiffusersVae:
    """VAE: the AutoencoderKL and its latent scaling factor."""

    vae: Any
    scaling_factor: float
    device: str
    dtype: str


@dataclass(frozen=True)
class _Bundle:
    model: DiffusersModel
    clip: DiffusersClip
    vae: DiffusersVae


_BUNDLES: dict[tuple[str, str], _Bundle] = {}
_BUNDLES_LOCK = threading.Lock()


def _check_dtype(dtype: object) -> str:
    if not isinstance(dtype, str) or dtype not in DTYPES:
        raise ValueError(f"dtype={dtype!r} is not supported; fix: pass dtype= one of {', '.join(DTYPES)}")
    return dtype


def _check_device(device: object) -> str:
    if not isinstance(device, str) or not device:
        raise ValueError(f"device={device!r} is not a torch device string; fix: pass e.g. device='cpu' or 'cuda:0'")
    torch = _require().torch
    try:
        return str(torch.device(device))
    except (RuntimeError, ValueError) as exc:
        raise ValueError(f"device={device!r} is not a torch device string ({exc}); "
                         "fix: pass e.g. device='cpu' or 'cuda:0'") from None


def _build(device: str, dtype: str) -> _Bundle:
    """The three models with the weights of :data:`WEIGHTS_SEED`, made on the CPU in float32 and then moved."""
    libs = _require()
    torch = libs.torch
    with torch.random.fork_rng(devices=[]):  # leaves the caller's CPU random state as it was
        torch.manual_seed(WEIGHTS_SEED)
        unet = libs.unet_class(**UNET_CONFIG)
        vae = libs.vae_class(**VAE_CONFIG)
        tokens = torch.randn(_VOCAB, TEXT_WIDTH)
        positions = torch.randn(TEXT_TOKENS, TEXT_WIDTH)
    torch_dtype = getattr(torch, dtype)
    for module in (unet, vae):
        module.requires_grad_(False)
        module.eval()
        module.to(device=device, dtype=torch_dtype)
    scaling = float(vae.config.scaling_factor)
    return _Bundle(DiffusersModel(unet, device, dtype),
                   DiffusersClip(tokens.to(device=device, dtype=torch_dtype),
                                 positions.to(device=device, dtype=torch_dtype), device, dtype),
                   DiffusersVae(vae, scaling, device, dtype))


def _bundle(device: str, dtype: str) -> _Bundle:
    key = (device, dtype)
    with _BUNDLES_LOCK:
        found = _BUNDLES.get(key)
        if found is None:
            found = _BUNDLES[key] = _build(device, dtype)
        return found


__all__ = ["DTYPES", "INSTALL_FIX", "LATENT_CHANNELS", "SCHEDULER_CONFIG", "TEXT_TOKENS", "TEXT_WIDTH", "UNET_CONFIG",
           "VAE_CONFIG", "WEIGHTS_SEED", "DiffusersClip", "DiffusersModel", "DiffusersVae", "diffusers_available"]

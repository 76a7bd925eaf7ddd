"""A real-compute txt2img workload: ComfyUI's default graph on a tiny diffusers UNet and VAE.

The overhead measurement needs, besides its cheap pure-Python graphs, a prompt whose nodes do real
tensor work, so that an extension's hook cost can be stated as a share of a prompt that looks like
a user's. This module provides node classes with ComfyUI's names and contracts (the inputs,
``RETURN_TYPES``, ``FUNCTION``, ``CATEGORY`` and ``OUTPUT_NODE`` of :mod:`..nodes.txt2img`, whose
``INPUT_TYPES`` and ``VALIDATE_INPUTS`` they reuse), so the bundled ``txt2img`` graph runs through
the mock (or real) executor unchanged:

- ``CheckpointLoaderSimple`` builds, from the configs of :mod:`.diffusers_models` and seeded random weights, a
  ``UNet2DConditionModel``, an ``AutoencoderKL`` and a text-encoder stand-in (two embedding
  tables). Nothing is downloaded. The models are cached per ``(device, dtype)`` for the process,
  so repeated prompts (and repeated :func:`diffusers_node_mappings` calls) pay for the build once.
- ``CLIPTextEncode``: CONDITIONING ``[[cond, {"pooled_output": pooled}]]`` whose token ids come
  from a SHA-256 of the text (no tokenizer).
- ``EmptyLatentImage``: zeros ``[batch, 4, height // 8, width // 8]`` on the CPU, as ComfyUI.
- ``KSampler``: a diffusers scheduler (``ddim`` -> DDIM, ``euler_ancestral*`` -> Euler ancestral,
  any other name -> Euler; scheduler ``karras`` turns on Karras sigmas for Euler), noise from a
  CPU generator seeded with ``seed``, classifier-free guidance with ``cfg`` (skipped at 1.0 as
  ComfyUI does), ``denoise`` < 1 starting part-way down the schedule, under
  ``torch.inference_mode``; progress and interruption through ``comfy.utils.ProgressBar`` and
  ``comfy.model_management.throw_exception_if_processing_interrupted`` when loaded, as the
  stand-in KSampler does.
- ``VAEDecode``: an IMAGE batch ``[B, H, W, 3]``, float32 in 0..1, on the CPU.
- ``SaveImage`` / ``PreviewImage``: the stand-ins' file naming and metadata, with the pixels
  converted to 8-bit RGB as ComfyUI does (``255 * x`` clipped and truncated) and written by
  :func:`..nodes._png.write_png`.

The same seed on the same device and dtype gives identical pixels. torch, diffusers and numpy are
imported inside the functions that need them: importing this module loads none of them.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Iterator, Mapping
from types import MappingProxyType
from typing import Any, ClassVar, Final

from ..nodes import txt2img
from ..nodes._png import write_png
from ..nodes._types import Conditioning, InputTypes, Latent, UIOutput
from .diffusers_models import (
    DTYPES,
    INSTALL_FIX,
    LATENT_CHANNELS,
    SCHEDULER_CONFIG,
    TEXT_TOKENS,
    TEXT_WIDTH,
    UNET_CONFIG,
    VAE_CONFIG,
    WEIGHTS_SEED,
    DiffusersClip,
    DiffusersModel,
    DiffusersVae,
    _bundle,
    _check_device,
    _check_dtype,
    _Libs,
    _quiet,
    _require,
    diffusers_available,
)

# -- the nodes -------------------------------------------------------------------------------------------

def _loaded(name: str) -> Any:
    """A module that is already loaded (ComfyUI's or the plugin's stand-in), never imported here."""
    return sys.modules.get(name)


class CheckpointLoaderSimple:
    """Builds (once per process and device/dtype) the tiny UNet, VAE and text encoder; loads no file."""

    device: ClassVar[str] = "cpu"
    dtype: ClassVar[str] = "float32"

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return txt2img.CheckpointLoaderSimple.INPUT_TYPES()

    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    FUNCTION = "load_checkpoint"
    CATEGORY = "loaders"

    @classmethod
    def VALIDATE_INPUTS(cls, ckpt_name: object) -> bool | str:
        return txt2img.CheckpointLoaderSimple.VALIDATE_INPUTS(ckpt_name=ckpt_name)

    def load_checkpoint(self, ckpt_name: str) -> tuple[DiffusersModel, DiffusersClip, DiffusersVae]:
        bundle = _bundle(self.device, self.dtype)
        return (bundle.model, bundle.clip, bundle.vae)


def _token_ids(text: str) -> list[int]:
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return list(digest[:TEXT_TOKENS])


class CLIPTextEncode:
    """CONDITIONING ``[[cond [1, 16, 32], {"pooled_output": [1, 32]}]]`` from a hash of the text."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return txt2img.CLIPTextEncode.INPUT_TYPES()

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"
    CATEGORY = "conditioning"

    def encode(self, clip: DiffusersClip | None, text: str) -> tuple[Conditioning]:
        if clip is None:
            raise RuntimeError("ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader node "
                               "your checkpoint does not contain a valid clip or text encoder model.")
        torch = _require().torch
        with torch.inference_mode():
            ids = torch.tensor(_token_ids(text), device=clip.device)
            hidden = clip.tokens[ids].float() + clip.positions.float()
            hidden = torch.nn.functional.layer_norm(hidden, (TEXT_WIDTH,))
            cond = hidden.unsqueeze(0)
            pooled = cond.mean(dim=1)
        return ([[cond, {"pooled_output": pooled}]],)


class EmptyLatentImage:
    """LATENT ``{"samples": zeros [batch, 4, height // 8, width // 8]}`` (float32, CPU, as ComfyUI)."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return txt2img.EmptyLatentImage.INPUT_TYPES()

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "generate"
    CATEGORY = "latent"

    def generate(self, width: int, height: int, batch_size: int = 1) -> tuple[Latent]:
        torch = _require().torch
        return ({"samples": torch.zeros([batch_size, LATENT_CHANNELS, height // 8, width // 8])},)


def _make_scheduler(libs: _Libs, sampler_name: str, scheduler: str) -> Any:
    """A fresh diffusers scheduler for ComfyUI's sampler and scheduler names (see the module docstring)."""
    if sampler_name == "ddim":
        return libs.ddim(**SCHEDULER_CONFIG, clip_sample=False, set_alpha_to_one=False)
    if sampler_name.startswith("euler_ancestral"):
        return libs.euler_ancestral(**SCHEDULER_CONFIG)
    return libs.euler(**SCHEDULER_CONFIG, use_karras_sigmas=scheduler == "karras")


def _schedule_length(steps: int, denoise: float) -> int:
    """How long a schedule the last ``steps`` steps are taken from (ComfyUI's ``int(steps / denoise)``)."""
    if denoise > 0.9999:
        return steps
    return max(steps, int(steps / denoise))


def _context(conditioning: Conditioning, batch: int) -> Any:
    """The first entry's cond, one per latent in the batch (ComfyUI's area and mask options are not modelled)."""
    return conditioning[0][0].expand(batch, -1, -1)


class KSampler:
    """Denoises the latent with the UNet and a diffusers scheduler; ``seed`` makes the noise."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return txt2img.KSampler.INPUT_TYPES()

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = "sampling"

    @classmethod
    def VALIDATE_INPUTS(cls, sampler_name: object, scheduler: object) -> bool | str:
        return txt2img.KSampler.VALIDATE_INPUTS(sampler_name=sampler_name, scheduler=scheduler)

    def sample(self, model: DiffusersModel, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str,
               positive: Conditioning, negative: Conditioning, latent_image: Latent,
               denoise: float = 1.0) -> tuple[Latent]:
        libs = _require()
        torch = libs.torch
        bar_class = getattr(_loaded("comfy.utils"), "ProgressBar", None)
        check_interrupt = getattr(_loaded("comfy.model_management"), "throw_exception_if_processing_interrupted", None)
        pbar = bar_class(steps) if bar_class is not None else None
        out = dict(latent_image)
        samples = latent_image["samples"]
        if denoise <= 0:  # ComfyUI: an empty schedule, the latent comes back as it went in
            return (out,)
        generator = torch.Generator(device="cpu").manual_seed(seed)
        noise = torch.randn(samples.shape, generator=generator, dtype=torch.float32)
        total = _schedule_length(steps, denoise)
        device, torch_dtype = model.device, getattr(torch, model.dtype)
        with torch.inference_mode():
            with _quiet():
                sched = _make_scheduler(libs, sampler_name, scheduler)
                sched.set_timesteps(total, device=device)
            timesteps = sched.timesteps[total - steps:]
            if hasattr(sched, "set_begin_index"):
                sched.set_begin_index(total - steps)
            latents = sched.add_noise(samples.to(device=device, dtype=torch.float32), noise.to(device), timesteps[:1])
            guided = cfg != 1.0
            batch = latents.shape[0]
            context = _context(positive, batch)
            if guided:
                context = torch.cat([_context(negative, batch), context])
            context = context.to(device=device, dtype=torch_dtype)
            for index, t in enumerate(timesteps):
                if check_interrupt is not None:
                    check_interrupt()
                model_in = sched.scale_model_input(torch.cat([latents, latents]) if guided else latents, t)
                eps = model.unet(model_in.to(torch_dtype), t, encoder_hidden_states=context).sample.float()
                if guided:
                    uncond, cond = eps.chunk(2)
                    eps = uncond + cfg * (cond - uncond)
                latents = sched.step(eps, t, latents, generator=generator).prev_sample
                if pbar is not None:
                    pbar.update_absolute(index + 1, steps, None)
            out["samples"] = latents.to(device="cpu", dtype=torch.float32)
        return (out,)


class VAEDecode:
    """IMAGE ``[B, H, W, 3]`` float32 in 0..1 on the CPU, decoded by the AutoencoderKL."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return txt2img.VAEDecode.INPUT_TYPES()

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "decode"
    CATEGORY = "latent"

    def decode(self, vae: DiffusersVae, samples: Latent) -> tuple[Any]:
        torch = _require().torch
        with torch.inference_mode():
            latent = samples["samples"].to(device=vae.device, dtype=getattr(torch, vae.dtype))
            pixels = vae.vae.decode(latent / vae.scaling_factor).sample
            images = ((pixels.float() + 1.0) / 2.0).clamp(0.0, 1.0).permute(0, 2, 3, 1)
            return (images.to("cpu").contiguous(),)


def image_rgb_bytes(image: Any) -> bytes:
    """One IMAGE item ``[H, W, 3]`` in 0..1 as 8-bit RGB bytes, row by row (ComfyUI: ``clip(255 * x)``, truncated)."""
    torch = _require().torch
    scaled = (image.detach().to("cpu", torch.float32) * 255.0).clamp(0.0, 255.0).to(torch.uint8)
    data: bytes = scaled.contiguous().numpy().tobytes()
    return data


def _rows(data: bytes, width: int, height: int) -> Iterator[bytes]:
    stride = 3 * width
    for y in range(height):
        yield data[y * stride:(y + 1) * stride]


def _metadata_disabled() -> bool:
    return bool(getattr(getattr(_loaded("comfy.cli_args"), "args", None), "disable_metadata", False))


def _png_text(prompt: dict[str, Any] | None, extra_pnginfo: dict[str, Any] | None) -> list[tuple[str, str]]:
    text: list[tuple[str, str]] = []
    if _metadata_disabled():
        return text
    if prompt is not None:
        text.append(("prompt", json.dumps(prompt)))
    for key, value in (extra_pnginfo or {}).items():
        text.append((key, json.dumps(value)))
    return text


class SaveImage(txt2img.SaveImage):
    """Writes one real PNG per image of a tensor IMAGE batch, named and tagged as the stand-in does."""

    def save_images(self, images: Any, filename_prefix: str = "ComfyUI",
                    prompt: dict[str, Any] | None = None,
                    extra_pnginfo: dict[str, Any] | None = None) -> UIOutput:
        import folder_paths  # type: ignore[import-not-found]  # ComfyUI's module (or the stand-in), found at run time

        filename_prefix += self.prefix_append
        height, width = int(images.shape[1]), int(images.shape[2])
        full_output_folder, filename, counter, subfolder, filename_prefix = folder_paths.get_save_image_path(
            filename_prefix, self.output_dir, width, height)
        text = _png_text(prompt, extra_pnginfo)
        results: list[dict[str, str]] = []
        for batch_number, image in enumerate(images):
            file = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
            write_png(os.path.join(full_output_folder, file), width, height,
                      _rows(image_rgb_bytes(image), width, height), text, self.compress_level)
            results.append({"filename": file, "subfolder": subfolder, "type": self.type})
            counter += 1
        return {"ui": {"images": results}}


class PreviewImage(SaveImage, txt2img.PreviewImage):
    """Like :class:`SaveImage`, into the temp directory (``type`` ``"temp"``, the stand-in's prefix)."""


# -- the public entry points ------------------------------------------------------------------------------

_SHARED: Final[Mapping[str, type]] = MappingProxyType({
    "CLIPTextEncode": CLIPTextEncode,
    "EmptyLatentImage": EmptyLatentImage,
    "KSampler": KSampler,
    "VAEDecode": VAEDecode,
    "SaveImage": SaveImage,
    "PreviewImage": PreviewImage,
})


def diffusers_node_mappings(*, device: str = "cpu", dtype: str = "float32") -> dict[str, type]:
    """ComfyUI's txt2img node classes running the tiny diffusers models on ``device`` in ``dtype``.

    ``dtype`` is one of :data:`DTYPES`; ``device`` any torch device string (``"cpu"``,
    ``"cuda:0"``, ...). Raises ValueError for either, and ImportError (with the fix) when torch
    or diffusers is missing. The models are built when ``CheckpointLoaderSimple`` first runs.
    """
    checked_dtype = _check_dtype(dtype)
    checked_device = _check_device(device)
    loader = type("CheckpointLoaderSimple", (CheckpointLoaderSimple,), {
        "device": checked_device, "dtype": checked_dtype, "__module__": __name__,
        "__doc__": f"{CheckpointLoaderSimple.__doc__} ({checked_device}, {checked_dtype})"})
    return {"CheckpointLoaderSimple": loader, **_SHARED}


def diffusers_prompt(i: int, *, steps: int = 10, size: int = 32) -> dict[str, Any]:
    """The bundled ``txt2img`` graph (same node ids and texts) with seed ``i``, ``steps`` and a ``size`` square."""
    if isinstance(i, bool) or not isinstance(i, int) or not 0 <= i <= 0xFFFFFFFFFFFFFFFF:
        raise ValueError(f"i={i!r} must be an int from 0 to 2**64 - 1 (it is KSampler's seed)")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r} must be an int of at least 1")
    if isinstance(size, bool) or not isinstance(size, int) or size < 16 or size % 8:
        raise ValueError(f"size={size!r} must be a multiple of 8 of at least 16 (EmptyLatentImage's width/height)")
    from .workloads import txt2img_prompt

    return txt2img_prompt(i, size=size, steps=steps)


__all__ = [
    "DTYPES",
    "INSTALL_FIX",
    "SCHEDULER_CONFIG",
    "UNET_CONFIG",
    "VAE_CONFIG",
    "WEIGHTS_SEED",
    "CLIPTextEncode",
    "CheckpointLoaderSimple",
    "DiffusersClip",
    "DiffusersModel",
    "DiffusersVae",
    "EmptyLatentImage",
    "KSampler",
    "PreviewImage",
    "SaveImage",
    "VAEDecode",
    "diffusers_available",
    "diffusers_node_mappings",
    "diffusers_prompt",
    "image_rgb_bytes",
]

"""Pure-Python stand-ins for the nodes of ComfyUI's default text-to-image graph.

Class names, input names, input types and options, ``RETURN_TYPES``, ``FUNCTION``, ``CATEGORY``
and ``OUTPUT_NODE`` are those of ComfyUI 0.3.75's ``nodes.py`` (the same names and types as in
the 2024 eras). The work is cheap and deterministic: MODEL, CLIP and VAE are small frozen
records, CONDITIONING keeps ComfyUI's ``[[cond, {"pooled_output": ...}]]`` shape, LATENT is
``{"samples": tensor}``, IMAGE is a batch whose items have ``shape == (height, width, 3)``, and
every "tensor" is a :class:`StandInTensor` (a shape and a digest). Each output's digest is a
SHA-256 of its inputs, so the same seed, steps, text and size always give the same images and
different ones give different images.

Combos. A workflow exported with "Save (API)" from any ComfyUI must validate, whatever
checkpoint, sampler or scheduler it names. The combo lists are the real ones (the sampler and
scheduler names of ComfyUI 0.3.75, a superset of the 2024 eras' lists; the checkpoint list is a
few well-known names plus whatever the loaded ``folder_paths`` lists under ``checkpoints``),
and ``VALIDATE_INPUTS`` names ``ckpt_name`` (CheckpointLoaderSimple) and ``sampler_name`` and
``scheduler`` (KSampler) and accepts any non-empty string for them. Every era skips the combo
check of an input that ``VALIDATE_INPUTS`` takes as an argument (era A: ``execution.py``
``validate_inputs`` wraps the combo check in ``if x not in validate_function_inputs``; B and C
also skip min/max there), so no global list has to be extended.

SaveImage / PreviewImage import ``folder_paths`` when they run (the plugin's stand-in, or
ComfyUI's own), ask it for the output / temp directory at call time, use
``folder_paths.get_save_image_path`` for names and counters, and write one real PNG per image
with the metadata ComfyUI writes: a ``prompt`` text chunk (``json.dumps`` of the PROMPT hidden
input) and one chunk per key of EXTRA_PNGINFO (``json.dumps`` of its value), skipped when
``comfy.cli_args.args.disable_metadata`` is set. They return ``{"ui": {"images": [{"filename",
"subfolder", "type"}]}}`` with ``type`` ``"output"`` or ``"temp"``.

KSampler reports progress and honours interruption like the real one, through modules already
loaded and never imported here: one ``comfy.utils.ProgressBar(steps)`` updated once per step,
and ``comfy.model_management.throw_exception_if_processing_interrupted()`` before each step.
"""
from __future__ import annotations

import hashlib
import json
import os
import secrets
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Final, overload

from ._png import write_png
from ._types import Conditioning, InputTypes, Latent, UIOutput

__all__ = [
    "CHECKPOINT_NAMES",
    "CLIPTextEncode",
    "CheckpointLoaderSimple",
    "EmptyLatentImage",
    "KSampler",
    "MAX_RESOLUTION",
    "PreviewImage",
    "SAMPLER_NAMES",
    "SCHEDULER_NAMES",
    "SaveImage",
    "StandInClip",
    "StandInImage",
    "StandInImageBatch",
    "StandInModel",
    "StandInTensor",
    "StandInVae",
    "TXT2IMG_NODE_CLASS_MAPPINGS",
    "TXT2IMG_NODE_DISPLAY_NAME_MAPPINGS",
    "VAEDecode",
]

MAX_RESOLUTION: Final = 16384

#: ``comfy.samplers.KSampler.SAMPLERS`` of ComfyUI 0.3.75 (contains every 2024 name).
SAMPLER_NAMES: Final[tuple[str, ...]] = (
    "euler", "euler_cfg_pp", "euler_ancestral", "euler_ancestral_cfg_pp", "heun", "heunpp2",
    "dpm_2", "dpm_2_ancestral", "lms", "dpm_fast", "dpm_adaptive", "dpmpp_2s_ancestral",
    "dpmpp_2s_ancestral_cfg_pp", "dpmpp_sde", "dpmpp_sde_gpu", "dpmpp_2m", "dpmpp_2m_cfg_pp",
    "dpmpp_2m_sde", "dpmpp_2m_sde_gpu", "dpmpp_2m_sde_heun", "dpmpp_2m_sde_heun_gpu",
    "dpmpp_3m_sde", "dpmpp_3m_sde_gpu", "ddpm", "lcm", "ipndm", "ipndm_v", "deis",
    "res_multistep", "res_multistep_cfg_pp", "res_multistep_ancestral",
    "res_multistep_ancestral_cfg_pp", "gradient_estimation", "gradient_estimation_cfg_pp",
    "er_sde", "seeds_2", "seeds_3", "sa_solver", "sa_solver_pece", "ddim", "uni_pc", "uni_pc_bh2",
)

#: ``comfy.samplers.KSampler.SCHEDULERS`` of ComfyUI 0.3.75 (contains every 2024 name).
SCHEDULER_NAMES: Final[tuple[str, ...]] = (
    "simple", "sgm_uniform", "karras", "exponential", "ddim_uniform", "beta", "normal",
    "linear_quadratic", "kl_optimal",
)

#: Checkpoint names always listed by the stand-in loader (any other name validates too).
CHECKPOINT_NAMES: Final[tuple[str, ...]] = (
    "v1-5-pruned-emaonly.safetensors",
    "v1-5-pruned-emaonly-fp16.safetensors",
    "v1-5-pruned-emaonly.ckpt",
    "sd_xl_base_1.0.safetensors",
)

_PREVIEW_LETTERS: Final = "abcdefghijklmnopqrstupvxyz"  # sic, as in ComfyUI


def _digest(*parts: Any) -> str:
    text = json.dumps(parts, sort_keys=True, default=repr, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _validate_names(**names: Any) -> bool | str:
    for key, value in names.items():
        if not isinstance(value, str) or not value:
            return f"{key} must be a non-empty string, got {value!r}"
    return True


@dataclass(frozen=True)
class StandInTensor:
    """What a torch tensor would be here: a shape and a digest of how it was made."""

    shape: tuple[int, ...]
    digest: str
    dtype: str = "float32"
    device: str = "cpu"


@dataclass(frozen=True)
class StandInModel:
    """MODEL output of the stand-in CheckpointLoaderSimple."""

    ckpt_name: str
    digest: str


@dataclass(frozen=True)
class StandInClip:
    """CLIP output of the stand-in CheckpointLoaderSimple."""

    ckpt_name: str
    digest: str


@dataclass(frozen=True)
class StandInVae:
    """VAE output of the stand-in CheckpointLoaderSimple."""

    ckpt_name: str
    digest: str


@dataclass(frozen=True)
class StandInImage:
    """One image of an IMAGE batch: ``shape == (height, width, 3)`` like ComfyUI's ``images[i]``."""

    height: int
    width: int
    digest: str

    @property
    def shape(self) -> tuple[int, int, int]:
        return (self.height, self.width, 3)

    def rgb_rows(self) -> Iterator[bytes]:
        """The pixels as ``height`` rows of ``3 * width`` RGB bytes (a pattern set by the digest)."""
        seed = bytes.fromhex(self.digest)
        width = self.width
        variants = []
        for k in range(4):
            row = bytearray(3 * width)
            row[0::3] = bytes((seed[0] + x + k * seed[3]) & 0xFF for x in range(width))
            row[1::3] = bytes((seed[1] + (x >> 1)) & 0xFF for x in range(width))
            row[2::3] = bytes((seed[2] + k * 29) & 0xFF for _ in range(width))
            variants.append(bytes(row))
        for y in range(self.height):
            # Four bands of four rows: a repeat lies 16 rows back, inside deflate's 32 KiB window
            # for widths up to 680, so a 512x512 image compresses to a few KiB.
            yield variants[(y >> 2) & 3]


@dataclass(frozen=True)
class StandInImageBatch(Sequence[StandInImage]):
    """IMAGE: a batch with ``shape == (batch, height, width, 3)``; iterating gives the images."""

    images: tuple[StandInImage, ...]

    @property
    def shape(self) -> tuple[int, int, int, int]:
        first = self.images[0]
        return (len(self.images), first.height, first.width, 3)

    @overload
    def __getitem__(self, index: int) -> StandInImage: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[StandInImage, ...]: ...
    def __getitem__(self, index: int | slice) -> StandInImage | tuple[StandInImage, ...]:
        return self.images[index]

    def __len__(self) -> int:
        return len(self.images)


class CheckpointLoaderSimple:
    """Stand-in: returns MODEL, CLIP and VAE records named after the checkpoint; loads nothing."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        names = list(CHECKPOINT_NAMES)
        folder_paths = sys.modules.get("folder_paths")
        lister = getattr(folder_paths, "get_filename_list", None)
        if lister is not None:
            try:
                found = lister("checkpoints")
            except (KeyError, OSError):  # no "checkpoints" folder configured, or unreadable
                found = []
            names.extend(name for name in found if name not in names)
        return {"required": {"ckpt_name": (names, {"tooltip": "The name of the checkpoint (model) to load."})}}

    RETURN_TYPES = ("MODEL", "CLIP", "VAE")
    FUNCTION = "load_checkpoint"
    CATEGORY = "loaders"

    @classmethod
    def VALIDATE_INPUTS(cls, ckpt_name: object) -> bool | str:
        return _validate_names(ckpt_name=ckpt_name)

    def load_checkpoint(self, ckpt_name: str) -> tuple[StandInModel, StandInClip, StandInVae]:
        return (StandInModel(ckpt_name, _digest("MODEL", ckpt_name)),
                StandInClip(ckpt_name, _digest("CLIP", ckpt_name)),
                StandInVae(ckpt_name, _digest("VAE", ckpt_name)))


class CLIPTextEncode:
    """Stand-in: CONDITIONING ``[[cond, {"pooled_output": pooled}]]`` derived from text and CLIP."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {
            "text": ("STRING", {"multiline": True, "dynamicPrompts": True, "tooltip": "The text to be encoded."}),
            "clip": ("CLIP", {"tooltip": "The CLIP model used for encoding the text."}),
        }}

    RETURN_TYPES = ("CONDITIONING",)
    FUNCTION = "encode"
    CATEGORY = "conditioning"

    def encode(self, clip: StandInClip | None, text: str) -> tuple[Conditioning]:
        if clip is None:
            raise RuntimeError("ERROR: clip input is invalid: None\n\nIf the clip is from a checkpoint loader node "
                               "your checkpoint does not contain a valid clip or text encoder model.")
        cond = StandInTensor((1, 77, 768), _digest("cond", clip.digest, text))
        pooled = StandInTensor((1, 768), _digest("pooled", clip.digest, text))
        return ([[cond, {"pooled_output": pooled}]],)


class EmptyLatentImage:
    """Stand-in: LATENT ``{"samples": tensor of shape (batch, 4, height // 8, width // 8)}``."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {
            "width": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8,
                              "tooltip": "The width of the latent images in pixels."}),
            "height": ("INT", {"default": 512, "min": 16, "max": MAX_RESOLUTION, "step": 8,
                               "tooltip": "The height of the latent images in pixels."}),
            "batch_size": ("INT", {"default": 1, "min": 1, "max": 4096,
                                   "tooltip": "The number of latent images in the batch."}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "generate"
    CATEGORY = "latent"

    def generate(self, width: int, height: int, batch_size: int = 1) -> tuple[Latent]:
        shape = (batch_size, 4, height // 8, width // 8)
        return ({"samples": StandInTensor(shape, _digest("empty_latent", shape))},)


def _conditioning_digest(conditioning: Conditioning) -> list[str]:
    return [getattr(entry[0], "digest", repr(entry[0])) for entry in conditioning]


class KSampler:
    """Stand-in: a LATENT of the input's shape whose digest depends on every input."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {
            "model": ("MODEL", {"tooltip": "The model used for denoising the input latent."}),
            "seed": ("INT", {"default": 0, "min": 0, "max": 0xFFFFFFFFFFFFFFFF, "control_after_generate": True,
                             "tooltip": "The random seed used for creating the noise."}),
            "steps": ("INT", {"default": 20, "min": 1, "max": 10000,
                              "tooltip": "The number of steps used in the denoising process."}),
            "cfg": ("FLOAT", {"default": 8.0, "min": 0.0, "max": 100.0, "step": 0.1, "round": 0.01,
                              "tooltip": "The Classifier-Free Guidance scale."}),
            "sampler_name": (list(SAMPLER_NAMES), {"tooltip": "The algorithm used when sampling."}),
            "scheduler": (list(SCHEDULER_NAMES), {"tooltip": "The scheduler controls how noise is removed."}),
            "positive": ("CONDITIONING", {"tooltip": "The attributes you want to include in the image."}),
            "negative": ("CONDITIONING", {"tooltip": "The attributes you want to exclude from the image."}),
            "latent_image": ("LATENT", {"tooltip": "The latent image to denoise."}),
            "denoise": ("FLOAT", {"default": 1.0, "min": 0.0, "max": 1.0, "step": 0.01,
                                  "tooltip": "The amount of denoising applied."}),
        }}

    RETURN_TYPES = ("LATENT",)
    FUNCTION = "sample"
    CATEGORY = "sampling"

    @classmethod
    def VALIDATE_INPUTS(cls, sampler_name: object, scheduler: object) -> bool | str:
        return _validate_names(sampler_name=sampler_name, scheduler=scheduler)

    def sample(self, model: StandInModel, seed: int, steps: int, cfg: float, sampler_name: str, scheduler: str,
               positive: Conditioning, negative: Conditioning, latent_image: Latent,
               denoise: float = 1.0) -> tuple[Latent]:
        utils = sys.modules.get("comfy.utils")
        management = sys.modules.get("comfy.model_management")
        bar_class = getattr(utils, "ProgressBar", None)
        check_interrupt = getattr(management, "throw_exception_if_processing_interrupted", None)
        pbar = bar_class(steps) if bar_class is not None else None
        for step in range(steps):
            if check_interrupt is not None:
                check_interrupt()
            if pbar is not None:
                pbar.update_absolute(step + 1, steps, None)
        samples = latent_image["samples"]
        digest = _digest("KSampler", model.digest, seed, steps, cfg, sampler_name, scheduler,
                         _conditioning_digest(positive), _conditioning_digest(negative),
                         samples.digest, denoise)
        out = dict(latent_image)
        out["samples"] = StandInTensor(tuple(samples.shape), digest)
        return (out,)


class VAEDecode:
    """Stand-in: an IMAGE batch of ``(height * 8, width * 8)`` images derived from the latent."""

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {
            "samples": ("LATENT", {"tooltip": "The latent to be decoded."}),
            "vae": ("VAE", {"tooltip": "The VAE model used for decoding the latent."}),
        }}

    RETURN_TYPES = ("IMAGE",)
    FUNCTION = "decode"
    CATEGORY = "latent"

    def decode(self, vae: StandInVae, samples: Latent) -> tuple[StandInImageBatch]:
        latent = samples["samples"]
        batch, _channels, height, width = latent.shape
        images = tuple(StandInImage(height * 8, width * 8, _digest("image", vae.digest, latent.digest, index))
                       for index in range(batch))
        return (StandInImageBatch(images),)


class SaveImage:
    """Stand-in: writes one small real PNG per image, with ComfyUI's metadata chunks."""

    def __init__(self) -> None:
        self.type = "output"
        self.prefix_append = ""
        self.compress_level = 4

    @property
    def output_dir(self) -> str:
        """The directory ``folder_paths`` gives now (the real node reads it once, in ``__init__``)."""
        import folder_paths  # type: ignore[import-not-found]  # ComfyUI's module (or the stand-in), found at run time

        directory: str = (folder_paths.get_output_directory() if self.type == "output"
                          else folder_paths.get_temp_directory())
        return directory

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to save."}),
                "filename_prefix": ("STRING", {"default": "ComfyUI", "tooltip": "The prefix for the file to save."}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"},
        }

    RETURN_TYPES = ()
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"

    def save_images(self, images: Sequence[StandInImage], filename_prefix: str = "ComfyUI",
                    prompt: dict[str, Any] | None = None,
                    extra_pnginfo: dict[str, Any] | None = None) -> UIOutput:
        import folder_paths  # untyped like the import in output_dir (mypy reports a missing module once)

        filename_prefix += self.prefix_append
        full_output_folder, filename, counter, subfolder, filename_prefix = folder_paths.get_save_image_path(
            filename_prefix, self.output_dir, images[0].shape[1], images[0].shape[0])
        results: list[dict[str, str]] = []
        for batch_number, image in enumerate(images):
            text: list[tuple[str, str]] = []
            if not _metadata_disabled():
                if prompt is not None:
                    text.append(("prompt", json.dumps(prompt)))
                if extra_pnginfo is not None:
                    for key in extra_pnginfo:
                        text.append((key, json.dumps(extra_pnginfo[key])))
            filename_with_batch_num = filename.replace("%batch_num%", str(batch_number))
            file = f"{filename_with_batch_num}_{counter:05}_.png"
            write_png(os.path.join(full_output_folder, file), image.shape[1], image.shape[0],
                      image.rgb_rows(), text, self.compress_level)
            results.append({"filename": file, "subfolder": subfolder, "type": self.type})
            counter += 1
        return {"ui": {"images": results}}


class PreviewImage(SaveImage):
    """Stand-in: like SaveImage, into the temp directory, ``type`` ``"temp"``."""

    def __init__(self) -> None:
        self.type = "temp"
        self.prefix_append = "_temp_" + "".join(secrets.choice(_PREVIEW_LETTERS) for _ in range(5))
        self.compress_level = 1

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {"required": {"images": ("IMAGE",)},
                "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO"}}


def _metadata_disabled() -> bool:
    cli_args = sys.modules.get("comfy.cli_args")
    return bool(getattr(getattr(cli_args, "args", None), "disable_metadata", False))


TXT2IMG_NODE_CLASS_MAPPINGS: Final[Mapping[str, type]] = MappingProxyType({
    "CheckpointLoaderSimple": CheckpointLoaderSimple,
    "CLIPTextEncode": CLIPTextEncode,
    "EmptyLatentImage": EmptyLatentImage,
    "KSampler": KSampler,
    "VAEDecode": VAEDecode,
    "SaveImage": SaveImage,
    "PreviewImage": PreviewImage,
})

TXT2IMG_NODE_DISPLAY_NAME_MAPPINGS: Final[Mapping[str, str]] = MappingProxyType({
    "CheckpointLoaderSimple": "Load Checkpoint",
    "CLIPTextEncode": "CLIP Text Encode (Prompt)",
    "EmptyLatentImage": "Empty Latent Image",
    "KSampler": "KSampler",
    "VAEDecode": "VAE Decode",
    "SaveImage": "Save Image",
    "PreviewImage": "Preview Image",
})

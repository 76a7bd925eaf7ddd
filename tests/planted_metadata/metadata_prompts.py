"""Prompts for the metadata tests: ComfyUI's default text-to-image graph at 64x64, saved by a
metadata save node, optionally with its steps chosen by a switch or with a lot of text."""
from __future__ import annotations

from typing import Any

SAVER = "9"
KSAMPLER = "3"


def txt2img(saver: str = "ComfyRuntimeSaveImage", *, switch: bool = False, big_text: bool = False,
            inline_limit_kb: int | None = None, text: str = "a glass bottle, purple galaxy") -> dict[str, Any]:
    """``switch``: steps come from ``CRSwitch(select=False, on_true=20, on_false=25)``, so a parser
    reads 20 and the executor runs 25. ``big_text``: the positive text is joined from nine
    4,000-character strings, so the runtime data passes 32 KiB."""
    prompt: dict[str, Any] = {
        "4": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "v1-5-pruned-emaonly.safetensors"}},
        "5": {"class_type": "EmptyLatentImage", "inputs": {"width": 64, "height": 64, "batch_size": 1}},
        "6": {"class_type": "CLIPTextEncode", "inputs": {"text": text, "clip": ["4", 1]}},
        "7": {"class_type": "CLIPTextEncode", "inputs": {"text": "blurry", "clip": ["4", 1]}},
        KSAMPLER: {"class_type": "KSampler", "inputs": {
            "seed": 42, "steps": 20, "cfg": 7.0, "sampler_name": "euler", "scheduler": "normal", "denoise": 1.0,
            "model": ["4", 0], "positive": ["6", 0], "negative": ["7", 0], "latent_image": ["5", 0]}},
        "8": {"class_type": "VAEDecode", "inputs": {"samples": [KSAMPLER, 0], "vae": ["4", 2]}},
        SAVER: {"class_type": saver, "inputs": {"images": ["8", 0], "filename_prefix": "meta"}},
    }
    if inline_limit_kb is not None:
        prompt[SAVER]["inputs"]["inline_limit_kb"] = inline_limit_kb
    if switch:
        prompt["10"] = {"class_type": "CRInt", "inputs": {"value": 20}}
        prompt["11"] = {"class_type": "CRInt", "inputs": {"value": 25}}
        prompt["12"] = {"class_type": "CRSwitch", "inputs": {"select": False, "on_true": ["10", 0],
                                                             "on_false": ["11", 0]}}
        prompt[KSAMPLER]["inputs"]["steps"] = ["12", 0]
    if big_text:
        previous = None
        for i in range(9):
            sid = str(20 + i)
            prompt[sid] = {"class_type": "CRString", "inputs": {"value": f"{i}" * 4000}}
            if previous is not None:
                jid = str(40 + i)
                prompt[jid] = {"class_type": "CRJoin", "inputs": {"a": [previous, 0], "b": [sid, 0],
                                                                  "separator": ","}}
                previous = jid
            else:
                previous = sid
        prompt["6"]["inputs"]["text"] = [previous, 0]
    return prompt

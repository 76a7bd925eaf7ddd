"""The reference metadata save node: ComfyUI's SaveImage plus an ``ai_info.runtime`` section.

``SaveImageWithRuntime`` (class_type ``ComfyRuntimeSaveImage``) is a ComfyUI "V1" node with
SaveImage's inputs (``images``, ``filename_prefix``, hidden ``PROMPT`` / ``EXTRA_PNGINFO``) plus an
optional ``inline_limit_kb`` and the hidden ``UNIQUE_ID``. It writes one PNG per image with the
chunks ComfyUI writes (``prompt`` and one per ``extra_pnginfo`` key) and a text chunk ``ai_info``
holding ``{"runtime": {...}}``, the section of seeds 000/001 (its pydantic schema is
:mod:`pytest_comfyruntime.metadata`):

- ``capture_mode`` ``"parser+hooks"`` when the reference capture (:mod:`pytest_comfyruntime.capture`)
  holds a session for the running prompt: the execution order, the resolved scalar inputs per node,
  node timings and the capture's own statistics, runtime values always preferred over parsed ones,
  and every input where a parser reading the prompt would say something else listed in
  ``disagreements``; ``"parser"`` when no session exists: the prompt's values as parsed.
- Past ``inline_limit_kb`` (32 by default) the section moves to a sidecar next to the image,
  ``<image>.runtime.json`` (compact JSON), and the chunk keeps ``prompt_id``, ``capture_mode`` and
  ``sidecar`` (relative path, size in bytes, SHA-256).
- Nothing of ``extra_data`` is written, and hidden ``API_KEY_COMFY_ORG`` / ``AUTH_TOKEN_COMFY_ORG``
  inputs the capture saw are redacted (named in the node's ``redacted``).

Like ComfyUI's 2026 SaveImage it passes its images through (``RETURN_TYPES = ("IMAGE",)``).
:func:`v3_metadata_save_classes` builds its V3 variant (``comfy_api.latest.io.ComfyNode``, class_type
``ComfyRuntimeSaveImageV3``) on the ComfyUI in use (eras C and D, real 0.3.75+): same inputs, hidden
values read from ``cls.hidden``, and the same files, written by a :class:`SaveImageWithRuntime`.
This module imports neither torch, numpy, PIL nor ComfyUI; ``folder_paths``, ``nodes``,
``comfy_api`` and the executing context are looked up when the node runs (or is built).

The prompt id comes from ComfyUI's executing context (eras C and D) or, before that, from
``server.PromptServer.instance.last_prompt_id`` (what ``main.py`` sets before each prompt; with
several executors in threads of one process, eras A and B give no reliable answer there).
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any, Final

from ..capture import CAPTURE, PromptCapture, RuntimeCapture
from ._png import png_bytes
from ._types import InputTypes, UIOutput
from .txt2img import SaveImage, StandInImage, _metadata_disabled

__all__ = [
    "AI_INFO_KEY",
    "DEFAULT_INLINE_LIMIT_KB",
    "METADATA_NODE_CLASS_MAPPINGS",
    "METADATA_NODE_DISPLAY_NAME_MAPPINGS",
    "SCHEMA_VERSION",
    "SENSITIVE_EXTRA_DATA_KEYS",
    "SENSITIVE_HIDDEN_TYPES",
    "SIDECAR_SUFFIX",
    "V3_SAVE_CLASS_TYPE",
    "SaveImageWithRuntime",
    "build_runtime_section",
    "canonical_json",
    "current_prompt_id",
    "parsed_value",
    "place_runtime",
    "v3_metadata_save_classes",
    "write_image_with_runtime",
]

#: The text chunk (and JSON key) that holds ``{"runtime": {...}}``.
AI_INFO_KEY: Final = "ai_info"
SCHEMA_VERSION: Final = 1
DEFAULT_INLINE_LIMIT_KB: Final = 32
#: ``<image file name><SIDECAR_SUFFIX>``, next to the image.
SIDECAR_SUFFIX: Final = ".runtime.json"
#: ComfyUI's ``execution.SENSITIVE_EXTRA_DATA_KEYS`` (era C on): the server takes them out of
#: ``extra_data`` and ``main.py`` merges them back before ``execute``.
SENSITIVE_EXTRA_DATA_KEYS: Final = ("auth_token_comfy_org", "api_key_comfy_org")
#: Hidden input types whose values come from those keys.
SENSITIVE_HIDDEN_TYPES: Final = frozenset({"API_KEY_COMFY_ORG", "AUTH_TOKEN_COMFY_ORG"})


def canonical_json(obj: Any) -> bytes:
    """The bytes the section is measured (and a sidecar written) as: compact UTF-8 JSON, keys in order."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _is_link(value: Any) -> bool:
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str) and isinstance(value[1], int)


def parsed_value(prompt: Mapping[str, Any], node_id: str, name: str, _seen: frozenset[str] = frozenset()) -> Any:
    """What a metadata *parser* reads for input ``name`` of ``node_id`` from the prompt alone.

    A constant is itself. A link is followed to its source node, which gives its ``value``
    constant, else (a switch, a math node) whatever its first linked input leads to, else its first
    constant; ``None`` when nothing is found. It cannot know which branch a switch takes at run
    time: where it differs from the runtime value, that is a disagreement (seed 001).
    """
    node = prompt.get(node_id)
    inputs = node.get("inputs", {}) if isinstance(node, Mapping) else {}
    value: Any = inputs.get(name)
    if not _is_link(value):
        return value
    return _source_value(prompt, str(value[0]), _seen | {node_id})


def _source_value(prompt: Mapping[str, Any], source: str, seen: frozenset[str]) -> Any:
    node = prompt.get(source)
    if source in seen or not isinstance(node, Mapping):
        return None
    inputs: Mapping[str, Any] = node.get("inputs", {})
    if "value" in inputs and not _is_link(inputs["value"]):
        return inputs["value"]
    for value in inputs.values():
        if _is_link(value):
            return _source_value(prompt, value[0], seen | {source})
    return next(iter(inputs.values()), None)


def _sensitive_inputs(class_type: str) -> set[str]:
    """Names of ``class_type``'s hidden inputs that carry the Comfy.org key or token."""
    mappings = getattr(sys.modules.get("nodes"), "NODE_CLASS_MAPPINGS", {})
    cls = mappings.get(class_type) if isinstance(mappings, Mapping) else None
    try:
        hidden = cls.INPUT_TYPES().get("hidden", {}) if cls is not None else {}
    except Exception:  # a node class whose INPUT_TYPES fails here fails in ComfyUI too; redact by name
        hidden = {}
    names = {name for name, kind in hidden.items() if kind in SENSITIVE_HIDDEN_TYPES}
    return names | set(SENSITIVE_EXTRA_DATA_KEYS)


def build_runtime_section(record: PromptCapture | None, prompt: Mapping[str, Any] | None, *,
                          prompt_id: str | None) -> dict[str, Any]:
    """The ``ai_info.runtime`` section (everything, before the inline limit is applied).

    With a capture ``record``: ``parser+hooks``, its order, resolved inputs, timings and counters,
    and the disagreements with what :func:`parsed_value` reads from ``prompt``. Without one:
    ``parser``, the inputs :func:`parsed_value` reads for every node of ``prompt``.
    """
    prompt = prompt or {}
    if record is None:
        nodes = {}
        for nid, node in prompt.items():
            if isinstance(node, Mapping):
                parsed = {name: parsed_value(prompt, nid, name) for name in node.get("inputs", {})}
                nodes[nid] = {"class_type": str(node.get("class_type")),
                              "inputs": {k: v for k, v in parsed.items() if _scalar(v)}}
        return {"version": SCHEMA_VERSION, "prompt_id": prompt_id, "capture_mode": "parser", "nodes": nodes}
    nodes, disagreements = {}, []
    for nid, node in record.nodes.items():
        secret = _sensitive_inputs(node.class_type)
        inputs = {k: v for k, v in node.inputs.items() if k not in secret}
        entry: dict[str, Any] = {"class_type": node.class_type, "inputs": inputs}
        if node.skipped:
            entry["skipped"] = list(node.skipped)
        redacted = sorted(set(node.inputs) & secret)
        if redacted:
            entry["redacted"] = redacted
        entry["started_s"] = node.started_s
        entry["duration_s"] = node.duration_s
        nodes[nid] = entry
        prompt_inputs = prompt.get(nid, {}).get("inputs", {}) if isinstance(prompt.get(nid), Mapping) else {}
        for name, runtime in inputs.items():
            if _is_link(prompt_inputs.get(name)):
                parsed = parsed_value(prompt, nid, name)
                if parsed is not None and runtime is not None and parsed != runtime:
                    disagreements.append({"path": f"{AI_INFO_KEY}.runtime.nodes.{nid}.inputs.{name}",
                                          "parser": parsed, "runtime": runtime})
    section: dict[str, Any] = {
        "version": SCHEMA_VERSION, "prompt_id": record.prompt_id, "capture_mode": "parser+hooks",
        "execution_order": list(record.order), "nodes": nodes,
        "hook_stats": {"calls": record.stats.calls, "total_s": record.stats.total_s, "max_s": record.stats.max_s}}
    if disagreements:
        section["disagreements"] = disagreements
    return section


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


def place_runtime(section: Mapping[str, Any], inline_limit_kb: float,
                  sidecar_name: str) -> tuple[dict[str, Any], bytes | None]:
    """``(what goes inline, sidecar bytes or None)``: the whole section while its canonical JSON
    is at most ``inline_limit_kb`` KiB, else a stub pointing at a sidecar named ``sidecar_name``."""
    data = canonical_json(section)
    if len(data) <= inline_limit_kb * 1024:
        return dict(section), None
    stub = {"version": section.get("version", SCHEMA_VERSION), "prompt_id": section.get("prompt_id"),
            "capture_mode": section.get("capture_mode"),
            "sidecar": {"path": sidecar_name, "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}}
    return stub, data


Placer = Callable[[Mapping[str, Any], float, str], tuple[dict[str, Any], "bytes | None"]]


def write_image_with_runtime(path: str | os.PathLike[str], image: StandInImage, *,
                             prompt: Mapping[str, Any] | None, extra_pnginfo: Mapping[str, Any] | None,
                             section: Mapping[str, Any] | None, inline_limit_kb: float = DEFAULT_INLINE_LIMIT_KB,
                             compress_level: int = 4, place: Placer = place_runtime,
                             extra_text: Sequence[tuple[str, str]] = ()) -> list[str]:
    """Writes the PNG (ComfyUI's chunks, ``extra_text``, then ``ai_info``) and, past the limit
    (``place`` decides), its sidecar first. Returns the paths written."""
    path = os.fspath(path)
    text: list[tuple[str, str]] = []
    if prompt is not None:
        text.append(("prompt", json.dumps(prompt)))
    for key, value in (extra_pnginfo or {}).items():
        text.append((key, json.dumps(value)))
    text.extend(extra_text)
    written = []
    if section is not None:
        sidecar_name = os.path.basename(path) + SIDECAR_SUFFIX
        inline, sidecar = place(section, inline_limit_kb, sidecar_name)
        if sidecar is not None:
            sidecar_path = os.path.join(os.path.dirname(path), sidecar_name)
            with open(sidecar_path, "wb") as handle:
                handle.write(sidecar)
            written.append(sidecar_path)
        text.append((AI_INFO_KEY, json.dumps({"runtime": inline})))
    data = png_bytes(image.shape[1], image.shape[0], image.rgb_rows(), text, compress_level)
    with open(path, "wb") as handle:
        handle.write(data)
    return [path, *written]


def current_prompt_id() -> str | None:
    """The running prompt's id: ComfyUI's executing context (eras C, D), else the server's
    ``last_prompt_id`` (set by ``main.py`` before each prompt)."""
    utils = sys.modules.get("comfy_execution.utils")
    get_context = getattr(utils, "get_executing_context", None)
    context = get_context() if callable(get_context) else None
    if context is not None and isinstance(getattr(context, "prompt_id", None), str):
        return str(context.prompt_id)
    server_class = getattr(sys.modules.get("server"), "PromptServer", None)
    last = getattr(getattr(server_class, "instance", None), "last_prompt_id", None)
    return last if isinstance(last, str) else None


class SaveImageWithRuntime(SaveImage):
    """ComfyUI's SaveImage plus the ``ai_info.runtime`` section (see the module docstring)."""

    #: The capture sessions are read from (None: :data:`pytest_comfyruntime.capture.CAPTURE`).
    capture: RuntimeCapture | None = None

    @classmethod
    def INPUT_TYPES(cls) -> InputTypes:
        return {
            "required": {
                "images": ("IMAGE", {"tooltip": "The images to save."}),
                "filename_prefix": ("STRING", {"default": "ComfyUI", "tooltip": "The prefix for the file to save."}),
            },
            "optional": {
                "inline_limit_kb": ("INT", {"default": DEFAULT_INLINE_LIMIT_KB, "min": 0, "max": 1 << 20,
                                            "tooltip": "Runtime data larger than this goes to a sidecar file."}),
            },
            "hidden": {"prompt": "PROMPT", "extra_pnginfo": "EXTRA_PNGINFO", "unique_id": "UNIQUE_ID"},
        }

    RETURN_TYPES = ("IMAGE",)  # type: ignore[assignment]  # 2026's SaveImage passes its images through
    FUNCTION = "save_images"
    OUTPUT_NODE = True
    CATEGORY = "image"

    def runtime_record(self, prompt_id: str | None) -> PromptCapture | None:
        """The capture's session for ``prompt_id`` (read, not consumed: every save node of the
        prompt sees it), or None when the capture holds none."""
        if prompt_id is None:
            return None
        return (self.capture or CAPTURE).get_session(prompt_id)

    def save_images(self, images: Sequence[StandInImage], filename_prefix: str = "ComfyUI",  # type: ignore[override]
                    inline_limit_kb: int = DEFAULT_INLINE_LIMIT_KB, prompt: dict[str, Any] | None = None,
                    extra_pnginfo: dict[str, Any] | None = None, unique_id: str | None = None) -> UIOutput:
        import folder_paths  # type: ignore[import-not-found]  # ComfyUI's module (or the stand-in), found at run time

        filename_prefix += self.prefix_append
        full_output_folder, filename, counter, subfolder, filename_prefix = folder_paths.get_save_image_path(
            filename_prefix, self.output_dir, images[0].shape[1], images[0].shape[0])
        prompt_id = current_prompt_id()
        disabled = _metadata_disabled()
        section = None if disabled else self.section(prompt_id, prompt)
        results: list[dict[str, str]] = []
        for batch_number, image in enumerate(images):
            name = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
            write_image_with_runtime(os.path.join(full_output_folder, name), image,
                                     prompt=None if disabled else prompt,
                                     extra_pnginfo=None if disabled else extra_pnginfo, section=section,
                                     inline_limit_kb=inline_limit_kb, compress_level=self.compress_level,
                                     place=self.place, extra_text=() if disabled else self.extra_text(prompt_id))
            results.append({"filename": name, "subfolder": subfolder, "type": self.type})
            counter += 1
        return {"ui": {"images": results}, "result": (images,)}

    # What a saver built on this node changes: the section, where it goes, and its own text chunks.
    def section(self, prompt_id: str | None, prompt: Mapping[str, Any] | None) -> dict[str, Any]:
        """The runtime section this node writes for ``prompt_id``."""
        return build_runtime_section(self.runtime_record(prompt_id), prompt, prompt_id=prompt_id)

    def place(self, section: Mapping[str, Any], inline_limit_kb: float, sidecar_name: str) -> tuple[dict[str, Any],
                                                                                                    bytes | None]:
        """What goes inline and what (if anything) into the sidecar: :func:`place_runtime`."""
        return place_runtime(section, inline_limit_kb, sidecar_name)

    def extra_text(self, prompt_id: str | None) -> list[tuple[str, str]]:
        """More text chunks, written after ComfyUI's (the reference node writes none)."""
        return []


#: The class_type :func:`v3_metadata_save_classes` registers its node under.
V3_SAVE_CLASS_TYPE: Final = "ComfyRuntimeSaveImageV3"


def v3_metadata_save_classes(io: Any = None) -> dict[str, type]:
    """``{"ComfyRuntimeSaveImageV3": <V3 node>}``: the reference save node as a V3 node
    (``comfy_api.latest.io.ComfyNode``), built on the ``io`` of the ComfyUI now in ``sys.modules``
    (the mock of era C or D, a real 0.3.75+ root) or on ``io`` when given; call it while that
    ComfyUI is active and register the result (``comfy_nodes.add``).

    Its schema has :class:`SaveImageWithRuntime`'s inputs and output, is an output node (so
    ``cls.hidden`` holds ``prompt`` and ``extra_pnginfo``) and asks for ``unique_id``. ``execute``
    hands the images and ``cls.hidden``'s values to ``cls.saver()`` (a new
    :class:`SaveImageWithRuntime`: the same section, placement and PNG writer, so the same files) and
    returns ``io.NodeOutput(images, ui=...)``, never a dict (a dict from ``execute`` is a TypeError
    on ComfyUI 0.3.75). A saver built on it overrides ``saver`` (and ``define_schema``).
    """
    if io is None:
        import importlib

        io = importlib.import_module("comfy_api.latest").io

    class SaveImageWithRuntimeV3(io.ComfyNode):  # type: ignore[misc]  # (ComfyUI's io, imported at run time)
        """:class:`SaveImageWithRuntime` as a V3 node."""

        @classmethod
        def define_schema(cls) -> Any:
            return io.Schema(
                node_id=V3_SAVE_CLASS_TYPE, display_name="Save Image (with runtime metadata, V3)", category="image",
                is_output_node=True, hidden=[io.Hidden.prompt, io.Hidden.extra_pnginfo, io.Hidden.unique_id],
                inputs=[io.Image.Input("images", tooltip="The images to save."),
                        io.String.Input("filename_prefix", default="ComfyUI",
                                        tooltip="The prefix for the file to save."),
                        io.Int.Input("inline_limit_kb", default=DEFAULT_INLINE_LIMIT_KB, min=0, max=1 << 20,
                                     optional=True,
                                     tooltip="Runtime data larger than this goes to a sidecar file.")],
                outputs=[io.Image.Output()])

        @classmethod
        def saver(cls) -> SaveImageWithRuntime:
            """The V1 node that writes the files."""
            return SaveImageWithRuntime()

        @classmethod
        def execute(cls, images: Sequence[StandInImage], filename_prefix: str = "ComfyUI",
                    inline_limit_kb: int = DEFAULT_INLINE_LIMIT_KB) -> Any:
            hidden = cls.hidden
            saved = cls.saver().save_images(images, filename_prefix, inline_limit_kb,
                                            prompt=getattr(hidden, "prompt", None),
                                            extra_pnginfo=getattr(hidden, "extra_pnginfo", None),
                                            unique_id=getattr(hidden, "unique_id", None))
            return io.NodeOutput(*saved["result"], ui=saved["ui"])

    return {V3_SAVE_CLASS_TYPE: SaveImageWithRuntimeV3}


METADATA_NODE_CLASS_MAPPINGS: Final[Mapping[str, type]] = MappingProxyType({
    "ComfyRuntimeSaveImage": SaveImageWithRuntime,
})

METADATA_NODE_DISPLAY_NAME_MAPPINGS: Final[Mapping[str, str]] = MappingProxyType({
    "ComfyRuntimeSaveImage": "Save Image (with runtime metadata)",
})

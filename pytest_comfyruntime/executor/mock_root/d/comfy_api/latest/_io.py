"""Stand-in for ``comfy_api.latest._io`` (era D, ComfyUI of 2026; read, not run): the V3 node API.

Era C's stand-in (checked against ComfyUI 0.3.75 by running both) with what
``Comfy-Org/ComfyUI`` ``comfy_api/latest/_io.py`` and ``execution.py`` at 04e2a914 (and the
August 2026 master ``_io.py``, ``yzkee/ComfyUI`` at 783545f6: ``HiddenHolder``, ``V3Data``,
``NodeOutput.from_dict``) changed for execution (read, not run):

- ``INPUT_TYPES()`` takes no arguments; ``execution.py`` gets a V3 node's inputs, hidden values
  and dynamic-input paths from ``get_finalized_class_inputs(INPUT_TYPES(), live_inputs)`` (a
  3-tuple) and hands the node a ``v3_data`` dict: ``PREPARE_CLASS_CLONE(v3_data)`` reads the
  hidden values from ``v3_data["hidden_inputs"]`` (``HiddenHolder.from_v3_data``), and
  ``build_nested_inputs`` restructures dynamic inputs along ``v3_data["dynamic_paths"]``.
- Dynamic inputs (read from ``_io.py`` at 04e2a914): ``parse_class_inputs`` expands each input
  whose io_type is in ``DYNAMIC_INPUT_LOOKUP`` for the inputs a prompt sends, under dotted names.
  ``Autogrow.Input(id, template=Autogrow.TemplatePrefix(input, prefix, min, max) |
  TemplateNames(input, names, min))``: the prompt sends ``"<id>.<name>"``, the first ``min``
  names are required (when the template input is), and the node gets ``<id>`` as a dict of the
  names sent (``{}`` when none). ``DynamicCombo.Input(id, options=[DynamicCombo.Option(key,
  inputs)])``: the prompt sends ``"<id>": key`` and ``"<id>.<input>"``, the node gets ``<id>`` as
  ``{"<id>": key, "<input>": ...}`` (an unknown key leaves the combo out, so it is missing).
  ``DynamicSlot`` (a socket bringing more inputs) and ComfyUI's internal ``_DynamicGroup`` (rows
  ``"<id>.<row>.<field>"`` as a list of dicts; a bad key or row count raises
  ``DynamicInputError(input_name, message)``, ``invalid_dynamic_input`` in validation) too.
  ``MatchType.Template(id, allowed_types=AnyType)`` with ``MatchType.Input`` / ``.Output``: the
  io type stays ``"COMFY_MATCHTYPE_V3"`` (``validate_node_input`` lets it connect to anything;
  the output's template id is in ``output_matchtypes``); ``MultiType.Input(id | Input, types)``:
  the comma-joined io types. ``Schema.validate`` checks ids of nested inputs and calls each
  input's ``validate()``; ``get_v1_info`` builds inputs with ``create_input_dict_v1``.
- ``Hidden`` gains ``comfy_usage_source`` and ``execution_list``; ``Schema`` gains
  ``has_intermediate_output``, ``accept_all_inputs`` and ``is_dev_only`` (``HAS_INTERMEDIATE_OUTPUT``,
  ``ACCEPT_ALL_INPUTS``); ``Input`` gains ``raw_link`` and ``advanced``; io types are plain strings.
- A dict returned from ``execute`` becomes a ``NodeOutput`` again (``NodeOutput.from_dict`` passes
  the result as positional values).

As in 0.3.75:

- A node subclasses ``ComfyNode`` and defines the classmethods ``define_schema()`` (a
  ``Schema``) and ``execute(**inputs)`` (sync or async); ``FUNCTION`` is
  ``"EXECUTE_NORMALIZED"`` (``_ASYNC`` for an async ``execute``), which turns a tuple, None, a dict
  or an ``ExecutionBlocker`` into a ``NodeOutput``.
- ``RETURN_TYPES``, ``OUTPUT_NODE``, ``NOT_IDEMPOTENT`` ... are computed from the schema. Hidden entries are 1-tuples
  (``{"unique_id": ("UNIQUE_ID",)}``), so ``comfy_execution.caching``'s ``UNIQUE_ID`` test never
  matches a V3 node. An output node's schema gains the hidden ``prompt`` and ``extra_pnginfo``.
- Hidden values are read from ``cls.hidden`` (a ``HiddenHolder``: None for what was not asked
  for) on a per-call clone of the class, locked so that setting a class attribute raises.

Types carry their ``io_type`` only (``Type`` is ``Any`` where ComfyUI names a torch class: the
mock imports no torch). Not reproduced: resources, price badges, search aliases, node
replacement, loop boundaries, the 2026 widget types (``Color``, ``BoundingBox``, ``Curve``, ...);
``ui`` is the module ``_ui``.
"""
from __future__ import annotations

import copy
import inspect
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, TypedDict, TypeVar, final

from comfy_api.internal import (
    _ComfyNodeInternal,
    _NodeOutputInternal,
    classproperty,
    copy_class,
    first_real_override,
    is_class,
    prune_dict,
    shallow_clone_class,
)
from comfy_execution.graph_utils import ExecutionBlocker


class FolderType(str, Enum):
    input = "input"
    output = "output"
    temp = "temp"


class UploadType(str, Enum):
    image = "image_upload"
    audio = "audio_upload"
    video = "video_upload"
    model = "file_upload"


class NumberDisplay(str, Enum):
    number = "number"
    slider = "slider"


class _ComfyType(ABC):
    Type = Any
    io_type: str = None


T = TypeVar("T", bound=type)


def comfytype(io_type, **kwargs):
    """Marks a class as a ComfyType bound to ``io_type``; its Input/Output classes are copied."""
    def decorator(cls):
        if isinstance(cls, _ComfyType) or issubclass(cls, _ComfyType):
            new_cls = cls
            if hasattr(new_cls, "Input"):
                new_cls.Input = copy_class(new_cls.Input)
            if hasattr(new_cls, "Output"):
                new_cls.Output = copy_class(new_cls.Output)
        else:
            cls_dict = {k: v for k, v in cls.__dict__.items() if k not in ("__dict__", "__weakref__", "__module__", "__doc__")}
            new_cls = type(cls.__name__, (cls, ComfyTypeIO), cls_dict)
            new_cls.__module__ = cls.__module__
            new_cls.__doc__ = cls.__doc__
        new_cls.io_type = io_type
        if hasattr(new_cls, "Input") and new_cls.Input is not None:
            new_cls.Input.Parent = new_cls
        if hasattr(new_cls, "Output") and new_cls.Output is not None:
            new_cls.Output.Parent = new_cls
        return new_cls
    return decorator


def Custom(io_type):
    """A ComfyType for a custom io_type."""
    @comfytype(io_type=io_type)
    class CustomComfyType(ComfyTypeIO):
        ...
    return CustomComfyType


class _IO_V3:
    Parent = None

    def __init__(self):
        pass

    def validate(self):
        pass

    @property
    def io_type(self):
        return self.Parent.io_type

    @property
    def Type(self):
        return self.Parent.Type


class Input(_IO_V3):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None, raw_link=None,
                 advanced=None):
        super().__init__()
        self.id = id
        self.display_name = display_name
        self.optional = optional
        self.tooltip = tooltip
        self.lazy = lazy
        self.extra_dict = extra_dict if extra_dict is not None else {}
        self.rawLink = raw_link
        self.advanced = advanced

    def as_dict(self):
        return prune_dict({
            "display_name": self.display_name,
            "optional": self.optional,
            "tooltip": self.tooltip,
            "lazy": self.lazy,
            "rawLink": self.rawLink,
            "advanced": self.advanced,
        }) | prune_dict(self.extra_dict)

    def get_io_type(self):
        return self.io_type

    def get_all(self):
        return [self]


class WidgetInput(Input):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, default=None,
                 socketless=None, widget_type=None, force_input=None, extra_dict=None, raw_link=None, advanced=None):
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
        self.default = default
        self.socketless = socketless
        self.widget_type = widget_type
        self.force_input = force_input

    def as_dict(self):
        return super().as_dict() | prune_dict({
            "default": self.default,
            "socketless": self.socketless,
            "widgetType": self.widget_type,
            "forceInput": self.force_input,
        })

    def get_io_type(self):
        return self.widget_type if self.widget_type is not None else super().get_io_type()


class Output(_IO_V3):
    def __init__(self, id=None, display_name=None, tooltip=None, is_output_list=False):
        self.id = id
        self.display_name = display_name if display_name else id
        self.tooltip = tooltip
        self.is_output_list = is_output_list

    def as_dict(self):
        return prune_dict({
            "display_name": self.display_name if self.display_name else self.id,
            "tooltip": self.tooltip,
            "is_output_list": self.is_output_list,
        })

    def get_io_type(self):
        return self.io_type


class ComfyTypeI(_ComfyType):
    """A ComfyType with a default Input class only."""

    class Input(Input):
        ...


class ComfyTypeIO(ComfyTypeI):
    """A ComfyType with default Input and Output classes."""

    class Output(Output):
        ...


@comfytype(io_type="BOOLEAN")
class Boolean(ComfyTypeIO):
    Type = bool

    class Input(WidgetInput):
        def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None,
                     default=None, label_on=None, label_off=None, socketless=None, force_input=None, advanced=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             advanced=advanced)
            self.label_on = label_on
            self.label_off = label_off

        def as_dict(self):
            return super().as_dict() | prune_dict({"label_on": self.label_on, "label_off": self.label_off})


@comfytype(io_type="INT")
class Int(ComfyTypeIO):
    Type = int

    class Input(WidgetInput):
        def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None,
                     default=None, min=None, max=None, step=None, control_after_generate=None,
                     display_mode=None, socketless=None, force_input=None, advanced=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             advanced=advanced)
            self.min = min
            self.max = max
            self.step = step
            self.control_after_generate = control_after_generate
            self.display_mode = display_mode

        def as_dict(self):
            return super().as_dict() | prune_dict({
                "min": self.min,
                "max": self.max,
                "step": self.step,
                "control_after_generate": self.control_after_generate,
                "display": self.display_mode.value if self.display_mode else None,
            })


@comfytype(io_type="FLOAT")
class Float(ComfyTypeIO):
    Type = float

    class Input(WidgetInput):
        def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None,
                     default=None, min=None, max=None, step=None, round=None,
                     display_mode=None, socketless=None, force_input=None, advanced=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             advanced=advanced)
            self.min = min
            self.max = max
            self.step = step
            self.round = round
            self.display_mode = display_mode

        def as_dict(self):
            return super().as_dict() | prune_dict({
                "min": self.min,
                "max": self.max,
                "step": self.step,
                "round": self.round,
                "display": self.display_mode,
            })


@comfytype(io_type="STRING")
class String(ComfyTypeIO):
    Type = str

    class Input(WidgetInput):
        def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None,
                     multiline=False, placeholder=None, default=None, dynamic_prompts=None,
                     socketless=None, force_input=None, advanced=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input,
                             advanced=advanced)
            self.multiline = multiline
            self.placeholder = placeholder
            self.dynamic_prompts = dynamic_prompts

        def as_dict(self):
            return super().as_dict() | prune_dict({
                "multiline": self.multiline,
                "placeholder": self.placeholder,
                "dynamicPrompts": self.dynamic_prompts,
            })


@comfytype(io_type="COMBO")
class Combo(ComfyTypeIO):
    Type = str

    class Input(WidgetInput):
        Type = str

        def __init__(self, id, options=None, display_name=None, optional=False, tooltip=None, lazy=None,
                     default=None, control_after_generate=None, upload=None, image_folder=None, remote=None,
                     socketless=None, advanced=None):
            if isinstance(options, type) and issubclass(options, Enum):
                options = [v.value for v in options]
            if isinstance(default, Enum):
                default = default.value
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, advanced=advanced)
            self.multiselect = False
            self.options = options
            self.control_after_generate = control_after_generate
            self.upload = upload
            self.image_folder = image_folder
            self.remote = remote

        def as_dict(self):
            return super().as_dict() | prune_dict({
                "multiselect": self.multiselect,
                "options": self.options,
                "control_after_generate": self.control_after_generate,
                **({self.upload.value: True} if self.upload is not None else {}),
                "image_folder": self.image_folder.value if self.image_folder else None,
                "remote": self.remote.as_dict() if self.remote else None,
            })

    class Output(Output):
        def __init__(self, id=None, display_name=None, options=None, tooltip=None, is_output_list=False):
            super().__init__(id, display_name, tooltip, is_output_list)
            self.options = options if options is not None else []

        @property
        def io_type(self):
            return self.options


def _plain(io_type, name):
    """``@comfytype(io_type)`` on a ComfyTypeIO subclass with no members but ``Type = Any``."""
    cls = type(name, (ComfyTypeIO,), {"Type": Any, "__module__": __name__, "__qualname__": name})
    return comfytype(io_type=io_type)(cls)


Image = _plain("IMAGE", "Image")
WanCameraEmbedding = _plain("WAN_CAMERA_EMBEDDING", "WanCameraEmbedding")
Mask = _plain("MASK", "Mask")
Latent = _plain("LATENT", "Latent")
Conditioning = _plain("CONDITIONING", "Conditioning")
Sampler = _plain("SAMPLER", "Sampler")
Sigmas = _plain("SIGMAS", "Sigmas")
Noise = _plain("NOISE", "Noise")
Guider = _plain("GUIDER", "Guider")
Clip = _plain("CLIP", "Clip")
ControlNet = _plain("CONTROL_NET", "ControlNet")
Vae = _plain("VAE", "Vae")
Model = _plain("MODEL", "Model")
ClipVision = _plain("CLIP_VISION", "ClipVision")
ClipVisionOutput = _plain("CLIP_VISION_OUTPUT", "ClipVisionOutput")
StyleModel = _plain("STYLE_MODEL", "StyleModel")
Gligen = _plain("GLIGEN", "Gligen")
UpscaleModel = _plain("UPSCALE_MODEL", "UpscaleModel")
LatentUpscaleModel = _plain("LATENT_UPSCALE_MODEL", "LatentUpscaleModel")
Audio = _plain("AUDIO", "Audio")
Video = _plain("VIDEO", "Video")
SVG = _plain("SVG", "SVG")
LoraModel = _plain("LORA_MODEL", "LoraModel")
LossMap = _plain("LOSS_MAP", "LossMap")
Voxel = _plain("VOXEL", "Voxel")
Mesh = _plain("MESH", "Mesh")
Hooks = _plain("HOOKS", "Hooks")
HookKeyframes = _plain("HOOK_KEYFRAMES", "HookKeyframes")
TimestepsRange = _plain("TIMESTEPS_RANGE", "TimestepsRange")
LatentOperation = _plain("LATENT_OPERATION", "LatentOperation")
FlowControl = _plain("FLOW_CONTROL", "FlowControl")
Accumulation = _plain("ACCUMULATION", "Accumulation")
Photomaker = _plain("PHOTOMAKER", "Photomaker")
Point = _plain("POINT", "Point")
FaceAnalysis = _plain("FACE_ANALYSIS", "FaceAnalysis")
BBOX = _plain("BBOX", "BBOX")
SEGS = _plain("SEGS", "SEGS")
AnyType = _plain("*", "AnyType")
ModelPatch = _plain("MODEL_PATCH", "ModelPatch")
AudioEncoder = _plain("AUDIO_ENCODER", "AudioEncoder")
AudioEncoderOutput = _plain("AUDIO_ENCODER_OUTPUT", "AudioEncoderOutput")


@comfytype(io_type="COMFY_MULTITYPED_V3")
class MultiType:
    """An input that takes any of several types; given an ``Input`` as ``id``, that input's
    widget options are kept (its own io_type first in the list)."""

    Type = Any

    class Input(Input):
        def __init__(self, id, types, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None,
                     raw_link=None, advanced=None):
            self.input_override = None
            if isinstance(id, Input):
                base = id
                self.input_override = copy.copy(base)
                if base.optional is True:
                    optional = True
                if base.tooltip is not None:
                    tooltip = base.tooltip
                if base.display_name is not None:
                    display_name = base.display_name
                if base.lazy is not None:
                    lazy = base.lazy
                id = base.id
                if isinstance(self.input_override, WidgetInput):
                    self.input_override.widget_type = self.input_override.get_io_type()
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
            self._io_types = types

        @property
        def io_types(self):
            return [t if is_class(t) else type(t) for t in self._io_types]

        def get_io_type(self):
            names = [t.io_type for t in self.io_types]
            if self.input_override is not None:
                names = [self.input_override.get_io_type()] + names
            return ",".join(dict.fromkeys(names))

        def as_dict(self):
            if self.input_override is None:
                return super().as_dict()
            return self.input_override.as_dict() | super().as_dict()


@comfytype(io_type="COMFY_MATCHTYPE_V3")
class MatchType(ComfyTypeIO):
    """Inputs and outputs sharing a template: the frontend narrows them to one type; the backend
    keeps ``"COMFY_MATCHTYPE_V3"``, which ``validate_node_input`` lets connect to anything. An
    output's template id is listed in ``GET_NODE_INFO_V1()["output_matchtypes"]``."""

    class Template:
        def __init__(self, template_id, allowed_types=AnyType):
            self.template_id = template_id
            if not isinstance(allowed_types, Iterable):
                allowed_types = [allowed_types]
            for t in allowed_types:
                if isinstance(t, type):
                    if not issubclass(t, _ComfyType):
                        raise ValueError(f"Allowed types must be a ComfyType or a list of ComfyTypes, got {t.__name__}")
                elif not isinstance(t, _ComfyType):
                    raise ValueError(f"Allowed types must be a ComfyType or a list of ComfyTypes, got {t.__class__.__name__}")
            self.allowed_types = allowed_types

        def as_dict(self):
            return {"template_id": self.template_id,
                    "allowed_types": ",".join([t.io_type for t in self.allowed_types])}

    class Input(Input):
        def __init__(self, id, template, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None,
                     raw_link=None, advanced=None):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict, raw_link, advanced)
            self.template = template

        def as_dict(self):
            return super().as_dict() | prune_dict({"template": self.template.as_dict()})

    class Output(Output):
        def __init__(self, template, id=None, display_name=None, tooltip=None, is_output_list=False):
            if not id and not display_name:
                display_name = "MATCHTYPE"
            super().__init__(id, display_name, tooltip, is_output_list)
            self.template = template

        def as_dict(self):
            return super().as_dict() | prune_dict({"template": self.template.as_dict()})


class DynamicInput(Input, ABC):
    """An input whose prompt-time inputs depend on the values it gets (see ``parse_class_inputs``)."""


class DynamicOutput(Output, ABC):
    """An output of a dynamic kind."""


def handle_prefix(prefix_list, id=None):
    """``prefix_list`` (None: empty) with ``id`` appended when given (a new list)."""
    if prefix_list is None:
        prefix_list = []
    if id is not None:
        prefix_list = prefix_list + [id]
    return prefix_list


def finalize_prefix(prefix_list, id=None):
    """The dotted input name of ``prefix_list`` (and ``id``): ``["combo", "x"]`` -> ``"combo.x"``."""
    assert not (prefix_list is None and id is None)
    if prefix_list is None:
        return id
    if id is not None:
        prefix_list = prefix_list + [id]
    return ".".join(prefix_list)


@comfytype(io_type="COMFY_AUTOGROW_V3")
class Autogrow(ComfyTypeI):
    """A template input repeated under several names: ``TemplatePrefix(input, prefix, min=1,
    max=10)`` (names ``<prefix>0`` .. ``<prefix><max-1>``) or ``TemplateNames(input, names,
    min=1)``. A prompt sends them as ``"<id>.<name>"``; the node gets ``<id>`` as a dict of the
    names it was sent (``{}`` when none)."""

    Type = dict[str, Any]
    _MaxNames = 100

    class _AutogrowTemplate:
        def __init__(self, input):
            assert not isinstance(input, DynamicInput)
            self.input = copy.copy(input)
            if isinstance(self.input, WidgetInput):
                self.input.force_input = True
            self.names = []
            self.cached_inputs = {}

        def _create_input(self, input, name):
            made = copy.copy(self.input)
            made.id = name
            return made

        def _create_cached_inputs(self):
            for name in self.names:
                self.cached_inputs[name] = self._create_input(self.input, name)

        def get_all(self):
            return list(self.cached_inputs.values())

        def as_dict(self):
            return prune_dict({"input": create_input_dict_v1([self.input])})

        def validate(self):
            self.input.validate()

    class TemplatePrefix(_AutogrowTemplate):
        def __init__(self, input, prefix, min=1, max=10):
            super().__init__(input)
            self.prefix = prefix
            assert min >= 0
            assert max >= 1
            assert max <= Autogrow._MaxNames
            self.min = min
            self.max = max
            self.names = [f"{self.prefix}{i}" for i in range(self.max)]
            self._create_cached_inputs()

        def as_dict(self):
            return super().as_dict() | prune_dict({"prefix": self.prefix, "min": self.min, "max": self.max})

    class TemplateNames(_AutogrowTemplate):
        def __init__(self, input, names, min=1):
            super().__init__(input)
            self.names = names[:Autogrow._MaxNames]
            assert min >= 0
            self.min = min
            self._create_cached_inputs()

        def as_dict(self):
            return super().as_dict() | prune_dict({"names": self.names, "min": self.min})

    class Input(DynamicInput):
        def __init__(self, id, template, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.template = template

        def as_dict(self):
            return super().as_dict() | prune_dict({"template": self.template.as_dict()})

        def get_all(self):
            return [self] + self.template.get_all()

        def validate(self):
            self.template.validate()

    @staticmethod
    def _expand_schema_for_dynamic(out_dict, live_inputs, value, input_type, curr_prefix):
        template = value[1]["template"]
        if "names" in template:
            minimum, names = template["min"], template["names"]
        elif "prefix" in template:
            minimum = template["min"]
            names = [f"{template['prefix']}{i}" for i in range(template["max"])]
        # the first entry of the template's input dict ("required" first) is the input repeated
        template_input, template_required = None, True
        for category, entries in template["input"].items():
            if len(entries) == 0:
                continue
            template_input = list(entries.values())[0]
            template_required = category == "required"
            break
        if template_input is None:
            raise Exception("template_input could not be determined from required or optional; this should never happen.")
        sent = {}
        any_sent = False
        for index, name in enumerate(names):
            full_name = finalize_prefix(curr_prefix, name)
            category = "required" if index < minimum and template_required else "optional"
            out_dict[category][full_name] = template_input
            entries = sent.setdefault(category, {})
            if full_name in live_inputs:
                entries[name] = template_input
                any_sent = True
        if not any_sent:
            # nothing sent: the node still gets the input, as an empty dict
            own_name = finalize_prefix(curr_prefix)
            out_dict["dynamic_paths"][own_name] = own_name
            out_dict["dynamic_paths_default_value"][own_name] = DynamicPathsDefaultValue.EMPTY_DICT
        parse_class_inputs(out_dict, live_inputs, sent, curr_prefix)


@comfytype(io_type="COMFY_DYNAMICCOMBO_V3")
class DynamicCombo(ComfyTypeI):
    """A combo whose chosen option brings its own inputs: ``Input(id, options=[Option(key,
    inputs), ...])``. A prompt sends ``"<id>": key`` and the option's inputs as
    ``"<id>.<input id>"``; the node gets ``<id>`` as a dict ``{"<id>": key, "<input id>": ...}``."""

    Type = dict[str, Any]

    class Option:
        def __init__(self, key, inputs):
            self.key = key
            self.inputs = inputs

        def as_dict(self):
            return {"key": self.key, "inputs": create_input_dict_v1(self.inputs)}

    class Input(DynamicInput):
        def __init__(self, id, options, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.options = options

        def get_all(self):
            return [self] + [input for option in self.options for input in option.inputs]

        def as_dict(self):
            return super().as_dict() | prune_dict({"options": [o.as_dict() for o in self.options]})

        def validate(self):
            for option in self.options:
                for input in option.inputs:
                    input.validate()

    @staticmethod
    def _expand_schema_for_dynamic(out_dict, live_inputs, value, input_type, curr_prefix):
        own_name = finalize_prefix(curr_prefix)
        if own_name not in live_inputs:
            return
        key = live_inputs[own_name]
        chosen = next((option for option in value[1]["options"] if option["key"] == key), None)
        if chosen is None:
            return  # an unknown key: the combo alone stays out of the inputs
        parse_class_inputs(out_dict, live_inputs, chosen["inputs"], curr_prefix)
        out_dict[input_type][own_name] = value
        out_dict["dynamic_paths"][own_name] = finalize_prefix(curr_prefix, curr_prefix[-1])


@comfytype(io_type="COMFY_DYNAMICSLOT_V3")
class DynamicSlot(ComfyTypeI):
    """A socket (always optional) whose link brings more inputs: ``Input(slot, inputs)``. The
    node gets ``<slot id>`` as a dict ``{"<slot id>": value, "<input id>": ...}`` when linked."""

    Type = dict[str, Any]

    class Input(DynamicInput):
        def __init__(self, slot, inputs, display_name=None, tooltip=None, lazy=None, extra_dict=None):
            assert not isinstance(slot, DynamicInput)
            self.slot = copy.copy(slot)
            self.slot.display_name = slot.display_name if slot.display_name is not None else display_name
            self.slot.tooltip = slot.tooltip if slot.tooltip is not None else tooltip
            self.slot.lazy = slot.lazy if slot.lazy is not None else lazy
            self.slot.extra_dict = slot.extra_dict if slot.extra_dict is not None else extra_dict
            super().__init__(slot.id, self.slot.display_name, True, self.slot.tooltip, self.slot.lazy,
                             self.slot.extra_dict)
            self.inputs = inputs
            self.force_input = None
            if isinstance(self.slot, WidgetInput):
                self.force_input = True
                self.slot.force_input = True

        def get_all(self):
            return [self.slot] + self.inputs

        def as_dict(self):
            return super().as_dict() | prune_dict({
                "slotType": str(self.slot.get_io_type()),
                "inputs": create_input_dict_v1(self.inputs),
                "forceInput": self.force_input,
            })

        def validate(self):
            self.slot.validate()
            for input in self.inputs:
                input.validate()

    @staticmethod
    def _expand_schema_for_dynamic(out_dict, live_inputs, value, input_type, curr_prefix):
        own_name = finalize_prefix(curr_prefix)
        if own_name in live_inputs:
            parse_class_inputs(out_dict, live_inputs, value[1]["inputs"], curr_prefix)
            out_dict[input_type][own_name] = value
            out_dict["dynamic_paths"][own_name] = finalize_prefix(curr_prefix, curr_prefix[-1])


class DynamicInputError(ValueError):
    """A prompt's inputs that do not fit a dynamic input (``execution.py`` reports it as
    ``invalid_dynamic_input`` naming ``input_name``)."""

    def __init__(self, input_name, message):
        super().__init__(message)
        self.input_name = input_name


@comfytype(io_type="COMFY_DYNAMICGROUP_V3")
class _DynamicGroup(ComfyTypeI):
    """ComfyUI's internal, unstable repeated widget group: rows sent as
    ``"<id>.<row>.<field>"`` reach the node as a list of row dicts (``[]`` when none)."""

    Type = list[dict[str, Any]]
    _MaxRows = 20

    class Input(DynamicInput):
        def __init__(self, id, template, min=0, max=20, display_name=None, optional=False, tooltip=None, lazy=None,
                     extra_dict=None, group_name="Group"):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            if not template:
                raise ValueError("DynamicGroup template must have at least one field.")
            for t in template:
                if isinstance(t, DynamicInput):
                    raise ValueError("Nesting dynamic inputs inside DynamicGroup is not supported.")
                if not isinstance(t, WidgetInput):
                    raise TypeError("DynamicGroup template fields must be WidgetInputs.")
                if t.force_input:
                    raise ValueError(f"DynamicGroup template field '{t.id}' must not use force_input.")
                if not t.id or "." in t.id:
                    raise ValueError(f"DynamicGroup template field id must be nonempty and must not contain '.'. Got: '{t.id}'")
            field_ids = [t.id for t in template]
            if len(field_ids) != len(set(field_ids)):
                raise ValueError("DynamicGroup template field ids must be unique within a row.")
            if not id or "." in id:
                raise ValueError(f"DynamicGroup id must be nonempty and must not contain '.'. Got: '{id}'")
            if isinstance(min, bool) or not isinstance(min, int) or isinstance(max, bool) or not isinstance(max, int):
                raise TypeError("DynamicGroup min and max must be integers.")
            if not 1 <= max <= _DynamicGroup._MaxRows:
                raise ValueError(f"DynamicGroup max must be between 1 and {_DynamicGroup._MaxRows}.")
            if not 0 <= min <= max:
                raise ValueError("DynamicGroup min must be between 0 and max.")
            self.template = template
            self.min = min
            self.max = max
            self.group_name = group_name

        def get_all(self):
            return [self] + list(self.template)

        def as_dict(self):
            return super().as_dict() | prune_dict({
                "template": create_input_dict_v1(self.template),
                "min": self.min,
                "max": self.max,
                "group_name": self.group_name,
            })

        def validate(self):
            for t in self.template:
                t.validate()

    @staticmethod
    def _expand_schema_for_dynamic(out_dict, live_inputs, value, input_type, curr_prefix):
        info = value[1]
        min_rows = info.get("min", 0)
        max_rows = info.get("max", _DynamicGroup._MaxRows)
        template = info.get("template", {})
        fields = {field_id: (field_value, category) for category in ("required", "optional")
                  for field_id, field_value in template.get(category, {}).items()}
        own_name = finalize_prefix(curr_prefix)
        prefix = own_name + "."
        rows = set()
        for key in live_inputs:
            if not key.startswith(prefix):
                continue
            index, dot, field_id = key[len(prefix):].partition(".")
            if (not dot or not index.isascii() or not index.isdecimal()
                    or (len(index) > 1 and index.startswith("0")) or field_id not in fields):
                raise DynamicInputError(key, f"Invalid DynamicGroup input key '{key}'; expected '{own_name}.<index>.<template field>'.")
            row = int(index)
            if row >= max_rows:
                raise DynamicInputError(key, f"DynamicGroup input '{key}' exceeds the index limit of {max_rows - 1} (max={max_rows}).")
            rows.add(row)
        if not min_rows <= len(rows) <= max_rows:
            raise DynamicInputError(own_name, f"DynamicGroup input '{own_name}' received {len(rows)} rows; expected between {min_rows} and {max_rows}.")
        for row in range(max(rows, default=-1) + 1):
            for field_id, (field_value, category) in fields.items():
                slot_id = f"{own_name}.{row}.{field_id}"
                if row in rows:
                    out_dict[category][slot_id] = field_value
                out_dict["dynamic_paths"][slot_id] = slot_id
        out_dict["list_paths"].add(own_name)
        if not rows:
            out_dict["dynamic_paths"][own_name] = own_name
            out_dict["dynamic_paths_default_value"][own_name] = DynamicPathsDefaultValue.EMPTY_LIST


DYNAMIC_INPUT_LOOKUP = {}


def register_dynamic_input_func(io_type, func):
    DYNAMIC_INPUT_LOOKUP[io_type] = func


def get_dynamic_input_func(io_type):
    return DYNAMIC_INPUT_LOOKUP[io_type]


def setup_dynamic_input_funcs():
    """Registers the schema expansion of each dynamic input type (by io_type)."""
    register_dynamic_input_func(Autogrow.io_type, Autogrow._expand_schema_for_dynamic)
    register_dynamic_input_func(DynamicCombo.io_type, DynamicCombo._expand_schema_for_dynamic)
    register_dynamic_input_func(DynamicSlot.io_type, DynamicSlot._expand_schema_for_dynamic)
    register_dynamic_input_func(_DynamicGroup.io_type, _DynamicGroup._expand_schema_for_dynamic)


if len(DYNAMIC_INPUT_LOOKUP) == 0:
    setup_dynamic_input_funcs()


class HiddenHolder:
    """What a node asked for in ``Schema.hidden``, as attributes; anything else reads as None."""

    def __init__(self, unique_id, prompt, extra_pnginfo, dynprompt, auth_token_comfy_org, api_key_comfy_org,
                 comfy_usage_source=None, execution_list=None, **kwargs):
        self.unique_id = unique_id
        self.prompt = prompt
        self.extra_pnginfo = extra_pnginfo
        self.dynprompt = dynprompt
        self.auth_token_comfy_org = auth_token_comfy_org
        self.api_key_comfy_org = api_key_comfy_org
        self.comfy_usage_source = comfy_usage_source
        self.execution_list = execution_list

    def __getattr__(self, key):
        return None

    @classmethod
    def from_dict(cls, d):
        if d is None:
            d = {}
        return cls(
            unique_id=d.get(Hidden.unique_id, None),
            prompt=d.get(Hidden.prompt, None),
            extra_pnginfo=d.get(Hidden.extra_pnginfo, None),
            dynprompt=d.get(Hidden.dynprompt, None),
            auth_token_comfy_org=d.get(Hidden.auth_token_comfy_org, None),
            api_key_comfy_org=d.get(Hidden.api_key_comfy_org, None),
            comfy_usage_source=d.get(Hidden.comfy_usage_source, None),
            execution_list=d.get(Hidden.execution_list, None),
        )

    @classmethod
    def from_v3_data(cls, v3_data):
        return cls.from_dict(v3_data["hidden_inputs"] if v3_data else None)


class Hidden(str, Enum):
    """The hidden values a node can ask for."""

    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"
    dynprompt = "DYNPROMPT"
    auth_token_comfy_org = "AUTH_TOKEN_COMFY_ORG"
    api_key_comfy_org = "API_KEY_COMFY_ORG"
    comfy_usage_source = "COMFY_USAGE_SOURCE"
    execution_list = "EXECUTION_LIST"


class V3Data(TypedDict, total=False):
    """What ``execution.py`` hands a V3 node besides its inputs."""

    hidden_inputs: dict
    create_dynamic_tuple: bool
    dynamic_paths: dict
    dynamic_paths_default_value: dict
    list_paths: set


@dataclass
class NodeInfoV1:
    input: dict = None
    input_order: dict = None
    is_input_list: bool = None
    output: list = None
    output_is_list: list = None
    output_name: list = None
    output_tooltips: list = None
    output_matchtypes: list = None
    name: str = None
    display_name: str = None
    description: str = None
    python_module: Any = None
    category: str = None
    output_node: bool = None
    deprecated: bool = None
    experimental: bool = None
    api_node: bool = None
    has_intermediate_output: bool = None
    dev_only: bool = None


@dataclass
class Schema:
    """Definition of a V3 node."""

    node_id: str
    display_name: str = None
    category: str = "sd"
    inputs: list = None
    outputs: list = None
    hidden: list = None
    description: str = ""
    is_input_list: bool = False
    is_output_node: bool = False
    is_deprecated: bool = False
    is_experimental: bool = False
    is_api_node: bool = False
    not_idempotent: bool = False
    enable_expand: bool = False
    has_intermediate_output: bool = False
    is_dev_only: bool = False
    accept_all_inputs: bool = False
    search_aliases: list = None
    essentials_category: str = None
    loop_boundary: str = None  # "start" / "end": a loop's first or last node, for validate_loops

    def validate(self):
        """Ids unique among the inputs (a dynamic input's own nested inputs are not counted) and
        among the outputs; then each input and output validates itself."""
        inputs = self.inputs or []
        outputs = self.outputs or []
        nested = []
        for input in inputs:
            if not isinstance(input, DynamicInput):
                nested.extend(input.get_all())
        input_ids = [i.id for i in nested]
        output_ids = [o.id for o in outputs]
        issues = []
        if len(set(input_ids)) != len(input_ids):
            issues.append(f"Input ids must be unique, but {[item for item, count in Counter(input_ids).items() if count > 1]} are not.")
        if len(set(output_ids)) != len(output_ids):
            issues.append(f"Output ids must be unique, but {[item for item, count in Counter(output_ids).items() if count > 1]} are not.")
        if len(issues) > 0:
            raise ValueError("\n".join(issues))
        for input in inputs:
            input.validate()
        for output in outputs:
            output.validate()

    def finalize(self):
        """Adds the hidden values the schema's flags imply, and ids to outputs without one."""
        if self.is_api_node:
            if self.hidden is None:
                self.hidden = []
            if Hidden.auth_token_comfy_org not in self.hidden:
                self.hidden.append(Hidden.auth_token_comfy_org)
            if Hidden.api_key_comfy_org not in self.hidden:
                self.hidden.append(Hidden.api_key_comfy_org)
        if self.is_output_node:
            if self.hidden is None:
                self.hidden = []
            if Hidden.prompt not in self.hidden:
                self.hidden.append(Hidden.prompt)
            if Hidden.extra_pnginfo not in self.hidden:
                self.hidden.append(Hidden.extra_pnginfo)
        if self.outputs is not None:
            for i, output in enumerate(self.outputs):
                if output.id is None:
                    output.id = f"_{i}_{output.io_type}_"

    def get_v1_info(self, cls):
        input = create_input_dict_v1(self.inputs or [])
        if self.hidden:
            for hidden in self.hidden:
                input.setdefault("hidden", {})[hidden.name] = (hidden.value,)
        output, output_is_list, output_name, output_tooltips, output_matchtypes = [], [], [], [], []
        if self.outputs:
            for o in self.outputs:
                output.append(o.io_type)
                output_is_list.append(o.is_output_list)
                output_name.append(o.display_name if o.display_name else o.io_type)
                output_tooltips.append(o.tooltip if o.tooltip else None)
                output_matchtypes.append(o.template.template_id if isinstance(o, MatchType.Output) else None)
        if not any(isinstance(o, MatchType.Output) for o in self.outputs or []):
            output_matchtypes = None
        return NodeInfoV1(
            input=input,
            input_order={key: list(value.keys()) for (key, value) in input.items()},
            is_input_list=self.is_input_list,
            output=output,
            output_matchtypes=output_matchtypes,
            output_is_list=output_is_list,
            output_name=output_name,
            output_tooltips=output_tooltips,
            name=self.node_id,
            display_name=self.display_name,
            category=self.category,
            description=self.description,
            output_node=self.is_output_node,
            has_intermediate_output=self.has_intermediate_output,
            deprecated=self.is_deprecated,
            experimental=self.is_experimental,
            dev_only=self.is_dev_only,
            api_node=self.is_api_node,
            python_module=getattr(cls, "RELATIVE_PYTHON_MODULE", "nodes"),
        )


def get_finalized_class_inputs(d, live_inputs, include_hidden=False):
    """``(inputs, hidden, v3_data)`` of a V3 node's ``INPUT_TYPES()`` for the inputs a prompt gives
    it (``live_inputs``): dynamic inputs expanded into the dotted inputs the prompt can send (see
    ``parse_class_inputs``), hidden entries split off (kept only with ``include_hidden``), and
    ``v3_data`` with the dynamic paths, their default values and list paths when there are any."""
    out_dict = {"required": {}, "optional": {}, "dynamic_paths": {}, "dynamic_paths_default_value": {},
                "list_paths": set()}
    d = d.copy()
    hidden = d.pop("hidden", None)
    parse_class_inputs(out_dict, live_inputs, d)
    if hidden is not None and include_hidden:
        out_dict["hidden"] = hidden
    v3_data = {}
    dynamic_paths = out_dict.pop("dynamic_paths", None)
    if dynamic_paths:
        v3_data["dynamic_paths"] = dynamic_paths
    dynamic_paths_default_value = out_dict.pop("dynamic_paths_default_value", None)
    if dynamic_paths_default_value:
        v3_data["dynamic_paths_default_value"] = dynamic_paths_default_value
    list_paths = out_dict.pop("list_paths")
    if list_paths:
        v3_data["list_paths"] = list_paths
    return out_dict, hidden, v3_data


class DynamicPathsDefaultValue:
    EMPTY_DICT = "empty_dict"
    EMPTY_LIST = "empty_list"


def build_nested_inputs(values, v3_data, *, input_is_list=False):
    """The inputs with every dynamic input moved to its place in nested dicts along
    ``v3_data["dynamic_paths"]`` (``(value, key)`` pairs with ``create_dynamic_tuple``), list
    paths turned into lists; without ``dynamic_paths`` the inputs as given."""
    paths = v3_data.get("dynamic_paths", None)
    default_value_dict = v3_data.get("dynamic_paths_default_value", {})
    list_paths = v3_data.get("list_paths", set())
    if paths is None:
        return values
    values = values.copy()
    result = {}
    create_tuple = v3_data.get("create_dynamic_tuple", False)
    for key, path in paths.items():
        parts = path.split(".")
        current = result
        for i, p in enumerate(parts):
            if i < len(parts) - 1:
                current = current.setdefault(p, {})
                continue
            missing = key not in values
            value = values.pop(key, None)
            default_option = default_value_dict.get(key, None)
            if default_option == DynamicPathsDefaultValue.EMPTY_LIST:
                value = []
            elif value is None and default_option == DynamicPathsDefaultValue.EMPTY_DICT:
                value = {}
            elif missing and input_is_list and ".".join(parts[:-2]) in list_paths:
                value = [None]
            if create_tuple and default_option != DynamicPathsDefaultValue.EMPTY_LIST:
                value = (value, key)
            current[p] = value
    values.update(result)
    for list_path in list_paths:
        parts = list_path.split(".")
        container = values
        for part in parts[:-1]:
            container = container[part]
        rows = container[parts[-1]]
        if isinstance(rows, dict):
            container[parts[-1]] = [rows[key] for key in sorted(rows, key=int)]
    return values


def parse_class_inputs(out_dict, live_inputs, curr_dict, curr_prefix=None):
    """Copies ``curr_dict``'s inputs into ``out_dict`` under their dotted names; a dynamic input
    (its io_type in ``DYNAMIC_INPUT_LOOKUP``) is expanded by its type's function instead, and an
    input nested under a prefix gets a ``dynamic_paths`` entry (its path in the node's kwargs)."""
    for input_type, inner in curr_dict.items():
        for id, value in inner.items():
            io_type = value[0]
            if io_type in DYNAMIC_INPUT_LOOKUP:
                get_dynamic_input_func(io_type)(out_dict, live_inputs, value, input_type, handle_prefix(curr_prefix, id))
                continue
            full_name = finalize_prefix(curr_prefix, id)
            out_dict[input_type][full_name] = value
            if curr_prefix:
                out_dict["dynamic_paths"][full_name] = full_name


def _dynamic_group_prefixes(inputs):
    for inp in inputs:
        if isinstance(inp, _DynamicGroup.Input):
            yield inp.id + "."
        elif isinstance(inp, DynamicInput):
            for prefix in _dynamic_group_prefixes(inp.get_all()[1:]):
                yield f"{inp.id}.{prefix}"


def create_input_dict_v1(inputs):
    """The V1 ``INPUT_TYPES`` dict of ``inputs`` (``{"required": {...}}``, ``"optional"`` when any)."""
    input = {"required": {}}
    group_prefixes = tuple(_dynamic_group_prefixes(inputs))
    for i in inputs:
        if group_prefixes and i.id.startswith(group_prefixes):
            raise ValueError(f"Input '{i.id}' conflicts with a DynamicGroup field prefix.")
        add_to_dict_v1(i, input)
    return input


def add_to_dict_v1(i, input):
    key = "optional" if i.optional else "required"
    as_dict = i.as_dict()
    as_dict.pop("optional", None)
    input.setdefault(key, {})[i.id] = (i.get_io_type(), as_dict)


class _ComfyNodeBaseInternal(_ComfyNodeInternal):
    """Internal base of ``ComfyNode``; not for defining nodes."""

    RELATIVE_PYTHON_MODULE = None
    SCHEMA = None

    hidden = None  # a HiddenHolder, set on the per-call clone

    @classmethod
    @abstractmethod
    def define_schema(cls):
        raise NotImplementedError

    @classmethod
    @abstractmethod
    def execute(cls, **kwargs):
        raise NotImplementedError

    @classmethod
    def validate_inputs(cls, **kwargs):
        raise NotImplementedError

    @classmethod
    def fingerprint_inputs(cls, **kwargs):
        raise NotImplementedError

    @classmethod
    def check_lazy_status(cls, **kwargs):
        return [name for name in kwargs if kwargs[name] is None]

    def __init__(self):
        self.__class__.VALIDATE_CLASS()

    @classmethod
    def GET_BASE_CLASS(cls):
        return _ComfyNodeBaseInternal

    @final
    @classmethod
    def VALIDATE_CLASS(cls):
        if first_real_override(cls, "define_schema") is None:
            raise Exception(f"No define_schema function was defined for node class {cls.__name__}.")
        if first_real_override(cls, "execute") is None:
            raise Exception(f"No execute function was defined for node class {cls.__name__}.")

    @classproperty
    def FUNCTION(cls):  # noqa
        if inspect.iscoroutinefunction(cls.execute):
            return "EXECUTE_NORMALIZED_ASYNC"
        return "EXECUTE_NORMALIZED"

    @final
    @classmethod
    def EXECUTE_NORMALIZED(cls, *args, **kwargs):
        return cls._normalized(cls.execute(*args, **kwargs))

    @final
    @classmethod
    async def EXECUTE_NORMALIZED_ASYNC(cls, *args, **kwargs):
        return cls._normalized(await cls.execute(*args, **kwargs))

    @classmethod
    def _normalized(cls, to_return):
        if to_return is None:
            to_return = NodeOutput()
        elif isinstance(to_return, NodeOutput):
            pass
        elif isinstance(to_return, tuple):
            to_return = NodeOutput(*to_return)
        elif isinstance(to_return, dict):
            to_return = NodeOutput.from_dict(to_return)
        elif isinstance(to_return, ExecutionBlocker):
            to_return = NodeOutput(block_execution=to_return.message)
        else:
            raise Exception(f"Invalid return type from node: {type(to_return)}")
        if to_return.expand is not None and not cls.SCHEMA.enable_expand:
            raise Exception(f"Node {cls.__name__} is not expandable, but expand included in NodeOutput; developer should set enable_expand=True on node's Schema to allow this.")
        return to_return

    @final
    @classmethod
    def PREPARE_CLASS_CLONE(cls, v3_data):
        """A clone of the node class carrying this call's hidden values (``cls.hidden``)."""
        c_type = cls if is_class(cls) else type(cls)
        type_clone = shallow_clone_class(c_type)
        type_clone.hidden = HiddenHolder.from_v3_data(v3_data)
        return type_clone

    @final
    @classmethod
    def GET_NODE_INFO_V1(cls):
        schema = cls.GET_SCHEMA()
        return asdict(schema.get_v1_info(cls))

    _DESCRIPTION = None
    _CATEGORY = None
    _EXPERIMENTAL = None
    _DEPRECATED = None
    _API_NODE = None
    _OUTPUT_NODE = None
    _INPUT_IS_LIST = None
    _OUTPUT_IS_LIST = None
    _RETURN_TYPES = None
    _RETURN_NAMES = None
    _OUTPUT_TOOLTIPS = None
    _NOT_IDEMPOTENT = None
    _HAS_INTERMEDIATE_OUTPUT = None
    _ACCEPT_ALL_INPUTS = None

    def _from_schema(name):
        def get(cls):
            if getattr(cls, name) is None:
                cls.GET_SCHEMA()
            return getattr(cls, name)
        return classproperty(get)

    DESCRIPTION = _from_schema("_DESCRIPTION")
    CATEGORY = _from_schema("_CATEGORY")
    EXPERIMENTAL = _from_schema("_EXPERIMENTAL")
    DEPRECATED = _from_schema("_DEPRECATED")
    API_NODE = _from_schema("_API_NODE")
    OUTPUT_NODE = _from_schema("_OUTPUT_NODE")
    INPUT_IS_LIST = _from_schema("_INPUT_IS_LIST")
    OUTPUT_IS_LIST = _from_schema("_OUTPUT_IS_LIST")
    RETURN_TYPES = _from_schema("_RETURN_TYPES")
    RETURN_NAMES = _from_schema("_RETURN_NAMES")
    OUTPUT_TOOLTIPS = _from_schema("_OUTPUT_TOOLTIPS")
    NOT_IDEMPOTENT = _from_schema("_NOT_IDEMPOTENT")
    HAS_INTERMEDIATE_OUTPUT = _from_schema("_HAS_INTERMEDIATE_OUTPUT")
    ACCEPT_ALL_INPUTS = _from_schema("_ACCEPT_ALL_INPUTS")
    del _from_schema

    @final
    @classmethod
    def INPUT_TYPES(cls):
        schema = cls.FINALIZE_SCHEMA()
        return schema.get_v1_info(cls).input

    @final
    @classmethod
    def FINALIZE_SCHEMA(cls):
        schema = cls.define_schema()
        schema.finalize()
        return schema

    @final
    @classmethod
    def GET_SCHEMA(cls):
        """Validates the class and its schema and sets the V1 class attributes from it."""
        cls.VALIDATE_CLASS()
        schema = cls.FINALIZE_SCHEMA()
        schema.validate()
        if cls._DESCRIPTION is None:
            cls._DESCRIPTION = schema.description
        if cls._CATEGORY is None:
            cls._CATEGORY = schema.category
        if cls._EXPERIMENTAL is None:
            cls._EXPERIMENTAL = schema.is_experimental
        if cls._DEPRECATED is None:
            cls._DEPRECATED = schema.is_deprecated
        if cls._API_NODE is None:
            cls._API_NODE = schema.is_api_node
        if cls._OUTPUT_NODE is None:
            cls._OUTPUT_NODE = schema.is_output_node
        if cls._INPUT_IS_LIST is None:
            cls._INPUT_IS_LIST = schema.is_input_list
        if cls._NOT_IDEMPOTENT is None:
            cls._NOT_IDEMPOTENT = schema.not_idempotent
        if cls._HAS_INTERMEDIATE_OUTPUT is None:
            cls._HAS_INTERMEDIATE_OUTPUT = schema.has_intermediate_output
        if cls._ACCEPT_ALL_INPUTS is None:
            cls._ACCEPT_ALL_INPUTS = schema.accept_all_inputs
        if cls._RETURN_TYPES is None:
            output, output_name, output_is_list, output_tooltips = [], [], [], []
            if schema.outputs:
                for o in schema.outputs:
                    output.append(o.io_type)
                    output_name.append(o.display_name if o.display_name else o.io_type)
                    output_is_list.append(o.is_output_list)
                    output_tooltips.append(o.tooltip if o.tooltip else None)
            cls._RETURN_TYPES = output
            cls._RETURN_NAMES = output_name
            cls._OUTPUT_IS_LIST = output_is_list
            cls._OUTPUT_TOOLTIPS = output_tooltips
        cls.SCHEMA = schema
        return schema


class ComfyNode(_ComfyNodeBaseInternal):
    """Base class of every V3 node."""

    @classmethod
    @abstractmethod
    def define_schema(cls):
        raise NotImplementedError

    @classmethod
    @abstractmethod
    def execute(cls, **kwargs):
        raise NotImplementedError

    @classmethod
    def validate_inputs(cls, **kwargs):
        raise NotImplementedError

    @classmethod
    def fingerprint_inputs(cls, **kwargs):
        raise NotImplementedError

    @classmethod
    def check_lazy_status(cls, **kwargs):
        return [name for name in kwargs if kwargs[name] is None]

    @final
    @classmethod
    def GET_BASE_CLASS(cls):
        return ComfyNode


class NodeOutput(_NodeOutputInternal):
    """What a V3 node returns: its output values, and optionally ``ui``, ``expand`` and
    ``block_execution`` (a message: every output becomes an ``ExecutionBlocker``)."""

    def __init__(self, *args, ui=None, expand=None, block_execution=None):
        self.args = args
        self.ui = ui
        self.expand = expand
        self.block_execution = block_execution

    @property
    def result(self):
        return self.args if len(self.args) > 0 else None

    @classmethod
    def from_dict(cls, data):
        args = ()
        ui = None
        expand = None
        if "result" in data:
            result = data["result"]
            if isinstance(result, ExecutionBlocker):
                return cls(block_execution=result.message)
            args = result
        if "ui" in data:
            ui = data["ui"]
        if "expand" in data:
            expand = data["expand"]
        return cls(*args, ui=ui, expand=expand)

    def __getitem__(self, index):
        return self.args[index]


class _UIOutput(ABC):
    def __init__(self):
        pass

    @abstractmethod
    def as_dict(self):
        ...


__all__ = [
    "FolderType", "UploadType", "NumberDisplay", "comfytype", "Custom", "Input", "WidgetInput", "Output",
    "ComfyTypeI", "ComfyTypeIO", "Boolean", "Int", "Float", "String", "Combo", "Image", "WanCameraEmbedding",
    "Mask", "Latent", "Conditioning", "Sampler", "Sigmas", "Noise", "Guider", "Clip", "ControlNet", "Vae", "Model",
    "ClipVision", "ClipVisionOutput", "StyleModel", "Gligen", "UpscaleModel", "LatentUpscaleModel", "Audio", "Video",
    "SVG", "LoraModel", "LossMap", "Voxel", "Mesh", "Hooks", "HookKeyframes", "TimestepsRange", "LatentOperation",
    "FlowControl", "Accumulation", "Photomaker", "Point", "FaceAnalysis", "BBOX", "SEGS", "AnyType", "ModelPatch",
    "AudioEncoder", "AudioEncoderOutput", "MultiType", "MatchType", "DynamicCombo", "Autogrow", "HiddenHolder", "Hidden", "NodeInfoV1", "Schema", "ComfyNode",
    "NodeOutput", "add_to_dict_v1", "V3Data",
]

"""Stand-in for ``comfy_api.latest._io`` (era C, ComfyUI 0.3.75): the V3 node API (``io``).

Written from reading ComfyUI 0.3.75's ``comfy_api/latest/_io.py`` (names, signatures, the V1
view of a schema) and checked against it by running both (tests/real/test_v3_parity_real.py,
tests/real/test_v3_dynamic_parity_real.py).
What execution depends on is reproduced exactly:

- A node subclasses ``ComfyNode`` and defines the classmethods ``define_schema()`` (a
  ``Schema``) and ``execute(**inputs)`` (sync or async); ``FUNCTION`` is
  ``"EXECUTE_NORMALIZED"`` (``_ASYNC`` for an async ``execute``), which turns a tuple, None, a dict
  or an ``ExecutionBlocker`` into a ``NodeOutput``. A dict fails as in 0.3.75:
  ``NodeOutput.from_dict`` passes ``args=`` and raises ``TypeError: NodeOutput.__init__() got an
  unexpected keyword argument 'args'``.
- ``INPUT_TYPES(include_hidden=True, return_schema=False)``, ``RETURN_TYPES``, ``OUTPUT_NODE``,
  ``NOT_IDEMPOTENT`` ... are computed from the schema. Hidden entries are 1-tuples
  (``{"unique_id": ("UNIQUE_ID",)}``), so ``comfy_execution.caching``'s ``UNIQUE_ID`` test never
  matches a V3 node. An output node's schema gains the hidden ``prompt`` and ``extra_pnginfo``.
- Hidden values are read from ``cls.hidden`` (a ``HiddenHolder``: None for what was not asked
  for) on a per-call clone of the class (``PREPARE_CLASS_CLONE(hidden_inputs)``), locked so that
  setting a class attribute raises.

Types carry their ``io_type`` only (``Type`` is ``Any`` where ComfyUI names a torch class: the
mock imports no torch).

Dynamic inputs as 0.3.75 has them (its first, flat design; nothing is nested): a
``DynamicInput`` in ``Schema.inputs`` stands for the inputs its ``get_dynamic()`` lists in the V1
view. ``AutogrowDynamic.Input(id, template_input, min=1, max=None)`` lists ``max`` copies of the
template named ``"<template id><n>_$<id>_ag$"`` (widgets forced to sockets; past ``min``
optional); ``max`` must be given (``None`` raises ``TypeError`` in ``INPUT_TYPES``). The node
gets each copy as a kwarg of that name. ``MatchType.Input`` / ``.Output`` keep the io type
``"COMFY_MATCHTYPE_V3"``, so in 0.3.75 a link from an ``INT`` output into one fails validation
(``return_type_mismatch``), and ``MatchType.Template(id, io.Int)`` (not in a list) breaks
``INPUT_TYPES``. ``ComboDynamic.Input`` is a stub (abstract: it cannot be made).
``MultiType.Input(id | Input, types)``: the comma-joined io types (an ``Input`` given as ``id``
keeps its widget). Not reproduced: resources, the V3 node-info schema (``NodeInfoV3``);
``ui`` is the module ``_ui``.
"""
from __future__ import annotations

import copy
import inspect
from abc import ABC, abstractmethod
from collections import Counter
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any, TypeVar, final

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


class _StringIOType(str):
    """An io_type string that compares "equal" to ``*`` and to overlapping comma lists."""

    def __ne__(self, value):
        if self == "*" or value == "*":
            return False
        if not isinstance(value, str):
            return True
        a = frozenset(self.split(","))
        b = frozenset(value.split(","))
        return not (b.issubset(a) or a.issubset(b))


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
        new_cls.io_type = _StringIOType(io_type)
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

    @property
    def io_type(self):
        return self.Parent.io_type

    @property
    def Type(self):
        return self.Parent.Type


class Input(_IO_V3):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None):
        super().__init__()
        self.id = id
        self.display_name = display_name
        self.optional = optional
        self.tooltip = tooltip
        self.lazy = lazy
        self.extra_dict = extra_dict if extra_dict is not None else {}

    def as_dict(self):
        return prune_dict({
            "display_name": self.display_name,
            "optional": self.optional,
            "tooltip": self.tooltip,
            "lazy": self.lazy,
        }) | prune_dict(self.extra_dict)

    def get_io_type(self):
        return _StringIOType(self.io_type)


class WidgetInput(Input):
    def __init__(self, id, display_name=None, optional=False, tooltip=None, lazy=None, default=None,
                 socketless=None, widget_type=None, force_input=None, extra_dict=None):
        super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
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
        self.display_name = display_name
        self.tooltip = tooltip
        self.is_output_list = is_output_list

    def as_dict(self):
        return prune_dict({
            "display_name": self.display_name,
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
                     default=None, label_on=None, label_off=None, socketless=None, force_input=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
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
                     display_mode=None, socketless=None, force_input=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
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
                     display_mode=None, socketless=None, force_input=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
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
                     socketless=None, force_input=None):
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless, None, force_input)
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
                     socketless=None):
            if isinstance(options, type) and issubclass(options, Enum):
                options = [v.value for v in options]
            if isinstance(default, Enum):
                default = default.value
            super().__init__(id, display_name, optional, tooltip, lazy, default, socketless)
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
MODEL_PATCH = _plain("MODEL_PATCH", "MODEL_PATCH")
AudioEncoder = _plain("AUDIO_ENCODER", "AudioEncoder")
AudioEncoderOutput = _plain("AUDIO_ENCODER_OUTPUT", "AudioEncoderOutput")


@comfytype(io_type="COMFY_MULTITYPED_V3")
class MultiType:
    """An input that takes any of several types; given an ``Input`` as ``id``, that input's
    widget options are kept (its own io_type first in the list)."""

    Type = Any

    class Input(Input):
        def __init__(self, id, types, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None):
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
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
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


class DynamicInput(Input, ABC):
    """An input that stands for the inputs ``get_dynamic()`` lists in the V1 view."""

    @abstractmethod
    def get_dynamic(self):
        ...


class DynamicOutput(Output, ABC):
    """An output that stands for the outputs ``get_dynamic()`` lists."""

    def __init__(self, id=None, display_name=None, tooltip=None, is_output_list=False):
        super().__init__(id, display_name, tooltip, is_output_list)

    @abstractmethod
    def get_dynamic(self):
        ...


@comfytype(io_type="COMFY_AUTOGROW_V3")
class AutogrowDynamic(ComfyTypeI):
    """0.3.75's first autogrow: ``template_input`` copied ``max`` times as flat inputs named
    ``"<template id><n>_$<id>_ag$"`` (the first ``min`` as declared, the rest optional; widget
    templates become sockets). ``max`` has no usable default: ``None`` fails in ``get_dynamic``."""

    Type = list[Any]

    class Input(DynamicInput):
        def __init__(self, id, template_input, min=1, max=None, display_name=None, optional=False, tooltip=None,
                     lazy=None, extra_dict=None):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.template_input = template_input
            if min is not None:
                assert min >= 1
            if max is not None:
                assert max >= 1
            self.min = min
            self.max = max

        def _numbered(self, n, optional):
            made = copy.copy(self.template_input)
            made.id = f"{made.id}{n}_${self.id}_ag$"
            if made.display_name is not None:
                made.display_name = f"{made.display_name}{n}"
            made.optional = optional
            if isinstance(self.template_input, WidgetInput):
                made.force_input = True
            return made

        def get_dynamic(self):
            made = [self._numbered(n, self.optional or self.template_input.optional) for n in range(1, self.min + 1)]
            # as in 0.3.75: range() of max, so max=None raises TypeError here
            made += [self._numbered(n + 1, True) for n in range(self.min, self.max)]
            return made


@comfytype(io_type="COMFY_COMBODYNAMIC_V3")
class ComboDynamic(ComfyTypeI):
    """A placeholder in 0.3.75: its ``Input`` keeps nothing (not even ``id``) and has no
    ``get_dynamic``, so it cannot be instantiated (abstract) and no schema can use it."""

    class Input(DynamicInput):
        def __init__(self, id):
            pass


@comfytype(io_type="COMFY_MATCHTYPE_V3")
class MatchType(ComfyTypeIO):
    """Inputs and outputs that share a template. In 0.3.75 their io type stays
    ``"COMFY_MATCHTYPE_V3"``: a link from an ``INT`` output into one fails validation
    (``return_type_mismatch``), and a MatchType output only fits a ``*`` input."""

    class Template:
        def __init__(self, template_id, allowed_types):
            self.template_id = template_id
            self.allowed_types = [allowed_types] if isinstance(allowed_types, _ComfyType) else allowed_types

        def as_dict(self):
            return {"template_id": self.template_id,
                    "allowed_types": "".join(t.io_type for t in self.allowed_types)}

    class Input(DynamicInput):
        def __init__(self, id, template, display_name=None, optional=False, tooltip=None, lazy=None, extra_dict=None):
            super().__init__(id, display_name, optional, tooltip, lazy, extra_dict)
            self.template = template

        def get_dynamic(self):
            return [self]

        def as_dict(self):
            return super().as_dict() | prune_dict({"template": self.template.as_dict()})

    class Output(DynamicOutput):
        def __init__(self, id, template, display_name=None, tooltip=None, is_output_list=False):
            super().__init__(id, display_name, tooltip, is_output_list)
            self.template = template

        def get_dynamic(self):
            return [self]

        def as_dict(self):
            return super().as_dict() | prune_dict({"template": self.template.as_dict()})


class HiddenHolder:
    """What a node asked for in ``Schema.hidden``, as attributes; anything else reads as None."""

    def __init__(self, unique_id, prompt, extra_pnginfo, dynprompt, auth_token_comfy_org, api_key_comfy_org, **kwargs):
        self.unique_id = unique_id
        self.prompt = prompt
        self.extra_pnginfo = extra_pnginfo
        self.dynprompt = dynprompt
        self.auth_token_comfy_org = auth_token_comfy_org
        self.api_key_comfy_org = api_key_comfy_org

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
        )


class Hidden(str, Enum):
    """The hidden values a node can ask for."""

    unique_id = "UNIQUE_ID"
    prompt = "PROMPT"
    extra_pnginfo = "EXTRA_PNGINFO"
    dynprompt = "DYNPROMPT"
    auth_token_comfy_org = "AUTH_TOKEN_COMFY_ORG"
    api_key_comfy_org = "API_KEY_COMFY_ORG"


@dataclass
class NodeInfoV1:
    input: dict = None
    input_order: dict = None
    output: list = None
    output_is_list: list = None
    output_name: list = None
    output_tooltips: list = None
    name: str = None
    display_name: str = None
    description: str = None
    python_module: Any = None
    category: str = None
    output_node: bool = None
    deprecated: bool = None
    experimental: bool = None
    api_node: bool = None


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

    def validate(self):
        input_ids = [i.id for i in self.inputs] if self.inputs is not None else []
        output_ids = [o.id for o in self.outputs] if self.outputs is not None else []
        input_set, output_set = set(input_ids), set(output_ids)
        issues = []
        if len(input_set) != len(input_ids):
            issues.append(f"Input ids must be unique, but {[item for item, count in Counter(input_ids).items() if count > 1]} are not.")
        if len(output_set) != len(output_ids):
            issues.append(f"Output ids must be unique, but {[item for item, count in Counter(output_ids).items() if count > 1]} are not.")
        intersection = input_set & output_set
        if len(intersection) > 0:
            issues.append(f"Ids must be unique between inputs and outputs, but {intersection} are not.")
        if len(issues) > 0:
            raise ValueError("\n".join(issues))

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
        input = {"required": {}}
        if self.inputs:
            for i in self.inputs:
                for d in (i.get_dynamic() if isinstance(i, DynamicInput) else [i]):
                    add_to_dict_v1(d, input)
        if self.hidden:
            for hidden in self.hidden:
                input.setdefault("hidden", {})[hidden.name] = (hidden.value,)
        output, output_is_list, output_name, output_tooltips = [], [], [], []
        if self.outputs:
            for o in self.outputs:
                output.append(o.io_type)
                output_is_list.append(o.is_output_list)
                output_name.append(o.display_name if o.display_name else o.io_type)
                output_tooltips.append(o.tooltip if o.tooltip else None)
        return NodeInfoV1(
            input=input,
            input_order={key: list(value.keys()) for (key, value) in input.items()},
            output=output,
            output_is_list=output_is_list,
            output_name=output_name,
            output_tooltips=output_tooltips,
            name=self.node_id,
            display_name=self.display_name,
            category=self.category,
            description=self.description,
            output_node=self.is_output_node,
            deprecated=self.is_deprecated,
            experimental=self.is_experimental,
            api_node=self.is_api_node,
            python_module=getattr(cls, "RELATIVE_PYTHON_MODULE", "nodes"),
        )


def add_to_dict_v1(i, input):
    key = "optional" if i.optional else "required"
    as_dict = i.as_dict()
    as_dict.pop("optional", None)
    input.setdefault(key, {})[i.id] = (i.get_io_type(), as_dict)


def add_to_dict_v3(io, d):
    d[io.id] = (io.get_io_type(), io.as_dict())


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
    def PREPARE_CLASS_CLONE(cls, hidden_inputs):
        """A clone of the node class carrying this call's hidden values (``cls.hidden``)."""
        c_type = cls if is_class(cls) else type(cls)
        type_clone = shallow_clone_class(c_type)
        type_clone.hidden = HiddenHolder.from_dict(hidden_inputs)
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
    del _from_schema

    @final
    @classmethod
    def INPUT_TYPES(cls, include_hidden=True, return_schema=False):
        schema = cls.FINALIZE_SCHEMA()
        input = schema.get_v1_info(cls).input
        if not include_hidden:
            input.pop("hidden", None)
        if return_schema:
            return input, schema
        return input

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
        return cls(args=args, ui=ui, expand=expand)  # as in ComfyUI 0.3.75: a TypeError

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
    "FlowControl", "Accumulation", "Photomaker", "Point", "FaceAnalysis", "BBOX", "SEGS", "AnyType", "MODEL_PATCH",
    "AudioEncoder", "AudioEncoderOutput", "MultiType", "HiddenHolder", "Hidden", "NodeInfoV1", "Schema", "ComfyNode",
    "NodeOutput", "add_to_dict_v1", "add_to_dict_v3",
]

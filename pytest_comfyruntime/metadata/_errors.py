"""One error for a file that cannot be read as image metadata: it names the file, the field and the fix."""
from __future__ import annotations

import os


class MetadataFileError(ValueError):
    """A file (or a part of it) that is not readable metadata.

    ``path`` is the file, ``field`` what in it is wrong (``"file signature"``, ``"PNG tEXt chunk
    'ai_info'"``, ``"ai_info.runtime.sidecar.sha256"``), ``problem`` what is wrong with it and
    ``fix`` what to do. ``str()`` is the one-line message.
    """

    __module__ = "pytest_comfyruntime.metadata"

    def __init__(self, path: str | os.PathLike[str], field: str, problem: str, fix: str) -> None:
        self.path, self.field, self.problem, self.fix = os.fspath(path), field, problem, fix
        super().__init__(f"{self.path}: {field}: {problem}; fix: {fix}")

    def __reduce__(self) -> tuple[type[MetadataFileError], tuple[str, str, str, str]]:
        return (MetadataFileError, (self.path, self.field, self.problem, self.fix))


__all__ = ["MetadataFileError"]

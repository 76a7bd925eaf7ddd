"""Secrets that must never land in an image: what they are and how they are found, encoded or not.

What counts as a secret: the values of ``extra_data``'s ``api_key_comfy_org`` / ``auth_token_comfy_org``
(ComfyUI merges them back into ``extra_data`` before ``execute``, so hooks and nodes see them), the
values of environment variables whose names say token, secret, password, API key, access key,
private key, credential or auth (when the value looks like a token: 12 characters or more, no white
space, letters with digits or in both cases; never a path that exists), and the caller's
``forbid`` strings. Each is searched raw, JSON-escaped, URL-encoded and base64-encoded (standard and
URL-safe alphabets, at each of the three byte alignments, so it is found inside a longer base64 blob too,
the JSON-escaped form included: a base64-encoded JSON dump).
"""
from __future__ import annotations

import base64
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final
from urllib.parse import quote, quote_plus

from ..nodes.metadata_save import SENSITIVE_EXTRA_DATA_KEYS

TOKEN_NAME: Final = re.compile(r"TOKEN|SECRET|PASSWORD|PASSWD|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIAL|AUTH",
                               re.IGNORECASE)
#: Environment variable names that match :data:`TOKEN_NAME` but never hold a secret.
NOT_SECRET_NAMES: Final = frozenset({"SSH_AUTH_SOCK", "GIT_ASKPASS", "SSH_ASKPASS", "AUTHOR", "GIT_AUTHOR_NAME",
                                     "GIT_AUTHOR_EMAIL", "GIT_AUTHOR_DATE"})
_MIN_ENV: Final = 12
_MIN_ENCODED: Final = 6


@dataclass(frozen=True)
class Secret:
    """A value that must not appear, and where it came from (``"extra_data['api_key_comfy_org']"``)."""

    value: str
    source: str

    @property
    def shown(self) -> str:
        """The value masked for a message: its first 4 characters and its length."""
        head = self.value[:4] if len(self.value) >= 12 else self.value[:1]
        return f"{head}… ({len(self.value)} chars)"


@dataclass(frozen=True)
class Leak:
    secret: Secret
    encoding: str
    where: str

    def __str__(self) -> str:
        how = "" if self.encoding == "raw" else f" {self.encoding}"
        return f"the value of {self.secret.source} ({self.secret.shown}) appears{how} in {self.where}"


def secrets_from(extra_data: Mapping[str, object] | None = None, forbid: Sequence[str] = (),
                 env: Mapping[str, str] | None = None) -> list[Secret]:
    """The secrets to search for (see the module docstring); ``env`` defaults to ``os.environ``."""
    found: list[Secret] = []
    for key in SENSITIVE_EXTRA_DATA_KEYS:
        value = (extra_data or {}).get(key)
        if isinstance(value, str) and len(value) >= 4:
            found.append(Secret(value, f"extra_data[{key!r}]"))
    for i, value in enumerate(forbid):
        if not isinstance(value, str) or not value:
            raise TypeError(f"forbid[{i}] is {value!r}; fix: pass non-empty strings, e.g. forbid=('my-api-key',)")
        found.append(Secret(value, f"forbid[{i}]"))
    for name, value in sorted((os.environ if env is None else env).items()):
        if (TOKEN_NAME.search(name) and name.upper() not in NOT_SECRET_NAMES and _token_like(value)
                and not (os.sep in value and os.path.exists(value))):
            found.append(Secret(value, f"environment variable {name}"))
    unique: dict[str, Secret] = {}
    for secret in found:
        unique.setdefault(secret.value, secret)
    return list(unique.values())


def _token_like(value: str) -> bool:
    """12 characters or more, no white space, and letters with digits or letters of both cases (so
    ``standard-mode`` never counts, ``ghp_x1...`` and ``CorrectHorseBattery`` do)."""
    if len(value) < _MIN_ENV or any(c.isspace() for c in value):
        return False
    lower, upper = any(c.islower() for c in value), any(c.isupper() for c in value)
    return ((lower or upper) and any(c.isdigit() for c in value)) or (lower and upper)


def _base64_cores(value: bytes) -> set[str]:
    """The part of ``base64(prefix + value + suffix)`` that depends on ``value`` alone, for each of
    the three alignments and both alphabets: found wherever ``value`` sits in an encoded blob."""
    cores = set()
    n = len(value)
    for k in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * k + value).decode("ascii")
            core = encoded[(8 * k + 5) // 6:(8 * (k + n)) // 6]
            if len(core) >= 8:
                cores.add(core)
    return cores


def encodings(value: str) -> list[tuple[str, str]]:
    """``(encoding, text)`` forms of ``value`` to search for."""
    forms = [("raw", value)]
    escaped = json.dumps(value)[1:-1]
    for name, form in (("JSON-escaped", escaped), ("URL-encoded", quote(value, safe="")),
                       ("URL-encoded", quote_plus(value))):
        if form != value and (name, form) not in forms:
            forms.append((name, form))
    if len(value) >= _MIN_ENCODED:  # base64 of the value, and of it inside a JSON dump
        cores = _base64_cores(value.encode("utf-8")) | _base64_cores(escaped.encode("utf-8"))
        forms += [("base64-encoded", core) for core in sorted(cores)]
    return forms


def find_leaks(secrets: Iterable[Secret], texts: Iterable[tuple[str, str]]) -> list[Leak]:
    """Every ``(secret, encoding, where)`` found in ``texts`` (``(where, text)`` pairs); one per
    secret and place, raw before encoded."""
    forms = [(secret, encoding, form) for secret in secrets for encoding, form in encodings(secret.value)]
    leaks: dict[tuple[str, str], Leak] = {}
    for where, text in texts:
        for secret, encoding, form in forms:
            if (secret.value, where) not in leaks and form in text:
                leaks[(secret.value, where)] = Leak(secret, encoding, where)
    return list(leaks.values())


__all__ = ["Leak", "NOT_SECRET_NAMES", "Secret", "TOKEN_NAME", "encodings", "find_leaks", "secrets_from"]

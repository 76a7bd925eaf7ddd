"""Opting in to the capture: environment variable > config file > default (off)."""
from __future__ import annotations

import json

import pytest

from pytest_comfyruntime.capture import CaptureConfigError, RuntimeCapture, resolve_opt_in


@pytest.fixture
def config_file(tmp_path):
    def write(content) -> str:
        path = tmp_path / "config.json"
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return str(path)
    return write


def test_default_is_off() -> None:
    decided = resolve_opt_in(env={})
    assert (decided.enabled, decided.source) == (False, "default")


@pytest.mark.parametrize("value, enabled", [("1", True), ("true", True), ("YES", True), (" on ", True),
                                            ("0", False), ("false", False), ("no", False), ("off", False)])
def test_env_values(value, enabled) -> None:
    decided = resolve_opt_in(env={"COMFYRUNTIME_CAPTURE": value})
    assert (decided.enabled, decided.source) == (enabled, "env")


def test_file_when_env_is_unset_or_empty(config_file) -> None:
    path = config_file({"runtime_hooks": {"enabled": True}, "other": {"keys": "kept"}})
    for env in ({}, {"COMFYRUNTIME_CAPTURE": ""}):
        decided = resolve_opt_in(env=env, config_file=path)
        assert (decided.enabled, decided.source) == (True, "file")
        assert decided.detail == f"runtime_hooks.enabled=true in {path}"


def test_env_wins_over_file_both_ways(config_file) -> None:
    on, off = config_file({"runtime_hooks": {"enabled": True}}), None
    assert resolve_opt_in(env={"COMFYRUNTIME_CAPTURE": "0"}, config_file=on).enabled is False
    off = config_file({"runtime_hooks": {"enabled": False}})
    assert resolve_opt_in(env={"COMFYRUNTIME_CAPTURE": "1"}, config_file=off).enabled is True


def test_file_named_by_the_config_variable(config_file) -> None:
    path = config_file({"runtime_hooks": {"enabled": True}})
    decided = resolve_opt_in(env={"COMFYRUNTIME_CAPTURE_CONFIG": path})
    assert (decided.enabled, decided.source) == (True, "file")


def test_file_without_the_key_falls_back_to_default(config_file) -> None:
    assert resolve_opt_in(env={}, config_file=config_file({"debug": {}})).source == "default"


@pytest.mark.parametrize("content, message", [
    ("{not json", "is not readable JSON"),
    ("[]", "the top level must be an object"),
    ({"runtime_hooks": {"enabled": "yes"}}, "field 'runtime_hooks.enabled' is invalid"),
])
def test_bad_file_names_the_file_field_and_fix(config_file, content, message) -> None:
    path = config_file(content)
    with pytest.raises(CaptureConfigError) as info:
        resolve_opt_in(env={}, config_file=path)
    assert str(path) in str(info.value) and message in str(info.value) and "fix:" in str(info.value)


def test_bad_env_value_and_missing_file(tmp_path) -> None:
    with pytest.raises(CaptureConfigError, match=r"COMFYRUNTIME_CAPTURE='maybe' is neither on nor off; fix: set it to 1"):
        resolve_opt_in(env={"COMFYRUNTIME_CAPTURE": "maybe"})
    with pytest.raises(CaptureConfigError, match="does not exist"):
        resolve_opt_in(env={}, config_file=tmp_path / "nope.json")


def test_auto_enable_follows_the_decision(comfy_execution_module, config_file, caplog) -> None:
    capture = RuntimeCapture(env_var="MY_EXT_HOOKS", config_env_var=None)
    assert capture.auto_enable(comfy_execution_module, env={}) is False
    assert capture.status().reason.startswith("not opted in: off by default")
    assert capture.auto_enable(comfy_execution_module, env={"MY_EXT_HOOKS": "perhaps"}) is False
    assert "MY_EXT_HOOKS='perhaps'" in capture.status().reason and "MY_EXT_HOOKS" in caplog.text
    capture.config_file = config_file({"runtime_hooks": {"enabled": True}})
    try:
        assert capture.auto_enable(comfy_execution_module, env={}) is True
        assert capture.opt_in.source == "file" and capture.status().enabled
    finally:
        capture.disable()

"""Isolation and hook-activity assertions. The conformance battery on comfy_meta_ext.hooks runs
from pyproject.toml (``comfyruntime_conformance = "comfy_meta_ext.hooks"``): eight more items."""
from comfy_meta_ext import hooks


def test_hooks_are_active(comfyruntime):
    comfyruntime.assert_hooks_active()


def test_sessions_do_not_leak(comfyruntime, comfy_workflow):
    comfyruntime.assert_session_isolation(hooks.get_session)
    comfyruntime.assert_session_isolation(hooks.get_session, prompts=[comfy_workflow("txt2img")], threads=2, repeats=2)

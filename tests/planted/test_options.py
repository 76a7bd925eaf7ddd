"""How the battery is switched on and named: ini, command line, the spec's keys, and its errors."""
from __future__ import annotations

import pytest

CHECKS = ["hooks_active", "off_by_default", "conflict_detection", "exception_auto_disables",
          "teardown_restores_originals", "idempotent", "no_crosstalk", "never_mutates_prompt"]


def test_ini_generates_one_item_per_check(pytester: pytest.Pytester, planted) -> None:
    planted("good_hooks")
    pytester.makeini("[pytest]\ncomfyruntime_conformance = good_hooks:threads=2,repeats=5\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--collect-only", "-q")
    result.stdout.fnmatch_lines([f"tox.ini::good_hooks::{c}" for c in CHECKS])
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=8)
    result.stdout.fnmatch_lines(["comfyruntime: conformance battery on good_hooks",
                                 "tox.ini::good_hooks::hooks_active PASSED*"])


def test_command_line_replaces_the_ini_list_and_k_selects(pytester: pytest.Pytester, planted) -> None:
    planted("good_hooks", "planted_mutate")
    pytester.makeini("[pytest]\ncomfyruntime_conformance = planted_mutate\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-conformance", "good_hooks",
                                "-k", "mutate or idempotent", "-v")
    result.assert_outcomes(passed=2, deselected=6)
    assert "planted_mutate]" not in result.stdout.str()


def test_custom_function_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(renamed='''
from pytest_comfyruntime.capture import RuntimeCapture
_c = RuntimeCapture()
start, stop, fetch = _c.enable, _c.disable, _c.get_session
''')
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-conformance",
                                "renamed:enable=start,disable=stop,read=fetch,threads=2,repeats=5")
    result.assert_outcomes(passed=8)


@pytest.mark.parametrize("spec, message", [
    ("good_hooks:enable", "--comfyruntime-conformance: 'good_hooks:enable': 'enable' is not key=value; fix: write "
                          "'my_ext.hooks:enable=start,disable=stop,read=get_session'"),
    ("good_hooks:threads=many", "--comfyruntime-conformance: 'good_hooks:threads=many': threads: Input should be a "
                                "valid integer*; fix: keys are enable, disable, read, auto*"),
    ("good_hooks:colour=red", "*'good_hooks:colour=red': colour: Extra inputs are not permitted; fix: keys are*"),
    (":enable=x", "*':enable=x' names no module; fix: 'my_ext.hooks'"),
])
def test_a_bad_entry_is_one_usage_error(pytester: pytest.Pytester, spec, message) -> None:
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-conformance", spec)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*pytest-comfyruntime: {message}"])


def test_bad_ini_entry_names_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncomfyruntime_conformance = good_hooks:oops\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ini option comfyruntime_conformance in *tox.ini: 'good_hooks:oops'*"])


def test_missing_functions_and_modules_fail_every_item_clearly(pytester: pytest.Pytester) -> None:
    # a module that is not there at all is one usage error (tests/test_messages.py)
    pytester.makepyfile(nothing="x = 1\n", broken_import="import not_a_module\n")
    pytester.syspathinsert()
    result = pytester.runpytest("-p", "no:cacheprovider", "--comfyruntime-conformance", "nothing",
                                "--comfyruntime-conformance", "broken_import", "-k", "hooks_active")
    result.assert_outcomes(failed=2, deselected=14)
    result.stdout.fnmatch_lines([
        "hook module nothing has no enable function (looked for enable_hooks or enable); fix: name it, e.g. "
        'comfyruntime_conformance = "nothing:enable=my_enable"',
        "cannot import hook module 'broken_import': ModuleNotFoundError: No module named 'not_a_module'; fix: "
        "install the extension (pip install -e .) and what it imports, correct what importing it raised, or "
        "correct comfyruntime_conformance"])


def test_without_the_option_nothing_is_added(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain():\n    pass\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-q", "--collect-only")
    assert "comfyruntime-conformance" not in result.stdout.str()


def test_a_check_marked_not_applicable_is_skipped_with_its_reason(pytester: pytest.Pytester, planted) -> None:
    planted("planted_mutate")
    pytester.makeini("[pytest]\ncomfyruntime_conformance = planted_mutate:threads=2,repeats=5,"
                     "skip_never_mutates_prompt=rewrites prompts on purpose (documented)\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-rs", "-k", "never_mutates_prompt or idempotent")
    result.assert_outcomes(passed=1, skipped=1, deselected=6)  # without the mark, planted_mutate fails this check
    result.stdout.fnmatch_lines(["*never_mutates_prompt does not apply to planted_mutate (its conformance entry "
                                 "says: rewrites prompts on purpose (documented))*"])


@pytest.mark.parametrize("entry, message", [
    ("good_hooks:skip_no_such_check=why", "*'skip_no_such_check' names no check of the battery; fix: "
                                          "skip_<check>=<reason>, where <check> is one of hooks_active, *"),
    ("good_hooks:skip_idempotent=", "*'skip_idempotent' gives no reason; fix: skip_idempotent=<why the check*"),
])
def test_a_bad_not_applicable_mark_is_one_usage_error(pytester: pytest.Pytester, planted, entry, message) -> None:
    planted("good_hooks")
    pytester.makeini(f"[pytest]\ncomfyruntime_conformance = {entry}\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])

"""A hook of another kind than the function it replaces: a plain ``def`` around the ``async def``
per-node ``execute`` of eras C and D runs when the coroutine is created, so it times nothing and
catches nothing. ``assert_hooks_active()`` and the battery's ``hooks_active`` check name it; a plain
``def`` that only hands the original's coroutine back (``return original(...)``) is a pass-through
and is accepted."""
from __future__ import annotations

import pytest

from pytest_comfyruntime.checks.hooks_active import Installed, kind_mismatch, kind_of, returns_the_call
from pytest_comfyruntime.state.undo import ABSENT

CHECKS = ("hooks_active", "off_by_default", "conflict_detection", "exception_auto_disables",
          "teardown_restores_originals", "idempotent", "no_crosstalk", "never_mutates_prompt")
FRAGMENTS = [
    "hooks installed as the wrong kind of function on this executor (mock, era {era}):",
    "execution.execute is a coroutine function (async def), but the hook that replaced it, "
    "planted_sync_wrapper._execute_wrapper.<locals>.execute (planted_sync_wrapper.py:29), wrapping execution.execute, "
    "is a plain function (def): ComfyUI awaits what it returns: the call only creates the coroutine, so the wrapper's "
    "own code around the call runs before any of the original does (a timer there measures about 0 ms",
    "fix: define the wrapper with async def and return await original(...)",
]


def _outcomes(reprec) -> dict[str, tuple[str, str]]:
    out = {}
    for report in reprec.getreports("pytest_runtest_logreport"):
        if report.when == "call" or report.outcome != "passed":
            out.setdefault(report.nodeid.rpartition("::")[2], (report.outcome, report.longreprtext))
    return out


def test_the_battery_names_a_sync_wrapper_of_the_async_per_node_execute(pytester: pytest.Pytester, planted) -> None:
    planted("planted_sync_wrapper")
    reprec = pytester.inline_run("-p", "no:cacheprovider", "--comfyruntime-era", "C,D-11,D",
                                 "--comfyruntime-conformance", "planted_sync_wrapper:threads=2,repeats=10")
    found = _outcomes(reprec)
    assert set(found) == {f"{check}[mock-{era}]" for check in CHECKS for era in ("C", "D-11", "D")}, sorted(found)
    for era in ("C", "D-11", "D"):
        outcome, text = found[f"hooks_active[mock-{era}]"]
        assert outcome == "failed", text
        assert 'breaks the principle "the hooks reach targets this executor has, run during a prompt, and are the ' \
               'kind of function they replace (async def for an async target)"' in text
        for fragment in FRAGMENTS:
            assert fragment.format(era=era) in text, f"{fragment!r} not in:\n{text}"
        # only the kind is wrong: every other promise is kept
        for check in set(CHECKS) - {"hooks_active"}:
            assert found[f"{check}[mock-{era}]"][0] == "passed", (check, era, found[f"{check}[mock-{era}]"])


@pytest.mark.parametrize("module, fails", [("planted_sync_wrapper", True), ("passthrough_sync_wrapper", False)])
def test_assert_hooks_active_names_the_wrapper_its_kind_and_the_fix(pytester: pytest.Pytester, planted, module,
                                                                      fails) -> None:
    planted(module)
    pytester.makeini(f"[pytest]\ncomfyruntime_era = C\ncomfyruntime_hooks = {module}:enable\n"
                     f"comfyruntime_unhooks = {module}:disable\n")
    pytester.makepyfile("def test_it(comfyruntime):\n    comfyruntime.assert_hooks_active()\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    if not fails:
        result.assert_outcomes(passed=1)
        return
    result.assert_outcomes(failed=1)
    text = result.stdout.str()
    for fragment in FRAGMENTS:
        assert fragment.format(era="C") in text, f"{fragment!r} not in:\n{text}"


def test_the_same_module_is_fine_where_execute_is_a_plain_function(pytester: pytest.Pytester, planted) -> None:
    planted("planted_sync_wrapper")
    pytester.makeini("[pytest]\ncomfyruntime_era = B\ncomfyruntime_hooks = planted_sync_wrapper:enable\n"
                     "comfyruntime_unhooks = planted_sync_wrapper:disable\n")
    pytester.makepyfile("def test_it(comfyruntime):\n    comfyruntime.assert_hooks_active()\n")
    pytester.runpytest("-p", "no:cacheprovider").assert_outcomes(passed=1)


# -- the classification itself ---------------------------------------------------------------
async def _coroutine(*args):
    return args


def _generator(*args):
    yield args


async def _async_generator(*args):
    yield args


def _plain(*args):
    return args


def _timed(*args):
    result = _coroutine(*args)
    _plain("elapsed")
    return result


def _guarded(*args):
    try:
        return _coroutine(*args)
    except Exception:
        return None


def _passthrough(*args):
    _plain("called")
    return _coroutine(*args)


async def _awaits(*args):
    return await _coroutine(*args)


def test_kinds_come_from_the_code() -> None:
    assert [kind_of(f) for f in (_plain, _coroutine, _generator, _async_generator, len, int)] == [
        "function", "coroutine", "generator", "async generator", None, None]
    assert returns_the_call(_passthrough) and returns_the_call(lambda *a: _coroutine(*a))
    assert not returns_the_call(_timed) and not returns_the_call(_guarded) and not returns_the_call(len)


@pytest.mark.parametrize("original, wrapper, expected", [
    (_coroutine, _timed, "is a coroutine function (async def), but the hook that replaced it"),
    (_coroutine, _guarded, "is a plain function (def): ComfyUI awaits what it returns"),
    (_coroutine, _passthrough, None),
    (_coroutine, _awaits, None),
    (_plain, _awaits, "is a plain function (def), but the hook that replaced it, test_kinds._awaits, is a coroutine "
                      "function (async def)"),
    (_plain, _awaits, "ComfyUI calls it and uses the result directly, so it gets a coroutine object instead of the "
                      "original's result; fix: make the wrapper a plain def that returns original(...)'s result"),
    (_generator, _plain, "is a generator function (def with yield), but"),
    (_generator, _plain, "ComfyUI iterates what it returns: the call only creates the generator"),
    (_async_generator, _coroutine, "fix: make the wrapper an async generator too"),
    (_plain, _plain, None),
])
def test_kind_mismatch(original, wrapper, expected) -> None:
    found = kind_mismatch(Installed("execution.target", wrapper, False, original))
    if expected is None:
        assert found is None
    else:
        assert found is not None and expected in found, found
        assert found.startswith("execution.target is ")


def test_an_added_name_has_no_kind_to_match() -> None:
    assert kind_mismatch(Installed("execution.new", _timed, True, ABSENT)) is None

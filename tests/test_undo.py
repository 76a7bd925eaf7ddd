"""The one undo record under everything the plugin installs (``pytest_comfyruntime.state.undo``)."""
from __future__ import annotations

import sys
import types

import pytest

from pytest_comfyruntime.state.undo import ABSENT, Undo


class Base:
    inherited = "base"


class Child(Base):
    own = "child"


def test_setattr_and_setitem_are_undone_in_reverse_with_absent_restored_to_absent():
    record = Undo()
    mapping = {"kept": 1}
    record.setattr(Child, "own", "patched")
    record.setattr(Child, "added", "new")
    record.setitem(mapping, "kept", 2)
    record.setitem(mapping, "added", 3)
    record.setitem(mapping, "kept", 4)  # twice: the first old value comes back
    assert (Child.own, Child.added, mapping) == ("patched", "new", {"kept": 4, "added": 3})
    record.undo()
    assert Child.own == "child" and not hasattr(Child, "added")
    assert mapping == {"kept": 1}


def test_an_inherited_attribute_stays_inherited():
    record = Undo()
    record.setattr(Child, "inherited", "shadow")
    assert Child.inherited == "shadow"
    record.undo()
    assert "inherited" not in Child.__dict__ and Child.inherited == "base"


def test_delattr_and_delitem_put_back_and_raise_only_when_asked():
    record = Undo()
    obj = types.SimpleNamespace(a=1)
    mapping = {"k": "v"}
    record.delattr(obj, "a")
    record.delitem(mapping, "k")
    with pytest.raises(AttributeError):
        record.delattr(obj, "a")
    with pytest.raises(KeyError):
        record.delitem(mapping, "k")
    record.delattr(obj, "a", raising=False)
    record.delitem(mapping, "k", raising=False)
    assert not hasattr(obj, "a") and mapping == {}
    record.undo()
    assert obj.a == 1 and mapping == {"k": "v"}


def test_undo_is_idempotent_and_records_are_reusable():
    record = Undo()
    obj = types.SimpleNamespace(a=1)
    record.setattr(obj, "a", 2)
    record.undo()
    obj.a = 5  # a change after the undo is not the record's business
    record.undo()
    assert obj.a == 5 and len(record) == 0
    record.setattr(obj, "a", 6)
    record.undo()
    assert obj.a == 5


def test_set_module_adds_replaces_and_removes_sys_modules_entries():
    name = "comfyruntime_undo_test_module"
    first, second = types.ModuleType(name), types.ModuleType(name)
    with Undo.context() as record:
        record.set_module(name, first)
        record.set_module(name, second)
        assert sys.modules[name] is second
    assert name not in sys.modules
    sys.modules[name] = first
    try:
        with Undo.context() as record:
            record.set_module(name, None)
            assert name not in sys.modules
        assert sys.modules[name] is first
    finally:
        del sys.modules[name]


def test_a_failing_step_does_not_stop_the_rest_and_the_first_error_is_raised():
    record = Undo()
    obj = types.SimpleNamespace(a=1, b=1)
    calls = []
    record.setattr(obj, "a", 2)
    record.call(lambda: (_ for _ in ()).throw(RuntimeError("first to run, fails")))
    record.call(lambda: calls.append("ran"))
    record.setattr(obj, "b", 2)
    with pytest.raises(RuntimeError, match="first to run"):
        record.undo()
    assert (obj.a, obj.b, calls) == (1, 1, ["ran"])


def test_the_context_manager_undoes_on_an_exception_too():
    obj = types.SimpleNamespace(a=1)

    def fails_inside() -> None:
        with Undo.context() as record:
            record.setattr(obj, "a", 2)
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        fails_inside()
    assert obj.a == 1


def test_absent_is_one_sentinel():
    from pytest_comfyruntime.state import undo

    assert undo._Absent() is ABSENT and repr(ABSENT) == "<absent>"

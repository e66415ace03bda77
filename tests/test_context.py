"""Context: the value a step receives and returns."""

from __future__ import annotations

from datetime import datetime, timedelta

from dotflow import Context


def test_defaults_are_as_in_1x() -> None:
    """``Context()`` has storage and workflow_id None and task_id "", as in 1.x; wrapping a
    Context keeps the inner one's task_id unless another is given."""
    context = Context()
    assert (context.storage, context.task_id, context.workflow_id) == (None, "", None)
    assert Context(Context(1, task_id="0-abc")).task_id == "0-abc"
    assert Context(Context(1, task_id="0-abc"), task_id="1-def").task_id == "1-def"


def test_attributes_keep_what_was_given() -> None:
    """storage, task_id and workflow_id are the values passed in, by keyword or position."""
    rows = [{"id": 1}]
    context = Context(rows, "t-1", "wf-1")
    assert context.storage is rows
    assert context.task_id == "t-1"
    assert context.workflow_id == "wf-1"
    assert Context(storage=5, task_id="2", workflow_id="w") == Context(5, "2", "w")


def test_ids_are_validated_as_in_1x() -> None:
    """A non-str task_id, or a workflow_id that is neither a str nor a UUID, raises TypeError (on
    construction and on assignment); a UUID workflow_id is kept as its string."""
    import uuid

    import pytest

    for bad in ({"task_id": 2}, {"task_id": b"t"}, {"workflow_id": 7}, {"workflow_id": ["w"]}):
        with pytest.raises(TypeError, match="must be a str"):
            Context(1, **bad)
    context = Context(1, "t", "w")
    with pytest.raises(TypeError):
        context.task_id = 3
    wid = uuid.uuid4()
    assert Context(workflow_id=wid).workflow_id == str(wid)
    context.workflow_id = wid
    assert context.workflow_id == str(wid)


def test_time_is_the_creation_datetime() -> None:
    """``.time`` is a datetime taken when the Context was made."""
    before = datetime.now()
    context = Context("x")
    after = datetime.now()
    assert isinstance(context.time, datetime)
    assert before - timedelta(seconds=1) <= context.time <= after + timedelta(seconds=1)


def test_wrapping_a_context_copies_it() -> None:
    """``Context(Context(x))`` is a new Context holding x and the inner ids, not a nested Context."""
    inner = Context({"a": 1}, task_id="t", workflow_id="w")
    outer = Context(inner)
    assert outer is not inner
    assert not isinstance(outer.storage, Context)
    assert outer.storage is inner.storage
    assert (outer.task_id, outer.workflow_id) == ("t", "w")


def test_wrapping_twice_still_copies() -> None:
    """``Context(Context(Context(x)))`` still holds x directly."""
    assert Context(Context(Context(3))).storage == 3


def test_explicit_ids_win_over_the_wrapped_ones() -> None:
    """Ids passed next to a wrapped Context replace the inner Context's ids."""
    outer = Context(Context(1, task_id="inner", workflow_id="w-inner"), task_id="outer", workflow_id="w-outer")
    assert (outer.storage, outer.task_id, outer.workflow_id) == (1, "outer", "w-outer")


def test_contexts_with_equal_values_are_equal() -> None:
    """Two Contexts with the same storage and ids compare equal; a different storage does not."""
    assert Context([1, 2], "t", "w") == Context([1, 2], "t", "w")
    assert Context([1, 2], "t", "w") != Context([1, 3], "t", "w")
    assert Context(1) != 1


def test_to_jsonable_converts_subclasses_and_odd_keys_like_plain_values() -> None:
    """Dict and list subclasses, tuples, sets, non-str keys, bytes and Contexts come out as plain JSON data."""
    import json
    from collections import OrderedDict, defaultdict

    from dotflow.context import to_jsonable

    class Tag(str):
        pass

    value = {
        "od": OrderedDict(a=1),
        "dd": defaultdict(list, {1: [b"x"]}),
        "tuple": (1, (2, 3)),
        "set": {5},
        "ctx": Context([Context(7)]),
        (1, 2): Tag("t"),
        None: 1.5,
    }
    converted = to_jsonable(value)
    assert converted == {
        "od": {"a": 1},
        "dd": {"1": ["x"]},
        "tuple": [1, [2, 3]],
        "set": [5],
        "ctx": [7],
        "(1, 2)": "t",
        "None": 1.5,
    }
    assert json.loads(json.dumps(converted)) == converted

"""``@frozen``: the faster constructor behaves as the stdlib's frozen dataclass."""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from pegasus_log.frozen import frozen


@frozen
class Point:
    x: int
    y: int = 7
    tags: tuple[str, ...] = dataclasses.field(default_factory=tuple)


@frozen
class Checked:
    n: int

    def __post_init__(self) -> None:
        if self.n < 0:
            raise ValueError("negative")


@frozen
class Child(Point):
    z: int = 0


@frozen(order=True)
class Ordered:
    a: int


@frozen
class Hidden:
    a: int
    b: int = dataclasses.field(init=False, default=3)


def test_fields_defaults_and_factories() -> None:
    p = Point(1)
    assert (p.x, p.y, p.tags) == (1, 7, ())
    assert Point(1, 2, ("a",)) == Point(x=1, y=2, tags=("a",))
    assert repr(Point(1)) == "Point(x=1, y=7, tags=())"
    assert "_frozen_missing" in Point.__init__.__globals__  # the generated constructor
    assert Point.__init__.__qualname__ == "Point.__init__"


def test_still_frozen_hashable_and_slotted() -> None:
    p = Point(1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        p.x = 2  # type: ignore[misc]
    assert hash(p) == hash(Point(1))
    assert not hasattr(p, "__dict__")


def test_argument_errors_are_the_usual_ones() -> None:
    with pytest.raises(TypeError):
        Point()  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, 2, (), 4)  # type: ignore[call-arg]
    with pytest.raises(TypeError):
        Point(1, q=3)  # type: ignore[call-arg]


def test_post_init_runs() -> None:
    assert Checked(1).n == 1
    with pytest.raises(ValueError, match="negative"):
        Checked(-1)


def test_inherited_fields_replace_and_pickle() -> None:
    c = Child(1, 2, ("t",), 3)
    assert (c.x, c.y, c.tags, c.z) == (1, 2, ("t",), 3)
    assert dataclasses.replace(c, z=9) == Child(1, 2, ("t",), 9)
    assert pickle.loads(pickle.dumps(c)) == c


def test_order_option() -> None:
    assert Ordered(1) < Ordered(2)


def test_unsupported_field_keeps_the_stdlib_constructor() -> None:
    h = Hidden(1)
    assert (h.a, h.b) == (1, 3)
    assert "_frozen_missing" not in Hidden.__init__.__globals__
    assert "_frozen_missing" in Point.__init__.__globals__

"""Constructor cost of a six-field dataclass: stdlib frozen, ``@frozen``, not frozen.

    python bench/frozen_init_bench.py [--number 1000000]

Prints microseconds per construction of each, best of five timeit runs; the figures
``pegasus_log/frozen.py`` and docs/benchmarks.md quote.
"""

from __future__ import annotations

import argparse
import sys
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, cast

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pegasus_log.frozen import frozen


def _six_ints(name: str) -> type:
    """A bare class of six int fields, for a decorator to make a dataclass of."""
    return type(name, (), {"__annotations__": dict.fromkeys("abcdef", int)})


StdlibFrozen: type[Any] = dataclass(frozen=True, slots=True)(_six_ints("StdlibFrozen"))
Frozen: type[Any] = frozen(_six_ints("Frozen"))
NotFrozen: type[Any] = dataclass(slots=True)(_six_ints("NotFrozen"))


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--number", type=int, default=1_000_000)
    args = p.parse_args()
    for cls in (StdlibFrozen, Frozen, NotFrozen):
        make = partial(cast(Callable[..., object], cls), 1, 2, 3, 4, 5, 6)
        best = min(timeit.repeat(make, number=args.number, repeat=5))
        print(f"{cls.__name__:<13} {best / args.number * 1e6:.3f} us per construction")
    return 0


if __name__ == "__main__":
    sys.exit(main())

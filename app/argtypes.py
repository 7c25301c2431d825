"""argparse types for the command line's quantities: lengths, byte sizes, pixel counts, positive numbers.

Each parses lower-cased text, insists on a positive value and says what it takes when it cannot::

    >>> duration("1.5h"), duration("90s"), byte_size("4G"), pixels("8192x8192"), positive("2"), count_or_zero("0")
    (5400.0, 90.0, 4294967296, 67108864, 2.0, 0)
    >>> duration("soon")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: 'soon' is not a length like 90s, 30m or 1.5h
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def _quantity(parse: Callable[[str], float], what: str, zero: bool = False) -> Callable[[str], float]:
    """An argparse type: ``parse(text)`` (lower-cased), which must be positive (or zero, with ``zero``);
    errors say ``what`` it takes."""

    def convert(text: str) -> float:
        try:
            value = parse(text.strip().lower())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None
        if not (value >= 0 if zero else value > 0):
            raise argparse.ArgumentTypeError(f"{text!r} must be {'zero or more' if zero else 'positive'}")
        return value

    return convert


def _scaled(text: str, units: dict[str, int]) -> float:
    scale = units.get(text[-1:])
    return float(text[:-1] if scale else text) * (scale or 1)


def _area(text: str) -> int:
    parts = [int(p) for p in text.split("x")]
    if len(parts) > 2:
        raise ValueError(text)
    return math.prod(parts)


def _port(text: str) -> int:
    value = int(text)
    if value >= 1 << 16:
        raise ValueError(text)
    return value


duration = _quantity(lambda t: _scaled(t, {"s": 1, "m": 60, "h": 3600}), "a length like 90s, 30m or 1.5h")
byte_size = _quantity(lambda t: int(_scaled(t, {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40})),
                      "a size like 4G, 500M or 1048576 (bytes)")  # fmt: skip
pixels = _quantity(_area, "WIDTHxHEIGHT or a pixel count")
positive = _quantity(float, "a number")
count = _quantity(int, "a whole number")
count_or_zero = _quantity(int, "a whole number", zero=True)
port = _quantity(_port, "a port number (1-65535)")

"""argparse types for the command line's quantities: lengths, times, byte sizes, pixel counts, positive numbers.

Each parses lower-cased text, insists on a positive value and says what it takes when it cannot::

    >>> duration("1.5h"), duration("90s"), byte_size("4G"), pixels("8192x8192"), positive("2"), count_or_zero("0")
    (5400.0, 90.0, 4294967296, 67108864, 2.0, 0)
    >>> frame_size("640x360")
    (640, 360)
    >>> clock("75.5"), clock("1:15.5"), clock("01:02:03"), clock("0")  # a moment: seconds, MM:SS or HH:MM:SS
    (75.5, 75.5, 3723.0, 0.0)
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


def _frame_size(text: str) -> tuple[int, int]:
    width, height = (int(p) for p in text.split("x"))  # not two parts: ValueError
    if width % 2 or height % 2 or min(width, height) < 16:
        raise ValueError(text)  # H.264 in 4:2:0 needs even sides
    return width, height


def frame_size(text: str) -> tuple[int, int]:
    """``WIDTHxHEIGHT`` in even pixels (at least 16 each), e.g. 640x360."""
    try:
        return _frame_size(text.strip().lower())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a frame size like 640x360 (even sides >= 16)") from None


def _clock(text: str) -> float:
    """Seconds from ``S``, ``MM:SS`` or ``HH:MM:SS`` (a fraction in the last field only; fields after the
    first below 60)."""
    *larger, last = text.split(":")
    if len(larger) > 2 or not all(p.isdigit() for p in larger):
        raise ValueError(text)
    seconds = float(last)
    if not math.isfinite(seconds) or (larger and not 0 <= seconds < 60) or any(int(p) >= 60 for p in larger[1:]):
        raise ValueError(text)
    return sum(int(p) * 60 ** (len(larger) - i) for i, p in enumerate(larger)) + seconds


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
clock = _quantity(_clock, "a time like 75.5, 1:15.5 or 01:02:03 (seconds, MM:SS or HH:MM:SS)", zero=True)

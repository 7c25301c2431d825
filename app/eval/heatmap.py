"""Heatmap PNGs drawn with Pillow (no plotting library needed): panels of labelled cells in [0, 1],
printed as percentages.

>>> save_heatmaps([Panel("spoken", ("30 min",), ("0-10%", "10-20%"), ((1.0, 0.5),))], "niah.png")  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from longvid.ingest.atomic import atomic_path


@dataclass(frozen=True)
class Panel:
    title: str
    rows: tuple[str, ...]  # row labels, top to bottom
    columns: tuple[str, ...]  # column labels, left to right
    values: tuple[tuple[float, ...], ...]  # rows x columns in [0, 1]; NaN where there is no data


def colour(value: float) -> tuple[int, int, int]:
    """Red (0) through yellow (0.5) to green (1); grey for NaN."""
    if math.isnan(value):
        return (200, 200, 200)
    v = min(max(value, 0.0), 1.0)
    return (int(230 * min(1.0, 2 - 2 * v)), int(190 * min(1.0, 2 * v)) + 20, 60)


def save_heatmaps(panels: Sequence[Panel], path: str | Path, title: str = "", cell: int = 44) -> Path:
    """Stack ``panels`` vertically into one PNG at ``path`` (written atomically)."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=13)
    bold = ImageFont.load_default(size=16)
    label_w = 8 + max((int(font.getlength(r)) for p in panels for r in p.rows), default=40)
    width = label_w + cell * max(len(p.columns) for p in panels) + 20
    heights = [28 + cell * len(p.rows) + 22 for p in panels]
    top = 30 if title else 6
    image = Image.new("RGB", (width, top + sum(heights)), "white")
    draw = ImageDraw.Draw(image)
    if title:
        draw.text((8, 6), title, fill="black", font=bold)
    y = top
    for panel, height in zip(panels, heights, strict=True):
        draw.text((8, y + 4), panel.title, fill="black", font=bold)
        grid_y = y + 28
        for r, (label, row) in enumerate(zip(panel.rows, panel.values, strict=True)):
            cy = grid_y + r * cell
            draw.text((4, cy + cell // 2 - 7), label, fill="black", font=font)
            for c, value in enumerate(row):
                x = label_w + c * cell
                draw.rectangle((x, cy, x + cell - 2, cy + cell - 2), fill=colour(value))
                text = "" if math.isnan(value) else f"{100 * value:.0f}"
                draw.text((x + cell // 2, cy + cell // 2), text, fill="black", font=font, anchor="mm")
        for c, label in enumerate(panel.columns):
            draw.text((label_w + c * cell + cell // 2, grid_y + len(panel.rows) * cell + 8), label,
                      fill="black", font=font, anchor="mm")  # fmt: skip
        y += height
    path = Path(path)
    with atomic_path(path) as tmp:
        image.save(tmp, format="PNG")
    return path

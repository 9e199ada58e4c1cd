"""Server-side radar chart geometry for the result page: an inline SVG, no JavaScript and no CDN."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SIZE = 420
RADIUS = 140
RINGS = (25, 50, 75, 100)


@dataclass(frozen=True)
class RadarAxis:
    label: str
    score: int | None
    x: float
    y: float
    label_x: float
    label_y: float
    anchor: str


@dataclass(frozen=True)
class Radar:
    size: int
    center: float
    axes: tuple[RadarAxis, ...]
    rings: tuple[tuple[int, str], ...]
    claimed_points: str
    verified_points: str


def _point(index: int, count: int, value: float) -> tuple[float, float]:
    angle = -math.pi / 2 + 2 * math.pi * index / count
    center = SIZE / 2
    distance = RADIUS * value / 100
    return round(center + distance * math.cos(angle), 1), round(center + distance * math.sin(angle), 1)


def _polygon(scores: Sequence[int | None]) -> str:
    # A dimension that is entirely N/A is drawn at the centre.
    return " ".join(f"{x},{y}" for x, y in (_point(i, len(scores), s or 0) for i, s in enumerate(scores)))


def radar(*, labels: Sequence[str], claimed: Sequence[int | None], verified: Sequence[int | None]) -> Radar:
    count = len(labels)
    axes = []
    for index, label in enumerate(labels):
        x, y = _point(index, count, 100)
        lx, ly = _point(index, count, 118)
        anchor = "middle" if abs(lx - SIZE / 2) < 10 else ("start" if lx > SIZE / 2 else "end")
        axes.append(
            RadarAxis(label=label, score=claimed[index], x=x, y=y, label_x=lx, label_y=ly + 4, anchor=anchor)
        )
    rings = tuple((ring, _polygon([ring] * count)) for ring in RINGS)
    return Radar(
        size=SIZE,
        center=SIZE / 2,
        axes=tuple(axes),
        rings=rings,
        claimed_points=_polygon(claimed),
        verified_points=_polygon(verified),
    )

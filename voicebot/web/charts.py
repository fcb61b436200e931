"""Small server-side SVG charts (line and grouped bar) with axes, labels and a legend.

Pure functions from numbers to SVG markup: no JavaScript, no external assets. Every data
point is an element carrying ``data-series``, ``data-category`` and ``data-value`` so the
page can be checked (and read by assistive tools, through ``<title>`` tooltips).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#666666")
"""Okabe–Ito colours, distinguishable with the common colour-vision deficiencies."""
FONT = "system-ui, sans-serif"
_ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class Series:
    """A named row of values, one per category."""

    name: str
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class _Frame:
    width: int
    height: int
    left: int
    right: int
    top: int
    bottom: int

    @property
    def plot_width(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_height(self) -> float:
        return self.height - self.top - self.bottom

    def y(self, value: float, top_value: float) -> float:
        return self.top + self.plot_height * (1 - value / top_value)


def nice_ticks(maximum: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``maximum`` (steps of 1, 2, 2.5 or 5 × 10^n)."""
    if not math.isfinite(maximum) or maximum <= 0:
        return [0.0, 1.0]
    raw = maximum / max(count - 1, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < maximum - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def format_number(value: float) -> str:
    """Integers without decimals, others with up to two."""
    if float(value).is_integer():
        return f"{int(value):d}"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def format_percent(value: float) -> str:
    """A 0..1 share as a whole percentage."""
    return f"{value * 100:.0f} %"


def _check(categories: Sequence[str], series: Sequence[Series]) -> None:
    for item in series:
        if len(item.values) != len(categories):
            raise ValueError(
                f"series {item.name!r} has {len(item.values)} values for "
                f"{len(categories)} categories"
            )
        if not all(math.isfinite(v) and v >= 0 for v in item.values):
            raise ValueError(f"series {item.name!r}: values must be finite and non-negative")


def _open(kind: str, title: str, frame: _Frame) -> tuple[list[str], str]:
    chart_id = f"chart-{next(_ids)}"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="img" '
        f'aria-labelledby="{chart_id}-title" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" font-family="{FONT}" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    return parts, chart_id


def _empty(kind: str, title: str, frame: _Frame, text: str) -> Markup:
    parts, _ = _open(f"{kind} chart-empty", title, frame)
    parts.append(
        f'<text x="{frame.width / 2:.1f}" y="{frame.height / 2:.1f}" text-anchor="middle" '
        f'fill="#555555">{escape(text)}</text></svg>'
    )
    return Markup("".join(parts))


def _y_axis(frame: _Frame, ticks: list[float], fmt: Callable[[float], str]) -> str:
    top_value = ticks[-1]
    parts = ['<g class="axis y-axis">']
    for tick in ticks:
        y = frame.y(tick, top_value)
        parts.append(
            f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" '
            f'y2="{y:.1f}" stroke="#dddddd"/>'
            f'<text class="tick-label" x="{frame.left - 6}" y="{y + 4:.1f}" '
            f'text-anchor="end" fill="#333333">{escape(fmt(tick))}</text>'
        )
    parts.append(
        f'<line x1="{frame.left}" x2="{frame.left}" y1="{frame.top}" '
        f'y2="{frame.height - frame.bottom}" stroke="#888888"/></g>'
    )
    return "".join(parts)


def _x_labels(frame: _Frame, categories: Sequence[str], centers: list[float]) -> str:
    # Keep labels legible: at most about one per 60 px, always the first and the last.
    every = max(1, math.ceil(len(categories) / max(1.0, frame.plot_width / 60)))
    rotate = max((len(c) for c in categories), default=0) * 7 > frame.plot_width / max(
        1, len(categories) / every
    )
    baseline = frame.height - frame.bottom + 16
    parts = [
        f'<g class="axis x-axis"><line x1="{frame.left}" x2="{frame.width - frame.right}" '
        f'y1="{frame.height - frame.bottom}" y2="{frame.height - frame.bottom}" stroke="#888888"/>'
    ]
    for index, (category, x) in enumerate(zip(categories, centers, strict=True)):
        if index % every and index != len(categories) - 1:
            continue
        transform = f' transform="rotate(-30 {x:.1f} {baseline})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        parts.append(
            f'<text class="category-label" x="{x:.1f}" y="{baseline}" text-anchor="{anchor}"'
            f'{transform} fill="#333333">{escape(category)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _legend(frame: _Frame, series: Sequence[Series]) -> str:
    parts = ['<g class="legend">']
    x = float(frame.left)
    for index, item in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        parts.append(
            f'<g class="legend-item" data-series="{escape(item.name)}">'
            f'<rect x="{x:.1f}" y="6" width="12" height="12" fill="{color}"/>'
            f'<text x="{x + 16:.1f}" y="16" fill="#222222">{escape(item.name)}</text></g>'
        )
        x += 28 + 7 * len(item.name)
    parts.append("</g>")
    return "".join(parts)


def line_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 640,
    height: int = 300,
    y_format: Callable[[float], str] = format_number,
    y_max: float | None = None,
    empty_text: str = "No data for this period",
) -> Markup:
    """One polyline with point markers per series over evenly spaced categories."""
    _check(categories, series)
    frame = _Frame(width, height, left=52, right=28, top=32, bottom=48)
    if not categories or not series:
        return _empty("line-chart", title, frame, empty_text)
    peak = max((max(s.values) for s in series), default=0.0)
    ticks = nice_ticks(y_max if y_max is not None else peak)
    top_value = ticks[-1]
    step = frame.plot_width / max(len(categories) - 1, 1)
    xs = [
        frame.left + (step * i if len(categories) > 1 else frame.plot_width / 2)
        for i in range(len(categories))
    ]
    parts, _ = _open("line-chart", title, frame)
    parts.append(_y_axis(frame, ticks, y_format))
    parts.append(_x_labels(frame, categories, xs))
    for index, item in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        points = [(x, frame.y(v, top_value)) for x, v in zip(xs, item.values, strict=True)]
        parts.append(f'<g class="series" data-series="{escape(item.name)}">')
        parts.append(
            '<polyline fill="none" stroke-width="2" stroke="'
            + color
            + '" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            + '"/>'
        )
        for category, value, (x, y) in zip(categories, item.values, points, strict=True):
            parts.append(
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}" '
                f'data-series="{escape(item.name)}" data-category="{escape(category)}" '
                f'data-value="{format_number(value)}"><title>{escape(item.name)}, '
                f"{escape(category)}: {escape(y_format(value))}</title></circle>"
            )
        parts.append("</g>")
    parts.append(_legend(frame, series))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    categories: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    width: int = 640,
    height: int = 300,
    y_format: Callable[[float], str] = format_number,
    empty_text: str = "No data for this period",
) -> Markup:
    """Vertical bars, grouped per category, one colour per series, values above the bars."""
    _check(categories, series)
    frame = _Frame(width, height, left=52, right=16, top=44, bottom=64)
    if not categories or not series:
        return _empty("bar-chart", title, frame, empty_text)
    ticks = nice_ticks(max((max(s.values) for s in series), default=0.0))
    top_value = ticks[-1]
    group = frame.plot_width / len(categories)
    bar = group * 0.8 / len(series)
    centers = [frame.left + group * (i + 0.5) for i in range(len(categories))]
    parts, _ = _open("bar-chart", title, frame)
    parts.append(_y_axis(frame, ticks, y_format))
    for index, item in enumerate(series):
        color = PALETTE[index % len(PALETTE)]
        parts.append(f'<g class="series" data-series="{escape(item.name)}">')
        for position, (category, value) in enumerate(zip(categories, item.values, strict=True)):
            x = frame.left + group * position + group * 0.1 + bar * index
            y = frame.y(value, top_value)
            parts.append(
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{frame.height - frame.bottom - y:.1f}" fill="{color}" '
                f'data-series="{escape(item.name)}" data-category="{escape(category)}" '
                f'data-value="{format_number(value)}"><title>{escape(item.name)}, '
                f"{escape(category)}: {escape(y_format(value))}</title></rect>"
            )
            if bar >= 14:
                parts.append(
                    f'<text class="bar-value" x="{x + bar / 2:.1f}" y="{y - 4:.1f}" '
                    f'text-anchor="middle" fill="#222222">{escape(y_format(value))}</text>'
                )
        parts.append("</g>")
    parts.append(_x_labels(frame, categories, centers))
    parts.append(_legend(frame, series))
    parts.append("</svg>")
    return Markup("".join(parts))

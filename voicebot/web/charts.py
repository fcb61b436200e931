"""Small server-side SVG charts (line, grouped bar, horizontal bar) with axes and a legend.

Pure functions from numbers to SVG markup: no JavaScript, no external assets. Every data
point is an element carrying ``data-series``, ``data-category`` and ``data-value`` so the
page can be checked, with a ``<title>`` tooltip. With ``links``, each category's marks are
links (keyboard-focusable, named with ``aria-label``) and the chart is a ``group``;
without, it is one ``img``. Pages show every chart's numbers in a table as well.

Colours (WCAG 2.1 SC 1.4.11, non-text contrast): at most two series per chart, each colour
at least 3:1 against the white card and against the other (:func:`contrast_ratio`).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

PALETTE = ("#2F80ED", "#0B2545")
"""Blue and navy: 3.9:1 and 15.4:1 on white, 4.0:1 between them."""
BACKGROUND = "#ffffff"
MAX_SERIES = len(PALETTE)
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


def relative_luminance(color: str) -> float:
    """WCAG relative luminance of ``#rrggbb``."""
    channels = [int(color[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    """WCAG contrast ratio of two ``#rrggbb`` colours (1 to 21)."""
    high, low = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (high + 0.05) / (low + 0.05)


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


def _check(
    categories: Sequence[str], series: Sequence[Series], links: Sequence[str | None] | None
) -> None:
    if len(series) > MAX_SERIES:
        raise ValueError(
            f"{len(series)} series: a chart shows at most {MAX_SERIES} (colour contrast)"
        )
    if links is not None and len(links) != len(categories):
        raise ValueError(f"{len(links)} links for {len(categories)} categories")
    for item in series:
        if len(item.values) != len(categories):
            raise ValueError(
                f"series {item.name!r} has {len(item.values)} values for "
                f"{len(categories)} categories"
            )
        if not all(math.isfinite(v) and v >= 0 for v in item.values):
            raise ValueError(f"series {item.name!r}: values must be finite and non-negative")


def _open(kind: str, title: str, frame: _Frame, *, linked: bool = False) -> tuple[list[str], str]:
    chart_id = f"chart-{next(_ids)}"
    role = "group" if linked else "img"
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {kind}" role="{role}" '
        f'aria-labelledby="{chart_id}-title" viewBox="0 0 {frame.width} {frame.height}" '
        f'width="{frame.width}" height="{frame.height}" font-family="{FONT}" font-size="12">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
    ]
    return parts, chart_id


def _link(href: str | None, label: str, mark: str) -> str:
    """``mark`` inside a link to ``href`` named ``label`` (or alone without ``href``)."""
    if href is None:
        return mark
    return f'<a href="{escape(href)}" aria-label="{escape(label)}">{mark}</a>'


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
        # A rotated label runs left of its mark: cut it so the first one stays inside (the
        # full name is in the mark's tooltip and in the page's table).
        room = max(4, int((x - 4) / 6.2)) if rotate else len(category)
        shown = category if len(category) <= room else category[: room - 1] + "…"
        parts.append(
            f'<text class="category-label" x="{x:.1f}" y="{baseline}" text-anchor="{anchor}"'
            f'{transform} fill="#333333">{escape(shown)}</text>'
        )
    parts.append("</g>")
    return "".join(parts)


def _legend(frame: _Frame, series: Sequence[Series]) -> str:
    parts = ['<g class="legend">']
    x = float(frame.left)
    for index, item in enumerate(series):
        color = PALETTE[index]
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
    links: Sequence[str | None] | None = None,
) -> Markup:
    """One polyline with point markers per series over evenly spaced categories."""
    _check(categories, series, links)
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
    parts, _ = _open("line-chart", title, frame, linked=links is not None)
    parts.append(_y_axis(frame, ticks, y_format))
    parts.append(_x_labels(frame, categories, xs))
    hrefs = links or [None] * len(categories)
    for index, item in enumerate(series):
        color = PALETTE[index]
        points = [(x, frame.y(v, top_value)) for x, v in zip(xs, item.values, strict=True)]
        parts.append(f'<g class="series" data-series="{escape(item.name)}">')
        parts.append(
            '<polyline fill="none" stroke-width="2" stroke="'
            + color
            + '" points="'
            + " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            + '"/>'
        )
        for category, value, (x, y), href in zip(
            categories, item.values, points, hrefs, strict=True
        ):
            label = f"{item.name}, {category}: {y_format(value)}"
            mark = (
                f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{color}" '
                f'data-series="{escape(item.name)}" data-category="{escape(category)}" '
                f'data-value="{format_number(value)}"><title>{escape(label)}</title></circle>'
            )
            parts.append(_link(href, label, mark))
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
    links: Sequence[str | None] | None = None,
) -> Markup:
    """Vertical bars, grouped per category, one colour per series, values above the bars."""
    _check(categories, series, links)
    frame = _Frame(width, height, left=52, right=16, top=44, bottom=64)
    if not categories or not series:
        return _empty("bar-chart", title, frame, empty_text)
    ticks = nice_ticks(max((max(s.values) for s in series), default=0.0))
    top_value = ticks[-1]
    group = frame.plot_width / len(categories)
    bar = group * 0.8 / len(series)
    centers = [frame.left + group * (i + 0.5) for i in range(len(categories))]
    parts, _ = _open("bar-chart", title, frame, linked=links is not None)
    parts.append(_y_axis(frame, ticks, y_format))
    hrefs = links or [None] * len(categories)
    for index, item in enumerate(series):
        color = PALETTE[index]
        parts.append(f'<g class="series" data-series="{escape(item.name)}">')
        for position, (category, value, href) in enumerate(
            zip(categories, item.values, hrefs, strict=True)
        ):
            x = frame.left + group * position + group * 0.1 + bar * index
            y = frame.y(value, top_value)
            label = f"{item.name}, {category}: {y_format(value)}"
            mark = (
                f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" '
                f'height="{frame.height - frame.bottom - y:.1f}" fill="{color}" '
                f'data-series="{escape(item.name)}" data-category="{escape(category)}" '
                f'data-value="{format_number(value)}"><title>{escape(label)}</title></rect>'
            )
            parts.append(_link(href, label, mark))
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


def hbar_chart(
    categories: Sequence[str],
    series: Series,
    *,
    title: str,
    width: int = 640,
    x_format: Callable[[float], str] = format_number,
    empty_text: str = "No data for this period",
    links: Sequence[str | None] | None = None,
) -> Markup:
    """Horizontal bars, one per category, labels above each bar: for long labels (the
    questions of FAQ entries) that would not fit under vertical bars."""
    _check(categories, [series], links)
    row = 34
    frame = _Frame(width, max(80, 20 + row * len(categories)), left=8, right=60, top=10, bottom=10)
    if not categories:
        return _empty("hbar-chart", title, frame, empty_text)
    peak = max(series.values, default=0.0) or 1.0
    parts, _ = _open("hbar-chart", title, frame, linked=links is not None)
    hrefs = links or [None] * len(categories)
    parts.append(f'<g class="series" data-series="{escape(series.name)}">')
    for position, (category, value, href) in enumerate(
        zip(categories, series.values, hrefs, strict=True)
    ):
        top = frame.top + row * position
        length = max(1.0, frame.plot_width * value / peak)
        label = f"{category}: {x_format(value)}"
        shown = category if len(category) <= 80 else category[:79] + "…"
        mark = (
            f'<rect class="bar" x="{frame.left}" y="{top + 16:.1f}" width="{length:.1f}" '
            f'height="12" fill="{PALETTE[0]}" data-series="{escape(series.name)}" '
            f'data-category="{escape(category)}" data-value="{format_number(value)}">'
            f"<title>{escape(label)}</title></rect>"
        )
        parts.append(
            f'<text class="category-label" x="{frame.left}" y="{top + 11:.1f}" '
            f'fill="#222222">{escape(shown)}</text>'
        )
        parts.append(_link(href, label, mark))
        parts.append(
            f'<text class="bar-value" x="{frame.left + length + 6:.1f}" y="{top + 26:.1f}" '
            f'fill="#222222">{escape(x_format(value))}</text>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))

"""Pure renderers of inline SVG charts (no script): a title, axes with labels, a ``<title>`` tooltip on
every point and bar, and the same numbers as a table under the chart for those who cannot see it."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 32, 44
#: Seconds per unit, largest first: a chart's axis counts in the largest unit its top value fills twice.
UNITS = (("d", 86400), ("h", 3600), ("min", 60), ("s", 1))
COLOURS = ("#0052cc", "#ff8b00", "#36b37e", "#6554c0")


def duration(seconds: float) -> str:
    """A duration as people say it: "45 s", "5 min", "2 h 5 min", "3 d 4 h"."""
    s = max(0, round(seconds))
    if s < 60:
        return f"{s} s"
    minutes = round(s / 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 24 * 60:
        return f"{minutes // 60} h" + (f" {minutes % 60} min" if minutes % 60 else "")
    hours = round(s / 3600)
    return f"{hours // 24} d" + (f" {hours % 24} h" if hours % 24 else "")


def _unit(top: float) -> tuple[str, int]:
    return next(((name, size) for name, size in UNITS if top >= 2 * size), UNITS[-1])


def _nice(top: float) -> float:
    """The smallest of 1, 2, 5 times a power of ten at or above ``top`` (1 for nothing)."""
    if top <= 0:
        return 1
    power = 10 ** math.floor(math.log10(top))
    return next(step * power for step in (1, 2, 5, 10) if step * power >= top)


def _frame(title: str, ident: str, inner: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-labelledby="{ident}-title" font-family="system-ui, sans-serif" '
            f'font-size="12"><title id="{ident}-title">{escape(title)}</title>'
            f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="14" font-weight="600">'
            f'{escape(title)}</text>{inner}</svg>')


def _y_axis(top: float, label: str, fmt) -> str:
    """Four gridlines from 0 to ``top`` with their values, and the axis' name."""
    bottom, height = HEIGHT - BOTTOM, HEIGHT - BOTTOM - TOP
    parts = []
    for i in range(5):
        y = bottom - height * i / 4
        parts.append(f'<line x1="{LEFT}" y1="{y:.1f}" x2="{WIDTH - RIGHT}" y2="{y:.1f}" stroke="#dfe1e6"/>'
                     f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{fmt(top * i / 4)}</text>')
    parts.append(f'<text x="14" y="{TOP + height / 2:.1f}" text-anchor="middle" '
                 f'transform="rotate(-90 14 {TOP + height / 2:.1f})">{escape(label)}</text>')
    parts.append(f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{bottom}" stroke="#6b778c"/>'
                 f'<line x1="{LEFT}" y1="{bottom}" x2="{WIDTH - RIGHT}" y2="{bottom}" stroke="#6b778c"/>')
    return "".join(parts)


def _x_labels(labels: Sequence[str], xs: Sequence[float]) -> str:
    every = max(1, math.ceil(len(labels) / 10))  # at most ten labels fit under the axis
    return "".join(f'<text x="{x:.1f}" y="{HEIGHT - BOTTOM + 16}" text-anchor="middle">{escape(label)}</text>'
                   for i, (label, x) in enumerate(zip(labels, xs, strict=True)) if i % every == 0)


def _table(head: Sequence[str], rows: Sequence[Sequence[str]], caption: str) -> str:
    th = "".join(f'<th scope="col">{escape(h)}</th>' for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="list"><caption>{escape(caption)}</caption><tr>{th}</tr>{body}</table>'


def _line(points: list[tuple[float, float, str]], colour: str) -> str:
    """A series' dots (each with its tooltip) joined where neighbouring periods both have a value."""
    dots = "".join(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}"><title>{escape(tip)}</title></circle>'
                   for x, y, tip in points)
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
    return f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>{dots}'


def render_line_chart_svg(title: str, ident: str, labels: Sequence[str],
                          series: dict[str, Sequence[float | None]], tips: dict[str, Sequence[str]]) -> str:
    """Durations (seconds) over periods, one line per series, a legend; a period without a value has no dot."""
    top = max((v for values in series.values() for v in values if v is not None), default=0)
    unit, size = _unit(top)
    scale = 4 * _nice(top / size / 4) * size
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    xs = [LEFT + step * (i + 0.5) for i in range(len(labels))]
    lines, legend = [], []
    for k, (name, values) in enumerate(series.items()):
        colour = COLOURS[k % len(COLOURS)]
        runs: list[list[tuple[float, float, str]]] = [[]]
        for x, value, tip in zip(xs, values, tips[name], strict=True):
            if value is None:
                runs.append([])
                continue
            runs[-1].append((x, HEIGHT - BOTTOM - (HEIGHT - BOTTOM - TOP) * value / scale, tip))
        lines += [_line(run, colour) for run in runs if run]
        legend.append(f'<rect x="{LEFT + 8 + 110 * k}" y="{TOP - 2}" width="10" height="10" fill="{colour}"/>'
                      f'<text x="{LEFT + 22 + 110 * k}" y="{TOP + 7}">{escape(name)}</text>')
    axis = _y_axis(scale, f"time ({unit})", lambda v: f"{v / size:g}")
    return _frame(title, ident, axis + _x_labels(labels, xs) + "".join(lines) + "".join(legend))


def render_bar_chart_svg(title: str, ident: str, labels: Sequence[str], values: Sequence[int],
                         colours: Sequence[str] = COLOURS) -> str:
    """Counts as bars, the number over each bar and in its tooltip."""
    scale = 4 * max(1, _nice(max(values, default=0) / 4))
    step = (WIDTH - LEFT - RIGHT) / max(1, len(labels))
    xs = [LEFT + step * (i + 0.5) for i in range(len(labels))]
    bars = []
    for i, (x, label, value) in enumerate(zip(xs, labels, values, strict=True)):
        height = (HEIGHT - BOTTOM - TOP) * value / scale
        y = HEIGHT - BOTTOM - height
        bars.append(f'<rect x="{x - step * 0.3:.1f}" y="{y:.1f}" width="{step * 0.6:.1f}" height="{height:.1f}" '
                    f'fill="{colours[i % len(colours)]}"><title>{escape(label)}: {value}</title></rect>'
                    f'<text x="{x:.1f}" y="{y - 4:.1f}" text-anchor="middle">{value}</text>')
    axis = _y_axis(scale, "incidents", lambda v: f"{v:g}")
    return _frame(title, ident, axis + _x_labels(labels, xs) + "".join(bars))


def render_figure_html(svg: str, caption: str, head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A chart and, under it, a table of the same numbers (captioned as the chart is titled)."""
    return f'<figure class="chart">{svg}{_table(head, rows, caption)}</figure>'

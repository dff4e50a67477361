"""Charts as inline SVG: no library, no script, no network; every label escaped.

Values are rates or similarities in [0, 1] (heatmaps) or non-negative numbers (bars).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from beacon_pipelines.report.safe_text import escape

Rgb = tuple[int, int, int]
WHITE: Rgb = (255, 255, 255)
RED: Rgb = (207, 34, 46)
BLUE: Rgb = (9, 105, 218)
FONT = "font-family='system-ui,sans-serif'"



def _svg_open(css_class: str, width: float, height: float, title: str) -> list[str]:
    """The opening of a chart: the svg element, its accessible title and its visible title."""
    return [
        f"<svg class='{css_class}' role='img' xmlns='http://www.w3.org/2000/svg' "
        f"width='{width:.0f}' height='{height:.0f}' viewBox='0 0 {width:.0f} {height:.0f}' "
        f"{FONT}>",
        f"<title>{escape(title)}</title>",
        f"<text x='0' y='14' font-size='13' font-weight='600'>{escape(title)}</text>",
    ]

def _mix(low: Rgb, high: Rgb, t: float) -> str:
    t = min(1.0, max(0.0, t))
    r, g, b = (round(lo + (hi - lo) * t) for lo, hi in zip(low, high, strict=True))
    return f"#{r:02x}{g:02x}{b:02x}"


def _text_width(text: str, size: float = 12) -> float:
    return 0.6 * size * len(text)  # a fair bound for system-ui; labels are ids, not prose


@dataclass(frozen=True)
class Cell:
    value: float | None  # None: no data (drawn grey, labelled "n/a")
    label: str = ""  # main text in the cell; default: the value as a percentage
    detail: str = ""  # second line, smaller
    tooltip: str = ""


def heatmap_svg(
    title: str,
    rows: Sequence[str],
    cols: Sequence[str],
    cells: Mapping[tuple[str, str], Cell],
    high: Rgb = RED,
    cell_w: int = 96,
    cell_h: int = 46,
    css_class: str = "chart heatmap",
) -> str:
    left = max([_text_width(r) for r in rows] + [40]) + 14
    top = 42
    width = left + cell_w * len(cols) + 8
    height = top + cell_h * len(rows) + 8
    out = _svg_open(css_class, width, height, title)
    for j, col in enumerate(cols):
        x = left + cell_w * j + cell_w / 2
        out.append(
            f"<text x='{x:.0f}' y='{top - 6}' font-size='12' text-anchor='middle'>"
            f"{escape(col)}</text>"
        )
    for i, row in enumerate(rows):
        y = top + cell_h * i
        out.append(
            f"<text x='{left - 8:.0f}' y='{y + cell_h / 2 + 4:.0f}' font-size='12' "
            f"text-anchor='end'>{escape(row)}</text>"
        )
        for j, col in enumerate(cols):
            cell = cells.get((row, col), Cell(None))
            x = left + cell_w * j
            fill = "#eaeef2" if cell.value is None else _mix(WHITE, high, cell.value)
            ink = "#ffffff" if cell.value is not None and cell.value > 0.55 else "#1b1f24"
            label = cell.label or ("n/a" if cell.value is None else f"{cell.value:.0%}")
            tip = cell.tooltip or f"{row} / {col}: {label}"
            out.append(
                f"<g><title>{escape(tip)}</title>"
                f"<rect x='{x:.0f}' y='{y}' width='{cell_w - 2}' height='{cell_h - 2}' "
                f"rx='3' fill='{fill}' stroke='#d0d7de'/>"
            )
            text_y = y + (cell_h / 2 - 2 if cell.detail else cell_h / 2 + 4)
            out.append(
                f"<text x='{x + cell_w / 2 - 1:.0f}' y='{text_y:.0f}' font-size='13' "
                f"font-weight='600' text-anchor='middle' fill='{ink}'>{escape(label)}</text>"
            )
            if cell.detail:
                out.append(
                    f"<text x='{x + cell_w / 2 - 1:.0f}' y='{y + cell_h / 2 + 13:.0f}' "
                    f"font-size='10' text-anchor='middle' fill='{ink}'>{escape(cell.detail)}"
                    "</text>"
                )
            out.append("</g>")
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class Series:
    name: str
    values: Mapping[str, float]  # category -> value
    color: str


def bar_chart_svg(
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    unit: str = "",
    stacked: bool = False,
    bar_h: int = 14,
    plot_w: int = 300,
) -> str:
    """Horizontal bars per category: one bar per series side by side, or stacked."""
    left = max([_text_width(c) for c in categories] + [40]) + 14
    per_cat = bar_h * (1 if stacked else len(series)) + 12
    top = 24 + 18  # title, legend
    totals = {
        c: (
            sum(s.values.get(c, 0.0) for s in series)
            if stacked
            else max([s.values.get(c, 0.0) for s in series] + [0.0])
        )
        for c in categories
    }
    scale_max = max(list(totals.values()) + [0.0]) or 1.0
    legend_w = sum(24 + _text_width(s.name, 11) for s in series)
    width = max(left + plot_w + 90, left + legend_w + 10)
    height = top + per_cat * len(categories) + 6
    out = _svg_open("chart bars", width, height, title)
    x = left
    for s in series:
        out.append(
            f"<rect x='{x:.0f}' y='26' width='10' height='10' fill='{s.color}'/>"
            f"<text x='{x + 14:.0f}' y='35' font-size='11'>{escape(s.name)}</text>"
        )
        x += 24 + _text_width(s.name, 11)
    for i, category in enumerate(categories):
        y = top + per_cat * i
        out.append(
            f"<text x='{left - 8:.0f}' y='{y + per_cat / 2:.0f}' font-size='12' "
            f"text-anchor='end'>{escape(category)}</text>"
        )
        offset = 0.0
        for k, s in enumerate(series):
            value = s.values.get(category, 0.0)
            w = plot_w * value / scale_max
            bx = left + (offset if stacked else 0)
            by = y + (0 if stacked else bar_h * k)
            label = f"{s.name}: {_number(value)}{unit}"
            out.append(
                f"<g><title>{escape(category)} · {escape(label)}</title>"
                f"<rect x='{bx:.1f}' y='{by}' width='{max(w, 0.0):.1f}' height='{bar_h - 2}' "
                f"fill='{s.color}'/></g>"
            )
            if not stacked:
                out.append(
                    f"<text x='{bx + w + 4:.1f}' y='{by + bar_h - 4}' font-size='10'>"
                    f"{escape(_number(value) + unit)}</text>"
                )
            offset += w
        if stacked:
            out.append(
                f"<text x='{left + offset + 4:.1f}' y='{y + bar_h - 4}' font-size='10'>"
                f"{escape(_number(totals[category]) + unit)}</text>"
            )
    out.append("</svg>")
    return "".join(out)


def _number(value: float) -> str:
    if float(value).is_integer() or abs(value) >= 10:
        return f"{value:,.0f}"
    return f"{value:,.2f}"


PALETTE = ("#0969da", "#cf222e", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#57606a")


def line_chart_svg(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    plot_w: int = 420,
    plot_h: int = 180,
) -> str:
    """Rates in [0, 1] over ordered points (e.g. audits oldest first): one line per series,
    a dot per point with its value as a tooltip; a point a series lacks is skipped."""
    left, top = 44, 42 + 16 * len(series)
    width = left + plot_w + 24
    height = top + plot_h + 64
    step = plot_w / max(len(x_labels) - 1, 1)
    out = _svg_open("chart lines", width, height, title)
    for i, s in enumerate(series):
        y = 30 + 16 * i
        out.append(
            f"<rect x='{left}' y='{y - 9}' width='10' height='10' fill='{s.color}'/>"
            f"<text x='{left + 14}' y='{y}' font-size='11'>{escape(s.name)}</text>"
        )
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = top + plot_h * (1 - tick)
        out.append(
            f"<line x1='{left}' y1='{y:.0f}' x2='{left + plot_w}' y2='{y:.0f}' "
            "stroke='#d0d7de'/>"
            f"<text x='{left - 6}' y='{y + 4:.0f}' font-size='10' text-anchor='end'>"
            f"{tick:.0%}</text>"
        )
    for j, label in enumerate(x_labels):
        x = left + step * j
        out.append(
            f"<text x='{x:.0f}' y='{top + plot_h + 14}' font-size='10' text-anchor='end' "
            f"transform='rotate(-30 {x:.0f} {top + plot_h + 14})'>{escape(label)}</text>"
        )
    for s in series:
        points = [
            (left + step * j, top + plot_h * (1 - min(1.0, max(0.0, s.values[label]))), label)
            for j, label in enumerate(x_labels)
            if label in s.values
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
            out.append(
                f"<polyline points='{path}' fill='none' stroke='{s.color}' stroke-width='2'/>"
            )
        for x, y, label in points:
            tip = f"{s.name} · {label}: {s.values[label]:.0%}"
            out.append(
                f"<g><title>{escape(tip)}</title><circle cx='{x:.1f}' cy='{y:.1f}' r='3.5' "
                f"fill='{s.color}'/></g>"
            )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class IntervalPoint:
    group: str  # e.g. the model
    label: str  # e.g. the region, in the catalog's order
    value: float  # a rate in [0, 1]
    low: float
    high: float
    detail: str = ""  # e.g. "3/5", printed right of the plot
    marked: bool = False  # e.g. the model's home region: drawn bold with a ⌂


def interval_chart_svg(title: str, points: Sequence[IntervalPoint], plot_w: int = 360) -> str:
    """One row per point, grouped: a dot at the rate and a whisker over its 95 % interval,
    on a shared 0-100 % axis, so groups and rows compare at a glance."""
    groups = list(dict.fromkeys(p.group for p in points))
    label_w = max([_text_width(p.label + " ⌂") for p in points] + [40]) + 10
    group_w = max([_text_width(g, 12) for g in groups] + [40]) + 12
    left, top, row_h, gap = group_w + label_w, 44, 18, 10
    height = top + row_h * len(points) + gap * len(groups) + 26
    width = left + plot_w + 120
    out = _svg_open("chart intervals", width, height, title)
    for tick in (0.0, 0.25, 0.5, 0.75, 1.0):
        x = left + plot_w * tick
        out.append(
            f"<line x1='{x:.0f}' y1='{top - 6}' x2='{x:.0f}' y2='{height - 22}' "
            "stroke='#d0d7de'/>"
            f"<text x='{x:.0f}' y='{height - 8}' font-size='10' text-anchor='middle'>"
            f"{tick:.0%}</text>"
        )
    y = top
    for group in groups:
        rows = [p for p in points if p.group == group]
        out.append(
            f"<text x='0' y='{y + row_h * len(rows) / 2 + 4:.0f}' font-size='12' "
            f"font-weight='600'>{escape(group)}</text>"
        )
        for p in rows:
            cy = y + row_h / 2
            x0, x1 = (left + plot_w * min(1.0, max(0.0, v)) for v in (p.low, p.high))
            cx = left + plot_w * min(1.0, max(0.0, p.value))
            name = p.label + (" ⌂" if p.marked else "")
            weight = " font-weight='700'" if p.marked else ""
            tip = (f"{p.group} in {p.label}: {p.value:.0%} ({p.detail}), 95% interval "
                   f"{p.low:.0%}–{p.high:.0%}")
            out.append(
                f"<g><title>{escape(tip)}</title>"
                f"<text x='{left - 8}' y='{cy + 4:.0f}' font-size='11' text-anchor='end'{weight}>"
                f"{escape(name)}</text>"
                f"<line x1='{x0:.1f}' y1='{cy:.0f}' x2='{x1:.1f}' y2='{cy:.0f}' "
                f"stroke='{_hex(RED)}' stroke-width='2'/>"
                f"<rect x='{cx - 4:.1f}' y='{cy - 4:.0f}' width='8' height='8' fill='{_hex(RED)}'/>"
                f"<text x='{left + plot_w + 8}' y='{cy + 4:.0f}' font-size='10'>"
                f"{escape(f'{p.value:.0%} · {p.detail}')}</text></g>"
            )
            y += row_h
        y += gap
    out.append("</svg>")
    return "".join(out)


def _hex(rgb: Rgb) -> str:
    return "#{:02x}{:02x}{:02x}".format(*rgb)

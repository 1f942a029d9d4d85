"""Server-side SVG charts of a snapshot's figures: no JavaScript, no CDN, nothing to download.

Every chart is an ``<svg role="img">`` with a ``<title>`` and a ``<desc>``; the page puts a
text table with the same numbers beside it, so a chart is never the only way to read a figure.
Charts only draw what the snapshot holds: a withheld count or rate is drawn as a hatched,
labelled placeholder ("< 10", "withheld"), never as a bar of some guessed length.

Flags never rely on colour alone: a disparity or representation outside 0.8–1.25 also carries a
text mark (▼ / ▲) and its value.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from django.utils import formats
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from reports.figures import DISPARITY_HIGH, DISPARITY_LOW

# Okabe–Ito based: distinguishable with the common colour-vision deficiencies.
PALETTE = ["#2f5d8a", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#6b5b95", "#4a5468"]
INK = "#1d2433"
INK_SOFT = "#4a5468"
TRACK = "#e7eef6"
LINE = "#d8dce5"
BAR = "#2f5d8a"
FLAG = "#a4262c"

_ids = itertools.count(1)


@dataclass(frozen=True)
class Value:
    """One drawable number: ``value`` None means withheld; ``label`` is what readers see."""

    value: float | None
    label: str


def _decimal(value: float) -> str:
    """A number as Python writes it, with the active language's decimal separator."""
    return str(value).replace(".", formats.get_format("DECIMAL_SEPARATOR"))


def _id(prefix: str) -> str:
    return f"{prefix}-{next(_ids)}"


def _svg(*, width: int, height: int, title: str, desc: str, body: list[str], css_class: str) -> SafeString:
    uid = _id("chart")
    hatch = (
        f'<defs><pattern id="{uid}-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        f'patternTransform="rotate(45)"><rect width="6" height="6" fill="#f4f5f8"/>'
        f'<line x1="0" y1="0" x2="0" y2="6" stroke="#c3c8d4" stroke-width="2"/></pattern></defs>'
    )
    content = "".join(body).replace("url(#hatch)", f"url(#{uid}-hatch)")
    return mark_safe(  # noqa: S308 - every text below goes through escape()  # nosec B308, B703
        f'<svg class="chart {css_class}" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'role="img" aria-labelledby="{uid}-title {uid}-desc" preserveAspectRatio="xMinYMin meet" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="{uid}-title">{escape(title)}</title><desc id="{uid}-desc">{escape(desc)}</desc>'
        f"{hatch}{content}</svg>"
    )


def _text(
    x: float,
    y: float,
    text: str,
    *,
    anchor: str = "start",
    weight: str = "normal",
    fill: str = INK,
    size: int = 12,
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" font-weight="{weight}" '
        f'fill="{fill}">{escape(text)}</text>'
    )


def _clip(label: str, length: int = 28) -> str:
    return label if len(label) <= length else label[: length - 1] + "…"


def funnel_chart(*, title: str, stages: list[str], rows: list[tuple[str, list[Value]]]) -> SafeString:
    """Small multiples: a row per group, a column per stage; each bar is the stage's count as a
    share of the group's entry count, so groups of different sizes compare at a glance."""
    label_w, col_w, row_h, head_h = 190, 118, 34, 34
    width = label_w + col_w * len(stages) + 8
    height = head_h + row_h * len(rows) + 6
    body: list[str] = []
    for i, stage in enumerate(stages):
        x = label_w + i * col_w
        body.append(_text(x + 2, 14, _clip(stage, 17), weight="600", fill=INK_SOFT, size=11))
        if i:
            body.append(_text(x + 2, 27, "→", fill=INK_SOFT, size=10))
    for r, (label, cells) in enumerate(rows):
        y = head_h + r * row_h
        if r % 2 == 0:
            body.append(f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="#f8f9fb"/>')
        body.append(_text(6, y + 21, _clip(label), fill=INK))
        entry = cells[0].value if cells else None
        for i, cell in enumerate(cells):
            x = label_w + i * col_w
            bar_w = col_w - 14
            body.append(f'<rect x="{x}" y="{y + 8}" width="{bar_w}" height="18" rx="3" fill="{TRACK}"/>')
            if cell.value is None:
                body.append(
                    f'<rect x="{x}" y="{y + 8}" width="{bar_w}" height="18" rx="3" fill="url(#hatch)"/>'
                )
                body.append(_text(x + bar_w / 2, y + 21, cell.label, anchor="middle", fill=INK_SOFT, size=11))
                continue
            if entry:
                filled = max(0.0, min(1.0, cell.value / entry)) * bar_w
                body.append(
                    f'<rect x="{x}" y="{y + 8}" width="{filled:.1f}" height="18" rx="3" fill="{BAR}"/>'
                )
                inside = filled > 34
                body.append(
                    _text(
                        x + (filled - 4 if inside else filled + 4),
                        y + 21,
                        cell.label,
                        anchor="end" if inside else "start",
                        fill="#ffffff" if inside else INK,
                        weight="600",
                        size=11,
                    )
                )
            else:
                body.append(_text(x + 4, y + 21, cell.label, weight="600", size=11))
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{stage} {cell.label}" for stage, cell in zip(stages, cells, strict=False))
        for label, cells in rows
    )
    return _svg(width=width, height=height, title=title, desc=desc, body=body, css_class="chart--funnel")


def ratio_grid_chart(*, title: str, columns: list[str], rows: list[tuple[str, list[Value]]]) -> SafeString:
    """Ratios around 1 (representation, disparity): a diverging bar from 1 per cell on a 0–2
    scale, the 0.8–1.25 band shaded; values outside it get a ▼/▲ mark as well as a colour."""
    label_w, col_w, row_h, head_h = 190, 150, 30, 34
    width = label_w + col_w * len(columns) + 8
    height = head_h + row_h * len(rows) + 8
    body: list[str] = []
    span = col_w - 58  # the axis 0..2 inside a cell; the rest holds the value's text

    def sx(x0: float, ratio: float) -> float:
        return x0 + min(max(ratio, 0.0), 2.0) / 2.0 * span

    for i, column in enumerate(columns):
        x = label_w + i * col_w
        body.append(_text(x, 14, _clip(column, 19), weight="600", fill=INK_SOFT, size=11))
        body.append(_text(sx(x, 1.0), 28, _decimal(1.0), anchor="middle", fill=INK_SOFT, size=9))
    for r, (label, cells) in enumerate(rows):
        y = head_h + r * row_h
        if r % 2 == 0:
            body.append(f'<rect x="0" y="{y}" width="{width}" height="{row_h}" fill="#f8f9fb"/>')
        body.append(_text(6, y + 19, _clip(label), fill=INK))
        for i, cell in enumerate(cells):
            x = label_w + i * col_w
            lo, hi = sx(x, DISPARITY_LOW), sx(x, DISPARITY_HIGH)
            body.append(f'<rect x="{lo:.1f}" y="{y + 6}" width="{hi - lo:.1f}" height="18" fill="{TRACK}"/>')
            one = sx(x, 1.0)
            body.append(
                f'<line x1="{one:.1f}" y1="{y + 4}" x2="{one:.1f}" y2="{y + 26}" stroke="{INK_SOFT}"/>'
            )
            if cell.value is None:
                body.append(_text(x + span + 4, y + 19, cell.label, fill=INK_SOFT, size=11))
                continue
            flagged = cell.value < DISPARITY_LOW or cell.value > DISPARITY_HIGH
            a, b = sorted((sx(x, 1.0), sx(x, cell.value)))
            colour = FLAG if flagged else BAR
            body.append(
                f'<rect x="{a:.1f}" y="{y + 10}" width="{max(b - a, 1.5):.1f}" height="10" fill="{colour}"/>'
            )
            mark = ("▼ " if cell.value < DISPARITY_LOW else "▲ ") if flagged else ""
            body.append(
                _text(
                    x + span + 4,
                    y + 19,
                    f"{mark}{cell.label}",
                    fill=colour,
                    weight="700" if flagged else "normal",
                    size=11,
                )
            )
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{col} {cell.label}" for col, cell in zip(columns, cells, strict=False))
        for label, cells in rows
    )
    desc += ". " + _("Shaded band: %(low)s to %(high)s; values outside it are flagged.") % {
        "low": _decimal(DISPARITY_LOW),
        "high": _decimal(DISPARITY_HIGH),
    }
    return _svg(width=width, height=height, title=title, desc=desc, body=body, css_class="chart--ratio")


def bar_chart(
    *, title: str, series: list[str], rows: list[tuple[str, list[Value]]], maximum: float = 1.0
) -> SafeString:
    """Grouped horizontal bars of shares (0–1 unless ``maximum`` says otherwise)."""
    label_w, bar_w, bar_h, gap = 190, 300, 14, 10
    legend_h = 26 if len(series) > 1 else 6
    row_h = len(series) * (bar_h + 3) + gap
    width = label_w + bar_w + 90
    height = legend_h + row_h * len(rows) + 4
    body: list[str] = []
    if len(series) > 1:
        x = label_w
        for s, name in enumerate(series):
            body.append(f'<rect x="{x}" y="6" width="12" height="12" fill="{PALETTE[s]}"/>')
            body.append(_text(x + 16, 16, name, size=11))
            x += 24 + 7 * len(name)
    for r, (label, values) in enumerate(rows):
        y = legend_h + r * row_h
        body.append(_text(6, y + bar_h, _clip(label), fill=INK))
        for s, cell in enumerate(values):
            by = y + s * (bar_h + 3)
            body.append(f'<rect x="{label_w}" y="{by}" width="{bar_w}" height="{bar_h}" fill="{TRACK}"/>')
            if cell.value is None:
                body.append(
                    f'<rect x="{label_w}" y="{by}" width="{bar_w}" height="{bar_h}" fill="url(#hatch)"/>'
                )
                body.append(_text(label_w + bar_w + 6, by + bar_h - 3, cell.label, fill=INK_SOFT, size=11))
                continue
            filled = max(0.0, min(1.0, cell.value / maximum)) * bar_w if maximum else 0
            body.append(
                f'<rect x="{label_w}" y="{by}" width="{filled:.1f}" height="{bar_h}" fill="{PALETTE[s]}"/>'
            )
            body.append(_text(label_w + bar_w + 6, by + bar_h - 3, cell.label, weight="600", size=11))
    desc = "; ".join(
        f"{label}: " + ", ".join(f"{name} {cell.label}" for name, cell in zip(series, values, strict=False))
        for label, values in rows
    )
    return _svg(width=width, height=height, title=title, desc=desc, body=body, css_class="chart--bars")


def line_chart(
    *, title: str, x_labels: list[str], series: list[tuple[str, list[float | None]]]
) -> SafeString:
    """Shares (0–1) over successive snapshots, a line per group; gaps where a value is withheld.
    Each line is labelled at its last point, so colour is not the only key."""
    left, top, plot_w, plot_h, right = 40, 12, 420, 150, 200
    width, height = left + plot_w + right, top + plot_h + 30
    n = max(len(x_labels), 1)

    def px(i: int) -> float:
        return left + (plot_w * i / (n - 1) if n > 1 else plot_w / 2)

    def py(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(1.0, v)))

    body: list[str] = []
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        y = py(tick)
        body.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="{LINE}"/>')
        body.append(_text(left - 6, y + 4, f"{round(tick * 100)} %", anchor="end", fill=INK_SOFT, size=10))
    for i, label in enumerate(x_labels):
        if n <= 6 or i in (0, n - 1) or i % 2 == 0:
            body.append(_text(px(i), top + plot_h + 18, label, anchor="middle", fill=INK_SOFT, size=10))
    end_labels: list[tuple[float, str, str]] = []
    for s, (name, values) in enumerate(series):
        colour = PALETTE[s % len(PALETTE)]
        segment: list[str] = []
        segments: list[list[str]] = []
        for i, v in enumerate(values):
            if v is None:
                if segment:
                    segments.append(segment)
                segment = []
                continue
            segment.append(f"{px(i):.1f},{py(v):.1f}")
            body.append(f'<circle cx="{px(i):.1f}" cy="{py(v):.1f}" r="3" fill="{colour}"/>')
        if segment:
            segments.append(segment)
        for points in segments:
            if len(points) > 1:
                body.append(
                    f'<polyline points="{" ".join(points)}" fill="none" stroke="{colour}" stroke-width="2"/>'
                )
        last = next(((i, v) for i, v in reversed(list(enumerate(values))) if v is not None), None)
        if last is not None:
            end_labels.append((py(last[1]), colour, f"{_clip(name, 22)} {round(last[1] * 100)} %"))
    # Spread the end labels so they do not overlap.
    end_labels.sort()
    previous = -100.0
    for y, colour, text in end_labels:
        y = max(y + 4, previous + 13)
        previous = y
        body.append(_text(left + plot_w + 8, y, text, fill=colour, weight="600", size=11))
    withheld = _("withheld")
    desc = "; ".join(
        f"{name}: "
        + ", ".join(
            f"{x} {withheld if v is None else f'{round(v * 100)} %'}"
            for x, v in zip(x_labels, values, strict=False)
        )
        for name, values in series
    )
    return _svg(width=width, height=height, title=title, desc=desc, body=body, css_class="chart--line")

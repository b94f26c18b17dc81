"""The report's charts, drawn here as inline SVG (no chart library, no script): their geometry is
arithmetic on the published figures (scales, ticks, bar lengths). Months run right to left."""

from __future__ import annotations

import html
import math

from vob.views.report_data import ReportData
from vob.views.report_format import MONTH_NAMES, NumberFormat

CHANNEL_COLOURS = ("#1b5e4a", "#b08d57", "#2f7fb5", "#6b4c9a", "#d0674f", "#5aa469")
DIMENSION_COLOURS = ("#1b5e4a", "#2f7fb5", "#b08d57", "#6b4c9a", "#d0674f")


def nice_ticks(top: float, count: int = 5) -> list[float]:
    """Round axis ticks from 0 to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [i * step for i in range(0, math.ceil(top / step) + 1)]


def _esc(text) -> str:
    return html.escape("" if text is None else str(text), quote=True)


def _legend(entries) -> str:
    """A chart's legend: a colour swatch and a name per (colour, name)."""
    items = "".join(
        f'<li><span class="swatch" style="background:{colour}"></span>{_esc(name)}</li>' for colour, name in entries
    )
    return f'<ul class="legend">{items}</ul>'


IN_PROGRESS_LABEL = "قيد الاكتمال"
IN_PROGRESS_OPACITY = 0.45  # a month in progress is drawn faded: its figures are not final


def _month_label(data: ReportData, month, x: float, y: float) -> str:
    """A month's name under its bars or point; a month in progress says so on a second line."""
    name = MONTH_NAMES[month.month - 1]
    if not data.status_of(month).in_progress:
        return f'<text x="{x:.1f}" y="{y}" class="label" text-anchor="middle">{name}</text>'
    return (
        f'<text x="{x:.1f}" y="{y}" class="label in-progress" text-anchor="middle">{name}'
        f'<tspan x="{x:.1f}" dy="18" class="status">({IN_PROGRESS_LABEL})</tspan></text>'
    )


def _faded(data: ReportData, month) -> str:
    return f' fill-opacity="{IN_PROGRESS_OPACITY}"' if data.status_of(month).in_progress else ""


def channel_volume_svg(data: ReportData, fmt: NumberFormat) -> str:
    """Grouped bars: contacts per channel, one group per month (first month on the right, as read in Arabic)."""
    width, height = 1000, 420
    left, right, top, bottom = 90, 20, 20, 60
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for v in data.contacts.values() if v is not None]
    ticks = nice_ticks(max(values, default=0))
    y_max = ticks[-1] or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="حجم التواصل الشهري حسب القناة" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in ticks:
        y = top + plot_h - plot_h * tick / y_max
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" class="axis" text-anchor="end" direction="ltr">{fmt.integer(round(tick))}</text>'
        )
    group_w = plot_w / max(len(data.months), 1)
    bar_w = group_w * 0.8 / max(len(data.channels), 1)
    for m_index, month in enumerate(data.months):
        group_right = width - right - m_index * group_w  # RTL: first month at the right
        for c_index, (channel, name) in enumerate(data.channels):
            value = data.contacts.get((month, channel))
            if value is None:
                continue
            bar_h = plot_h * value / y_max
            x = group_right - group_w * 0.1 - (c_index + 1) * bar_w
            y = top + plot_h - bar_h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 1:.1f}" height="{bar_h:.1f}" '
                f'fill="{CHANNEL_COLOURS[c_index % len(CHANNEL_COLOURS)]}"{_faded(data, month)}>'
                f"<title>{_esc(name)} – {MONTH_NAMES[month.month - 1]}: {fmt.integer(value)}</title></rect>"
            )
        parts.append(_month_label(data, month, group_right - group_w / 2, height - bottom + 24))
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" class="baseline"/>')
    parts.append("</svg>")
    legend = _legend((CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)], name) for i, (_, name) in enumerate(data.channels))
    return legend + "".join(parts)


def dimension_shares_svg(data: ReportData, fmt: NumberFormat) -> str:
    """Horizontal bars of the Adaa dimension shares, growing right to left."""
    row_h, width = 56, 720
    label_w, value_w, pad = 130, 90, 10
    height = row_h * max(len(data.dimensions), 1) + 20
    bar_space = width - label_w - value_w - 2 * pad
    top_share = max((float(d["share_pct"] or 0) for d in data.dimensions), default=0) or 1
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="نسب أبعاد مركز أداء" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, dim in enumerate(data.dimensions):
        y = 10 + i * row_h
        share = float(dim["share_pct"] or 0)
        bar = bar_space * share / top_share
        x_right = width - label_w - pad
        parts.append(
            f'<text x="{width - pad}" y="{y + 30}" class="label" text-anchor="start" '
            f'direction="rtl">{_esc(dim["name_ar"])}</text>'
        )
        parts.append(
            f'<rect x="{x_right - bar:.1f}" y="{y + 10}" width="{bar:.1f}" height="30" rx="4" '
            f'fill="{DIMENSION_COLOURS[i % len(DIMENSION_COLOURS)]}">'
            f"<title>{_esc(dim['name_ar'])}: {fmt.percent(dim['share_pct'])}</title></rect>"
        )
        parts.append(
            f'<text x="{x_right - bar - 8:.1f}" y="{y + 31}" class="value" text-anchor="end" direction="ltr">'
            f"{fmt.percent(dim['share_pct'])}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


SERVICE_COLOURS = {"abandon_rate_pct": "#d0674f", "service_level_20s_pct": "#1b5e4a"}
SERVICE_RATE_NAMES = {
    "abandon_rate_pct": "نسبة المكالمات المتروكة",
    "service_level_20s_pct": "مستوى الخدمة (الرد خلال 20 ثانية)",
}
BACKLOG_BAND_NAMES = {
    "0-7d": "حتى 7 أيام",
    "8-30d": "من 8 إلى 30 يومًا",
    "31-90d": "من 31 إلى 90 يومًا",
    ">90d": "أكثر من 90 يومًا",
}


def service_rates_svg(data: ReportData, fmt: NumberFormat) -> str:
    """Two lines over the months (first month on the right): abandonment rate and service level, 0–100 %."""
    assert data.service is not None, "drawn only when the service KPIs are published"
    width, height = 1000, 300
    left, right, top, bottom = 70, 30, 20, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    step = plot_w / max(len(data.months), 1)
    parts = [
        f'<svg class="kpi-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="نسبة المكالمات المتروكة ومستوى الخدمة شهريًا" xmlns="http://www.w3.org/2000/svg">'
    ]
    for tick in range(0, 101, 20):
        y = top + plot_h - plot_h * tick / 100
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(
            f'<text x="{left - 8}" y="{y + 4:.1f}" class="axis" text-anchor="end" direction="ltr">'
            f"{fmt.percent(tick, 0)}</text>"
        )
    x_of = {m: width - right - step * (i + 0.5) for i, m in enumerate(data.months)}  # RTL
    for month, x in x_of.items():
        parts.append(_month_label(data, month, x, height - bottom + 26))
    for column, colour in SERVICE_COLOURS.items():
        points = [
            (x_of[m], top + plot_h - plot_h * float(row[column]) / 100, m, row[column])
            for m in data.months
            if (row := data.service.calls.get(m)) and row[column] is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y, _, _ in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="3"/>')
        for x, y, month, value in points:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"{_faded(data, month)}><title>'
                f"{_esc(SERVICE_RATE_NAMES[column])} – {MONTH_NAMES[month.month - 1]}: "
                f"{fmt.percent(value)}</title></circle>"
            )
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" class="baseline"/>')
    parts.append("</svg>")
    return _legend((colour, SERVICE_RATE_NAMES[c]) for c, colour in SERVICE_COLOURS.items()) + "".join(parts)


def backlog_svg(data: ReportData, fmt: NumberFormat) -> str:
    """Horizontal bars of the open tickets by age band at the latest snapshot, growing right to left."""
    assert data.service is not None, "drawn only when the service KPIs are published"
    rows = data.service.backlog
    row_h, width, label_w, value_w, pad = 56, 720, 170, 90, 10  # as the dimension shares
    height = row_h * max(len(rows), 1) + 20
    bar_space = width - label_w - value_w - 2 * pad
    top_value = max((r["open_tickets"] for r in rows), default=0) or 1
    parts = [
        f'<svg class="kpi-chart" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="التذاكر المفتوحة حسب العمر" xmlns="http://www.w3.org/2000/svg">'
    ]
    for i, row in enumerate(rows):
        y = 10 + i * row_h
        bar = bar_space * row["open_tickets"] / top_value
        x_right = width - label_w - pad
        name = BACKLOG_BAND_NAMES.get(row["age_band"], row["age_band"])
        parts.append(
            f'<text x="{width - pad}" y="{y + 30}" class="label" text-anchor="start" direction="rtl">'
            f"{_esc(name)}</text>"
        )
        parts.append(
            f'<rect x="{x_right - bar:.1f}" y="{y + 10}" width="{bar:.1f}" height="30" rx="4" '
            f'fill="{DIMENSION_COLOURS[i % len(DIMENSION_COLOURS)]}"><title>{_esc(name)}: '
            f"{fmt.integer(row['open_tickets'])}</title></rect>"
        )
        parts.append(
            f'<text x="{x_right - bar - 8:.1f}" y="{y + 31}" class="value" text-anchor="end" '
            f'direction="ltr">{fmt.integer(row["open_tickets"])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)

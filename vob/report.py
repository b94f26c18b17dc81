"""The half-year VoB report: published marts in, one self-contained Arabic HTML page out.

Two pure steps, so each is testable on its own:

- `read_report_data(con, period)` reads the published warehouse (WAREHOUSE.md
  tables only, opened read-only like a BI tool) into a `ReportData`. Nothing is
  recomputed: each figure shown is a value of a mart row. Tickets are those of
  the latest CRM snapshot of each month.
- `render_html(data, formatter)` lays it out like the seed report: right-to-left,
  Arabic, the fonts embedded as base64 @font-face, charts as inline SVG drawn
  here. The page is the Jinja2 template vob/templates/report.html.j2 (a partial
  per section, the style sheet report.css); Python writes every figure
  (`NumberFormat`) and draws the charts, the templates only place them. The
  page makes no request of any kind (no script, no remote font).

Numbers are written for Arabic readers: thousands separators, and Arabic-Indic
digits when asked (`VOB_REPORT_DIGITS=arabic`); Western digits by default so
the report's figures read the same as in BI tools.
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from vob.months import MONTH_NAMES_AR
from vob.periods import month_of, months_of_half
from vob.registers import DIMENSION_CODES

FONT_DIR = Path(__file__).with_name("fonts")
FONTS = (  # family, weight, file: Arabic text in Noto Sans Arabic, Latin letters and signs in Noto Sans
    ("VoB Arabic", 400, "NotoSansArabic-Regular.ttf"),
    ("VoB Arabic", 700, "NotoSansArabic-Bold.ttf"),
    ("VoB Latin", 400, "NotoSans-Latin-Regular.ttf"),
    ("VoB Latin", 700, "NotoSans-Latin-Bold.ttf"),
)


REPORT_TITLE = "تقرير صوت المستفيد"
HALF_NAMES = {"1": "النصف الأول", "2": "النصف الثاني"}
MONTH_NAMES = MONTH_NAMES_AR
TICKET_ROWS = (  # (field, label) under the channels, as in the seed
    ("tickets_total", "التذاكر في نظام إدارة علاقات العملاء CRM"),
    ("tickets_open", "التذاكر المفتوحة"),
    ("tickets_closed", "التذاكر المغلقة"),
)
HALF_YEAR_FIGURES = (
    ("beneficiaries", "عدد المستفيدين"),
    ("notes", "عدد الملاحظات"),
    ("plans_total", "إجمالي الخطط التصحيحية"),
    ("plans_in_progress", "الخطط الجاري العمل عليها"),
    ("plans_implemented", "الخطط المنفذة"),
)
KIND_NAMES = {"consultation": "استشارة عامة", "co_creation": "ابتكار مشترك وتطوير"}
TARGET_GROUP_NAMES = {
    "people_with_disabilities": "الأشخاص ذوي الإعاقة",
    "all": "جميع الفئات",
    "women": "المرأة",
    "youth": "الشباب",
}
CHANNEL_COLOURS = ("#1b5e4a", "#b08d57", "#2f7fb5", "#6b4c9a", "#d0674f", "#5aa469")
DIMENSION_COLOURS = ("#1b5e4a", "#2f7fb5", "#b08d57", "#6b4c9a", "#d0674f")


class ReportDataError(RuntimeError):
    """The published warehouse lacks what the report needs; the message says what."""


# ---------------------------------------------------------------------------
# Numbers


WESTERN_TO_ARABIC = str.maketrans("0123456789,.%", "٠١٢٣٤٥٦٧٨٩٬٫٪")


@dataclass(frozen=True)
class NumberFormat:
    """How figures are written: thousands separators always; Arabic-Indic digits optionally."""

    arabic_digits: bool = False

    @classmethod
    def from_settings(cls, settings) -> NumberFormat:
        """VOB_REPORT_DIGITS (Settings.report_digits): 'western' (default) or 'arabic'."""
        return cls(arabic_digits=settings.report_digits == "arabic")

    def _digits(self, text: str) -> str:
        return text.translate(WESTERN_TO_ARABIC) if self.arabic_digits else text

    def integer(self, value: int | None) -> str:
        return "—" if value is None else self._digits(f"{int(value):,}")

    def percent(self, value: Decimal | float | None) -> str:
        """54.80 -> '54.8%', 2.06 -> '2.06%' (as the seed writes shares)."""
        if value is None:
            return "—"
        text = f"{Decimal(str(value)).quantize(Decimal('0.01')):f}".rstrip("0").rstrip(".")
        return self._digits(f"{text}%")

    def decimal(self, value: Decimal | float | None, places: int = 1) -> str:
        """A published DECIMAL as stored, e.g. 48.2 seconds or 4.31 of 5; '—' when NULL."""
        if value is None:
            return "—"
        return self._digits(f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-places)):,f}")

    def plain(self, value: int | str) -> str:
        """A year or an ordinal: digits only, no separators."""
        return self._digits(str(value))


# ---------------------------------------------------------------------------
# Reading the published warehouse


@dataclass
class ReportData:
    period: str
    months: list[date]
    channels: list[tuple[str, str]]  # (channel, Arabic name), in the published sort order
    contacts: dict[tuple[date, str], int]
    tickets: dict[date, dict]  # month -> tickets_total/open/closed and snapshot_date (latest snapshot)
    half_year: dict | None
    dimensions: list[dict]  # dimension, name_ar, tags, share_pct
    e_participations: list[dict] = field(default_factory=list)
    improvement_actions: list[dict] = field(default_factory=list)
    unpublished_tables: list[str] = field(default_factory=list)  # half-year marts absent from the warehouse
    service: ServiceKpis | None = None  # the KPI page; None when the warehouse has no service KPI marts

    @property
    def year(self) -> str:
        return self.period.split("-H")[0]

    @property
    def half_name(self) -> str:
        return HALF_NAMES[self.period.split("-H")[1]]

    @property
    def title(self) -> str:
        return f"{REPORT_TITLE} – {self.half_name} {self.year}"

    @property
    def snapshot_dates(self) -> list[date]:
        return sorted({t["snapshot_date"] for t in self.tickets.values()})


@dataclass
class ServiceKpis:
    """The KPI page: per month the `all` rows of calls and chat, tickets' hours to close at the latest
    snapshot, and the backlog by age at the latest snapshot."""

    calls: dict[date, dict]  # month -> fct_calls_service_monthly row (queue 'all')
    chat: dict[date, dict]  # month -> fct_chat_service_monthly row (entry point 'all')
    resolution: dict[date, dict]  # month -> fct_ticket_resolution_monthly row of the latest snapshot
    backlog: list[dict]  # age_band, open_tickets of the latest snapshot, in band order
    resolution_snapshot: date | None
    backlog_snapshot: date | None


SERVICE_TABLES = (
    "fct_calls_service_monthly",
    "fct_chat_service_monthly",
    "fct_ticket_resolution_monthly",
    "fct_ticket_backlog",
)
BACKLOG_BANDS = ("0-7d", "8-30d", "31-90d", ">90d")


def read_service_kpis(con, bounds: dict, present: set[str]) -> ServiceKpis | None:
    """The service KPI marts of the period's months, or None when they are not all published."""
    if any(t not in present for t in SERVICE_TABLES):
        return None
    calls = {
        r["month"]: r
        for r in _rows(
            con,
            "SELECT * FROM marts.fct_calls_service_monthly WHERE queue = 'all' AND month BETWEEN $lo AND $hi",
            bounds,
        )
    }
    chat = {
        r["month"]: r
        for r in _rows(
            con,
            "SELECT * FROM marts.fct_chat_service_monthly WHERE entry_point = 'all' AND month BETWEEN $lo AND $hi",
            bounds,
        )
    }
    resolution = {
        r["month"]: r
        for r in _rows(
            con,
            "SELECT * FROM marts.fct_ticket_resolution_monthly WHERE month BETWEEN $lo AND $hi "
            "AND snapshot_date = (SELECT max(snapshot_date) FROM marts.fct_ticket_resolution_monthly)",
            bounds,
        )
    }
    band_order = "CASE age_band " + " ".join(f"WHEN '{b}' THEN {i}" for i, b in enumerate(BACKLOG_BANDS)) + " END"
    backlog = _rows(
        con,
        "SELECT snapshot_date, age_band, open_tickets FROM marts.fct_ticket_backlog "
        "WHERE snapshot_date = (SELECT max(snapshot_date) FROM marts.fct_ticket_backlog) "
        f"ORDER BY {band_order}, age_band",
    )
    return ServiceKpis(
        calls=calls,
        chat=chat,
        resolution=resolution,
        backlog=backlog,
        resolution_snapshot=next(iter(resolution.values()))["snapshot_date"] if resolution else None,
        backlog_snapshot=backlog[0]["snapshot_date"] if backlog else None,
    )


# Without these there is no report. The half-year tables come from the half-year facts: a
# warehouse published without them still gives the channels part, and the report says, on the
# page and in its metadata, which parts were not published.
REQUIRED_TABLES = ("fct_channel_monthly", "fct_tickets_monthly", "dim_channel")
HALF_YEAR_TABLES = (
    "fct_vob_half_year",
    "fct_feedback_dimension_half_year",
    "dim_dimension",
    "e_participations",
    "improvement_actions",
)


def _rows(con, sql: str, params: dict | None = None) -> list[dict]:
    cursor = con.execute(sql, params or {})
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row)) for row in cursor.fetchall()]


def _columns(con, table: str) -> set[str]:
    return {
        r["column_name"]
        for r in _rows(
            con,
            "SELECT column_name FROM duckdb_columns() WHERE schema_name = 'marts' AND table_name = $t",
            {"t": table},
        )
    }


def _published_tables(con) -> set[str]:
    return {r["table_name"] for r in _rows(con, "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'")}


def _require_monthly_facts(present: set[str]) -> None:
    missing = [t for t in REQUIRED_TABLES if t not in present]
    if missing:
        raise ReportDataError(
            "the published warehouse lacks "
            + ", ".join(f"marts.{t}" for t in missing)
            + " (WAREHOUSE.md); run and publish the period's facts before the report"
        )


def _read_channels(con) -> list[tuple[str, str]]:
    """(channel, Arabic name) in the published sort order, where dim_channel has one."""
    order = "sort_order, channel" if "sort_order" in _columns(con, "dim_channel") else "channel"
    return [
        (r["channel"], r["name_ar"])
        for r in _rows(con, f"SELECT channel, name_ar FROM marts.dim_channel ORDER BY {order}")
    ]


def _read_contacts(con, bounds: dict) -> dict[tuple[date, str], int]:
    return {
        (r["month"], r["channel"]): r["contacts"]
        for r in _rows(
            con,
            "SELECT month, channel, contacts FROM marts.fct_channel_monthly WHERE month BETWEEN $lo AND $hi",
            bounds,
        )
    }


def _read_latest_tickets(con, bounds: dict) -> dict[date, dict]:
    """Per month, the tickets of its latest CRM snapshot."""
    return {
        r["month"]: r
        for r in _rows(
            con,
            "SELECT month, snapshot_date, tickets_total, tickets_open, tickets_closed "
            "FROM marts.fct_tickets_monthly WHERE month BETWEEN $lo AND $hi "
            "QUALIFY row_number() OVER (PARTITION BY month ORDER BY snapshot_date DESC) = 1",
            bounds,
        )
    }


@dataclass(frozen=True)
class _HalfYearMarts:
    """The period's rows of the half-year marts; none from a mart the warehouse was published without."""

    con: object
    period: str
    present: set[str]
    unpublished: list[str]

    def rows(self, tables: tuple[str, ...], sql: str) -> list[dict]:
        if any(t in self.unpublished for t in tables):
            return []
        return _rows(self.con, sql, {"p": self.period})

    def figures(self) -> dict | None:
        half = self.rows(("fct_vob_half_year",), "SELECT * FROM marts.fct_vob_half_year WHERE period = $p")
        return half[0] if half else None

    def dimension_shares(self) -> list[dict]:
        return self.rows(
            ("fct_feedback_dimension_half_year", "dim_dimension"),
            "SELECT f.dimension, coalesce(d.name_ar, f.dimension) AS name_ar, f.tags, f.share_pct "
            "FROM marts.fct_feedback_dimension_half_year f "
            "LEFT JOIN marts.dim_dimension d USING (dimension) "
            f"WHERE f.period = $p ORDER BY {self._dimension_order()}, f.dimension",
        )

    def _dimension_order(self) -> str:
        order_sql = (
            "CASE f.dimension "
            + " ".join(f"WHEN '{d}' THEN {i}" for i, d in enumerate(DIMENSION_CODES))
            + f" ELSE {len(DIMENSION_CODES)} END"
        )
        if "dim_dimension" in self.present and "sort_order" in _columns(self.con, "dim_dimension"):
            order_sql = f"d.sort_order, {order_sql}"  # the published order, where the dimension says it
        return order_sql

    def e_participations(self) -> list[dict]:
        participations = self.rows(
            ("e_participations",),
            "SELECT e.*, c.name_ar AS channel_name FROM marts.e_participations e "
            "LEFT JOIN marts.dim_channel c USING (channel) WHERE e.period = $p",
        )
        # the register's order where published (sort_order), else by month and title
        participations.sort(
            key=lambda r: (
                r.get("sort_order") is None,
                r.get("sort_order") or 0,
                _month_sort_key(r.get("month")),
                r.get("title") or "",
            )
        )
        return participations

    def improvement_actions(self) -> list[dict]:
        return self.rows(
            ("improvement_actions",), "SELECT * FROM marts.improvement_actions WHERE period = $p ORDER BY action_no"
        )


def read_report_data(con, period: str) -> ReportData:
    """Everything the report shows, as published for `period` (e.g. '2025-H1')."""
    present = _published_tables(con)
    _require_monthly_facts(present)
    months = [month_of(key) for key in months_of_half(period)]
    bounds = {"lo": months[0], "hi": months[-1]}
    half_year = _HalfYearMarts(con, period, present, [t for t in HALF_YEAR_TABLES if t not in present])
    return ReportData(
        period=period,
        months=months,
        channels=_read_channels(con),
        contacts=_read_contacts(con, bounds),
        tickets=_read_latest_tickets(con, bounds),
        half_year=half_year.figures(),
        dimensions=half_year.dimension_shares(),
        e_participations=half_year.e_participations(),
        improvement_actions=half_year.improvement_actions(),
        unpublished_tables=half_year.unpublished,
        service=read_service_kpis(con, bounds, present),
    )


def _month_date(value) -> date | None:
    """e_participations.month as a date, whether published as DATE, timestamp or 'YYYY-MM[-DD]' text."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value)
    try:
        return date(int(text[0:4]), int(text[5:7]), 1)
    except ValueError:
        return None


def _month_sort_key(value) -> date:
    return _month_date(value) or date.max


# ---------------------------------------------------------------------------
# Charts (inline SVG)


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


def channel_volume_svg(data: ReportData, fmt: NumberFormat) -> str:
    """Grouped bars: contacts per channel, one group per month (first month on the right, as read in Arabic)."""
    width, height = 1000, 420
    left, right, top, bottom = 90, 20, 20, 50
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
                f'fill="{CHANNEL_COLOURS[c_index % len(CHANNEL_COLOURS)]}">'
                f"<title>{_esc(name)} – {MONTH_NAMES[month.month - 1]}: {fmt.integer(value)}</title></rect>"
            )
        parts.append(
            f'<text x="{group_right - group_w / 2:.1f}" y="{height - bottom + 24}" class="label" '
            f'text-anchor="middle">{MONTH_NAMES[month.month - 1]}</text>'
        )
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
    left, right, top, bottom = 70, 30, 20, 46
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
            f"{fmt.percent(tick)}</text>"
        )
    x_of = {m: width - right - step * (i + 0.5) for i, m in enumerate(data.months)}  # RTL
    for month, x in x_of.items():
        parts.append(
            f'<text x="{x:.1f}" y="{height - bottom + 26}" class="label" text-anchor="middle">'
            f"{MONTH_NAMES[month.month - 1]}</text>"
        )
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
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{colour}"><title>'
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
    row_h, width, label_w, value_w, pad = 46, 720, 170, 90, 10
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
            f'<text x="{width - pad}" y="{y + 26}" class="label" text-anchor="start" direction="rtl">'
            f"{_esc(name)}</text>"
        )
        parts.append(
            f'<rect x="{x_right - bar:.1f}" y="{y + 8}" width="{bar:.1f}" height="26" rx="4" '
            f'fill="{DIMENSION_COLOURS[i % len(DIMENSION_COLOURS)]}"><title>{_esc(name)}: '
            f"{fmt.integer(row['open_tickets'])}</title></rect>"
        )
        parts.append(
            f'<text x="{x_right - bar - 8:.1f}" y="{y + 27}" class="value" text-anchor="end" '
            f'direction="ltr">{fmt.integer(row["open_tickets"])}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------
# The page


@lru_cache(maxsize=1)
def font_face_css() -> str:
    rules = []
    for family, weight, name in FONTS:
        encoded = base64.b64encode((FONT_DIR / name).read_bytes()).decode("ascii")
        rules.append(
            f"@font-face{{font-family:'{family}';font-weight:{weight};font-style:normal;"
            f"src:url(data:font/ttf;base64,{encoded}) format('truetype');}}"
        )
    return "\n".join(rules)


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    """The report's templates (vob/templates): HTML escaped, the style sheet included as it is."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("vob", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


@dataclass(frozen=True)
class DateWords:
    """A day as the report writes it: day and year as digits, the month by its Arabic name."""

    day: str
    month: str
    year: str


@dataclass(frozen=True)
class FigureRow:
    """One labelled row of written figures: one per month, or a single one."""

    label: str
    cells: list[str]
    css: str = ""

    @property
    def value(self) -> str:
        return self.cells[0]


@dataclass(frozen=True)
class ParticipationRow:
    month: str
    title: str
    kind: str
    target_group: str
    channel: str
    url: str


@dataclass(frozen=True)
class ActionItem:
    number: int
    title: str
    description: str  # empty when the register repeats the title


def _text(value) -> str:
    return "" if value is None else str(value)


def _month_name(value) -> str:
    month = _month_date(value)
    return MONTH_NAMES[month.month - 1] if month else "—"


def _date_words(fmt: NumberFormat, day: date | None) -> DateWords | None:
    if day is None:
        return None
    return DateWords(day=fmt.plain(day.day), month=MONTH_NAMES[day.month - 1], year=fmt.plain(day.year))


def _channel_rows(data: ReportData, fmt: NumberFormat) -> list[FigureRow]:
    """Contacts per channel and month, then the tickets of the latest snapshot of each month."""
    rows = [
        FigureRow(name, [fmt.integer(data.contacts.get((m, channel))) for m in data.months])
        for channel, name in data.channels
    ]
    for i, (key, label) in enumerate(TICKET_ROWS):
        cells = [fmt.integer(data.tickets[m][key] if m in data.tickets else None) for m in data.months]
        rows.append(FigureRow(label, cells, "tickets tickets-total" if i == 0 else "tickets"))
    return rows


SERVICE_ROWS = (  # (part of ServiceKpis, column, Arabic label, how it is written)
    ("calls", "abandon_rate_pct", "نسبة المكالمات المتروكة", "percent"),
    ("calls", "service_level_20s_pct", "مستوى الخدمة (الرد خلال 20 ثانية)", "percent"),
    ("calls", "p90_wait_s", "زمن الانتظار للمكالمات – المئين التسعون (ثانية)", "seconds"),
    ("chat", "avg_rating", "متوسط تقييم المحادثة المباشرة (من 5)", "rating"),
    ("resolution", "p50_hours_to_close", "ساعات إغلاق التذاكر – الوسيط", "hours"),
    ("resolution", "p90_hours_to_close", "ساعات إغلاق التذاكر – المئين التسعون", "hours"),
)


def _service_value(fmt: NumberFormat, how: str, value) -> str:
    if how == "percent":
        return fmt.percent(value)
    return fmt.decimal(value, 2 if how == "rating" else 1)


def _service_view(data: ReportData, fmt: NumberFormat) -> dict | None:
    """The KPI page's rows, snapshots and charts; None when the service marts are not published."""
    kpis = data.service
    if kpis is None:
        return None
    rows = []
    for part, column, label, how in SERVICE_ROWS:
        by_month = getattr(kpis, part)
        cells = [_service_value(fmt, how, by_month[m][column] if m in by_month else None) for m in data.months]
        rows.append(FigureRow(label, cells, column))
    backlog = [
        FigureRow(BACKLOG_BAND_NAMES.get(r["age_band"], str(r["age_band"])), [fmt.integer(r["open_tickets"])])
        for r in kpis.backlog
    ]
    return {
        "rows": rows,
        "backlog": backlog,
        "resolution_snapshot": _date_words(fmt, kpis.resolution_snapshot),
        "backlog_snapshot": _date_words(fmt, kpis.backlog_snapshot),
        "rates_svg": Markup(service_rates_svg(data, fmt)),
        "backlog_svg": Markup(backlog_svg(data, fmt)),
    }


def _half_year_figures(data: ReportData, fmt: NumberFormat) -> list[FigureRow] | None:
    if data.half_year is None:
        return None
    return [FigureRow(label, [fmt.integer(data.half_year.get(key))]) for key, label in HALF_YEAR_FIGURES]


def _participation_row(p: dict) -> ParticipationRow:
    return ParticipationRow(
        month=_month_name(p.get("month")),
        title=_text(p.get("title")),
        kind=_text(KIND_NAMES.get(str(p.get("kind")), p.get("kind"))),
        target_group=_text(TARGET_GROUP_NAMES.get(str(p.get("target_group")), p.get("target_group"))),
        channel=_text(p.get("channel_name") or p.get("channel")),
        url=p.get("url") or "",
    )


def _action_item(a: dict) -> ActionItem:
    description = a.get("description")
    return ActionItem(
        number=int(a["action_no"]),
        title=_text(a.get("title")),
        description=description if description and description != a.get("title") else "",
    )


def report_context(data: ReportData, fmt: NumberFormat) -> dict:
    """What the templates show, every figure already written by `fmt`; charts as ready SVG markup."""
    return {
        "title": data.title,
        "report_title": REPORT_TITLE,
        "half_name": data.half_name,
        "year": fmt.plain(data.year),
        "body_class": "arabic-digits" if fmt.arabic_digits else "western-digits",
        "font_faces": Markup(font_face_css()),
        "month_names": [MONTH_NAMES[m.month - 1] for m in data.months],
        "channel_rows": _channel_rows(data, fmt),
        "ticket_snapshots": [_date_words(fmt, d) for d in data.snapshot_dates],
        "unpublished_tables": data.unpublished_tables,
        "volume_svg": Markup(channel_volume_svg(data, fmt)),
        "service": _service_view(data, fmt),
        "service_tables": SERVICE_TABLES,
        "half_year_figures": _half_year_figures(data, fmt),
        "dimension_shares": [FigureRow(d["name_ar"], [fmt.percent(d["share_pct"])]) for d in data.dimensions],
        "shares_svg": Markup(dimension_shares_svg(data, fmt)),
        "participations": [_participation_row(p) for p in data.e_participations],
        "actions": [_action_item(a) for a in data.improvement_actions],
    }


def render_html(data: ReportData, fmt: NumberFormat | None = None) -> str:
    """The whole report as one self-contained HTML document (vob/templates/report.html.j2)."""
    return _templates().get_template("report.html.j2").render(report_context(data, fmt or NumberFormat()))

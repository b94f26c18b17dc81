"""The half-year VoB report: published marts in, one self-contained Arabic HTML page out.

Pure steps along four modules, each testable on its own:

- vob/views/report_data.py: `read_report_data(con, period)` reads the published
  warehouse (WAREHOUSE.md tables only, opened read-only like a BI tool) into a
  `ReportData`, with each month's status from `marts.dim_month`.
- vob/views/report_format.py: how figures are written (`NumberFormat`): thousands
  separators, a fixed number of decimals per kind of figure, Western digits by
  default so the figures read the same as in BI tools, Arabic-Indic digits when
  asked (`VOB_REPORT_DIGITS=arabic`).
- vob/views/report_charts.py: the charts as inline SVG.
- here: `render_html(data, fmt)` lays it out like the seed report: right-to-left,
  Arabic, the fonts embedded as base64 @font-face. The page is the Jinja2
  template vob/views/templates/report.html.j2 (a partial per section, the style sheet
  report.css); Python writes every figure and draws the charts, the templates
  only place them. The page makes no request of any kind (no script, no remote
  font). Printed, each section starts a page and every page carries the running
  header with its page number (CSS @page margin boxes), so the numbers are the
  PDF's pages even when a section runs over.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

import jinja2
from markupsafe import Markup

from vob.views.report_charts import (
    BACKLOG_BAND_NAMES,
    CHANNEL_COLOURS,
    DIMENSION_COLOURS,
    IN_PROGRESS_LABEL,
    backlog_svg,
    channel_volume_svg,
    dimension_shares_svg,
    service_rates_svg,
)
from vob.views.report_data import (
    NOT_PUBLISHED,
    REPORT_TITLE,
    SERVICE_TABLES,
    MonthStatus,
    ReportData,
    month_date,
)
from vob.views.report_format import MONTH_NAMES, DateWords, NumberFormat, date_words

__all__ = [  # what others take from the report: the dashboard its colours and Arabic labels, so both agree
    "CHANNEL_COLOURS",
    "DIMENSION_COLOURS",
    "KIND_NAMES",
    "TARGET_GROUP_NAMES",
    "render_html",
    "report_context",
]

FONT_DIR = Path(__file__).with_name("fonts")
FONTS = (  # family, weight, file: Arabic text in Noto Sans Arabic, Latin letters and signs in Noto Sans
    ("VoB Arabic", 400, "NotoSansArabic-Regular.ttf"),
    ("VoB Arabic", 700, "NotoSansArabic-Bold.ttf"),
    ("VoB Latin", 400, "NotoSans-Latin-Regular.ttf"),
    ("VoB Latin", 700, "NotoSans-Latin-Bold.ttf"),
)

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
    """The report's templates (vob/views/templates): HTML escaped, the style sheet included as it is."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("vob.views", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",)),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


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
    month = month_date(value)
    return MONTH_NAMES[month.month - 1] if month else "—"


@dataclass(frozen=True)
class MonthHeading:
    """A month's column heading: its name, and for a month not complete what it still lacks."""

    name: str
    note: str = ""  # e.g. "قيد الاكتمال حتى 14 يونيو"; empty for a complete month
    css: str = ""  # "in-progress" or "not-published"


@dataclass(frozen=True)
class MonthNote:
    """A month that keeps the half-year from being complete, as the first page lists it."""

    name: str
    year: str
    in_progress: bool  # else not published yet
    data_through: DateWords | None  # the last day whose contacts are all in; None: not one day yet


def _complete_through(status: MonthStatus) -> date | None:
    """The month's last complete day, None when it has none yet (data_through before the month)."""
    through = status.data_through
    return through if through is not None and through >= status.month else None


def _month_heading(fmt: NumberFormat, status: MonthStatus) -> MonthHeading:
    name = MONTH_NAMES[status.month.month - 1]
    if status.complete:
        return MonthHeading(name)
    if status.state == NOT_PUBLISHED:
        return MonthHeading(name, "لم يُنشر بعد", "not-published")
    through = _complete_through(status)
    if through is None:
        return MonthHeading(name, f"{IN_PROGRESS_LABEL}، لا يوم مكتمل بعد", "in-progress")
    return MonthHeading(name, f"{IN_PROGRESS_LABEL} حتى {fmt.plain(through.day)} {name}", "in-progress")


def _half_year_notes(data: ReportData, fmt: NumberFormat) -> list[MonthNote]:
    """The months that are not complete, in order; empty when the half-year is."""
    return [
        MonthNote(
            name=MONTH_NAMES[m.month - 1],
            year=fmt.plain(m.year),
            in_progress=status.in_progress,
            data_through=date_words(fmt, _complete_through(status)),
        )
        for m in data.months
        if not (status := data.status_of(m)).complete
    ]


def css_string(text: str) -> str:
    """`text` as a CSS string literal: quotes, backslashes and anything that could close the style escaped."""
    escaped = "".join(ch if ch.isalnum() or ch in " –-()|،:" else f"\\{ord(ch):x} " for ch in text)
    return f'"{escaped}"'


def page_header_css(data: ReportData, fmt: NumberFormat) -> str:
    """The printed running header's words, for the @page margin boxes of report.css: the title on the
    right; on the left the half-year (and whether it is complete) and "صفحة n من N" of the PDF."""
    digits = ", arabic-indic" if fmt.arabic_digits else ""
    period = f"{data.half_name} من العام" + ("" if data.half_year_complete else " – لم يكتمل بعد")
    return (
        f"@page {{ @top-right {{ content: {css_string(f'{REPORT_TITLE} – {data.half_name} {fmt.plain(data.year)}')}; }}\n"
        f"  @top-left {{ content: {css_string(period + '  |  صفحة ')} counter(page{digits}) "
        f"{css_string(' من ')} counter(pages{digits}); }} }}"
    )


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
        "resolution_snapshot": date_words(fmt, kpis.resolution_snapshot),
        "backlog_snapshot": date_words(fmt, kpis.backlog_snapshot),
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
        "months": [_month_heading(fmt, data.status_of(m)) for m in data.months],
        "half_year_notes": _half_year_notes(data, fmt),
        "page_header_css": Markup(page_header_css(data, fmt)),
        "channel_rows": _channel_rows(data, fmt),
        "ticket_snapshots": [date_words(fmt, d) for d in data.snapshot_dates],
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
    """The whole report as one self-contained HTML document (vob/views/templates/report.html.j2)."""
    return _templates().get_template("report.html.j2").render(report_context(data, fmt or NumberFormat()))

"""The half-year report's data: what the published warehouse holds for a period, read as a BI tool
reads it (WAREHOUSE.md tables only, the file opened read-only). Nothing is recomputed: each figure
the report shows is a value of a mart row. Tickets are those of the latest CRM snapshot of each month.

`read_report_data(con, period)` -> `ReportData`; vob/views/report.py lays it out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from vob.base.periods import month_of, months_of_half
from vob.landing.registers import DIMENSION_CODES

REPORT_TITLE = "تقرير صوت المستفيد"
HALF_NAMES = {"1": "النصف الأول", "2": "النصف الثاني"}


class ReportDataError(RuntimeError):
    """The published warehouse lacks what the report needs; the message says what."""


COMPLETE, IN_PROGRESS, NOT_PUBLISHED = "complete", "in_progress", "not_published"


@dataclass(frozen=True)
class MonthStatus:
    """A month of the period as `marts.dim_month` publishes it (WAREHOUSE.md, "Months in progress"):
    complete, in progress with its data through `data_through`, or not published yet (no row)."""

    month: date
    state: str  # COMPLETE, IN_PROGRESS or NOT_PUBLISHED
    data_through: date | None = None

    @property
    def complete(self) -> bool:
        return self.state == COMPLETE

    @property
    def in_progress(self) -> bool:
        return self.state == IN_PROGRESS


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
    month_status: dict[date, MonthStatus] = field(default_factory=dict)  # none: every month complete

    def status_of(self, month: date) -> MonthStatus:
        return self.month_status.get(month) or MonthStatus(month, COMPLETE)

    @property
    def months_in_progress(self) -> list[MonthStatus]:
        return [s for s in map(self.status_of, self.months) if s.in_progress]

    @property
    def months_not_published(self) -> list[date]:
        return [m for m in self.months if self.status_of(m).state == NOT_PUBLISHED]

    @property
    def half_year_complete(self) -> bool:
        """Every month of the half-year published and complete."""
        return all(self.status_of(m).complete for m in self.months)

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
        month_status=read_month_status(con, months, present),
    )


def read_month_status(con, months: list[date], present: set[str]) -> dict[date, MonthStatus]:
    """Each month's status from `marts.dim_month`; a month without a row is not published yet.
    A warehouse published before dim_month existed has none: every month counts as complete."""
    if "dim_month" not in present:
        return {}
    rows = {
        r["month"]: r
        for r in _rows(
            con,
            "SELECT month, status, data_through FROM marts.dim_month WHERE month BETWEEN $lo AND $hi",
            {"lo": months[0], "hi": months[-1]},
        )
    }
    status = {}
    for month in months:
        row = rows.get(month)
        if row is None:
            status[month] = MonthStatus(month, NOT_PUBLISHED)
        else:  # anything but 'complete' is in progress: never show a month as finished on a doubt
            state = COMPLETE if row["status"] == COMPLETE else IN_PROGRESS
            status[month] = MonthStatus(month, state, row["data_through"])
    return status


def month_date(value) -> date | None:
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
    return month_date(value) or date.max

"""`vob explain TABLE KEY...`: one published figure and the landing files that make it up.

Every published fact table is known here (`KNOWN_TABLES`). The service KPIs and the half-year
marts are explained by vob/views/explain_service.py and vob/views/explain_half_year.py through
vob/views/explain_parts.py (the figure's parts re-done from the working database); the contacts and
tickets of fct_channel_monthly and fct_tickets_monthly below, from `marts.figure_sources`.

Reads the PUBLISHED warehouse (`marts.figure_sources` and the fact table), as
an auditor would, and, when it is there and free, the working database
read-only for what the published file does not hold: the rejected rows'
reasons, and per file the rows that belonged to other months or were dropped as
duplicates. Every file is accounted for:

    rows read = rejected + other months + duplicates dropped + rows counted

(for X / SMS / self-service, `counted` is the sum of the counted rows' `count`).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb

from vob.base.settings import Settings
from vob.landing.contract import CHANNELS, CRM, SOURCES, Source, next_month
from vob.marts.figure_sources import CHANNEL_TABLE, EXPLAINED_TABLES, TICKET_MEASURES
from vob.marts.transforms import month_window
from vob.views.explain_half_year import HALF_YEAR_TABLES
from vob.views.explain_parts import (
    ExplainError,
    FactTable,
    month_words,
    parse_date,
    published_row,
    render,
    wrapped,
)
from vob.views.explain_service import SERVICE_TABLES

TABLES: dict[str, FactTable] = {t.name: t for t in (*SERVICE_TABLES, *HALF_YEAR_TABLES)}
KNOWN_TABLES = (*EXPLAINED_TABLES, *TABLES)  # every published table that holds figures
NO_FIGURES = {  # published tables that hold no figure: what they are instead
    "e_participations": "lists the half-year's e-participations (title, kind, target group, channel, month, "
    "link), one row per valid row of the register workbook's sheet e_participations",
    "improvement_actions": "lists the half-year's improvement actions (number, title, description, plan), one "
    "row per valid row of the register workbook's sheet improvement_actions",
    "dim_channel": "names the channels",
    "dim_dimension": "names the Adaa dimensions",
    "dim_month": "describes the published months",
    "figure_sources": "is the files behind the figures of fct_channel_monthly and fct_tickets_monthly",
}


def key_parts(key: list[str]) -> list[str]:
    """The key's values, given as words or as stored (joined by `|`)."""
    return [p for k in key for p in k.split("|") if p]


def known_table(table: str) -> str:
    """The table's name (`marts.` allowed), or a clear error naming the tables vob explain knows."""
    name = table.removeprefix("marts.")
    if name in NO_FIGURES:
        raise ExplainError(
            f"marts.{name} {NO_FIGURES[name]}: it holds no figure to explain "
            f"(vob explain knows {', '.join(KNOWN_TABLES)})"
        )
    if name not in KNOWN_TABLES:
        raise ExplainError(f"unknown table {table!r}: vob explain knows {', '.join(KNOWN_TABLES)}")
    return name


@dataclass(frozen=True)
class Figure:
    table: str
    key: str
    month: date
    source: Source
    measure: str  # contacts, or tickets_total / tickets_open / tickets_closed
    snapshot: date | None = None

    @property
    def words(self) -> str:
        when = month_words(self.month)
        if self.table == CHANNEL_TABLE:
            return f"contacts of channel {self.source.channel} in {when}"
        what = {
            "tickets_total": "tickets created",
            "tickets_open": "tickets created and still open",
            "tickets_closed": "tickets created and closed",
        }[self.measure]
        return f"{what} in {when}, as the CRM snapshot of {self.snapshot:%Y-%m-%d} sees them"


def parse_figure(table: str, key: list[str]) -> Figure:
    """The figure named on the command line: `fct_channel_monthly 2025-03 calls` or
    `fct_tickets_monthly 2025-03 2025-07-01 tickets_open` (or the key joined by `|`)."""
    parts = key_parts(key)
    if table == CHANNEL_TABLE:
        if len(parts) != 2 or parts[1] not in CHANNELS:
            raise ExplainError(f"{table} takes MONTH CHANNEL, e.g. `2025-03 calls` (channels: {', '.join(CHANNELS)})")
        month = parse_date(parts[0], "month", "2025-03").replace(day=1)
        source = next(s for s in SOURCES.values() if s.channel == parts[1])
        return Figure(table, f"{month:%Y-%m}|{parts[1]}", month, source, "contacts")
    if len(parts) != 3 or parts[2] not in TICKET_MEASURES:
        raise ExplainError(
            f"{table} takes MONTH SNAPSHOT_DATE MEASURE, e.g. `2025-03 2025-07-01 tickets_open` "
            f"(measures: {', '.join(TICKET_MEASURES)})"
        )
    month = parse_date(parts[0], "month", "2025-03").replace(day=1)
    snapshot = parse_date(parts[1], "snapshot date", "2025-07-01")
    return Figure(table, f"{month:%Y-%m}|{snapshot:%Y-%m-%d}|{parts[2]}", month, CRM, parts[2], snapshot)


def published_figure(con, figure: Figure) -> tuple[int, list[dict]]:
    """The figure's value in the published fact table and its figure_sources rows."""
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
    }
    if "figure_sources" not in tables:
        raise ExplainError(
            "the published warehouse has no marts.figure_sources: run and publish with this "
            "version of the pipeline (vob run) first"
        )
    if figure.table == CHANNEL_TABLE:
        value = con.execute(
            "SELECT contacts FROM marts.fct_channel_monthly WHERE month = $m AND channel = $c",
            {"m": figure.month, "c": figure.source.channel},
        ).fetchall()
        known = con.execute("SELECT DISTINCT strftime(month, '%Y-%m') FROM marts.fct_channel_monthly ORDER BY 1")
        hint = "published months: "
    else:
        value = con.execute(
            f"SELECT {figure.measure} FROM marts.fct_tickets_monthly WHERE month = $m AND snapshot_date = $s",
            {"m": figure.month, "s": figure.snapshot},
        ).fetchall()
        known = con.execute(
            "SELECT DISTINCT strftime(month, '%Y-%m') || ' ' || strftime(snapshot_date, '%Y-%m-%d') "
            "FROM marts.fct_tickets_monthly WHERE month = $m ORDER BY 1",
            {"m": figure.month},
        )
        hint = f"published snapshots of {figure.month:%Y-%m}: "
    if not value:
        shown = ", ".join(r[0] for r in known.fetchall()) or "none"
        raise ExplainError(f"no published figure {figure.table} {figure.key} ({hint}{shown})")
    cursor = con.execute(
        "SELECT file, rows_read, rows_rejected, counted, figure_value FROM marts.figure_sources "
        "WHERE table_name = $t AND figure_key = $k ORDER BY file",
        {"t": figure.table, "k": figure.key},
    )
    names = [d[0] for d in cursor.description]
    return value[0][0], [dict(zip(names, row)) for row in cursor.fetchall()]


def working_detail(con, figure: Figure, files: list[str]) -> tuple[dict[str, dict], list[tuple[str, str, int]]]:
    """Per file: rows of the figure's month and rows staged (counted after de-duplication);
    and the rejected rows' reasons grouped by file."""
    source, params = figure.source, {"files": files, "month": figure.month}
    start, end = month_window(figure.month)
    if source.kind == "counts":
        in_month = f"date >= $month AND date < DATE '{next_month(figure.month)}'"
        staged = (
            "SELECT file, count(*) AS n FROM staging.daily_counts WHERE month = $month "
            f"AND source = '{source.name}' GROUP BY file"
        )
    else:
        in_month = f"{source.time_field} >= $start AND {source.time_field} < $end"
        params |= {"start": start, "end": end}
        snapshot = " AND file_date = $snapshot" if source.kind == "snapshot" else ""
        if snapshot:
            params["snapshot"] = figure.snapshot
        staged = f"SELECT file, count(*) AS n FROM staging.{source.name} WHERE month = $month{snapshot} GROUP BY file"
    rows = con.execute(
        f"""WITH month_rows AS (SELECT file, count(*) AS n FROM raw.{source.name}
                                WHERE file IN (SELECT unnest($files)) AND {in_month} GROUP BY file)
            SELECT f.file, coalesce(m.n, 0), coalesce(s.n, 0)
            FROM (SELECT unnest($files) AS file) f LEFT JOIN month_rows m USING (file) LEFT JOIN ({staged}) s USING (file)""",
        params,
    ).fetchall()
    detail = {file: {"in_month": n_month, "staged": n_staged} for file, n_month, n_staged in rows}
    reasons = con.execute(
        "SELECT file, reason, count(*) FROM quality.rejected_rows WHERE source = $s AND file IN (SELECT unnest($files)) "
        "GROUP BY ALL ORDER BY file, count(*) DESC, reason",
        {"s": source.name, "files": files},
    ).fetchall()
    return detail, reasons


def _open_read_only(path: Path) -> tuple[duckdb.DuckDBPyConnection | None, str]:
    if not path.exists():
        return None, f"the working database {path} is not here"
    try:
        return duckdb.connect(str(path), read_only=True), ""
    except duckdb.Error as err:
        return None, f"the working database {path} could not be opened read-only ({str(err).splitlines()[0]})"


@contextmanager
def _published(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    if not settings.warehouse_path.exists():
        raise ExplainError(
            f"no published warehouse at {settings.warehouse_path}: run `vob run` first (or set VOB_WAREHOUSE)"
        )
    con = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        yield con
    finally:
        con.close()


def explain(settings: Settings, table: str, key: list[str]) -> str:
    """The figure and its reconciliation, in words an auditor reads."""
    name = known_table(table)
    fact = TABLES.get(name)
    if fact is None:
        return explain_contacts(settings, parse_figure(name, key))
    figure = fact.parse(key_parts(key))
    with _published(settings) as con:
        row = published_row(con, figure)
    work, why_not = _open_read_only(settings.work_db)
    reckoning = None
    if work is not None:
        try:
            reckoning = fact.reckon(work, figure, row)
        except duckdb.Error as err:  # e.g. a working database of an older version, without the half-year tables
            why_not = f"the working database {settings.work_db} cannot give them ({str(err).splitlines()[0]})"
        finally:
            work.close()
    return render(figure, row, reckoning, why_not, str(settings.warehouse_path), str(settings.landing_dir))


def explain_contacts(settings: Settings, figure: Figure) -> str:
    """A figure of fct_channel_monthly or fct_tickets_monthly, from marts.figure_sources."""
    with _published(settings) as con:
        value, sources = published_figure(con, figure)
    files = [s["file"] for s in sources]
    work, why_not = _open_read_only(settings.work_db)
    detail, reasons = {}, []
    if work is not None:
        try:
            detail, reasons = working_detail(work, figure, files)
        finally:
            work.close()
    return render_contacts(figure, value, sources, detail, reasons, why_not, settings)


def _n(value) -> str:
    return "—" if value is None else f"{value:,}"


COUNTED_MEANS = {
    "events": "Counted = rows kept: each record once, in the file whose row won.",
    "counts": "Counted = the sum of `count` over the rows kept.",
    "tickets_total": "Counted = rows kept: the snapshot's tickets created in the month.",
    "tickets_open": "Counted = of the rows kept, the tickets open in the snapshot (new, in progress, pending).",
    "tickets_closed": "Counted = of the rows kept, the tickets closed in the snapshot (resolved, closed).",
}


def _file_numbers(source: dict, detail: dict | None) -> list[int | None]:
    """rows read, rejected, other months, duplicates dropped, rows kept, counted of one file."""
    read, rejected = source["rows_read"], source["rows_rejected"]
    other = duplicates = kept = None
    if detail is not None and read is not None:
        other = read - (rejected or 0) - detail["in_month"]
        duplicates = detail["in_month"] - detail["staged"]
        kept = detail["staged"]
    return [read, rejected, other, duplicates, kept, source["counted"]]


def render_contacts(
    figure: Figure, value: int, sources: list[dict], detail: dict, reasons: list, why_not: str, settings: Settings
) -> str:
    counted_total = sum(s["counted"] for s in sources)
    lines = [
        f"{figure.table} {figure.key} = {value:,}",
        f"  {figure.words}; published warehouse {settings.warehouse_path}",
        "",
    ]
    if not sources:
        lines.append(
            "No landing file was read for this figure: the month had no file of this source, so the figure is 0."
            if value == 0
            else "No landing file is recorded for this figure although it is not 0: the warehouse is "
            "inconsistent, re-run the month."
        )
    else:
        lines.append(
            f"{len(sources)} landing file(s) read for it (under {settings.landing_dir}); "
            "`counted` is what each gives to the figure:"
        )
        header = ["file", "rows read", "rejected", "other months", "duplicates dropped", "rows kept", "counted"]
        numbers = [_file_numbers(s, detail.get(s["file"])) for s in sources]
        totals = [
            None if any(n[i] is None for n in numbers) else sum(n[i] or 0 for n in numbers)
            for i in range(len(header) - 1)
        ]
        table = [header] + [[s["file"], *map(_n, n)] for s, n in zip(sources, numbers)] + [["total", *map(_n, totals)]]
        widths = [max(len(row[i]) for row in table) for i in range(len(header))]
        for row in table:
            lines.append(
                "  " + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
            )
        lines.append("")
        if detail:
            lines += wrapped(
                "For each file, rows read = rejected + other months + duplicates dropped + rows kept. "
                "'Other months' are valid rows whose own date falls in another month (or, for a CRM "
                "snapshot, tickets created in another month); 'duplicates dropped' are rows of the month "
                "whose id (or date and category) is counted from another row: the latest export's, or "
                "the last line of a file."
            )
            lines += wrapped(COUNTED_MEANS[figure.measure if figure.source.kind == "snapshot" else figure.source.kind])
        else:
            lines.append(f"  (other months and duplicates need the working database: {why_not})")
    lines.append("")
    if why_not:
        lines.append(f"Rejected rows' reasons: not shown, {why_not}.")
    elif reasons:
        lines.append("Rejected rows, by reason (they count nowhere):")
        lines += [f"  {file}: {n:,} × {reason}" for file, reason, n in reasons]
    else:
        lines.append("Rejected rows: none in these files.")
    lines.append("")
    verdict = "equal to" if counted_total == value else "DIFFERENT FROM"
    lines.append(f"Total: the files give {counted_total:,}, {verdict} the published figure {value:,}.")
    return "\n".join(lines)

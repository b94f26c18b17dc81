"""A published warehouse file holding the seed report's figures, in the WAREHOUSE.md tables.

Built straight from vob/sample/published_figures.json (the copy of the seed's
transcription), so the report tests do not depend on the pipeline that fills
those tables: they check that what is published is what is shown.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import duckdb

from vob.landing.contract import CHANNEL_NAMES, CHANNELS
from vob.views.report_format import MONTH_NAMES
from warehouse.store import PUBLISHED_STORAGE_VERSION

FIGURES_PATH = (
    Path(__file__).parents[1] / "vob" / "sample" / "published_figures.json"
)  # the one copy of the seed's figures
CHANNEL_ORDER = CHANNELS
DIMENSION_NAMES = {
    "speed": ("سرعة التنفيذ", "Speed"),
    "outputs": ("المخرجات", "Outputs"),
    "procedures": ("الإجراءات", "Procedures"),
    "technology": ("التقنية", "Technology"),
    "employees": ("الموظفون", "Employees"),
}
# The seed cannot be read for the months of the participations (see its notes): these are plausible.
PARTICIPATION_MONTHS = ("2025-03", "2025-05", "2025-06", "2025-05", "2025-06")


def load_figures() -> dict:
    return json.loads(FIGURES_PATH.read_text(encoding="utf-8"))


def month_date(key: str) -> date:
    return date(int(key[:4]), int(key[5:7]), 1)


def build_published_warehouse(path: Path, figures: dict | None = None) -> dict:
    """Write the published DuckDB file at `path` (as `publish` would) and return the figures used."""
    figures = figures or load_figures()
    period = figures["period"]
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS published (STORAGE_VERSION '{PUBLISHED_STORAGE_VERSION}')")
    con.execute("USE published")
    try:
        con.execute("CREATE SCHEMA marts")
        con.execute(
            "CREATE TABLE marts.dim_channel (channel VARCHAR, name_ar VARCHAR, name_en VARCHAR, sort_order INTEGER)"
        )
        con.executemany(
            "INSERT INTO marts.dim_channel VALUES (?, ?, ?, ?)",
            [(c, *CHANNEL_NAMES[c], i + 1) for i, c in enumerate(CHANNELS)],
        )
        con.execute("CREATE TABLE marts.dim_dimension (dimension VARCHAR, name_ar VARCHAR, name_en VARCHAR)")
        con.executemany(
            "INSERT INTO marts.dim_dimension VALUES (?, ?, ?)", [(d, *names) for d, names in DIMENSION_NAMES.items()]
        )
        con.execute("CREATE TABLE marts.fct_channel_monthly (month DATE, channel VARCHAR, contacts BIGINT)")
        con.execute(
            "CREATE TABLE marts.fct_tickets_monthly (month DATE, snapshot_date DATE, "
            "tickets_total BIGINT, tickets_open BIGINT, tickets_closed BIGINT)"
        )
        columns = figures["channel_monthly"]["_columns"]
        snapshot = date.fromisoformat(figures["ticket_snapshot_date"])
        for key, values in figures["channel_monthly"].items():
            if key.startswith("_"):
                continue
            row = dict(zip(columns, values))
            con.executemany(
                "INSERT INTO marts.fct_channel_monthly VALUES (?, ?, ?)",
                [(month_date(key), c, row[c]) for c in CHANNEL_ORDER],
            )
            # an earlier snapshot with other figures: the report must show the latest one
            con.execute(
                "INSERT INTO marts.fct_tickets_monthly VALUES (?, ?, ?, ?, ?)",
                [month_date(key), date(2025, 6, 30), 999_991, 999_992, 999_993],
            )
            con.execute(
                "INSERT INTO marts.fct_tickets_monthly VALUES (?, ?, ?, ?, ?)",
                [month_date(key), snapshot, row["tickets_total"], row["tickets_open"], row["tickets_closed"]],
            )
        half = figures["half_year"]
        con.execute(
            "CREATE TABLE marts.fct_vob_half_year (period VARCHAR, beneficiaries BIGINT, notes BIGINT, "
            "plans_total BIGINT, plans_in_progress BIGINT, plans_implemented BIGINT)"
        )
        con.execute(
            "INSERT INTO marts.fct_vob_half_year VALUES (?, ?, ?, ?, ?, ?)",
            [
                period,
                half["beneficiaries"],
                half["notes"],
                half["plans_total"],
                half["plans_in_progress"],
                half["plans_implemented"],
            ],
        )
        con.execute(
            "CREATE TABLE marts.fct_feedback_dimension_half_year (period VARCHAR, dimension VARCHAR, "
            "tags BIGINT, share_pct DECIMAL(5,2))"
        )
        tags = {"speed": 2740, "outputs": 1237, "procedures": 103, "technology": 528, "employees": 392}
        con.executemany(
            "INSERT INTO marts.fct_feedback_dimension_half_year VALUES (?, ?, ?, ?)",
            [(period, d, tags[d], str(share)) for d, share in figures["dimension_share_pct"].items()],
        )
        con.execute(
            "CREATE TABLE marts.e_participations (period VARCHAR, title VARCHAR, kind VARCHAR, "
            "target_group VARCHAR, channel VARCHAR, month DATE, url VARCHAR)"
        )
        con.executemany(
            "INSERT INTO marts.e_participations VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (period, p["title_ar"], p["kind"], p["target_group"], p["channel"], month_date(m), p["url"])
                for p, m in zip(figures["e_participations"], PARTICIPATION_MONTHS)
            ],
        )
        con.execute(
            "CREATE TABLE marts.improvement_actions (period VARCHAR, action_no INTEGER, title VARCHAR, "
            "description VARCHAR, plan_id VARCHAR)"
        )
        con.executemany(
            "INSERT INTO marts.improvement_actions VALUES (?, ?, ?, ?, ?)",
            [(period, i + 1, title, title, f"P-{i + 1:03d}") for i, title in enumerate(figures["improvement_actions"])],
        )
        add_service_kpis(con, snapshot)
        add_figure_sources(con)
        # another period, which the report must leave out
        con.execute("INSERT INTO marts.fct_vob_half_year VALUES ('2024-H2', 1, 2, 3, 4, 5)")
        con.execute("INSERT INTO marts.fct_channel_monthly VALUES ('2024-12-01', 'calls', 777777)")
        con.execute("USE memory")
        con.execute("DETACH published")
    finally:
        con.close()
    return figures


# The KPI page's figures (not in the seed report): per month of 2025-H1, calls (abandonment rate,
# service level, p90 wait), chat rating, hours to close (p50, p90) at the latest snapshot; then the
# backlog by age band at the latest snapshot. An older snapshot holds other values (888.x), which
# the report must not show.
SERVICE_KPIS = {
    "2025-01": ("4.12", "81.35", "48.2", "4.31", "26.5", "140.3"),
    "2025-02": ("5.07", "78.90", "55.6", "4.27", "30.1", "151.7"),
    "2025-03": ("3.98", "83.41", "44.9", "4.35", "24.8", "133.2"),
    "2025-04": ("6.25", "72.16", "61.3", "4.19", "35.4", "170.6"),
    "2025-05": ("4.60", "80.02", "50.7", "4.40", "28.0", "144.9"),
    "2025-06": ("3.71", "85.64", "42.1", "4.44", "22.6", "128.5"),
}
SERVICE_BACKLOG = {"0-7d": 1234, "8-30d": 567, "31-90d": 89, ">90d": 12}


def add_dim_month(path: Path, in_progress: dict[str, date] | None = None, unpublished: tuple[str, ...] = ()) -> None:
    """marts.dim_month (WAREHOUSE.md, "Months in progress") in the published file at `path`: every month
    of 2025-H1 complete through its last day, except the months of `in_progress` (month -> data_through)
    and those of `unpublished` (no row); and a July in progress, which the H1 report must leave out."""
    in_progress = in_progress or {}
    rows = []
    for key in ("2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06", "2025-07"):
        if key in unpublished:
            continue
        month = month_date(key)
        last_day = date(month.year + month.month // 12, month.month % 12 + 1, 1) - timedelta(days=1)
        if key == "2025-07":
            rows.append((month, "in_progress", date(2025, 6, 30)))
        elif key in in_progress:
            rows.append((month, "in_progress", in_progress[key]))
        else:
            rows.append((month, "complete", last_day))
    con = duckdb.connect(str(path))
    try:
        con.execute(
            "CREATE TABLE marts.dim_month (month DATE, status VARCHAR, data_through DATE, "
            "name_ar VARCHAR, name_en VARCHAR)"
        )
        con.executemany(
            "INSERT INTO marts.dim_month VALUES (?, ?, ?, ?, ?)",
            [(m, status, through, MONTH_NAMES[m.month - 1], f"{m:%B}") for m, status, through in rows],
        )
    finally:
        con.close()


def add_figure_sources(con) -> None:
    """One landing file per channel figure, giving it the whole figure (the columns of warehouse/schema.sql)."""
    con.execute(
        "CREATE TABLE marts.figure_sources (table_name VARCHAR, figure_key VARCHAR, figure_value BIGINT, "
        "file VARCHAR, rows_read BIGINT, rows_rejected BIGINT, counted BIGINT, month DATE)"
    )
    con.execute("""INSERT INTO marts.figure_sources
                   SELECT 'fct_channel_monthly', strftime(month, '%Y-%m') || '|' || channel, contacts,
                          channel || '/' || channel || '_' || strftime(month, '%Y-%m') || '.csv',
                          contacts, 0, contacts, month
                   FROM marts.fct_channel_monthly""")


def add_service_kpis(con, snapshot: date) -> None:
    con.execute(
        "CREATE TABLE marts.fct_calls_service_monthly (month DATE, queue VARCHAR, offered BIGINT, "
        "answered BIGINT, abandoned BIGINT, abandon_rate_pct DECIMAL(5,2), service_level_20s_pct DECIMAL(5,2), "
        "avg_wait_s DECIMAL(9,1), p90_wait_s DECIMAL(9,1), avg_handle_s DECIMAL(9,1))"
    )
    con.execute(
        "CREATE TABLE marts.fct_chat_service_monthly (month DATE, entry_point VARCHAR, sessions BIGINT, "
        "rated BIGINT, avg_rating DECIMAL(3,2), p50_duration_s DECIMAL(9,1))"
    )
    con.execute(
        "CREATE TABLE marts.fct_ticket_resolution_monthly (month DATE, snapshot_date DATE, closed BIGINT, "
        "p50_hours_to_close DECIMAL(9,1), p90_hours_to_close DECIMAL(9,1))"
    )
    con.execute(
        "CREATE TABLE marts.fct_ticket_backlog (snapshot_date DATE, age_band VARCHAR, open_tickets BIGINT, "
        "sort_order INTEGER)"
    )
    older = date(2025, 6, 30)
    for key, (abandon, level, p90, rating, p50_h, p90_h) in SERVICE_KPIS.items():
        month = month_date(key)
        con.execute(
            "INSERT INTO marts.fct_calls_service_monthly VALUES (?, 'all', 1000, 950, 50, ?, ?, 20.0, ?, 180.0)",
            [month, abandon, level, p90],
        )
        # a queue's row: the report shows the `all` row only
        con.execute(
            "INSERT INTO marts.fct_calls_service_monthly VALUES (?, 'general', 10, 5, 5, 50.00, 1.00, "
            "888.1, 888.2, 888.3)",
            [month],
        )
        con.execute("INSERT INTO marts.fct_chat_service_monthly VALUES (?, 'all', 100, 80, ?, 300.0)", [month, rating])
        con.execute(
            "INSERT INTO marts.fct_ticket_resolution_monthly VALUES (?, ?, 40, ?, ?)", [month, snapshot, p50_h, p90_h]
        )
        con.execute("INSERT INTO marts.fct_ticket_resolution_monthly VALUES (?, ?, 40, 888.4, 888.5)", [month, older])
    for i, (band, n) in enumerate(SERVICE_BACKLOG.items()):
        con.execute("INSERT INTO marts.fct_ticket_backlog VALUES (?, ?, ?, ?)", [snapshot, band, n, i + 1])
        con.execute("INSERT INTO marts.fct_ticket_backlog VALUES (?, ?, 888, ?)", [older, band, i + 1])


def expected_figures(figures: dict) -> list[int]:
    """Every integer of the period the report must show."""
    numbers = []
    for key, values in figures["channel_monthly"].items():
        if not key.startswith("_"):
            numbers += values
    numbers += list(figures["half_year"].values())
    return numbers

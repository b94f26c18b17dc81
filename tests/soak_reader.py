"""A BI reader of the soak (tests/test_soak.py), run as its own process:

    python soak_reader.py WAREHOUSE_FILE WORKDIR NAME

In a loop until WORKDIR/stop appears: open the published file read-only, ask what the report
(vob.views.report_data.read_report_data) and the dashboard (the Superset datasets' own SQL,
bi/superset/bundle) ask, check that the answers agree with each other within that one connection,
close. Writes WORKDIR/NAME.json: queries answered, errors, inconsistent answers (the first ones
in full).
"""

import json
import sys
import time
import traceback
from pathlib import Path
from string import Template

import duckdb
import yaml

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from vob.views.report_data import read_report_data  # noqa: E402

DATASETS = REPO / "bi" / "superset" / "bundle" / "datasets" / "vob_warehouse"
DIM_MONTH = "SELECT month, status, data_through FROM marts.dim_month"
CHANNELS = ["calls", "email", "chat", "x", "sms", "self_service"]
KEEP = 20  # errors and inconsistencies kept in full


def dataset_sql(name: str) -> str:
    sql = yaml.safe_load((DATASETS / f"{name}.yaml").read_text(encoding="utf-8"))["sql"]
    return Template(sql).substitute(dim_month=DIM_MONTH)


DASHBOARD_MONTHS = dataset_sql("channel_contacts_monthly")
DASHBOARD_TICKETS = dataset_sql("tickets_latest_snapshot")

MONTH_TOTALS = "SELECT strftime(month, '%Y-%m'), sum(contacts) FROM marts.fct_channel_monthly GROUP BY ALL"
FIGURE_SOURCES_OFF = """
SELECT count(*) FROM (
    SELECT figure_key, any_value(figure_value) AS value, sum(counted) AS counted
    FROM marts.figure_sources WHERE table_name = 'fct_channel_monthly' GROUP BY figure_key
) AS f
FULL JOIN (
    SELECT strftime(month, '%Y-%m') || '|' || channel AS figure_key, contacts FROM marts.fct_channel_monthly
) AS c USING (figure_key)
WHERE f.value IS DISTINCT FROM c.contacts AND c.contacts <> 0 OR f.value <> f.counted
"""
CALLS_OFFERED_OFF = """
SELECT count(*) FROM marts.fct_channel_monthly AS c
JOIN marts.fct_calls_service_monthly AS s ON s.month = c.month AND s.queue = 'all'
WHERE c.channel = 'calls' AND s.offered <> c.contacts
"""
QUEUES_OFF = """
SELECT count(*) FROM (
    SELECT month, sum(offered) FILTER (WHERE queue <> 'all') AS queues, sum(offered) FILTER (WHERE queue = 'all') AS total
    FROM marts.fct_calls_service_monthly GROUP BY month
) WHERE queues IS DISTINCT FROM total
"""
MONTHS_WITHOUT_STATUS = """
SELECT count(DISTINCT f.month) FROM marts.fct_channel_monthly AS f ANTI JOIN marts.dim_month AS m USING (month)
"""


def check(con: duckdb.DuckDBPyConnection) -> tuple[int, list[str]]:
    """The queries of one visit, in one connection; (queries answered, what disagreed)."""
    problems: list[str] = []
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
    }
    if "fct_channel_monthly" not in tables:
        return 1, []  # published before any month: nothing to compare yet
    totals = dict(con.execute(MONTH_TOTALS).fetchall())
    dashboard = con.execute(DASHBOARD_MONTHS)
    columns = [d[0] for d in dashboard.description]
    for row in dashboard.fetchall():
        record = dict(zip(columns, row, strict=True))
        by_channel = sum(record[c] or 0 for c in CHANNELS)
        if not (by_channel == record["contacts_all"] == totals.get(record["month"])):
            problems.append(
                f"month {record['month']}: channels {by_channel}, dashboard total "
                f"{record['contacts_all']}, month total {totals.get(record['month'])}"
            )
    for month, snapshot, total, open_, closed in con.execute(DASHBOARD_TICKETS).fetchall():
        if open_ + closed != total:
            problems.append(f"tickets {month} at {snapshot}: {open_} open + {closed} closed != {total}")
    report = read_report_data(con, "2025-H1")
    for month in report.months:
        key = f"{month:%Y-%m}"
        in_report = sum(v for (m, _), v in report.contacts.items() if m == month)
        if key in totals and in_report != totals[key]:
            problems.append(f"report {key}: {in_report} contacts, month total {totals[key]}")
    queries = 4
    for name, sql in (
        ("figure sources", FIGURE_SOURCES_OFF),
        ("calls offered", CALLS_OFFERED_OFF),
        ("queues", QUEUES_OFF),
        ("months without status", MONTHS_WITHOUT_STATUS),
    ):
        off = con.execute(sql).fetchone()[0]  # type: ignore[index]
        queries += 1
        if off:
            problems.append(f"{name}: {off} row(s) disagree")
    return queries, problems


def main(path: str, workdir: str, name: str) -> int:
    work = Path(workdir)
    stop = work / "stop"
    answered = visits = 0
    errors: list[str] = []
    inconsistent: list[str] = []
    error_count = inconsistent_count = 0
    (work / f"{name}.ready").touch()
    while not stop.exists():
        if not Path(path).exists():
            time.sleep(0.5)
            continue
        try:
            con = duckdb.connect(path, read_only=True, config={"threads": 1})
            try:
                queries, problems = check(con)
            finally:
                con.close()
            answered += queries
            visits += 1
            if problems:
                inconsistent_count += 1
                if len(inconsistent) < KEEP:
                    inconsistent.append("; ".join(problems))
        except Exception:  # every error a reader meets is a finding
            error_count += 1
            if len(errors) < KEEP:
                errors.append(traceback.format_exc(limit=3))
        time.sleep(0.3)
    result = {
        "queries": answered,
        "visits": visits,
        "errors": error_count,
        "error_texts": errors,
        "inconsistent": inconsistent_count,
        "inconsistent_texts": inconsistent,
    }
    (work / f"{name}.json").write_text(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

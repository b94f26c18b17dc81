"""The seeded sample landing zone, checked by an independent reader.

The reader is plain DuckDB SQL over the files (bench/floor.sql for the channel
and ticket facts, the SQL below for the rest), applying the contract's rules
(shared/contract/LANDING.md): Riyadh month of each record's own timestamp,
distinct ids across files, sums of counts, the latest CRM snapshot, the
register rules. No pipeline code is used. The workbook is read with polars'
calamine engine (DuckDB has no built-in xlsx reader) and queried with SQL.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import duckdb
import polars as pl
import pytest

from vob.sample import SampleSummary, write_sample

REPO = Path(__file__).resolve().parent.parent
FLOOR_SQL = REPO / "bench" / "floor.sql"
FIGURES_COPY = REPO / "vob" / "sample" / "published_figures.json"
FIGURES_SEED = REPO.parent / "shared" / "seed" / "published_figures.json"
FIGURES = json.loads(FIGURES_COPY.read_text("utf-8"))
MONTHS = sorted(k for k in FIGURES["channel_monthly"] if not k.startswith("_"))
COLUMNS = FIGURES["channel_monthly"]["_columns"]
CHANNELS = ("calls", "email", "chat", "x", "sms", "self_service")
EVENTS = {  # source -> (id column, time column, offset suffix written)
    "calls": ("call_id", "offered_at", "+03:00"),
    "email": ("message_id", "received_at", "Z"),
    "chat": ("session_id", "started_at", "Z"),
}
JSON_KEYS = {  # read as written: text, except the chat rating
    "email": "{'message_id': 'VARCHAR', 'received_at': 'VARCHAR', 'mailbox': 'VARCHAR', "
    "'sender': 'VARCHAR', 'subject': 'VARCHAR', 'language': 'VARCHAR'}",
    "chat": "{'session_id': 'VARCHAR', 'started_at': 'VARCHAR', 'ended_at': 'VARCHAR', "
    "'entry_point': 'VARCHAR', 'visitor_id': 'VARCHAR', 'agent_id': 'VARCHAR', 'rating': 'INTEGER'}",
}
CALLS_CONTRACT_COLUMNS = [
    "call_id", "offered_at", "answered_at", "ended_at", "queue", "disposition", "caller_number",
]  # fmt: skip
PERIOD_START, PERIOD_END = date(2025, 1, 1), date(2025, 6, 30)


def published(month: str, column: str) -> int:
    return FIGURES["channel_monthly"][month][COLUMNS.index(column)]


def tree_digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


# --- fixtures ------------------------------------------------------------------


@pytest.fixture(scope="session")
def sample(tmp_path_factory) -> SampleSummary:
    return write_sample(tmp_path_factory.mktemp("landing"), scale=1.0, seed=2025)


@pytest.fixture(scope="session")
def con(sample):
    """DuckDB with the floor's facts and the raw rows of every source (all text)."""
    db = duckdb.connect()
    db.execute("SET TimeZone = 'UTC'")  # as on the project's machines
    db.execute("SET VARIABLE landing = ?", [str(sample.root)])
    db.execute(FLOOR_SQL.read_text("utf-8"))
    root = str(sample.root)
    for source in EVENTS:
        pattern = f"{root}/{source}/*/*/{source}_*.{'csv' if source == 'calls' else 'jsonl'}"
        reader = (
            # columns matched by name to the first file's (which lacks the added wrap_up_code)
            f"read_csv('{pattern}', header = true, all_varchar = true, filename = true)"
            if source == "calls"
            else f"read_json('{pattern}', format = 'newline_delimited', filename = true, columns = {JSON_KEYS[source]})"
        )
        id_column, time_column, _ = EVENTS[source]
        db.execute(
            f"""
            CREATE TABLE raw_{source} AS
            SELECT *, {id_column} AS record_id, {time_column}::VARCHAR AS ts_text,
                   {time_column}::TIMESTAMPTZ AS ts,
                   ({time_column}::TIMESTAMPTZ AT TIME ZONE 'Asia/Riyadh') AS local_ts,
                   strptime(regexp_extract(filename, '_(\\d{{4}}-\\d{{2}}-\\d{{2}})\\.', 1), '%Y-%m-%d')::DATE
                       AS file_date
            FROM {reader}
            """
        )
    db.execute(
        f"""
        CREATE TABLE raw_tickets AS
        SELECT *, strptime(regexp_extract(filename, 'tickets_(\\d{{4}}-\\d{{2}}-\\d{{2}})', 1), '%Y-%m-%d')::DATE
                  AS snapshot_date
        FROM read_csv('{root}/crm/tickets_*.csv', header = true, all_varchar = true, filename = true)
        """
    )
    db.execute(
        f"""
        CREATE TABLE raw_counts AS
        SELECT *, regexp_extract(filename, '/(x|sms|self_service)/', 1) AS channel
        FROM read_csv(['{root}/x/*.csv', '{root}/sms/*.csv', '{root}/self_service/*.csv'],
                      header = true, filename = true,
                      types = {{'date': 'DATE', 'category': 'VARCHAR', 'count': 'BIGINT'}})
        """
    )
    for sheet in ("feedback_notes", "corrective_plans", "e_participations", "improvement_actions"):
        frame = pl.read_excel(sample.registers_file, sheet_name=sheet, engine="calamine")
        db.register(f"{sheet}_frame", frame)
        db.execute(f"CREATE TABLE {sheet} AS SELECT * FROM {sheet}_frame")
    yield db
    db.close()


@pytest.fixture(scope="session")
def tenth(tmp_path_factory) -> SampleSummary:
    return write_sample(tmp_path_factory.mktemp("tenth"), scale=0.1, seed=7)


# --- the published figures -----------------------------------------------------


def test_the_shipped_figures_are_the_seed_figures():
    if not FIGURES_SEED.exists():
        pytest.skip("shared/seed is not next to this clone")
    assert json.loads(FIGURES_SEED.read_text("utf-8")) == FIGURES


@pytest.mark.parametrize("channel", CHANNELS)
def test_channel_contacts_reproduce_the_report(con, channel):
    got = dict(
        con.execute(
            "SELECT strftime(month, '%Y-%m'), contacts FROM fct_channel_monthly WHERE channel = ?",
            [channel],
        ).fetchall()
    )
    assert got == {m: published(m, channel) for m in MONTHS}


def test_tickets_of_the_latest_snapshot_reproduce_the_report(con):
    latest = con.execute("SELECT max(snapshot_date) FROM fct_tickets_monthly").fetchone()[0]
    assert latest == date.fromisoformat(FIGURES["ticket_snapshot_date"])
    rows = con.execute(
        """
        SELECT strftime(month, '%Y-%m'), tickets_total, tickets_open, tickets_closed
        FROM fct_tickets_monthly
        WHERE snapshot_date = ? AND month BETWEEN DATE '2025-01-01' AND DATE '2025-06-01'
        ORDER BY month
        """,
        [latest],
    ).fetchall()
    assert rows == [
        (m, published(m, "tickets_total"), published(m, "tickets_open"), published(m, "tickets_closed")) for m in MONTHS
    ]


def test_notes_and_dimension_shares(con):
    notes = con.execute(
        """
        SELECT count(DISTINCT note_id) FROM feedback_notes
        WHERE received_on BETWEEN DATE '2025-01-01' AND DATE '2025-06-30'
        """
    ).fetchone()[0]
    assert notes == FIGURES["half_year"]["notes"]
    shares = con.execute(
        """
        WITH period_notes AS (
            SELECT DISTINCT note_id, dimensions FROM feedback_notes
            WHERE received_on BETWEEN DATE '2025-01-01' AND DATE '2025-06-30'
        ),
        tags AS (
            SELECT note_id, trim(unnest(string_split(dimensions, ','))) AS dimension FROM period_notes
        ),
        per_dimension AS (SELECT dimension, count(*) AS tags FROM tags GROUP BY dimension)
        -- half up to two decimals, in exact integer arithmetic
        SELECT dimension,
               ((20000 * tags + sum(tags) OVER ()) // (2 * sum(tags) OVER ()))::INTEGER AS hundredths,
               tags
        FROM per_dimension
        """
    ).fetchall()
    assert {d: h / 100 for d, h, _ in shares} == FIGURES["dimension_share_pct"]
    assert sum(t for *_, t in shares) == 5000
    per_note = con.execute(
        """
        SELECT min(len(string_split(dimensions, ','))),
               max(len(string_split(dimensions, ',')) - len(list_distinct(string_split(dimensions, ','))))
        FROM feedback_notes
        """
    ).fetchone()
    assert per_note == (1, 0)  # at least one tag a note, none twice


def test_register_rows_outside_the_half_year_are_there_and_excluded(con, sample):
    outside = con.execute(
        "SELECT note_id FROM feedback_notes WHERE received_on NOT BETWEEN DATE '2025-01-01' AND DATE '2025-06-30'"
    ).fetchall()
    assert {n for (n,) in outside} == set(sample.notes_outside_period) != set()
    late = con.execute("SELECT plan_id FROM corrective_plans WHERE opened_on > DATE '2025-06-30'").fetchall()
    assert {p for (p,) in late} == set(sample.plans_outside_period) != set()


def test_corrective_plans(con):
    total, in_progress, implemented, before_2025 = con.execute(
        """
        SELECT count(*), count(*) FILTER (status = 'in_progress'), count(*) FILTER (status = 'implemented'),
               count(*) FILTER (opened_on < DATE '2025-01-01')
        FROM corrective_plans WHERE opened_on <= DATE '2025-06-30'
        """
    ).fetchone()
    half = FIGURES["half_year"]
    assert (total, in_progress, implemented) == (
        half["plans_total"],
        half["plans_in_progress"],
        half["plans_implemented"],
    )
    assert before_2025 > 0
    bad = con.execute(
        """
        SELECT count(*) FROM corrective_plans
        WHERE (status = 'implemented') <> (implemented_on IS NOT NULL)
           OR implemented_on < opened_on
           OR dimension NOT IN ('speed', 'outputs', 'procedures', 'technology', 'employees')
           OR NOT regexp_matches(title, '[\u0600-\u06ff]')
        """
    ).fetchone()[0]
    assert bad == 0
    assert con.execute("SELECT count(DISTINCT dimension) FROM corrective_plans").fetchone()[0] == 5


def test_e_participations_and_improvement_actions(con):
    rows = con.execute("SELECT title, kind, target_group, channel, month, url FROM e_participations").fetchall()
    assert rows == [
        (p["title_ar"], p["kind"], p["target_group"], p["channel"], m, p["url"])
        for p, m in zip(
            FIGURES["e_participations"], ["2025-03", "2025-05", "2025-06", "2025-06", "2025-05"], strict=True
        )
    ]
    actions = con.execute(
        """
        SELECT a.action_no, a.title, p.status, length(a.description) > 40
        FROM improvement_actions a LEFT JOIN corrective_plans p USING (plan_id)
        ORDER BY a.action_no
        """
    ).fetchall()
    assert actions == [(i, title, "implemented", True) for i, title in enumerate(FIGURES["improvement_actions"], 1)]


def test_beneficiaries(con, sample):
    query = """
        WITH latest AS (SELECT max(snapshot_date) AS d FROM raw_tickets),
        ticket_people AS (
            SELECT beneficiary_id FROM raw_tickets, latest
            WHERE snapshot_date = latest.d
              AND (created_at::TIMESTAMPTZ AT TIME ZONE 'Asia/Riyadh')
                  BETWEEN TIMESTAMP '2025-01-01' AND TIMESTAMP '2025-06-30 23:59:59'
              {ticket_filter}
        ),
        note_people AS (
            SELECT beneficiary_id FROM feedback_notes
            WHERE coalesce(beneficiary_id, '') <> '' {note_filter}
        )
        SELECT count(DISTINCT beneficiary_id) FROM (
            SELECT * FROM ticket_people UNION ALL SELECT * FROM note_people
        )
    """
    in_period = "AND received_on BETWEEN DATE '2025-01-01' AND DATE '2025-06-30'"
    count = con.execute(query.format(ticket_filter="", note_filter=in_period)).fetchone()[0]
    assert count == FIGURES["half_year"]["beneficiaries"] == sample.beneficiaries
    # the same whether or not notes outside the half-year are read
    assert con.execute(query.format(ticket_filter="", note_filter="")).fetchone()[0] == count
    # the notes bring people the tickets do not have; x notes have no id
    tickets_only = con.execute(query.format(ticket_filter="", note_filter="AND false")).fetchone()[0]
    assert 0 < count - tickets_only < 2000
    assert (
        con.execute(
            "SELECT count(*) FILTER (beneficiary_id IS NOT NULL) FROM feedback_notes WHERE source = 'x'"
        ).fetchone()[0]
        == 0
    )
    # backlog tickets of 2024 bring people who are not beneficiaries of the half-year
    everyone = con.execute(
        """
        SELECT count(DISTINCT beneficiary_id) FROM (
            SELECT beneficiary_id FROM raw_tickets WHERE snapshot_date = DATE '2025-07-01'
            UNION ALL SELECT beneficiary_id FROM feedback_notes WHERE beneficiary_id IS NOT NULL)
        """
    ).fetchone()[0]
    assert everyone > count


# --- the traps -------------------------------------------------------------------


@pytest.mark.parametrize("source", EVENTS)
def test_boundary_records_in_both_offsets(con, source, sample):
    """Every month edge has records in its last minute and the next one's first minute."""
    edges = [date(2025, m, 1) for m in range(2, 7)]
    for edge in edges:
        last, first = con.execute(
            f"""
            SELECT count(*) FILTER (local_ts >= ?::TIMESTAMP - INTERVAL 1 MINUTE AND local_ts < ?::TIMESTAMP),
                   count(*) FILTER (local_ts >= ?::TIMESTAMP AND local_ts < ?::TIMESTAMP + INTERVAL 1 MINUTE)
            FROM raw_{source}
            """,
            [edge, edge, edge, edge],
        ).fetchone()
        assert last > 0 and first > 0, (source, edge)
    # the exact seconds, as written in each source's own offset
    suffix = EVENTS[source][2]
    if suffix == "+03:00":
        wanted = ["2025-01-31T23:59:59+03:00", "2025-02-01T00:00:00+03:00"]
    else:
        wanted = ["2025-01-31T20:59:59Z", "2025-01-31T21:00:00Z"]
    written = {
        r[0]
        for r in con.execute(
            f"SELECT ts_text FROM raw_{source} WHERE list_contains(?::VARCHAR[], ts_text)", [wanted]
        ).fetchall()
    }
    assert written == set(wanted)
    records = [b for b in sample.boundary_records if b.source == source]
    assert {b.riyadh_month for b in records} == set(MONTHS)
    assert any(b.riyadh_month != b.utc_month for b in records)


@pytest.mark.parametrize("source", EVENTS)
def test_naive_utc_month_bucketing_gets_it_wrong(con, source):
    id_column = EVENTS[source][0]
    naive = dict(
        con.execute(
            f"""
            SELECT strftime(date_trunc('month', ts), '%Y-%m'), count(DISTINCT record_id)
            FROM raw_{source} GROUP BY 1
            """
        ).fetchall()
    )
    riyadh = {m: published(m, source) for m in MONTHS}
    assert naive.get("2024-12", 0) > 0  # the first hours of January, put in December
    wrong = [m for m in MONTHS if naive.get(m) != riyadh[m]]
    assert len(wrong) >= 5, (id_column, naive, riyadh)


@pytest.mark.parametrize("source", EVENTS)
def test_late_records_are_in_the_next_days_file(con, source, sample):
    late, across_months, in_july = con.execute(
        f"""
        SELECT count(*) FILTER (local_ts::DATE < file_date),
               count(*) FILTER (date_trunc('month', local_ts) < date_trunc('month', file_date)),
               count(*) FILTER (file_date = DATE '2025-07-01')
        FROM raw_{source}
        """
    ).fetchone()
    assert late > 0 and across_months > 0 and in_july > 0
    # e.g. a 31 January record in the first February file
    jan31 = con.execute(
        f"""
        SELECT count(*) FROM raw_{source}
        WHERE file_date = DATE '2025-02-01' AND local_ts::DATE = DATE '2025-01-31'
          AND local_ts::TIME >= TIME '23:30:00'
        """
    ).fetchone()[0]
    assert jan31 > 0
    # the July file holds only 30 June records (the tail of the last export)
    july_days = con.execute(
        f"SELECT DISTINCT local_ts::DATE FROM raw_{source} WHERE file_date = DATE '2025-07-01'"
    ).fetchall()
    assert july_days == [(date(2025, 6, 30),)]
    assert sample.next_month_rows[source] > 0


@pytest.mark.parametrize("source", EVENTS)
def test_some_records_repeat_identically_in_two_consecutive_files(con, source, sample):
    repeated = con.execute(
        f"""
        WITH per_id AS (
            SELECT record_id, count(*) AS copies, count(DISTINCT file_date) AS files,
                   max(file_date) - min(file_date) AS days_apart,
                   count(DISTINCT ts_text) AS timestamps
            FROM raw_{source} GROUP BY record_id
        )
        SELECT record_id, copies, files, days_apart, timestamps FROM per_id WHERE copies > 1
        """
    ).fetchall()
    distinct = con.execute(f"SELECT count(DISTINCT record_id) FROM raw_{source}").fetchone()[0]
    assert {r[0] for r in repeated} == set(sample.repeated_ids[source])
    assert all(r[1:] == (2, 2, 1, 1) for r in repeated)
    assert 0.002 < len(repeated) / distinct < 0.004


def test_repeated_rows_are_identical(con):
    differing = con.execute(
        """
        SELECT count(*) FROM (
            SELECT record_id FROM raw_calls
            GROUP BY record_id
            HAVING count(*) > 1
               AND count(DISTINCT (offered_at, answered_at, ended_at, queue, disposition, caller_number)) > 1
        )
        """
    ).fetchone()[0]
    assert differing == 0


def test_a_march_calls_file_was_redelivered(sample, con):
    path = sample.redelivered_file
    assert path.exists() and path.parent == sample.root / "calls" / "2025" / "03"
    first, final = sample.redelivered_rows
    assert 0 < first < final
    rows = con.execute("SELECT count(*) FROM raw_calls WHERE filename = ?", [str(path)]).fetchone()[0]
    assert rows == final


def test_calls_columns_come_in_another_order_and_one_is_added_later(sample):
    for path in sorted((sample.root / "calls").rglob("*.csv")):
        header = path.open(encoding="utf-8").readline().rstrip("\n").split(",")
        assert set(CALLS_CONTRACT_COLUMNS) <= set(header), path
        assert header[: len(CALLS_CONTRACT_COLUMNS)] != CALLS_CONTRACT_COLUMNS
        export_day = date.fromisoformat(path.stem.removeprefix("calls_"))
        assert (sample.extra_column in header) == (export_day >= sample.extra_column_from), path
    assert sample.extra_column_from == date(2025, 4, 1)


# --- what the files look like ------------------------------------------------------


def test_calls_look_like_call_detail_records(con):
    checks = con.execute(
        """
        SELECT count(*) FILTER (NOT regexp_matches(caller_number, '^\\+9665\\d{8}$')),
               count(*) FILTER (disposition NOT IN ('answered', 'abandoned')),
               count(*) FILTER ((disposition = 'abandoned') <> (answered_at IS NULL)),
               count(*) FILTER (ended_at::TIMESTAMPTZ < offered_at::TIMESTAMPTZ
                                OR ended_at::TIMESTAMPTZ < answered_at::TIMESTAMPTZ
                                OR answered_at::TIMESTAMPTZ < offered_at::TIMESTAMPTZ),
               count(*) FILTER (NOT (offered_at LIKE '%+03:00' AND ended_at LIKE '%+03:00')),
               avg((disposition = 'abandoned')::INT),
               count(DISTINCT queue),
               count(DISTINCT record_id) = count(DISTINCT (record_id, ts_text))
        FROM raw_calls
        """
    ).fetchone()
    assert checks[:5] == (0, 0, 0, 0, 0)
    assert 0.08 <= checks[5] <= 0.12
    assert 4 <= checks[6] <= 10
    assert checks[7]


def test_waits_and_handle_times_differ_from_month_to_month(con):
    """Waits follow how busy the hour is and the month's staffing: the p90 wait is no flat line."""
    by_month = con.execute(
        """
        SELECT date_trunc('month', local_ts) AS month,
               quantile_cont(epoch(answered_at::TIMESTAMPTZ - ts), 0.9) AS p90_wait,
               avg(epoch(ended_at::TIMESTAMPTZ - answered_at::TIMESTAMPTZ)) AS avg_handle,
               avg((disposition = 'abandoned')::INT) AS abandoned
        FROM (SELECT DISTINCT ON (record_id) * FROM raw_calls)
        WHERE local_ts >= TIMESTAMP '2025-01-01' AND local_ts < TIMESTAMP '2025-07-01'
        GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    p90, handle, abandoned = ([row[i] for row in by_month] for i in (1, 2, 3))
    assert len(p90) == 6
    assert len(set(p90)) == 6 and max(p90) - min(p90) >= 15, p90  # seconds
    assert max(handle) - min(handle) >= 10, handle
    assert max(abandoned) - min(abandoned) >= 0.01, abandoned
    assert 60 <= min(p90) and max(p90) <= 180  # a plausible contact centre


def test_emails_look_like_a_mail_gateway_log(con, sample):
    checks = con.execute(
        """
        SELECT count(*) FILTER (NOT regexp_matches(message_id, '^<[^<>@\\s]+@mail\\.moj\\.gov\\.sa>$')),
               count(*) FILTER (NOT regexp_matches(sender, '^[a-z0-9._]+@[a-z0-9.-]+\\.[a-z]+$')),
               count(*) FILTER (mailbox LIKE '%@%'),
               count(*) FILTER (language NOT IN ('ar', 'en')),
               count(*) FILTER (NOT ts_text LIKE '%Z'),
               avg(regexp_matches(subject, '[\u0600-\u06ff]')::INT),
               count(*) FILTER ((language = 'ar') <> regexp_matches(subject, '[\u0600-\u06ff]'))
        FROM raw_email
        """
    ).fetchone()
    assert checks[:5] == (0, 0, 0, 0, 0)
    assert checks[5] > 0.8 and checks[6] == 0
    some_file = next((sample.root / "email").rglob("*.jsonl"))
    text = some_file.read_text("utf-8")
    assert "\\u06" not in text and any("\u0600" <= ch <= "\u06ff" for ch in text)  # UTF-8, not escaped


def test_chats_look_like_a_chat_platform_log(con):
    checks = con.execute(
        """
        SELECT count(*) FILTER (entry_point NOT IN ('web', 'app')),
               count(*) FILTER (rating IS NOT NULL AND rating NOT BETWEEN 1 AND 5),
               count(*) FILTER (rating IS NULL) > 0,
               count(*) FILTER (ended_at::TIMESTAMPTZ < started_at::TIMESTAMPTZ),
               count(*) FILTER (NOT (ts_text LIKE '%Z' AND ended_at::VARCHAR LIKE '%Z')),
               count(*) FILTER (visitor_id IS NULL)
        FROM raw_chat
        """
    ).fetchone()
    assert checks == (0, 0, True, 0, 0, 0)


@pytest.mark.parametrize("source", EVENTS)
def test_every_day_has_late_evening_and_after_midnight_records(con, source):
    days = con.execute(
        f"""
        SELECT local_ts::DATE AS day,
               count(*) FILTER (hour(local_ts) < 2) AS after_midnight,
               count(*) FILTER (hour(local_ts) >= 22) AS late_evening
        FROM raw_{source}
        WHERE local_ts::DATE BETWEEN DATE '2025-01-01' AND DATE '2025-06-30'
        GROUP BY day
        """
    ).fetchall()
    assert len(days) == 181
    assert all(after > 0 and late > 0 for _, after, late in days)


def test_business_hours_and_working_days_are_busier(con):
    by_hour = dict(con.execute("SELECT hour(local_ts), count(*) FROM raw_calls GROUP BY 1").fetchall())
    assert by_hour[10] > 5 * by_hour[3]
    # isodow: Friday 5, Saturday 6
    weekday, weekend = con.execute(
        """
        SELECT avg(n) FILTER (isodow(day) NOT IN (5, 6)), avg(n) FILTER (isodow(day) IN (5, 6))
        FROM (SELECT local_ts::DATE AS day, count(*) AS n FROM raw_calls GROUP BY 1)
        """
    ).fetchone()
    assert weekday > 1.5 * weekend


def test_daily_count_files(con, sample):
    checks = con.execute(
        """
        SELECT count(*) FILTER ("count" < 0),
               count(*) - count(DISTINCT (channel, "date", category)),
               count(*) FILTER (channel = 'x' AND category NOT IN ('mention', 'reply', 'direct_message'))
        FROM raw_counts
        """
    ).fetchone()
    assert checks == (0, 0, 0)
    days = con.execute(
        'SELECT channel, count(DISTINCT "date"), min("date"), max("date") FROM raw_counts GROUP BY 1'
    ).fetchall()
    assert sorted(days) == [(c, 181, PERIOD_START, PERIOD_END) for c in ("self_service", "sms", "x")]
    # each file holds its own month's dates only
    misplaced = con.execute(
        """
        SELECT count(*) FROM raw_counts
        WHERE strftime("date", '%Y-%m') <> regexp_extract(filename, '_(\\d{4}-\\d{2})\\.csv$', 1)
        """
    ).fetchone()[0]
    assert misplaced == 0
    # self-service files come with a byte-order mark and CRLF line endings
    raw = (sample.root / "self_service" / "self_service_2025-01.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfdate,") and b"\r\n" in raw


def test_crm_snapshots(con, sample):
    snapshots = [d for (d,) in con.execute("SELECT DISTINCT snapshot_date FROM raw_tickets ORDER BY 1").fetchall()]
    assert snapshots == [date(2025, 4, 1), date(2025, 6, 1), date(2025, 7, 1)]
    assert [p.name for p in sample.snapshot_files] == [f"tickets_{d}.csv" for d in snapshots]
    bad = con.execute(
        """
        SELECT count(*) FILTER (created_at::TIMESTAMPTZ >= snapshot_date::TIMESTAMP AT TIME ZONE 'Asia/Riyadh'),
               count(*) FILTER ((status IN ('resolved', 'closed')) <> (closed_at IS NOT NULL)),
               count(*) FILTER (status NOT IN ('new', 'in_progress', 'pending', 'resolved', 'closed')),
               count(*) FILTER (closed_at::TIMESTAMPTZ >= snapshot_date::TIMESTAMP AT TIME ZONE 'Asia/Riyadh'
                                OR closed_at::TIMESTAMPTZ < created_at::TIMESTAMPTZ),
               count(*) FILTER (NOT regexp_matches(beneficiary_id, '^[12]\\d{9}$')),
               count(*) FILTER (NOT created_at LIKE '%+03:00' OR NOT coalesce(closed_at, '+03:00') LIKE '%+03:00'),
               count(*) FILTER (channel NOT IN ('calls', 'email', 'chat', 'x', 'self_service')),
               count(*) - count(DISTINCT (snapshot_date, ticket_id))
        FROM raw_tickets
        """
    ).fetchone()
    assert bad == (0,) * 8
    # every snapshot holds every ticket created before its date; statuses only move forward
    inconsistent = con.execute(
        """
        SELECT count(*) FROM raw_tickets o
        LEFT JOIN raw_tickets n ON n.ticket_id = o.ticket_id AND n.snapshot_date > o.snapshot_date
        WHERE o.snapshot_date < DATE '2025-07-01'
          AND (n.ticket_id IS NULL
               OR (o.closed_at IS NOT NULL AND (n.closed_at IS DISTINCT FROM o.closed_at
                                                OR n.status NOT IN ('resolved', 'closed'))))
        """
    ).fetchone()[0]
    assert inconsistent == 0
    complete = con.execute(
        """
        SELECT snapshot_date, count(*) FROM raw_tickets
        WHERE created_at::TIMESTAMPTZ < TIMESTAMPTZ '2025-04-01 00:00:00+03:00' GROUP BY 1 ORDER BY 1
        """
    ).fetchall()
    assert len({n for _, n in complete}) == 1
    open_by = {
        (m.strftime("%Y-%m"), d): n
        for m, d, n in con.execute("SELECT month, snapshot_date, tickets_open FROM fct_tickets_monthly").fetchall()
    }
    for month in MONTHS[:5]:  # older snapshots have more open tickets
        assert open_by[(month, date(2025, 6, 1))] > open_by[(month, date(2025, 7, 1))], month
    for month in MONTHS[:3]:
        assert open_by[(month, date(2025, 4, 1))] > open_by[(month, date(2025, 6, 1))], month
    backlog = con.execute(
        "SELECT count(*) FROM raw_tickets WHERE snapshot_date = DATE '2025-07-01' AND created_at < '2025-01'"
    ).fetchone()[0]
    assert backlog > 0
    open_june = published("2025-06", "tickets_open")
    assert open_june == max(published(m, "tickets_open") for m in MONTHS)


def test_national_ids_pass_the_luhn_check(con):
    failing = con.execute(
        """
        WITH ids AS (SELECT DISTINCT beneficiary_id AS id FROM raw_tickets),
        digits AS (
            SELECT id, i, (id[i])::INT AS d FROM ids, range(1, 11) AS r(i)
        )
        SELECT count(*) FROM (
            SELECT id, sum(CASE WHEN i % 2 = 1 THEN (2 * d) // 10 + (2 * d) % 10 ELSE d END) AS s
            FROM digits GROUP BY id
        ) WHERE s % 10 <> 0
        """
    ).fetchone()[0]
    assert failing == 0


def test_registers_workbook(sample):
    sheets = pl.read_excel(sample.registers_file, sheet_id=0, engine="calamine")
    assert list(sheets) == ["feedback_notes", "corrective_plans", "e_participations", "improvement_actions"]
    assert sheets["feedback_notes"].columns == [
        "note_id", "received_on", "source", "beneficiary_id", "dimensions", "summary",
    ]  # fmt: skip
    assert sheets["corrective_plans"].columns == [
        "plan_id", "title", "dimension", "status", "opened_on", "implemented_on",
    ]  # fmt: skip
    assert sheets["e_participations"].columns == ["title", "kind", "target_group", "channel", "month", "url"]
    assert sheets["improvement_actions"].columns == ["action_no", "title", "description", "plan_id"]
    notes = sheets["feedback_notes"]
    assert notes.schema["received_on"] == pl.Date  # real Excel dates
    assert set(notes.get_column("source").unique()) == {"najiz_ticket", "survey", "x"}
    assert notes.get_column("summary").str.contains("[\u0600-\u06ff]").all()


# --- the generator itself ------------------------------------------------------------


def test_summary_describes_the_files(sample):
    root = sample.root
    for source, files in sample.files.items():
        on_disk = [p for p in (root / source).rglob("*") if p.is_file()]
        assert len(on_disk) == files, source
    assert sample.files["calls"] == sample.files["email"] == sample.files["chat"] == 182  # + 1 July
    assert sample.contacts["calls"] == {m: published(m, "calls") for m in MONTHS}
    assert sample.tickets == {
        m: (published(m, "tickets_total"), published(m, "tickets_open"), published(m, "tickets_closed")) for m in MONTHS
    }
    assert sample.latest_snapshot.name == "tickets_2025-07-01.csv"


def test_a_tenth_of_the_scale_gives_a_tenth_of_the_rows(sample, tenth):
    for source in ("calls", "email", "chat", "crm"):
        ratio = tenth.rows[source] / sample.rows[source]
        assert 0.095 < ratio < 0.105, (source, ratio)
    for channel in ("x", "sms", "self_service"):
        total = sum(tenth.contacts[channel].values()) / sum(sample.contacts[channel].values())
        assert 0.099 < total < 0.101
    assert tenth.rows["registers.feedback_notes"] == sample.rows["registers.feedback_notes"]


def test_same_seed_same_bytes_and_a_rerun_replaces_the_zone(tenth, tmp_path):
    again = write_sample(tmp_path / "again", scale=0.1, seed=7)
    assert tree_digest(again.root) == tree_digest(tenth.root)
    stray = again.root / "calls" / "2024" / "12" / "calls_2024-12-31.csv"
    stray.parent.mkdir(parents=True)
    stray.write_text("call_id\n", encoding="utf-8")
    keep = again.root / ".vob_sample"  # not a source folder: left alone
    keep.write_text("marker\n", encoding="utf-8")
    write_sample(again.root, scale=0.1, seed=7)
    assert not stray.exists() and keep.exists()
    keep.unlink()
    assert tree_digest(again.root) == tree_digest(tenth.root)
    other = write_sample(tmp_path / "other", scale=0.1, seed=8)
    assert tree_digest(other.root) != tree_digest(tenth.root)

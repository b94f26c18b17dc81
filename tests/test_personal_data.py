"""Personal data: a landing zone full of it leaves none in any DuckDB file, log or event,
and the HMAC key never leaves the environment."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from conftest import query, run_job
from landing_files import (
    CALL_COLUMNS,
    call,
    chat,
    csv_text,
    email,
    event_path,
    ticket,
    write_calls,
    write_crm,
    write_jsonl,
    write_raw,
)
from serving_env import module_env

KEY = "Kq7-unit-test-secret-9f3e-never-stored"
TS = "2025-03-10T10:00:00+03:00"
Z = "2025-03-10T07:00:00Z"

PHONES = [
    "+966551234567",
    "0551234568",
    "966551234569",
    "00966551234570",
    "+966551234571",
    "0551234572",
    "+966551234574",
    "0551234575",
    "0551234576",
    "+966551234577",
    "0551234578",
    "0551234579",
    "+966 55 123 4581",
]
EMAILS = [
    "ahmad.ali@example.sa",
    "noura@example.com",
    "sara@example.org",
    "omar@example.net",
    "layla@example.sa",
    "CAF1@mail.example.sa",
    "CAF2@mail.example.sa",
    "CAF3@mail.example.sa",
    "CAF4@mail.example.sa",
]
NATIONAL_IDS = ["1012345678", "2098765432", "1011111111", "1022222222", "1098765432", "2033333333"]
VISITORS = ["V-778899", "V-665544", "V-443322"]
ARABIC_INDIC = ["٠٥٥١٢٣٤٥٨٢", "١٠٤٤٤٤٤٤٤٤"]  # a mobile number and a national id in Arabic-Indic digits

PATTERNS = {
    "phone": r"\+?9665[0-9]{8}|05[0-9]{8}",
    "e-mail": r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+",
    "national id": r"\b[12][0-9]{9}\b",
}


BLOCKED_WORK_DB = "work_after_blocked_run.duckdb"


def write_pii_landing(landing: Path) -> None:
    # calls: valid rows with numbers in every format, rejected rows whose reason or line shows one
    write_calls(
        landing,
        date(2025, 3, 10),
        [
            call("C1", TS, caller_number=PHONES[0]),
            call("C2", TS, caller_number=PHONES[1]),
            call("C3", TS, caller_number=PHONES[2]),
            call("C4", PHONES[4], caller_number=PHONES[3]),  # bad timestamp: the reason quotes it
            call("C5", TS, disposition=PHONES[5]),  # bad enum: the reason quotes it
            call("C6", TS, caller_number=PHONES[12]),
        ],
    )
    # a file exported without its header: the "header" the error shows is a data row
    path = event_path(landing, "calls", date(2025, 3, 11))
    write_raw(path, csv_text([call("C7", TS, caller_number=PHONES[6])], CALL_COLUMNS).split("\n", 1)[1])
    # a line in Windows-1256 (Arabic queue name) with a number
    line = f"C8,{TS},,,عام,answered,{PHONES[7]}\n".encode("cp1256")
    write_raw(event_path(landing, "calls", date(2025, 3, 12)), csv_text([call("C9", TS)], CALL_COLUMNS).encode() + line)
    # e-mail: senders, Message-IDs, Arabic subjects holding numbers, addresses and ids
    good = email(f"<{EMAILS[5]}>", Z, sender=EMAILS[0], subject=f"رقم جوالي {PHONES[8]} وبريدي {EMAILS[1]}")
    bad = email(
        f"<{EMAILS[6]}>",
        "not a time",
        sender=EMAILS[2],
        subject=f"هويتي {NATIONAL_IDS[4]} جوالي {PHONES[9]} أو {ARABIC_INDIC[0]} وهوية والدي {ARABIC_INDIC[1]}",
    )
    escaped = json.dumps(
        email(f"<{EMAILS[7]}>", "yesterday", sender=EMAILS[4], subject=f"أرجو الاتصال {PHONES[11]}"), ensure_ascii=True
    )
    broken = (
        f'{{"message_id": "<{EMAILS[8]}>", "received_at": "{Z}", "sender": "{EMAILS[3]}", '
        f'"subject": "اتصل على {PHONES[10]} أو هويتي {NATIONAL_IDS[5]}'
    )
    write_raw(
        event_path(landing, "email", date(2025, 3, 10)),
        "\n".join([json.dumps(good, ensure_ascii=False), json.dumps(bad, ensure_ascii=False), escaped, broken]) + "\n",
    )
    # chat: visitor ids, in valid and rejected records
    write_jsonl(
        landing,
        "chat",
        date(2025, 3, 10),
        [
            chat("S1", Z, visitor_id=VISITORS[0]),
            chat("S2", "bad", visitor_id=VISITORS[1]),
            chat("S3", Z, visitor_id=VISITORS[2], rating=PHONES[1]),
        ],
    )
    # CRM: national ids, in valid rows, a rule violation and a bad enum
    write_crm(
        landing,
        date(2025, 4, 1),
        [
            ticket("T1", TS, beneficiary_id=NATIONAL_IDS[0]),
            ticket("T2", TS, beneficiary_id=NATIONAL_IDS[1]),
            ticket("T3", TS, status="closed", closed_at="", beneficiary_id=NATIONAL_IDS[2]),
            ticket("T4", TS, status=NATIONAL_IDS[3]),
        ],
    )


def text_values(path: Path) -> list[tuple[str, str]]:
    """(table.column, value) of every text value of every table of a DuckDB file."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE database_name = current_database() AND NOT internal AND data_type = 'VARCHAR'"
        ).fetchall()
        found = []
        for schema, table, column in columns:
            for (value,) in con.execute(
                f'SELECT DISTINCT "{column}" FROM "{schema}"."{table}" WHERE "{column}" IS NOT NULL'
            ).fetchall():
                found.append((f"{schema}.{table}.{column}", value))
        return found
    finally:
        con.close()


def personal_data_in(text: str) -> list[str]:
    hits = [f"{name}: {m}" for name, pattern in PATTERNS.items() for m in re.findall(pattern, text)]
    clear = PHONES + EMAILS + NATIONAL_IDS + VISITORS + ARABIC_INDIC + [p.replace(" ", "") for p in PHONES]
    return hits + [f"clear value {v}" for v in clear if v in text]


@pytest.fixture(scope="module")
def pii_run(tmp_path_factory):
    """One `vob run --month 2025-03` (in process, persistent Dagster instance) on a landing
    zone full of personal data; shared by the tests below. Returns (settings, exit status,
    printed output, root folder, number of Dagster runs, what the UI shows of them)."""
    from pipelines.runner import run_period
    from vob.base.periods import parse_period

    root = tmp_path_factory.mktemp("pii")
    output = io.StringIO()
    # this zone is mostly bad rows, on purpose: no reject threshold
    with module_env(root, VOB_PII_KEY=KEY, VOB_REJECT_THRESHOLD_PCT="100") as settings:
        write_pii_landing(settings.landing_dir)
        with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
            # the header-less file blocks the month (quality gate): keep what that run wrote,
            # take the file away as an operator would, and run again to publish
            blocked = run_period(parse_period("2025-03"), settings)
            assert blocked == 1
            shutil.copy(settings.work_db, root / BLOCKED_WORK_DB)
            event_path(settings.landing_dir, "calls", date(2025, 3, 11)).unlink()
            status = run_period(parse_period("2025-03"), settings)
        import dagster as dg

        instance = dg.DagsterInstance.get()
        shown = []  # what the UI shows of the runs: log messages and asset metadata
        for run in instance.get_runs():
            for entry in instance.all_logs(run.run_id):
                shown.append(entry.user_message or "")
                event = entry.dagster_event
                if event is not None and event.is_step_materialization:
                    for name, value in event.step_materialization_data.materialization.metadata.items():
                        shown.append(f"{name}: {value.value}")
        runs = len(instance.get_runs())
    return settings, status, output.getvalue(), root, runs, "\n".join(shown)


def test_no_personal_data_in_any_text_column_of_the_published_or_working_database(pii_run):
    settings, status, *_ = pii_run
    assert status == 0
    # the run did see the data: rows loaded and rejected, ids hashed
    assert (
        query(settings.warehouse_path, "SELECT sum(contacts) FROM marts.fct_channel_monthly WHERE channel = 'calls'")[
            0
        ][0]
        == 5
    )
    assert query(settings.work_db, "SELECT count(*) FROM quality.rejected_rows")[0][0] >= 9
    blocked_work_db = settings.work_db.parent.parent.parent / BLOCKED_WORK_DB
    assert query(blocked_work_db, "SELECT count(*) FROM meta.landing_files WHERE file_error LIKE '%header%'") == [(1,)]
    # the published file holds no hashed ids either (WAREHOUSE.md): aggregates and names only
    published = text_values(settings.warehouse_path)
    assert not [where for where, _ in published if where.endswith("_hmac")]
    assert not [(where, v) for where, v in published if re.fullmatch(r"[a-p]{64}", v)]
    assert query(
        settings.warehouse_path,
        "SELECT count(*) FROM duckdb_columns() WHERE schema_name = 'marts' AND column_name LIKE '%hmac%'",
    ) == [(0,)]
    for path in (settings.warehouse_path, settings.work_db, blocked_work_db):
        values = text_values(path)
        assert values, path
        leaks = [f"{where}: {hit}" for where, value in values for hit in personal_data_in(value)]
        assert leaks == [], f"{path}:\n" + "\n".join(leaks)


def test_what_a_rejected_line_shows_is_masked_but_still_readable(pii_run):
    settings, *_ = pii_run
    rows = dict(
        query(
            settings.work_db,
            "SELECT line_no || ' ' || file, record || ' | ' || reason "
            "FROM quality.rejected_rows WHERE source = 'calls'",
        )
    )
    shown = "\n".join(rows.values())
    assert "<phone>" in shown and "C4" in shown and "unparseable timestamp offered_at" in shown
    emails = "\n".join(
        r for (r,) in query(settings.work_db, "SELECT record FROM quality.rejected_rows WHERE source = 'email'")
    )
    assert '"sender":"<redacted>"' in emails and "هويتي" in emails


def test_the_key_never_enters_a_database_a_log_or_dagster_events(pii_run):
    settings, status, output, root, runs, shown = pii_run
    assert status == 0
    assert "published" in output and KEY not in output
    assert personal_data_in(output) == []
    # every file the run wrote: DuckDB files, the Dagster instance (event log, runs), logs
    written = [p for p in root.rglob("*") if p.is_file() and "landing" not in p.parts]
    assert any(p.suffix == ".duckdb" for p in written) and any("dagster_home" in p.parts for p in written)
    clear = [v.encode() for v in PHONES + EMAILS + NATIONAL_IDS + VISITORS + ARABIC_INDIC]
    for path in written:
        data = path.read_bytes()
        assert KEY.encode() not in data, path
        if path.suffix not in (".duckdb", ".wal"):  # DuckDB compresses text: scanned by value above
            assert [v for v in clear if v in data] == [], path
    for path in (settings.warehouse_path, settings.work_db):
        assert all(KEY not in value for _, value in text_values(path))
    # the Dagster runs as the UI shows them
    assert runs == 2  # monthly_refresh blocked, then monthly_refresh (facts and publish in one run)
    assert "rows_rejected" in shown and "preview" in shown and "file_errors" in shown
    assert KEY not in shown
    assert personal_data_in(shown) == []


def test_a_run_on_real_data_without_a_key_refuses_to_start(vob_env, tmp_path):
    write_calls(vob_env.landing_dir, date(2025, 3, 10), [call("C1", TS)])
    env = {k: v for k, v in os.environ.items() if k != "VOB_PII_KEY"}
    vob = Path(sys.executable).with_name("vob")
    command = [str(vob)] if vob.exists() else [sys.executable, "-m", "pipelines.cli"]
    done = subprocess.run([*command, "run", "--month", "2025-03"], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2, done.stderr
    assert "VOB_PII_KEY" in done.stderr and "export VOB_PII_KEY" in done.stderr
    assert not vob_env.warehouse_path.exists() and not vob_env.work_db.exists()


@pytest.mark.slow  # two whole `vob run` processes
def test_the_key_from_a_mounted_secret_file_hashes_alike_and_leaves_no_trace(tmp_path):
    """VOB_PII_KEY_FILE (a Docker/Kubernetes secret): same hashes as the key itself, and the
    key in no output and in no file the run wrote; both the variable and the file: refused."""
    from vob.landing.personal_data import pii_hash

    write_calls(
        tmp_path / "landing", date(2025, 3, 10), [call(f"C{i}", TS, caller_number=p) for i, p in enumerate(PHONES[:3])]
    )
    secret = tmp_path / "secrets" / "vob_pii_key"
    secret.parent.mkdir()
    secret.write_text(KEY + "\n")  # one trailing newline, as `echo` writes it: not part of the key
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOB_", "DAGSTER_"))}
    env.update(
        VOB_LANDING_DIR=str(tmp_path / "landing"),
        VOB_WAREHOUSE=str(tmp_path / "warehouse" / "vob.duckdb"),
        DAGSTER_HOME=str(tmp_path / "dagster_home"),
        VOB_PII_KEY_FILE=str(secret),
    )
    vob = Path(sys.executable).with_name("vob")
    command = [str(vob)] if vob.exists() else [sys.executable, "-m", "pipelines.cli"]

    both = subprocess.run(
        [*command, "run", "--month", "2025-03"],
        env={**env, "VOB_PII_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert both.returncode == 2
    assert "both VOB_PII_KEY and VOB_PII_KEY_FILE are set" in both.stderr and KEY not in both.stderr + both.stdout
    assert not (tmp_path / "warehouse").exists()

    done = subprocess.run([*command, "run", "--month", "2025-03"], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    work_db = tmp_path / "warehouse" / "vob_work" / "work.duckdb"
    assert sorted(query(work_db, "SELECT caller_number_hmac FROM raw.calls")) == sorted(
        (pii_hash(p, KEY.encode()),) for p in PHONES[:3]
    )
    assert KEY not in done.stdout + done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file() and not {"landing", "secrets"} & set(p.parts)]
    assert any(p.suffix == ".duckdb" for p in written) and any("dagster_home" in p.parts for p in written)
    assert [p for p in written if KEY.encode() in p.read_bytes()] == []


def test_a_sample_landing_zone_runs_with_the_documented_demo_key(vob_env, monkeypatch):
    from vob.base.settings import SAMPLE_MARKER, SAMPLE_PII_KEY
    from vob.landing.personal_data import pii_hash

    monkeypatch.delenv("VOB_PII_KEY")
    write_calls(vob_env.landing_dir, date(2025, 3, 10), [call("C1", TS, caller_number=PHONES[0])])
    (vob_env.landing_dir / SAMPLE_MARKER).write_text("written by vob sample\n")
    assert run_job("2025-03").success
    assert query(vob_env.work_db, "SELECT caller_number_hmac FROM raw.calls") == [
        (pii_hash(PHONES[0], SAMPLE_PII_KEY.encode()),)
    ]

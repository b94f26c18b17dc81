"""`vob explain` for the half-year marts and the service KPIs, on a small landing zone run by the
real assets (monthly job, half-year job, publish), then the real CLI. Each test reads the
published row itself and recomputes the figure from the parts the explanation prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from conftest import RANGE_END, RANGE_START, landing_env, query
from landing_files import call, chat, ticket, write_calls, write_crm, write_jsonl
from registers_files import note, plan, write_workbook

REPO = Path(__file__).parents[1]
PERIOD = "2025-H1"
ALICE, BOB, DANA = "1012345678", "1023456789", "2045678901"
T = "2025-03-10T10:00:00+03:00"


def at(seconds: float) -> str:
    return (datetime.fromisoformat(T) + timedelta(seconds=seconds)).isoformat()


def answered(call_id: str, wait: float, handle: float | None, queue: str = "general") -> dict:
    ended = "" if handle is None else at(wait + handle)
    return call(call_id, T, "answered", queue=queue, answered_at=at(wait), ended_at=ended)


def abandoned(call_id: str) -> dict:
    return call(call_id, T, "abandoned", answered_at="", ended_at=at(30))


def write_landing(landing: Path) -> None:
    # March's calls: waits 3, 7, 21 (general), 12, 45 (vip); two abandoned; C1 again in the next export
    write_calls(
        landing,
        date(2025, 3, 10),
        [
            answered("C1", 3, 60),
            answered("C2", 7, 120),
            answered("C3", 12, 30, queue="vip"),
            abandoned("C4"),
            answered("C5", 45, None, queue="vip"),
            call("C-bad", "not a time"),
        ],
    )
    write_calls(landing, date(2025, 3, 11), [answered("C1", 3, 60), answered("C6", 21, 90), abandoned("C7")])
    start = "2025-03-10T07:00:00Z"
    write_jsonl(
        landing,
        "chat",
        date(2025, 3, 10),
        [
            chat("S1", start, ended_at="2025-03-10T07:01:00Z", entry_point="web", rating=5),
            chat("S2", start, ended_at="2025-03-10T07:01:30Z", entry_point="web", rating=4),
            chat("S3", start, ended_at="2025-03-10T07:00:30Z", entry_point="app", rating=2),
            chat("S4", start, ended_at=None, entry_point="app", rating=None),
        ],
    )
    write_crm(
        landing,
        date(2025, 7, 1),
        [
            ticket("T1", "2025-01-05T10:00:00+03:00", "closed", "2025-06-02T10:00:00+03:00", beneficiary_id=ALICE),
            ticket("T2", "2025-03-10T10:00:00+03:00", beneficiary_id=BOB),
            ticket("T3", "2025-06-10T10:00:00+03:00", "resolved", "2025-06-11T16:00:00+03:00", beneficiary_id=ALICE),
            ticket("T4", "2025-05-01T10:00:00+03:00", "closed", "2025-06-20T10:00:00+03:00"),
            ticket("T-bad", "2025-05-01T10:00:00+03:00", "closed"),  # closed without closed_at: rejected
        ],
    )
    write_workbook(
        landing,
        PERIOD,
        notes=[
            note("N1", date(2025, 1, 10), "speed, outputs", beneficiary_id=ALICE),  # Alice has tickets too
            note("N2", date(2025, 2, 10), "speed", beneficiary_id=DANA),
            note("N3", date(2025, 3, 1), "procedures"),
            note("N4", date(2025, 4, 1), "speed"),
            note("N5", date(2025, 4, 2), "colour"),  # rejected: no such dimension
            note("N6", date(2025, 5, 2), "technology, employees"),
        ],
        plans=[
            plan("P1", "speed", "implemented", date(2025, 2, 1), date(2025, 3, 1)),
            plan("P2", "outputs", "in_progress", date(2025, 4, 1)),
        ],
    )


@pytest.fixture(scope="module")
def explained(tmp_path_factory) -> dict:
    """The monthly job over the half-year (it publishes), the half-year job, then publish."""
    import dagster as dg

    from assets.resources import vob_resources
    from pipelines.definitions import defs
    from vob.base.settings import load_settings

    root = tmp_path_factory.mktemp("explain")
    env = landing_env(root)
    write_landing(root / "landing")
    resources = vob_resources(env)
    monthly = defs.resolve_job_def("monthly_refresh").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        tags={RANGE_START: "2025-01", RANGE_END: "2025-06"},
        resources=resources,
    )
    assert monthly.success
    half = defs.resolve_job_def("half_year_facts").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=PERIOD, resources=resources
    )
    assert half.success
    defs.resolve_job_def("publish").execute_in_process(instance=dg.DagsterInstance.ephemeral(), resources=resources)
    return {"settings": load_settings(env), "env": env, "root": root}


def vob_explain(run: dict, *key: str, env_extra: dict | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("VOB_")}
    env.update(run["env"], PYTHONPATH=str(REPO), **(env_extra or {}))
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "explain", *key],
        env=env,
        cwd=run["root"],
        capture_output=True,
        text=True,
        timeout=120,
    )


def published(run: dict, sql: str, params: dict | None = None) -> list[tuple]:
    return query(run["settings"].warehouse_path, sql, params)


def explanation(run: dict, *key: str) -> str:
    out = vob_explain(run, *key)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    return out.stdout


def part(text: str, name: str) -> Fraction:
    """A part printed as `  [numerator|denominator]  NAME = VALUE` (thousands separators, ` s`)."""
    match = re.search(rf"^ +(?:numerator +|denominator +)?{re.escape(name)} = ([-\d,./]+)", text, re.M)
    assert match, f"no part {name!r} in:\n{text}"
    return Fraction(match[1].replace(",", ""))


def half_up(value: Fraction, places: str) -> Decimal:
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal(places), ROUND_HALF_UP)


def quantile(text: str, fraction: str, per: int = 1) -> Decimal:
    """The quantile re-done from the printed count and the two values it lies between."""
    count = int(part(text, "values"))
    h = Fraction(fraction) * (count - 1)
    k = int(h)
    lo, hi = part(text, f"value {k + 1}"), part(text, f"value {min(k + 2, count)}")
    return half_up((lo + (h - k) * (hi - lo)) / per, "0.1")


def file_table(text: str) -> dict[str, list[str]]:
    """The files' table: first cell -> the other cells."""
    lines = text.split("what each read, rejected and gives:\n", 1)[1].split("\n\n", 1)[0].splitlines()
    cells = [re.split(r" {2,}", line.strip()) for line in lines[1:]]
    return {row[0]: row[1:] for row in cells}


# ---------------------------------------------------------------- half-year


def test_a_half_year_figure_shows_its_beneficiaries_from_tickets_and_notes(explained):
    text = explanation(explained, "fct_vob_half_year", "2025-H1", "beneficiaries")
    [(value, on_tickets, on_notes, snapshot)] = published(
        explained,
        "SELECT beneficiaries, ticket_beneficiaries, note_beneficiaries, ticket_snapshot_date "
        "FROM marts.fct_vob_half_year WHERE period = '2025-H1'",
    )
    assert (value, on_tickets, on_notes, snapshot) == (3, 2, 2, date(2025, 7, 1))  # Alice once, Bob, Dana
    assert text.startswith(f"fct_vob_half_year 2025-H1|beneficiaries = {value}\n")
    assert f"as the warehouse holds it: beneficiaries {value}, notes 5," in text
    assert part(text, "of tickets") == on_tickets
    assert part(text, "of notes") == on_notes
    assert part(text, "of tickets") + part(text, "of notes") - part(text, "on both") == value
    files = file_table(text)
    assert files["crm/tickets_2025-07-01.csv"] == ["5", "1", "2"]  # rows read, rejected, beneficiaries
    assert files["registers/vob_registers_2025-H1.xlsx (sheet feedback_notes)"] == ["6", "1", "2"]
    assert "crm/tickets_2025-07-01.csv: 1 × closed ticket without closed_at" in text
    assert 'registers/vob_registers_2025-H1.xlsx: 1 × unknown dimension(s) "colour"' in text
    assert f"Total: the records give {value}, equal to the published figure {value}." in text
    for clear_id in (ALICE, BOB, DANA):
        assert clear_id not in text


def test_every_half_year_measure_is_explained_with_its_published_value(explained):
    names = ("beneficiaries", "notes", "plans_total", "plans_in_progress", "plans_implemented")
    names += ("ticket_beneficiaries", "note_beneficiaries")
    [row] = published(explained, f"SELECT {', '.join(names)} FROM marts.fct_vob_half_year")
    assert row == (3, 5, 2, 1, 1, 2, 2)
    for name, value in zip(names, row):
        text = explanation(explained, "fct_vob_half_year", "2025-H1", name)
        assert text.startswith(f"fct_vob_half_year 2025-H1|{name} = {value}\n")
        assert f"equal to the published figure {value}." in text


def test_a_dimension_share_shows_its_tags_over_all_tags(explained):
    text = explanation(explained, "fct_feedback_dimension_half_year", "2025-H1", "speed", "share_pct")
    rows = dict(
        published(
            explained,
            "SELECT dimension, tags FROM marts.fct_feedback_dimension_half_year WHERE period = $p",
            {"p": PERIOD},
        )
    )
    [(share,)] = published(
        explained,
        "SELECT share_pct FROM marts.fct_feedback_dimension_half_year WHERE period = '2025-H1' AND dimension = 'speed'",
    )
    assert (rows["speed"], sum(rows.values()), share) == (3, 7, Decimal("42.86"))
    assert text.startswith("fct_feedback_dimension_half_year 2025-H1|speed|share_pct = 42.86\n")
    assert f"as the warehouse holds it: tags 3, share_pct {share}\n" in text
    assert part(text, "tags") == rows["speed"]
    assert part(text, "all tags") == sum(rows.values())
    assert half_up(part(text, "tags") * 100 / part(text, "all tags"), "0.01") == share
    assert file_table(text)["registers/vob_registers_2025-H1.xlsx (sheet feedback_notes)"] == ["6", "1", "3", "7"]
    assert "Total: the records give 42.86, equal to the published figure 42.86." in text

    tags = explanation(explained, "fct_feedback_dimension_half_year", "2025-H1|outputs|tags")
    assert tags.startswith("fct_feedback_dimension_half_year 2025-H1|outputs|tags = 1\n")
    plans = explanation(explained, "corrective_plans_by_dimension", "2025-H1", "speed", "plans_implemented")
    assert "Total: the records give 1, equal to the published figure 1." in plans


# ---------------------------------------------------------------- service KPIs


def calls_row(run: dict, queue: str) -> dict:
    cursor_sql = (
        "SELECT offered, answered, abandoned, abandon_rate_pct, service_level_20s_pct, avg_wait_s, p90_wait_s, "
        "avg_handle_s FROM marts.fct_calls_service_monthly WHERE month = DATE '2025-03-01' AND queue = $q"
    )
    [row] = published(run, cursor_sql, {"q": queue})
    names = ("offered", "answered", "abandoned", "abandon_rate_pct", "service_level_20s_pct", "avg_wait_s")
    return dict(zip((*names, "p90_wait_s", "avg_handle_s"), row))


def test_a_rate_shows_its_numerator_and_denominator_and_their_files(explained):
    row = calls_row(explained, "all")
    assert (row["offered"], row["abandoned"], row["abandon_rate_pct"]) == (7, 2, Decimal("28.57"))
    text = explanation(explained, "fct_calls_service_monthly", "2025-03", "all", "abandon_rate_pct")
    assert text.startswith("fct_calls_service_monthly 2025-03|all|abandon_rate_pct = 28.57\n")
    assert (part(text, "abandoned"), part(text, "offered")) == (row["abandoned"], row["offered"])
    assert half_up(part(text, "abandoned") * 100 / part(text, "offered"), "0.01") == row["abandon_rate_pct"]
    files = file_table(text)
    # rows read, rejected, abandoned, offered: C1 is counted in the later export only
    assert files["calls/2025/03/calls_2025-03-10.csv"] == ["6", "1", "1", "4"]
    assert files["calls/2025/03/calls_2025-03-11.csv"] == ["3", "0", "1", "3"]
    assert files["total"] == ["9", "1", "2", "7"]
    assert "calls/2025/03/calls_2025-03-10.csv: 1 × unparseable timestamp offered_at" in text
    assert "Total: the records give 28.57, equal to the published figure 28.57." in text

    level = explanation(explained, "fct_calls_service_monthly", "2025-03|all|service_level_20s_pct")
    assert half_up(part(level, "within_20s") * 100 / part(level, "offered"), "0.01") == row["service_level_20s_pct"]
    assert part(level, "within_20s") == 3  # waits 3, 7, 12


def test_an_average_shows_the_sum_and_the_count_it_divides(explained):
    row = calls_row(explained, "general")
    text = explanation(explained, "fct_calls_service_monthly", "2025-03", "general", "avg_wait_s")
    assert text.startswith(f"fct_calls_service_monthly 2025-03|general|avg_wait_s = {row['avg_wait_s']}\n")
    assert (part(text, "wait_sum"), part(text, "waits")) == (3 + 7 + 21, 3)  # C1, C2, C6
    assert half_up(part(text, "wait_sum") / part(text, "waits"), "0.1") == row["avg_wait_s"] == Decimal("10.3")
    assert "Total: the records give 10.3, equal to the published figure 10.3." in text

    chat = explanation(explained, "fct_chat_service_monthly", "2025-03", "all", "avg_rating")
    [(rating,)] = published(
        explained,
        "SELECT avg_rating FROM marts.fct_chat_service_monthly WHERE month = DATE '2025-03-01' AND entry_point = 'all'",
    )
    assert (part(chat, "rating_sum"), part(chat, "rated"), rating) == (11, 3, Decimal("3.67"))
    assert half_up(part(chat, "rating_sum") / part(chat, "rated"), "0.01") == rating


def test_a_quantile_shows_its_values_count_and_the_values_it_lies_between(explained):
    row = calls_row(explained, "all")
    text = explanation(explained, "fct_calls_service_monthly", "2025-03", "all", "p90_wait_s")
    assert text.startswith(f"fct_calls_service_monthly 2025-03|all|p90_wait_s = {row['p90_wait_s']}\n")
    assert part(text, "values") == row["answered"] == 5  # waits 3, 7, 12, 21, 45
    assert "position = 0.9 × (5 − 1) = 3.6: between value 4 and value 5" in text
    assert (part(text, "value 4"), part(text, "value 5")) == (21, 45)
    assert quantile(text, "0.9") == row["p90_wait_s"] == Decimal("35.4")  # 21 + 0.6 × 24
    assert file_table(text)["total"] == ["9", "1", "5"]

    [(closed, p90_hours)] = published(
        explained,
        "SELECT closed, p90_hours_to_close FROM marts.fct_ticket_resolution_monthly "
        "WHERE month = DATE '2025-06-01' AND snapshot_date = DATE '2025-07-01'",
    )
    hours = explanation(explained, "fct_ticket_resolution_monthly", "2025-06", "2025-07-01", "p90_hours_to_close")
    assert part(hours, "values") == closed == 3  # T1, T3, T4 closed in June
    assert quantile(hours, "0.9", per=3600) == p90_hours
    assert f"equal to the published figure {p90_hours}." in hours

    backlog = explanation(explained, "fct_ticket_backlog", "2025-07-01", "31-90d")
    [(open_tickets,)] = published(
        explained, "SELECT open_tickets FROM marts.fct_ticket_backlog WHERE age_band = '31-90d'"
    )
    assert f"fct_ticket_backlog 2025-07-01|31-90d = {open_tickets}\n" in backlog  # T2, 113 days: >90d
    assert f"equal to the published figure {open_tickets}." in backlog


def test_without_the_working_database_the_published_row_is_shown_and_the_reason(explained, tmp_path):
    out = vob_explain(
        explained,
        "fct_calls_service_monthly",
        "2025-03",
        "all",
        "p90_wait_s",
        env_extra={"VOB_WORK_DIR": str(tmp_path)},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("fct_calls_service_monthly 2025-03|all|p90_wait_s = 35.4\n")
    published_row = (
        "the published row, as the warehouse holds it: offered 7, answered 5, abandoned 2, abandon_rate_pct 28.57"
    )
    assert published_row in out.stdout
    assert f"not shown, the working database {tmp_path / 'work.duckdb'} is not here." in out.stdout


@pytest.mark.parametrize(
    "key, message",
    [
        (
            ("fct_calls_service_monthly", "2025-03", "all", "abandon_rate"),
            "'abandon_rate' is not a measure of fct_calls_service_monthly: fct_calls_service_monthly takes "
            "MONTH QUEUE MEASURE, e.g. `2025-03 all abandon_rate_pct` (measures: offered, answered, abandoned, "
            "abandon_rate_pct, service_level_20s_pct, avg_wait_s, p90_wait_s, avg_handle_s)",
        ),
        (
            ("fct_calls_service_monthly", "2025-03", "abandon_rate_pct"),
            "fct_calls_service_monthly takes MONTH QUEUE MEASURE",
        ),
        (
            ("fct_calls_service_monthly", "2025-03", "bulk", "offered"),
            "no published figure fct_calls_service_monthly 2025-03|bulk|offered "
            "(published queue values of 2025-03: all, general, vip)",
        ),
        (
            ("fct_vob_half_year", "2024-H2", "notes"),
            "no published figure fct_vob_half_year 2024-H2|notes (published periods: 2025-H1)",
        ),
        (("fct_vob_half_year", "2025-13", "notes"), "'2025-13' is not a half-year (e.g. 2025-H1)"),
        (
            ("fct_feedback_dimension_half_year", "2025-H1", "speed", "share"),
            "(measures: tags, share_pct)",
        ),
        (("fct_ticket_backlog", "2025-07-01"), "fct_ticket_backlog takes SNAPSHOT_DATE AGE_BAND, e.g."),
        (("e_participations", "2025-H1"), "marts.e_participations lists the half-year's e-participations"),
        (("fct_nothing", "2025-03"), "unknown table 'fct_nothing': vob explain knows fct_channel_monthly"),
    ],
)
def test_a_wrong_key_gets_one_line_naming_what_is_valid(explained, key, message):
    out = vob_explain(explained, *key)
    assert out.returncode == 2
    assert out.stdout == ""
    assert message in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert "Traceback" not in out.stderr

"""Write the whole sample landing zone and describe what was written."""

from __future__ import annotations

import shutil
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from . import clock, counts, crm, events, people, registers
from .events import BoundaryRecord
from .figures import PublishedFigures, load_published_figures

SOURCE_DIRS = ("calls", "email", "chat", "x", "sms", "self_service", "crm", "registers")
PEOPLE_STREAM = 41


@dataclass(frozen=True)
class SampleSummary:
    """What `write_sample` wrote. Paths are absolute; months are 'YYYY-MM'."""

    root: Path
    period: str  # 2025-H1
    scale: float
    seed: int
    files: dict[str, int]  # source -> files on disk
    rows: dict[str, int]  # source -> data rows on disk (duplicates and all snapshots included)
    contacts: dict[str, dict[str, int]]  # channel -> month -> contacts by the contract's rule
    tickets: dict[str, tuple[int, int, int]]  # month -> (total, open, closed), latest snapshot
    beneficiaries: int  # distinct beneficiaries of the period
    repeated_ids: dict[str, tuple[str, ...]]  # event source -> ids written to two daily files
    next_day_rows: dict[str, int]  # event source -> late records written to the next day's file
    next_month_rows: dict[str, int]  # ... of which into the next month's first file
    boundary_records: tuple[BoundaryRecord, ...]  # deliberate month-edge records
    redelivered_file: Path  # the calls file delivered twice (final content on disk)
    redelivered_rows: tuple[int, int]  # (first delivery, corrected delivery)
    extra_column: str  # calls column not in the contract ...
    extra_column_from: date  # ... present in files exported from this date
    snapshot_files: tuple[Path, ...]  # CRM snapshots, oldest first
    registers_file: Path
    notes_outside_period: tuple[str, ...]  # note_ids in the workbook but not in the half-year
    plans_outside_period: tuple[str, ...]  # plan_ids opened after the half-year
    seconds: float  # generation time

    @property
    def latest_snapshot(self) -> Path:
        return self.snapshot_files[-1]


def _period_seconds(figures: PublishedFigures) -> tuple[int, int]:
    first = clock.month_bounds(*figures.months[0].year_month)[0]
    end = clock.month_bounds(*figures.months[-1].year_month)[1]
    return first * clock.DAY_S, end * clock.DAY_S


def _clear(out: Path) -> None:
    for name in SOURCE_DIRS:
        shutil.rmtree(out / name, ignore_errors=True)


def _ticket_months(figures: PublishedFigures, scale: float) -> list[tuple[int, int, int, int]]:
    backlog = [(y, m, clock.scaled(n, scale), clock.scaled(o, scale)) for y, m, n, o in crm.BACKLOG_MONTHS]
    period = [
        (*m.year_month, clock.scaled(m.tickets_total, scale), clock.scaled(m.tickets_open, scale))
        for m in figures.months
    ]
    return backlog + period


def _tickets_by_month(tickets: pl.DataFrame, period: tuple[int, int]) -> dict[str, tuple[int, int, int]]:
    """(total, open, closed) per creation month in the latest snapshot."""
    latest_s = clock.day_number(crm.SNAPSHOT_DATES[-1]) * clock.DAY_S
    table = (
        tickets.filter(pl.col("created_s").is_between(period[0], period[1], closed="left"))
        .group_by(pl.col("created_at").str.slice(0, 7).alias("month"))
        .agg(
            pl.len().alias("total"),
            (pl.col("closed_s").is_null() | (pl.col("closed_s") >= latest_s)).sum().alias("open"),
        )
        .sort("month")
    )
    return {r["month"]: (r["total"], r["open"], r["total"] - r["open"]) for r in table.iter_rows(named=True)}


def _write_event_sources(out: Path, figures: PublishedFigures, scale: float, seed: int) -> dict:
    """calls, email, chat: daily files of single records; source -> its report."""
    reports = {}
    for source in events.EVENT_SOURCES:
        months = [(*m.year_month, clock.scaled(m.contacts[source.name], scale)) for m in figures.months]
        reports[source.name] = events.write_event_source(source, out, months, seed)
    return reports


def _write_count_sources(out: Path, figures: PublishedFigures, scale: float, seed: int) -> dict:
    """x, sms, self_service: monthly files of daily counts; source -> its report."""
    reports = {}
    for source in counts.COUNT_SOURCES:
        months = [(*m.year_month, clock.scaled(m.contacts[source.name], scale)) for m in figures.months]
        reports[source.name] = counts.write_count_source(source, out, months, seed)
    return reports


def _plan_beneficiaries(figures: PublishedFigures, ticket_months: list, scale: float, seed: int):
    """Who raises the period's tickets and who answers surveys, so the distinct count is the published one."""
    period_tickets = sum(t for y, m, t, _ in ticket_months if (y, m) >= figures.months[0].year_month)
    return people.plan_beneficiaries(
        np.random.default_rng([seed, PEOPLE_STREAM]),
        ticket_people=clock.scaled(figures.beneficiaries - registers.SURVEY_NEW_PEOPLE, scale),
        survey_people=registers.SURVEY_NEW_PEOPLE,
        period_tickets=period_tickets,
    )


def _period_beneficiaries(tickets: pl.DataFrame, period: tuple[int, int], note_beneficiary_ids) -> int:
    """Distinct beneficiaries of the period: on its tickets and on its notes."""
    period_ticket_people = (
        tickets.filter(pl.col("created_s").is_between(period[0], period[1], closed="left"))
        .get_column("beneficiary_id")
        .unique()
    )
    return pl.concat([period_ticket_people, note_beneficiary_ids]).n_unique()


def _files_written(event_reports: dict, count_reports: dict, crm_report) -> dict[str, int]:
    return {
        **{k: r.files for k, r in event_reports.items()},
        **{k: r.files for k, r in count_reports.items()},
        "crm": crm_report.files,
        "registers": 1,
    }


def _rows_written(event_reports: dict, count_reports: dict, crm_report, register_report) -> dict[str, int]:
    return {
        **{k: r.rows for k, r in event_reports.items()},
        **{k: r.rows for k, r in count_reports.items()},
        "crm": sum(crm_report.snapshots.values()),
        **{f"registers.{k}": v for k, v in register_report.rows.items()},
    }


def _contacts_by_rule(event_reports: dict, count_reports: dict) -> dict[str, dict[str, int]]:
    return {
        **{k: dict(r.records) for k, r in event_reports.items()},
        **{k: dict(r.totals) for k, r in count_reports.items()},
    }


def write_sample(out: Path, scale: float = 1.0, seed: int = 2025) -> SampleSummary:
    """Write the 2025-H1 sample landing zone under `out` (see LANDING.md).

    Clears the source folders first, so a re-run gives the same zone. At
    scale 1 the contract's rules give every published figure exactly; `scale`
    multiplies channel and ticket volumes, registers keep their size.
    """
    if scale <= 0:
        raise ValueError(f"scale must be positive, got {scale}")
    started = time.perf_counter()
    out = Path(out)
    figures = load_published_figures()
    out.mkdir(parents=True, exist_ok=True)
    _clear(out)
    period = _period_seconds(figures)

    event_reports = _write_event_sources(out, figures, scale, seed)
    count_reports = _write_count_sources(out, figures, scale, seed)
    ticket_months = _ticket_months(figures, scale)
    plan = _plan_beneficiaries(figures, ticket_months, scale, seed)
    tickets = crm.generate_tickets(ticket_months, plan, seed, period)
    crm_report = crm.write_snapshots(tickets, out, period)
    register_report = registers.write_registers(out, figures, plan, seed)

    calls = event_reports["calls"]
    assert calls.redelivery is not None
    return SampleSummary(
        root=out,
        period=figures.period,
        scale=scale,
        seed=seed,
        files=_files_written(event_reports, count_reports, crm_report),
        rows=_rows_written(event_reports, count_reports, crm_report, register_report),
        contacts=_contacts_by_rule(event_reports, count_reports),
        tickets=_tickets_by_month(tickets, period),
        beneficiaries=_period_beneficiaries(tickets, period, register_report.note_beneficiary_ids),
        repeated_ids={k: tuple(r.repeated_ids) for k, r in event_reports.items()},
        next_day_rows={k: r.next_day_rows for k, r in event_reports.items()},
        next_month_rows={k: r.next_month_rows for k, r in event_reports.items()},
        boundary_records=tuple(b for r in event_reports.values() for b in r.boundary_records),
        redelivered_file=out / calls.redelivery.file,
        redelivered_rows=(calls.redelivery.first_rows, calls.redelivery.final_rows),
        extra_column=events.CALLS_EXTRA_COLUMN,
        extra_column_from=events.CALLS_EXTRA_COLUMN_FROM,
        snapshot_files=tuple(out / crm.relative_path(d) for d in crm.SNAPSHOT_DATES),
        registers_file=out / registers.RELATIVE_PATH,
        notes_outside_period=register_report.notes_outside_period,
        plans_outside_period=register_report.plans_outside_period,
        seconds=time.perf_counter() - started,
    )

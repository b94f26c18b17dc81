"""CRM ticket dumps: full snapshots `crm/tickets_YYYY-MM-DD.csv`.

Every ticket has one life: created_at, and closed_at (the moment it was
resolved) or none yet at the latest snapshot. A snapshot taken at the start of
day D lists every ticket created before D with its status as of D: closed when
closed_at < D (`resolved`, then `closed` after AUTO_CLOSE_DAYS), otherwise open
(`new` on its first day, then `in_progress` or `pending`) with an empty
closed_at. So older snapshots have more open tickets and a closed ticket stays
closed. The CRM went live in October 2024: Q4 2024 tickets are the backlog.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import polars as pl

from . import clock, vocab
from .people import BeneficiaryPlan

STREAM = 21
SNAPSHOT_DATES = (date(2025, 4, 1), date(2025, 6, 1), date(2025, 7, 1))
# Months before the period: (year, month, tickets created, still open at the latest snapshot)
BACKLOG_MONTHS = ((2024, 10, 30_000, 9), (2024, 11, 45_000, 21), (2024, 12, 65_000, 48))
AUTO_CLOSE_DAYS = 3
PENDING_SHARE = 0.3  # open tickets waiting on the beneficiary
OPEN_RECENCY_DAYS = 20.0  # recent tickets are likelier to be still open


@dataclass
class CrmReport:
    files: int = 0
    snapshots: dict[str, int] = field(default_factory=dict)  # relative path -> rows
    tickets: int = 0  # tickets in the latest snapshot
    period_tickets: int = 0  # ... created in the period


def resolution_seconds(rng: np.random.Generator, n: int) -> np.ndarray:
    """How long a ticket took to resolve: most within a day, a tail over months."""
    u = rng.random(n)
    quick = rng.exponential(6 * clock.HOUR_S, n)
    days = rng.uniform(1, 7, n) * clock.DAY_S
    weeks = rng.uniform(7, 45, n) * clock.DAY_S
    months = rng.uniform(45, 150, n) * clock.DAY_S
    took = np.select([u < 0.6, u < 0.87, u < 0.97], [quick, days, weeks], months)
    return np.maximum(120, took).astype(np.int64)


def still_open(rng: np.random.Generator, created: np.ndarray, n_open: int, latest_s: int) -> np.ndarray:
    """Choose exactly `n_open` tickets still open at the latest snapshot.

    Weighted sampling without replacement (Efraimidis-Spirakis keys u**(1/w)),
    weights decaying with age; tickets of the last two hours before the
    snapshot are always among them when there is room.
    """
    age_days = (latest_s - created) / clock.DAY_S
    keys = rng.random(len(created)) ** (1.0 / np.exp(-age_days / OPEN_RECENCY_DAYS))
    keys = np.where(latest_s - created < 2 * clock.HOUR_S, 2.0, keys)
    chosen = np.zeros(len(created), dtype=bool)
    chosen[np.argsort(-keys, kind="stable")[:n_open]] = True
    return chosen


def month_tickets(
    rng: np.random.Generator, year: int, month: int, total: int, n_open: int, latest_s: int
) -> pl.DataFrame:
    times = clock.month_times(rng, year, month, total, clock.TICKETS_PROFILE)
    created = times.riyadh_s
    open_ = still_open(rng, created, n_open, latest_s)
    took = resolution_seconds(rng, total)
    late = created + took >= latest_s  # would close after the snapshot: close earlier
    took = np.where(late, ((latest_s - created) * rng.uniform(0.1, 0.9, total)).astype(np.int64), took)
    p_channel = np.asarray(vocab.TICKET_CHANNEL_WEIGHTS)
    p_category = np.asarray(vocab.TICKET_CATEGORY_WEIGHTS)
    return pl.DataFrame(
        {
            "created_s": created,
            "closed_s": pl.Series(created + took).set(pl.Series(open_), None),
            "channel": pl.Series(vocab.TICKET_CHANNELS).gather(
                rng.choice(len(p_channel), total, p=p_channel / p_channel.sum())
            ),
            "category": pl.Series(vocab.TICKET_CATEGORIES).gather(
                rng.choice(len(p_category), total, p=p_category / p_category.sum())
            ),
            "pending": rng.random(total) < PENDING_SHARE,
        }
    )


def generate_tickets(
    months: list[tuple[int, int, int, int]],  # (year, month, total, open at latest)
    plan: BeneficiaryPlan,
    seed: int,
    period: tuple[int, int],  # Riyadh seconds [start, end) of the half-year
) -> pl.DataFrame:
    """All tickets ever created up to the latest snapshot, in creation order."""
    latest_s = clock.day_number(SNAPSHOT_DATES[-1]) * clock.DAY_S
    parts = [
        month_tickets(np.random.default_rng([seed, STREAM, y, m]), y, m, total, n_open, latest_s)
        for y, m, total, n_open in months
    ]
    tickets = pl.concat(parts)
    n = tickets.height
    rng = np.random.default_rng([seed, STREAM, 0])
    created = tickets.get_column("created_s").to_numpy()
    in_period = (created >= period[0]) & (created < period[1])
    person = np.empty(n, dtype=np.int64)
    person[in_period] = plan.ticket_people_for(rng, int(in_period.sum()))
    person[~in_period] = plan.other_people_for(rng, int((~in_period).sum()))
    ids = pl.Series(np.arange(1, n + 1)).cast(pl.String).str.zfill(8)
    return tickets.with_columns(
        pl.concat_str(pl.lit("TKT-"), ids).alias("ticket_id"),
        pl.Series("beneficiary_id", plan.ids[person]).cast(pl.String),
        clock.local_iso("created_s").alias("created_at"),
        clock.local_iso("closed_s").alias("_closed_at"),
    )


def snapshot(tickets: pl.DataFrame, day: date) -> pl.DataFrame:
    """The dump taken at the start of `day` (Riyadh): statuses as of that moment."""
    at = clock.day_number(day) * clock.DAY_S
    closed = pl.col("closed_s").is_not_null() & (pl.col("closed_s") < at)
    status = (
        pl.when(closed & (at - pl.col("closed_s") >= AUTO_CLOSE_DAYS * clock.DAY_S))
        .then(pl.lit("closed"))
        .when(closed)
        .then(pl.lit("resolved"))
        .when(at - pl.col("created_s") < clock.DAY_S)
        .then(pl.lit("new"))
        .when(pl.col("pending"))
        .then(pl.lit("pending"))
        .otherwise(pl.lit("in_progress"))
    )
    return tickets.filter(pl.col("created_s") < at).select(
        "ticket_id",
        "created_at",
        "channel",
        "category",
        status.alias("status"),
        pl.when(closed).then(pl.col("_closed_at")).alias("closed_at"),
        "beneficiary_id",
    )


def relative_path(day: date) -> str:
    return f"crm/tickets_{day:%Y-%m-%d}.csv"


def write_snapshots(tickets: pl.DataFrame, out: Path, period: tuple[int, int]) -> CrmReport:
    report = CrmReport()
    (out / "crm").mkdir(parents=True, exist_ok=True)
    for day in SNAPSHOT_DATES:
        rows = snapshot(tickets, day)
        rows.write_csv(out / relative_path(day))
        report.files += 1
        report.snapshots[relative_path(day)] = rows.height
    report.tickets = rows.height
    created = tickets.get_column("created_s")
    report.period_tickets = int(((created >= period[0]) & (created < period[1])).sum())
    return report

"""Daily counts: X, SMS and self-service, one CSV per month (`date, category, count`).

The month's published total is split over every local day and category with a
multinomial draw, so the monthly sum is exact and every count a non-negative
integer. Self-service files come from a reporting tool that writes a UTF-8
byte-order mark and CRLF line endings (allowed by the contract).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import polars as pl

from . import clock, vocab


@dataclass(frozen=True)
class CountSource:
    name: str
    categories: tuple[str, ...]
    weights: tuple[float, ...]
    stream: int
    weekday_sensitivity: float  # 0 = same every day, 1 = the contact-centre week
    bom_crlf: bool = False

    def relative_path(self, year: int, month: int) -> str:
        return f"{self.name}/{self.name}_{year:04d}-{month:02d}.csv"


X = CountSource("x", vocab.X_CATEGORIES, vocab.X_CATEGORY_WEIGHTS, 11, 0.3)
SMS = CountSource("sms", vocab.SMS_CODES, vocab.SMS_CODE_WEIGHTS, 12, 1.0)
SELF_SERVICE = CountSource("self_service", vocab.SELF_SERVICE_TYPES, vocab.SELF_SERVICE_WEIGHTS, 13, 0.6, bom_crlf=True)
COUNT_SOURCES = (X, SMS, SELF_SERVICE)


@dataclass
class CountReport:
    source: str
    files: int = 0
    rows: int = 0
    totals: dict[str, int] = field(default_factory=dict)  # month -> sum of count


def month_counts(rng: np.random.Generator, source: CountSource, year: int, month: int, total: int) -> pl.DataFrame:
    """One row per (day, category) of the month; the counts add up to `total`."""
    first, end = clock.month_bounds(year, month)
    days = np.arange(first, end)
    day_w = clock.day_weights(days) ** source.weekday_sensitivity
    cat_w = np.asarray(source.weights)
    cells = day_w[:, None] * cat_w[None, :] * rng.lognormal(0.0, 0.15, (len(days), len(cat_w)))
    counts = rng.multinomial(total, (cells / cells.sum()).ravel())
    return pl.DataFrame(
        {
            "date": pl.Series(np.repeat(days, len(cat_w))).cast(pl.Date),
            "category": pl.Series(source.categories * len(days)),
            "count": counts.astype(np.int64),
        }
    )


def write_count_source(source: CountSource, out: Path, months: list[tuple[int, int, int]], seed: int) -> CountReport:
    report = CountReport(source.name)
    for year, month, total in months:
        rng = np.random.default_rng([seed, source.stream, year, month])
        rows = month_counts(rng, source, year, month, total)
        path = out / source.relative_path(year, month)
        path.parent.mkdir(parents=True, exist_ok=True)
        rows.write_csv(
            path,
            include_bom=source.bom_crlf,
            line_terminator="\r\n" if source.bom_crlf else "\n",
        )
        report.files += 1
        report.rows += rows.height
        report.totals[f"{year:04d}-{month:02d}"] = int(rows.get_column("count").sum())
    return report

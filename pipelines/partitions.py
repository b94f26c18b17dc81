"""Partitions: calendar months and half-years in Riyadh time."""

from __future__ import annotations

from datetime import date

import dagster as dg

TIMEZONE = "Asia/Riyadh"
FIRST_MONTH = "2025-01"

# end_offset=1: the month in progress is a partition too, so the nightly run
# can refresh it while its files arrive.
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=FIRST_MONTH, fmt="%Y-%m", timezone=TIMEZONE, end_offset=1
)


def month_of(partition_key: str) -> date:
    year, month = partition_key.split("-")
    return date(int(year), int(month), 1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"

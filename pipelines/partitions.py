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


# Half-years are keyed 2025-H1, 2025-H2, ...: static keys (a time-window
# definition cannot format a half), mapped to their six months explicitly.
LAST_YEAR = 2035
HALF_YEAR_KEYS = [f"{year}-H{half}" for year in range(2025, LAST_YEAR + 1) for half in (1, 2)]
half_year_partitions = dg.StaticPartitionsDefinition(HALF_YEAR_KEYS)


def months_of_half(half_key: str) -> list[str]:
    year, half = half_key.split("-H")
    first = 1 if half == "1" else 7
    return [f"{year}-{m:02d}" for m in range(first, first + 6)]


# monthly partition key -> half-year key, for AssetIn/deps partition_mapping
months_to_half_year = dg.StaticPartitionMapping(
    {month: key for key in HALF_YEAR_KEYS for month in months_of_half(key)}
)

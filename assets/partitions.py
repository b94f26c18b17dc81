"""Partitions: calendar months and half-years in Riyadh time, from VOB_FIRST_MONTH on, with no end year."""

from __future__ import annotations

from datetime import date

import dagster as dg

from vob.base.settings import read_first_month

TIMEZONE = "Asia/Riyadh"
# The tags that make one run cover a range of months (BackfillPolicy.single_run); Dagster's own names
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
FIRST_MONTH = read_first_month()  # VOB_FIRST_MONTH (default 2025-01), read when the code location loads

# From FIRST_MONTH on, without end: end_offset=1 makes the month in progress a partition too, so
# the nightly run can refresh it while its files arrive.
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=FIRST_MONTH, fmt="%Y-%m", timezone=TIMEZONE, end_offset=1
)


def half_year_keys(first_month: str, today: date) -> list[str]:
    """2024-H1, 2024-H2, ...: from the half-year of `first_month` through the end of the year after
    `today`'s."""
    first_year, first_half = int(first_month[:4]), 1 if int(first_month[5:7]) <= 6 else 2
    return [
        f"{year}-H{half}"
        for year in range(first_year, today.year + 2)
        for half in (1, 2)
        if (year, half) >= (first_year, first_half)
    ]


# Half-years are keyed 2025-H1, 2025-H2, ...: static keys. A time-window definition (cron
# "0 0 1 1,7 *") has no end but names its keys with strftime, which has no half-year ("2025-01",
# never "2025-H1"); a subclass of it does not reach the UI's process as written; dynamic keys
# would have to be added to the instance before any run or backfill could use them. So the keys
# are made when the code location loads, from VOB_FIRST_MONTH through the end of next year: no
# end year is written anywhere, and a code location loaded at least once a year (every deploy,
# every restart of `dagster dev`) has the current half-year and the next. `vob run` refuses a
# period after the current one.
half_year_partitions = dg.StaticPartitionsDefinition(half_year_keys(FIRST_MONTH, date.today()))


# How a half-year asset depends on a monthly one. Dagster has no built-in mapping
# from time-window keys (the months) to static keys (the half-years):
# StaticPartitionMapping needs two static definitions (the definitions fail to load),
# and a custom PartitionMapping is dropped from what `dagster dev` sees, which then
# infers IdentityPartitionMapping and rejects the asset graph
# (`dagster definitions validate` exits 1). So a half-year depends on the monthly
# asset as a whole; which six months it reads is its own SQL (`vob.base.periods.months_of_half`).
# An exact mapping in the UI would need half-years as a TimeWindowPartitionsDefinition
# (cron "0 0 1 1,7 *"), whose keys cannot read "2025-H1".
months_to_half_year = dg.AllPartitionMapping()

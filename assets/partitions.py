"""Partitions: calendar months and half-years in Riyadh time."""

from __future__ import annotations

import dagster as dg

TIMEZONE = "Asia/Riyadh"
# The tags that make one run cover a range of months (BackfillPolicy.single_run); Dagster's own names
RANGE_START = "dagster/asset_partition_range_start"
RANGE_END = "dagster/asset_partition_range_end"
FIRST_MONTH = "2025-01"

# end_offset=1: the month in progress is a partition too, so the nightly run
# can refresh it while its files arrive.
monthly_partitions = dg.MonthlyPartitionsDefinition(
    start_date=FIRST_MONTH, fmt="%Y-%m", timezone=TIMEZONE, end_offset=1
)


# Half-years are keyed 2025-H1, 2025-H2, ...: static keys (a time-window
# definition cannot format a half), mapped to their six months explicitly.
LAST_YEAR = 2035
HALF_YEAR_KEYS = [f"{year}-H{half}" for year in range(2025, LAST_YEAR + 1) for half in (1, 2)]
half_year_partitions = dg.StaticPartitionsDefinition(HALF_YEAR_KEYS)


# How a half-year asset depends on a monthly one. Dagster has no built-in mapping
# from time-window keys (the months) to static keys (the half-years):
# StaticPartitionMapping needs two static definitions (the definitions fail to load),
# and a custom PartitionMapping is dropped from what `dagster dev` sees, which then
# infers IdentityPartitionMapping and rejects the asset graph
# (`dagster definitions validate` exits 1). So a half-year depends on the monthly
# asset as a whole; which six months it reads is its own SQL (`vob.periods.months_of_half`).
# An exact mapping in the UI would need half-years as a TimeWindowPartitionsDefinition
# (cron "0 0 1 1,7 *"), whose keys cannot read "2025-H1".
months_to_half_year = dg.AllPartitionMapping()

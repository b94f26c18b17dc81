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


class MonthsToHalfYear(dg.PartitionMapping):
    """A half-year partition (`2025-H1`) depends on its six monthly partitions.

    Dagster's StaticPartitionMapping only joins two static definitions, and the
    monthly partitions are a time window, so this maps the keys itself. Dagster
    does not ship this mapping: asset reconciliation and the UI's partition-level
    lineage fall back to their default for it; runs, jobs and the asset graph
    (half-year assets downstream of the monthly ones) use it as written.
    """

    def validate_partition_mapping(self, upstream_partitions_def, downstream_partitions_def) -> None:
        if not isinstance(upstream_partitions_def, dg.TimeWindowPartitionsDefinition):
            raise dg.DagsterInvalidDefinitionError("MonthsToHalfYear: upstream must be the monthly partitions")
        if downstream_partitions_def != half_year_partitions:
            raise dg.DagsterInvalidDefinitionError("MonthsToHalfYear: downstream must be half_year_partitions")

    def get_downstream_partitions_for_partitions(
        self, upstream_partitions_subset, upstream_partitions_def, downstream_partitions_def,
        current_time=None, dynamic_partitions_store=None,
    ):
        halves = {half_year_of_month(key) for key in upstream_partitions_subset.get_partition_keys()}
        known = set(downstream_partitions_def.get_partition_keys())
        return downstream_partitions_def.empty_subset().with_partition_keys(sorted(halves & known))

    def get_upstream_mapped_partitions_result_for_partitions(
        self, downstream_partitions_subset, downstream_partitions_def, upstream_partitions_def,
        current_time=None, dynamic_partitions_store=None,
    ):
        from dagster._core.definitions.partitions.mapping.partition_mapping import UpstreamPartitionsResult

        months = []
        if downstream_partitions_subset is not None:
            months = [m for key in downstream_partitions_subset.get_partition_keys() for m in months_of_half(key)]
        existing = set(upstream_partitions_def.get_partition_keys(current_time=current_time))
        return UpstreamPartitionsResult(
            partitions_subset=upstream_partitions_def.empty_subset().with_partition_keys(
                [m for m in months if m in existing]
            ),
            required_but_nonexistent_subset=upstream_partitions_def.empty_subset(),
        )

    @property
    def description(self) -> str:
        return "A half-year (2025-H1) depends on its six months (2025-01 .. 2025-06)."


def half_year_of_month(month_key: str) -> str:
    year, month = month_key.split("-")
    return f"{year}-H{1 if int(month) <= 6 else 2}"


# monthly partition key -> half-year key, for AssetDep(partition_mapping=...)
months_to_half_year = MonthsToHalfYear()

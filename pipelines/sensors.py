"""The landing sensor: a new or re-delivered landing file refreshes the months it feeds.

Cursor: JSON {relative path: [size, mtime_ns, fingerprint]} (vob/base/fingerprints.file_fingerprint). A file is hashed only
when its size or mtime changed since the cursor saw it, so a tick over an
unchanged landing zone reads no file content. A file triggers when its SHA-256
is new for its path: the same file seen twice (or touched, or copied over
itself) triggers once; a corrected file (new content, same path) triggers again.
A file modified within VOB_SETTLE_SECONDS is an upload in progress: not read and
not marked seen, so a later tick picks it up once it has held still; temporary
names (`*.part`, `.name`, ...) are never listed (vob/landing/contract.py).

Which months a file feeds (decided here, documented in docs/operations.md):
- event and count files: exactly the months whose monthly load reads the file,
  i.e. the months M for which `files_for_month(source, landing, M)` lists it.
  The one place that knows the landing layout decides; the sensor inverts it.
  (An event file exported on the 1st refreshes the previous month too, since it
  may hold the evening before; one exported on the last day refreshes the next
  month as well, harmless. A count file refreshes its month and both neighbours,
  whose loads read it since rows count by their own date.)
- a CRM snapshot: every month from the first partition to the snapshot's month
  (staging.crm keeps, per month, every snapshot taken after the month began).
- a registers workbook: its half-year, through job `half_year_refresh` (the
  half-year marts, the publish and the report).
  Its half-year facts also read the months (the CRM tickets' beneficiaries): once the workbook is
  there, sensor `half_year_after_months` refreshes the half-year again after every successful
  monthly run of its months (a CRM snapshot staged after the workbook, a late or corrected day).
A file whose name is not the contract's triggers nothing: the monthly load
reports it (meta.landing_files.file_error) at the next run of its months.

One RunRequest per contiguous month range (the monthly job is a single-run
backfill over a range), with a run_key made of the range and the fingerprints
and mtimes of the files that triggered it, so a re-evaluated tick never launches
twice, and content restored after a correction (A, B, then A again) launches.
"""

import hashlib
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import dagster as dg

from assets.dashboard import dashboard_job
from assets.partitions import RANGE_END, RANGE_START, monthly_partitions
from assets.publish import published_warehouse
from assets.resources import WorkingWarehouse
from vob.base.fingerprints import HEX_AS_LETTERS, disk_stat, file_fingerprint
from vob.base.periods import half_year_of_month, month_key, month_of, month_spans
from vob.landing.contract import SOURCES, Source, files_for_month, is_temporary, month_start, next_month
from vob.landing.registers import half_year_of, workbooks
from vob.views.superset import INSTALL_COMMAND, VENV, superset_installed

SENSOR_INTERVAL_SECONDS = 60


@dataclass(frozen=True)
class Change:
    path: str  # relative to the landing root, posix
    sha256: str
    months: tuple[str, ...]  # monthly partition keys it feeds
    half_year: str | None = None  # half-year partition key (registers)
    mtime_ns: int = 0  # of this content: a content seen before at the path, delivered again, is a new change


def months_fed(source: Source, path: Path, landing: Path, lag_days: int, partition_keys: list[str]) -> list[str]:
    """The monthly partitions whose refresh reads `path` (see the module docstring)."""
    day = source.file_date(path)
    if day is None:
        return []
    if source.kind == "snapshot":
        return [k for k in partition_keys if month_of(k) <= month_start(day)]
    # Only months near the file's date can read it: test those against files_for_month.
    month = month_start(day)
    candidates = [month_start(month - timedelta(days=1)), month, next_month(month)]
    return [
        month_key(m)
        for m in candidates
        if month_key(m) in partition_keys and path in files_for_month(source, landing, m, lag_days)
    ]


def landing_files(landing: Path) -> list[tuple[Source | None, Path]]:
    found: list[tuple[Source | None, Path]] = [(s, p) for s in SOURCES.values() for p in s.files(landing)]
    found += [(None, p) for p in workbooks(landing) if not is_temporary(p)]
    return found


def scan(
    landing: Path, cursor: dict, lag_days: int, partition_keys: list[str], settle_seconds: float
) -> tuple[list[Change], dict]:
    """Compare the landing zone with the cursor: the changed files and the new cursor. Files modified
    within `settle_seconds` (VOB_SETTLE_SECONDS) are left for a later tick."""
    changes: list[Change] = []
    new_cursor: dict = {}
    settled_before = time.time() - settle_seconds  # newer files: uploads in progress, seen on a later tick
    for source, path in landing_files(landing):
        rel = path.relative_to(landing).as_posix()
        size, mtime_ns = disk_stat(path)[:2]
        seen = cursor.get(rel)
        if mtime_ns / 1e9 > settled_before:
            if seen:  # an upload in progress: not marked seen, so a later tick picks it up once settled
                new_cursor[rel] = seen
            continue
        if seen and seen[0] == size and seen[1] == mtime_ns:
            new_cursor[rel] = seen  # unchanged: not even read
            continue
        digest = file_fingerprint(path)
        new_cursor[rel] = [size, mtime_ns, digest]
        # a cursor written before the digits were letters holds plain hex: the same fingerprint
        if seen and seen[2].translate(HEX_AS_LETTERS) == digest:
            continue  # touched or copied again, same content
        if source is None:
            changes.append(Change(rel, digest, (), half_year_of(path), mtime_ns))
        else:
            months = tuple(months_fed(source, path, landing, lag_days, partition_keys))
            changes.append(Change(rel, digest, months, mtime_ns=mtime_ns))
    return changes, new_cursor


def run_key(prefix: str, changes: list[Change]) -> str:
    """The same tick evaluated twice gives the same key (the files did not move: same content, same
    mtime); content delivered again after another (A, then B, then A restored) a new one, or Dagster
    would skip the run as already launched and B would stand."""
    listed = sorted(changes, key=lambda c: c.path)
    digest = hashlib.sha256("\n".join(f"{c.path}:{c.sha256}:{c.mtime_ns}" for c in listed).encode())
    return f"{prefix}:{digest.hexdigest()[:16]}"


def run_requests(
    changes: list[Change], partition_keys: list[str], half_year_job: str | None, monthly_job: str = "monthly_refresh"
) -> list[dg.RunRequest]:
    requests = []
    months = {m for c in changes for m in c.months}
    for first, last in month_spans(months & set(partition_keys)):  # monthly keys: adjacent months
        span = set(partition_keys[partition_keys.index(first) : partition_keys.index(last) + 1])
        files = [c for c in changes if span & set(c.months)]
        requests.append(
            dg.RunRequest(
                run_key=run_key(f"landing:{first}..{last}", files),
                job_name=monthly_job,
                tags={
                    RANGE_START: first,
                    RANGE_END: last,
                    "vob/trigger": "landing_sensor",
                    "vob/files": ", ".join(sorted(c.path for c in files))[:1000],
                },
            )
        )
    if half_year_job:
        for half in sorted({c.half_year for c in changes if c.half_year}):
            files = [c for c in changes if c.half_year == half]
            requests.append(
                dg.RunRequest(
                    run_key=run_key(f"registers:{half}", files),
                    job_name=half_year_job,
                    partition_key=half,
                    tags={"vob/trigger": "landing_sensor", "vob/files": ", ".join(c.path for c in files)},
                )
            )
    return requests


def build_landing_sensor(monthly_job, half_year_job=None) -> dg.SensorDefinition:
    jobs = [monthly_job] + ([half_year_job] if half_year_job is not None else [])
    half_year_name = half_year_job.name if half_year_job is not None else None

    @dg.sensor(
        name="landing_files",
        jobs=jobs,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="A new or re-delivered landing file (new SHA-256 for its path) refreshes the months "
        "it feeds with job monthly_refresh (registers: the half-year). See docs/operations.md.",
    )
    def landing_files_sensor(context: dg.SensorEvaluationContext, warehouse: WorkingWarehouse):
        settings = warehouse.settings
        landing = settings.landing_dir
        if not landing.is_dir():
            return dg.SkipReason(f"landing zone {landing} does not exist (VOB_LANDING_DIR)")
        partition_keys = list(monthly_partitions.get_partition_keys(current_time=datetime.now()))
        cursor = json.loads(context.cursor) if context.cursor else {}
        changes, new_cursor = scan(landing, cursor, settings.export_lag_days, partition_keys, settings.settle_seconds)
        for change in changes:
            target = ", ".join(change.months) or change.half_year or "nothing (name not the contract's)"
            context.log.info(f"{change.path} new content (sha256 {change.sha256[:12]}): refresh {target}")
        requests = run_requests(changes, partition_keys, half_year_name, monthly_job.name)
        skip = (
            None
            if requests
            else (
                "no new or changed landing file" if not changes else f"{len(changes)} changed file(s) feed no partition"
            )
        )
        return dg.SensorResult(run_requests=requests, skip_reason=skip, cursor=json.dumps(new_cursor, sort_keys=True))

    return landing_files_sensor


def run_months(run: dg.DagsterRun) -> list[str]:
    """The monthly partitions a run refreshed: its range tags, or its one partition."""
    tags = run.tags
    if RANGE_START in tags and RANGE_END in tags:
        return list(
            monthly_partitions.get_partition_keys_in_range(dg.PartitionKeyRange(tags[RANGE_START], tags[RANGE_END]))
        )
    return [tags["dagster/partition"]] if "dagster/partition" in tags else []


def half_years_to_refresh(months: list[str], landing: Path) -> list[str]:
    """The half-years of `months` whose registers workbook is in the landing zone: their facts read
    these months, so a refresh of the months leaves them stale. A half-year without its workbook yet
    has no facts to refresh (the workbook's own arrival builds them)."""
    with_workbook = {half_year_of(p) for p in workbooks(landing) if not is_temporary(p)}
    return sorted({half_year_of_month(m) for m in months} & with_workbook)


def build_half_year_after_months_sensor(monthly_job, half_year_job) -> dg.SensorDefinition:
    @dg.run_status_sensor(
        name="half_year_after_months",
        run_status=dg.DagsterRunStatus.SUCCESS,
        monitored_jobs=[monthly_job],
        request_job=half_year_job,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
        description="After a successful monthly refresh of months whose half-year has its registers "
        "workbook, refresh that half-year (its facts read the months' CRM tickets), publish, report.",
    )
    def half_year_after_months(context: dg.RunStatusSensorContext, warehouse: WorkingWarehouse):
        run = context.dagster_run
        halves = half_years_to_refresh(run_months(run), warehouse.settings.landing_dir)
        if not halves:
            return dg.SkipReason(f"run {run.run_id}: no month of a half-year with its registers workbook")
        return [
            dg.RunRequest(
                run_key=f"half-year-after:{run.run_id}:{half}",
                partition_key=half,
                tags={"vob/trigger": "half_year_after_months", "vob/after_run": run.run_id},
            )
            for half in halves
        ]

    return half_year_after_months


PUBLISHES_PER_TICK = 100


def publishes_since(instance: dg.DagsterInstance, cursor: str | None) -> list[dg.EventLogRecord]:
    """The materialisations of published_warehouse after `cursor` (a storage id), oldest first;
    on a first tick (no cursor) the latest one only."""
    if cursor is None:
        return list(instance.fetch_materializations(published_warehouse.key, limit=1).records)
    records = dg.AssetRecordsFilter(asset_key=published_warehouse.key, after_storage_id=int(cursor))
    return list(instance.fetch_materializations(records, limit=PUBLISHES_PER_TICK, ascending=True).records)


def wrote_the_file(publish: dg.EventLogRecord) -> bool:
    """Whether a publish wrote the published file (metadata `written`, assets/publish.py); one
    recorded before that metadata existed counts as written."""
    materialization = publish.asset_materialization
    written = materialization.metadata.get("written") if materialization else None
    return written is None or bool(written.value)


@dg.sensor(
    job=dashboard_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=60,
    description="After a publish that wrote the published warehouse, rebuild the Superset dashboard, when "
    "Superset is installed (bi/superset/install). A publish that found the file already holding the same "
    'marts ("published warehouse unchanged") changes nothing the dashboard shows: no rebuild.',
)
def dashboard_after_publish(context: dg.SensorEvaluationContext):
    publishes = publishes_since(context.instance, context.cursor)
    if not publishes:
        return dg.SkipReason("no publish since the last tick")
    cursor = str(publishes[-1].storage_id)
    written = [p for p in publishes if wrote_the_file(p)]
    if not written:
        return dg.SensorResult(
            skip_reason=f"published warehouse unchanged ({len(publishes)} publish(es) that wrote nothing): "
            "the dashboard already shows it",
            cursor=cursor,
        )
    if not superset_installed():
        return dg.SensorResult(skip_reason=f"Superset is not installed in {VENV}: run {INSTALL_COMMAND}", cursor=cursor)
    latest = written[-1]
    request = dg.RunRequest(run_key=f"dashboard-after-{latest.run_id}-{latest.storage_id}")
    return dg.SensorResult(run_requests=[request], cursor=cursor)

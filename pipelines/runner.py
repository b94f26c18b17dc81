"""`vob run`: materialise a period in this process, publish only if all passed.

Runs go through the Dagster instance in DAGSTER_HOME, so they appear in the
UI's run history like scheduled runs and backfills.
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg

from assets.partitions import RANGE_END, RANGE_START, TIMEZONE
from pipelines.failures import FailedCheck, run_failures
from pipelines.recovery import reap_dead_runs
from vob.base.files import private_dir
from vob.base.fingerprints import disk_stat_if_any
from vob.base.periods import Period, month_key, month_of, month_spans
from vob.base.processes import process_tags
from vob.base.settings import Settings, export_secret_files, load_settings
from vob.landing.contract import CHANNEL_LIST_SQL, SETTLED_TAG
from warehouse.lake import month_scope
from warehouse.session import work_session
from warehouse.store import (
    REBUILD_TAG,
    WorkDatabaseDamaged,
    check_work_db,
    connect,
    damaged_sentence,
    discard_work_db,
    is_damage,
    new_work_db,
    published_periods,
    rebuild_command,
    withdraw_month,
)
from warehouse.writer_lock import WarehouseBusy, hold_warehouse

INSTANCE_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "dagster.yaml"
PROBE_SECONDS = 3.0  # how long `vob run` watches recently modified landing files for uploads in progress
PUBLISH_STEP = "published_warehouse"
POOL_RECYCLE_SECONDS = 3600  # instance storage connections are renewed after an hour
POOL_MAX_OVERFLOW = 20  # connections beyond the pooled one, as dagster-webserver allows by default
RunResult = dg.ExecuteInProcessResult | dg.JobExecutionResult  # in this process, or on the Celery workers


def dagster_instance(settings: Settings) -> dg.DagsterInstance:
    """The persistent instance; DAGSTER_HOME defaults to .dagster in the current directory
    and gets deploy/dagster.yaml when it has no configuration yet."""
    home = private_dir(Path(os.environ.setdefault("DAGSTER_HOME", str(Path(".dagster").resolve()))), settings)
    export_secret_files(("DAGSTER_PG_PASSWORD",))  # deploy/dagster.postgres.yaml reads the variable
    config = home / "dagster.yaml"
    if not config.exists():  # the instance settings of docs/operations.md: writer pool of 1, no telemetry
        config.write_text(INSTANCE_CONFIG.read_text() if INSTANCE_CONFIG.exists() else "telemetry:\n  enabled: false\n")
    instance = dg.DagsterInstance.get()
    # One pooled connection per storage for the whole process, as the webserver holds them: with
    # PostgreSQL storage each of a run's ~500 writes otherwise opens a connection of its own
    # (docs/benchmarks.md, "Dagster's bookkeeping"). No statement timeout: a run's writes are short,
    # and a slow server must not fail a run. SQLite storage ignores it.
    instance.optimize_for_webserver(
        statement_timeout=0, pool_recycle=POOL_RECYCLE_SECONDS, max_overflow=POOL_MAX_OVERFLOW
    )
    return instance


class RunConsole(logging.Handler):
    """What `vob run` prints while a job runs, from the run's events: each step as it starts (which one,
    how far through the job) and as it ends (how long it took); the steps' own messages as they come.
    Their warnings are kept for after the run (`stage_warnings`), to be said once beside the checks."""

    def __init__(self, steps: int):
        super().__init__(logging.DEBUG)  # Dagster logs its step events at DEBUG
        self.steps, self.started, self.warnings = steps, {}, []
        self.open_step: str | None = None  # the step whose start line waits for its end

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event, message = meta.get("dagster_event"), meta.get("orig_message") or record.getMessage()
        step = (meta.get("step_key") or "").replace("__", "/")
        if event is None:
            if record.levelno >= logging.WARNING:
                self.warnings.append(message)
            elif record.levelno >= logging.INFO:
                self._say("      " + message.replace("\n", "\n      "))  # a message of several lines: each indented
        elif event.event_type_value == "STEP_START":
            self.started[step] = record.created
            self._say(f"  [{len(self.started)}/{self.steps}] {step}...", end="")
            self.open_step = step
        elif event.event_type_value in ("STEP_SUCCESS", "STEP_FAILURE"):
            seconds = record.created - self.started.get(step, record.created)
            ended = f"{'done' if event.event_type_value == 'STEP_SUCCESS' else 'FAILED'} in {seconds:.1f} s"
            if self.open_step == step:  # nothing said since it started: on the same line
                print(f" {ended}", flush=True)
                self.open_step = None
            else:
                self._say(f"  [{list(self.started).index(step) + 1}/{self.steps}] {step}: {ended}")

    def _say(self, line: str, end: str = "\n") -> None:
        if self.open_step is not None:
            print(flush=True)
            self.open_step = None
        print(line, end=end, flush=True)


def console_logger(console: RunConsole) -> dg.LoggerDefinition:
    logger = logging.Logger("vob.run", logging.DEBUG)  # not registered: no other handler sees its records
    logger.addHandler(console)
    return dg.LoggerDefinition(lambda _init: logger, description="vob run's console (RunConsole)")


def run_job(
    instance: dg.DagsterInstance,
    name: str,
    tags: dict[str, str] | None = None,
    partition_key: str | None = None,
    console: RunConsole | None = None,
) -> RunResult:
    """Job `name` in this process; what it logs goes to `console` (a new one when None). With
    VOB_EXECUTOR=celery the steps run on the workers (`on_workers`)."""
    if load_settings().executor == "celery":
        return on_workers(instance, name, tags, partition_key)
    job = code_location().resolve_job_def(name)
    console = console or RunConsole(len(job.graph.nodes))
    return job.with_logger_defs({"vob_console": console_logger(console)}).execute_in_process(
        run_config={"loggers": {"vob_console": {}}},
        instance=instance,
        tags={**process_tags(), **(tags or {}), "vob/trigger": "cli"},
        partition_key=partition_key,
        raise_on_error=False,
    )


def on_workers(
    instance: dg.DagsterInstance, name: str, tags: dict[str, str] | None, partition_key: str | None
) -> dg.JobExecutionResult:
    """Job `name` with the code location's celery executor: this process orchestrates (and holds the run's
    writer-pool slots), the Celery workers load the same code location and execute the steps."""
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    job = ReconstructableRepository.for_module("pipelines.definitions", "defs").get_reconstructable_job(name)
    print("  the steps run on the Celery workers (VOB_EXECUTOR=celery); follow them in the Dagster UI", flush=True)
    partition = {"dagster/partition": partition_key} if partition_key else {}
    return dg.execute_job(job, instance, tags={**process_tags(), **(tags or {}), **partition, "vob/trigger": "cli"})


def failure_report(result: RunResult) -> list[str]:
    """What failed, in words an operator can act on."""
    failures = run_failures(result.all_events)
    lines = [f"step {s.step} failed: {s.error}" for s in failures.steps]
    for c in failures.checks:
        text = f"check {c.asset}:{c.check} failed ({c.severity})"
        lines.append(text if c.detail is None else text + ":\n    " + c.detail.replace("\n", "\n    "))
    lines += [f"step {step} skipped (an upstream step or blocking check failed)" for step in failures.skipped]
    return lines


def period_refusal(period: Period, first_month: str, today: date) -> str | None:
    """Why `period` cannot be run (one sentence), or None: it must lie between VOB_FIRST_MONTH, the first
    monthly partition, and the current month (Riyadh), the last one."""
    current = month_key(today)
    if period.months[0] < first_month:
        return (
            f"{period.key} begins before {first_month}, the first month the pipeline loads: "
            f"set VOB_FIRST_MONTH={period.months[0]} (README, Configuration) to load it"
        )
    if period.months[0] > current:
        return f"{period.key} has not begun yet: the current month is {current}"
    return None


def riyadh_today() -> date:
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def run_period(period: Period, settings: Settings) -> int:
    """`vob run`: the period's monthly facts, its half-year facts, publish, its report."""
    print(
        f"vob run {period.key}: months {period.months[0]}..{period.months[-1]}, "
        f"landing {settings.landing_dir}, warehouse {settings.warehouse_path}"
    )
    months = {RANGE_START: period.months[0], RANGE_END: period.months[-1]}
    # As few runs as the order allows (each run costs Dagster's bookkeeping). A month: its facts and the
    # publish in one run, as the schedule runs them (a failed blocking check skips the publish). A
    # half-year: its months, then its marts, the publish and the report in one run (the publish is
    # skipped if a half-year step fails; the report reads what was just published).
    half_year = half_year_stages(period, ["half_year_refresh"])
    stages = [("monthly_facts", months, None), *half_year] if half_year else [("monthly_refresh", months, None)]
    return run_guarded(
        "vob run", period, settings, lambda: stages, lambda settings: check_work_db(settings, rebuild_command(period))
    )


def rebuild_period(period: Period, settings: Settings) -> int:
    """`vob rebuild`: a new working database from the landing zone, published like `vob run`.

    Every month and half-year the published warehouse holds is rebuilt with the requested period,
    so the publish never loses what was published before. Not in lake mode: the Iceberg tables are
    the store of record there, and a month is rebuilt by running it again (docs/scale-out.md)."""
    if settings.lake:
        print(
            "vob rebuild: the working tables are in the Iceberg catalog (VOB_ICEBERG_CATALOG_URI), not in a "
            f"working file: run the period again with `vob run --period {period.key}` (docs/scale-out.md)",
            file=sys.stderr,
        )
        return 1

    def stages() -> list[tuple[str, dict, str | None]]:  # read under the warehouse lock
        months, halves = published_periods(settings)
        months = sorted(set(months) | set(period.months))
        halves = sorted(set(halves) | ({period.key} if period.is_half_year else set()))
        print(
            f"vob rebuild {period.key}: months {', '.join(months)}"
            + (f", half-years {', '.join(halves)}" if halves else "")
            + f", landing {settings.landing_dir}"
        )
        planned = [("monthly_facts", {RANGE_START: a, RANGE_END: b}, None) for a, b in month_spans(months)]
        planned += [("half_year_facts", {}, half) for half in halves]
        return planned + [("publish", {}, None)] + half_year_stages(period, ["report"])

    def fresh_work_db(settings: Settings) -> None:
        for path in discard_work_db(settings):
            print(f"deleted {path} (it holds pseudonymised personal data: no copy is kept)")
        new_work_db(settings)

    return run_guarded("vob rebuild", period, settings, stages, fresh_work_db)


def run_guarded(command: str, period: Period, settings: Settings, stages: Callable[[], list], prepare) -> int:
    """Hold the warehouse, free what dead runs held, check the working database, settle the landing
    zone, then run the stages (pipelines/recovery.py, warehouse/writer_lock.py)."""
    instance = dagster_instance(settings)
    try:
        with hold_warehouse(settings, f"{command} {period.key}"):
            for message in reap_dead_runs(instance):
                print(f"  recovered: {message}")
            planned = stages()
            prepare(settings)
            settled_before = settle_landing(settings)
            return run_stages(
                instance,
                planned,
                settings,
                period,
                {SETTLED_TAG: f"{settled_before:.6f}", REBUILD_TAG: rebuild_command(period)},
            )
    except (WorkDatabaseDamaged, WarehouseBusy) as err:
        print(f"{command}: {err}", file=sys.stderr)
        return 1


def run_stages(instance: dg.DagsterInstance, stages, settings: Settings, period: Period, run_tags: dict) -> int:
    for name, tags, partition_key in stages:
        steps = len(code_location().resolve_job_def(name).graph.nodes)
        console, started = RunConsole(steps), time.monotonic()
        print(f"{name}{f' {partition_key}' if partition_key else ''}: {steps} step{'s' * (steps > 1)}", flush=True)
        result = run_job(instance, name, {**run_tags, **tags}, partition_key, console)
        if not result.success:
            published = (
                "the warehouse was published before the step that failed"
                if any(e.step_key == PUBLISH_STEP for e in result.get_step_success_events())
                else ("nothing was published, BI tools keep the previous warehouse")
            )
            print(f"\nFAILED in {name} (run {result.run_id}); {published}.", file=sys.stderr)
            failures = failure_report(result)
            damage = next((line for line in failures if is_damage(line)), None)
            if damage:
                print(damaged_sentence(settings, damage.split(": ", 1)[-1], rebuild_command(period)), file=sys.stderr)
            for line in failures:
                print(f"  - {line}", file=sys.stderr)
            for line in not_in_checks(console.warnings, run_failures(result.all_events).checks):
                print(f"  - warning: {line}", file=sys.stderr)
            return 1
        print(f"{name}: ok in {time.monotonic() - started:.0f} s (run {result.run_id})")
        for line in stage_warnings(run_failures(result.all_events).checks, console.warnings, settings):
            print(f"  warning: {line}")
    print_summary(settings, period)
    return 0


WITHDRAWN_TAG = "vob/withdrawn_month"  # on the publish run of `vob withdraw`


def withdraw(period: Period, reason: str | None, settings: Settings) -> int:
    """`vob withdraw --month`: the month's rows out of every monthly mart, logged (meta.withdrawals, the
    publish run's tag), then published (docs/operations.md, "Withdrawing a month")."""
    instance = dagster_instance(settings)
    try:
        with hold_warehouse(settings, f"vob withdraw {period.key}"):
            check_work_db(settings, rebuild_command(period))
            with work_session(settings, month_scope(month_of(period.key)), rebuild_command(period)) as work:
                removed = withdraw_month(work.con, month_of(period.key), reason, getpass.getuser())
            rows = ", ".join(f"{table} {n:,}" for table, n in removed.items() if n) or "none: it had no rows"
            print(
                f"vob withdraw {period.key}: rows removed from the working marts: {rows} (logged in meta.withdrawals)"
            )
            result = run_job(instance, "publish", {WITHDRAWN_TAG: period.key})
    except (WorkDatabaseDamaged, WarehouseBusy) as err:
        print(f"vob withdraw: {err}", file=sys.stderr)
        return 1
    if not result.success:
        print(f"\nFAILED in publish (run {result.run_id}): BI tools keep the previous warehouse.", file=sys.stderr)
        for line in failure_report(result):
            print(f"  - {line}", file=sys.stderr)
        return 1
    print(f"publish: ok (run {result.run_id}); {period.key} is no longer in {settings.warehouse_path}")
    return 0


SAMPLE_OUT_OF_PERIOD = ("is outside the half-year", "is after the half-year's last day")


def stage_warnings(checks: list[FailedCheck], logged: list[str], settings: Settings) -> list[str]:
    """The failed warning checks of a run that went on, each once with its detail, and the warnings the
    steps logged that no check already says (the registers' rejected rows are both: logged per row, and
    the detail of check no_rejected_register_rows)."""
    lines = []
    for check in checks:
        text = f"check {check.asset}:{check.check} failed ({check.severity})"
        if expected_in_sample(check, settings):
            text += (
                ", as expected for the sample: `vob sample` puts register rows dated outside the half-year "
                "in its workbook (notes received in December, plans opened in July) to show that they are "
                "left out of the half-year's figures"
            )
        lines.append(text if check.detail is None else text + ":\n    " + check.detail.replace("\n", "\n    "))
    return lines + not_in_checks(logged, checks)


def not_in_checks(logged: list[str], checks: list[FailedCheck]) -> list[str]:
    """The warnings the steps logged that no failed check's detail already says."""
    details = {line.strip() for c in checks if c.detail for line in c.detail.splitlines()}
    return [w for w in logged if not any(w == d or w.endswith(f": {d}") for d in details)]


def expected_in_sample(check: FailedCheck, settings: Settings) -> bool:
    """The one warning the sample raises on purpose: register rows outside its half-year, and nothing else."""
    reasons = [line.split(": ", 1)[-1] for line in (check.detail or "").splitlines() if line.strip()]
    return (
        settings.is_sample_landing
        and (check.asset, check.check) == ("staging/registers", "no_rejected_register_rows")
        and bool(reasons)
        and all(";" not in r and any(p in r for p in SAMPLE_OUT_OF_PERIOD) for r in reasons)
    )


def settle_landing(settings: Settings, probe_seconds: float = PROBE_SECONDS) -> float:
    """The run's settle cutoff (docs/operations.md, "Uploads in progress"). Files modified within
    VOB_SETTLE_SECONDS are watched for `probe_seconds`: the cutoff is the start of the watch, so one
    that held still is read and one that changed is left for a later run (and named here)."""
    from pipelines.sensors import landing_files

    window, now = settings.settle_seconds, time.time()
    if not settings.landing_dir.is_dir():
        return now - window
    seen_now = {path: disk_stat_if_any(path) for _, path in landing_files(settings.landing_dir)}
    recent = {path: seen for path, seen in seen_now.items() if seen and now - seen[1] / 1e9 < window}
    if not recent:
        return now - window
    started = time.time()
    print(
        f"{len(recent)} landing file(s) modified in the last {window:.0f} s: watching them {probe_seconds:.0f} s "
        "for uploads in progress"
    )
    time.sleep(probe_seconds)
    for path, seen in sorted(recent.items()):
        if disk_stat_if_any(path) != seen:
            print(f"  {path.relative_to(settings.landing_dir).as_posix()} is still being written: left for a later run")
    return started


def code_location() -> dg.Definitions:
    """The code location's definitions, imported when a command first runs a job, not when `vob` imports
    this module: the import emits Dagster's BetaWarnings, which `without_beta_warnings` hides only
    around the command (pipelines/cli.py)."""
    from pipelines.definitions import defs

    return defs


@contextmanager
def without_beta_warnings() -> Iterator[None]:
    """Dagster's BetaWarnings hidden while `vob` runs a command: `backfill_policy` is beta in Dagster 1.13,
    a note for the developers who chose it (a range of months in one run, docs/operations.md section 3),
    not for an operator's console (14 blocks of it when the code location is imported). Other warnings
    still show, and the filter ends with the command."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        yield


def half_year_stages(period: Period, jobs: list[str]) -> list[tuple[str, dict, str | None]]:
    """The half-year jobs of a half-year period (none for a month or a range of months)."""
    if not period.is_half_year:
        return []
    return [(name, {}, period.key) for name in jobs]


def print_summary(settings: Settings, period: Period) -> None:
    con = connect(settings.warehouse_path, read_only=True)
    try:
        months = list(period.months)
        print(f"\npublished {settings.warehouse_path}")
        shown = {m for (m,) in con.execute("SELECT strftime(month, '%Y-%m') FROM marts.dim_month").fetchall()}
        for month in (m for m in months if m not in shown):  # vob/marts/months.py
            print(f"{month}: no record of its own in any source yet, so no rows (not a failure)")
        print_table(
            con,
            f"""PIVOT (SELECT strftime(month, '%Y-%m') AS month, channel, contacts FROM marts.fct_channel_monthly
                       WHERE strftime(month, '%Y-%m') IN (SELECT unnest($m)))
                ON channel IN ({CHANNEL_LIST_SQL})
                USING sum(contacts) GROUP BY month ORDER BY month""",
            {"m": months},
        )
        print_table(
            con,
            """SELECT strftime(month, '%Y-%m') AS month, snapshot_date, tickets_total, tickets_open, tickets_closed
               FROM marts.fct_tickets_monthly
               WHERE strftime(month, '%Y-%m') IN (SELECT unnest($m))
                 AND snapshot_date = (SELECT max(snapshot_date) FROM marts.fct_tickets_monthly)
               ORDER BY month""",
            {"m": months},
        )
        if half_year_stages(period, ["half_year_facts"]):
            print_table(
                con,
                "SELECT * EXCLUDE (ticket_snapshot_date) FROM marts.fct_vob_half_year WHERE period = $p",
                {"p": period.key},
            )
            print_table(
                con,
                "SELECT dimension, tags, share_pct FROM marts.fct_feedback_dimension_half_year "
                "WHERE period = $p ORDER BY tags DESC",
                {"p": period.key},
            )
    finally:
        con.close()


def print_table(con, sql: str, params: dict) -> None:
    cursor = con.execute(sql, params)
    names = [d[0] for d in cursor.description]
    rows = [["" if v is None else f"{v:,}" if isinstance(v, int) else str(v) for v in row] for row in cursor.fetchall()]
    widths = [max(len(str(x)) for x in column) for column in zip(names, *rows)]
    for row in [names, *rows]:
        print("  ".join(str(x).rjust(w) for x, w in zip(row, widths)))
    print()

"""The Dagster resource that gives assets their settings and the working database."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from vob.files import restrict_new_files
from vob.landing import SETTLED_TAG
from vob.processes import PID_TAG, process_tags
from vob.settings import VARIABLES, Settings, lake_configured, load_settings
from warehouse.lake import Scope
from warehouse.session import work_session
from warehouse.store import ANY_REBUILD, REBUILD_TAG, StepDatabase

WRITER_POOL = "vob_warehouse_writer"  # one writer of the working DuckDB file at a time
# The pool of the steps that write a month (or months) of the store: the same one writer of the working
# DuckDB file by default; in lake mode none: each month's steps take its own lock (warehouse/lake.py
# part_locks), so two months run at once, while the steps that touch the whole store (publish, the
# half-year, dim_month, the backlog) keep WRITER_POOL. Chosen when the code location loads.
MONTH_POOL = None if lake_configured() else WRITER_POOL


class VobWarehouse(dg.ConfigurableResource):
    """Every VOB_* setting (README, Configuration), as the variable's text: a field per variable
    (vob/settings.py VARIABLES), None for "not set" (the default of vob/settings.py). The code location
    fills the fields from the environment with `dg.EnvVar` (`from_environment`, pipelines/definitions.py);
    a test passes values. `settings()` parses them with `load_settings`, as `vob` parses its environment."""

    landing_dir: str | None = None
    warehouse: str | None = None
    work_dir: str | None = None
    report_dir: str | None = None
    pii_key: str | None = None
    pii_key_file: str | None = None
    reject_threshold_pct: str | None = None
    export_lag_days: str | None = None
    settle_seconds: str | None = None
    duckdb_memory_limit: str | None = None
    kpi_band_pct: str | None = None
    report_digits: str | None = None
    chromium: str | None = None
    file_group: str | None = None
    bi_group: str | None = None
    warehouse_mode: str | None = None
    lock_timeout_seconds: str | None = None
    superset_home: str | None = None
    dashboard_dir: str | None = None
    alert_webhook_url: str | None = None
    alert_webhook_url_file: str | None = None
    dagster_ui_url: str | None = None
    first_month: str | None = None
    executor: str | None = None
    celery_broker_url: str | None = None
    celery_broker_url_file: str | None = None
    celery_backend_url: str | None = None
    celery_backend_url_file: str | None = None
    celery_visibility_timeout_seconds: str | None = None
    iceberg_catalog_uri: str | None = None
    iceberg_catalog_uri_file: str | None = None
    iceberg_warehouse: str | None = None
    s3_endpoint: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None
    s3_secret_access_key_file: str | None = None
    s3_region: str | None = None
    _settled_before: float | None = PrivateAttr(default=None)
    _rebuild: str = PrivateAttr(default=ANY_REBUILD)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str]) -> VobWarehouse:
        """Each field whose variable is set in `environ` as a `dg.EnvVar`: Dagster reads its value when
        the resource is initialised (a run, a sensor tick) and never shows it; an unset variable stays
        None (Dagster's EnvVar has no default, and fails on an unset variable)."""
        fields: dict[str, Any] = {
            name: dg.EnvVar(variable) for name, variable in VARIABLES.items() if environ.get(variable)
        }
        return cls(**fields)

    @classmethod
    def from_variables(cls, variables: Mapping[str, str]) -> VobWarehouse:
        """The fields from the values in `variables` (by variable name, as `load_settings` takes them):
        a test's or a script's settings, without the environment."""
        fields: dict[str, Any] = {
            name: variables[variable] for name, variable in VARIABLES.items() if variables.get(variable)
        }
        return cls(**fields)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """In the process that executes a run: tag the run with this process (pipelines/recovery.py),
        fix the run's settle cutoff (files modified after it are left for a later run) and the rebuild
        command a damaged working database names (set by `vob run`)."""
        run, instance = context.run, context.instance
        if run is None or instance is None:
            return
        settings = self.settings()
        if settings.executor == "in_process":
            # with Celery this is a worker executing one step, not the run's process (the one the
            # dead-run reaper watches: `vob run`'s, or the daemon's run worker); a dead worker's step
            # is redelivered to another worker (docs/scale-out.md, "Workers")
            tag_run_process(instance, run.run_id)
        self._settled_before = settle_cutoff(instance, run, settings.settle_seconds)
        self._rebuild = run.tags.get(REBUILD_TAG, ANY_REBUILD)

    @property
    def settled_before(self) -> float | None:
        """Epoch seconds: landing files modified after it are left for a later run (None outside a run)."""
        return self._settled_before

    def variables(self) -> dict[str, str]:
        """The fields that are set, by their variable's name."""
        return {variable: value for name, variable in VARIABLES.items() if (value := getattr(self, name)) is not None}

    def settings(self) -> Settings:
        return load_settings(self.variables())

    @contextmanager
    def work_session(self, scope: Scope, run_id: str | None = None) -> Iterator[StepDatabase]:
        """The step's database for `scope` (warehouse/session.py): the working DuckDB file, or in lake mode
        a DuckDB filled with the scope's rows, whose changes are committed when the block ends."""
        # No warehouse lock here (warehouse/writer_lock.py): a step holds its pool slot, and taking the
        # lock too while `vob run` of the same instance holds it and waits for that slot would deadlock.
        settings = self.settings()
        restrict_new_files(settings)  # a run started without vob-service (`dagster dev`) too
        with work_session(settings, scope, self._rebuild, run_id) as session:
            yield session

    @contextmanager
    def work_db(self, scope: Scope, run_id: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.work_session(scope, run_id) as session:
            yield session.con


def settle_cutoff(instance: dg.DagsterInstance, run: dg.DagsterRun, settle_seconds: float) -> float:
    """The run's tag `vob/settled_before` (set by `vob run`), else the run's start minus VOB_SETTLE_SECONDS."""
    if run.tags.get(SETTLED_TAG):
        return float(run.tags[SETTLED_TAG])
    record = instance.get_run_record_by_id(run.run_id)
    started = record.start_time if record is not None and record.start_time else time.time()
    return started - settle_seconds


def tag_run_process(instance: dg.DagsterInstance, run_id: str) -> None:
    """Record this process on the run (a run launched by the daemon: called in its run worker)."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.tags.get(PID_TAG) != str(os.getpid()):
        instance.add_run_tags(run_id, process_tags())

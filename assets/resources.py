"""The Dagster resources, one per concern: the working warehouse, the report, the dashboard, the alerts.

Each reads the VOB_* settings (README, Configuration) once, when Dagster initialises it in the process
that runs a step or evaluates a sensor tick, through `vob.base.settings.load_settings`, the one place that
knows the variables: their defaults, their checks, and the secrets read from `*_FILE`. A new setting is
added there only; no resource has a field per variable.

Why not a field per variable filled with `dg.EnvVar`: an EnvVar has no default and fails on an unset
variable, so the code location could only wire the variables set where it loaded, and the resources'
config shape then changed with that environment; nor can an EnvVar read a secret from a file. Read at
initialisation, the settings are what an EnvVar would give (the value where the run or tick starts,
never shown in the UI), with the defaults and the secret files. A test or a script passes its own
variables instead (`vob_resources(variables)`): the one config field, the same for every resource.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from vob.base.files import restrict_new_files
from vob.base.processes import PID_TAG, process_tags
from vob.base.settings import Settings, lake_configured, load_settings
from vob.landing.contract import SETTLED_TAG
from warehouse.lake import Scope
from warehouse.session import work_session
from warehouse.store import ANY_REBUILD, REBUILD_TAG, StepDatabase

WRITER_POOL = "vob_warehouse_writer"  # one writer of the working DuckDB file at a time
# The pool of the steps that write a month (or months) of the store: the same one writer of the working
# DuckDB file by default; in lake mode none: each month's steps take its own lock (warehouse/lake.py
# part_locks), so two months run at once, while the steps that touch the whole store (publish, the
# half-year, dim_month, the backlog) keep WRITER_POOL. Chosen when the code location loads.
MONTH_POOL = None if lake_configured() else WRITER_POOL


class VobSettingsResource(dg.ConfigurableResource):
    """The settings, parsed once when the resource is initialised; in a run, the run is tagged with the
    process that executes it (pipelines/recovery.py)."""

    variables: dict[str, str] | None = None  # None: the VOB_* variables of the process (a test: its own)
    _settings: Settings | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        self._settings = load_settings(self.variables)
        # with Celery this is a worker executing one step, not the run's process (the one the dead-run
        # reaper watches: `vob run`'s, or the daemon's run worker); a dead worker's step is redelivered to
        # another worker (docs/scale-out.md, "Workers")
        if context.run is not None and context.instance is not None and self._settings.executor == "in_process":
            tag_run_process(context.instance, context.run.run_id)

    @property
    def settings(self) -> Settings:
        if self._settings is None:  # used without Dagster initialising it (a script, a test)
            self._settings = load_settings(self.variables)
        return self._settings


class WorkingWarehouse(VobSettingsResource):
    """The working DuckDB file and the run's landing cutoff: what the monthly and half-year assets, the
    checks and the landing sensor use."""

    _settled_before: float | None = PrivateAttr(default=None)
    _rebuild: str = PrivateAttr(default=ANY_REBUILD)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Also, in a run: fix its settle cutoff (files modified after it are left for a later run) and the
        rebuild command a damaged working database names (set by `vob run`)."""
        super().setup_for_execution(context)
        run, instance = context.run, context.instance
        if run is not None and instance is not None:
            self._settled_before = settle_cutoff(instance, run, self.settings.settle_seconds)
            self._rebuild = run.tags.get(REBUILD_TAG, ANY_REBUILD)

    @property
    def settled_before(self) -> float | None:
        """Epoch seconds: landing files modified after it are left for a later run (None outside a run)."""
        return self._settled_before

    @contextmanager
    def work_session(self, scope: Scope, run_id: str | None = None) -> Iterator[StepDatabase]:
        """The step's database for `scope` (warehouse/session.py): the working DuckDB file, or in lake mode
        a DuckDB filled with the scope's rows, whose changes are committed when the block ends."""
        # No warehouse lock here (warehouse/writer_lock.py): a step holds its pool slot, and taking the
        # lock too while `vob run` of the same instance holds it and waits for that slot would deadlock.
        settings = self.settings
        restrict_new_files(settings)  # a run started without vob-service (`dagster dev`) too
        with work_session(settings, scope, self._rebuild, run_id) as session:
            yield session

    @contextmanager
    def work_db(self, scope: Scope, run_id: str | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        with self.work_session(scope, run_id) as session:
            yield session.con


class ReportOutput(VobSettingsResource):
    """Where the half-year report goes and how it is rendered: the published warehouse it reads, the report
    folder, the digits, the browser that prints it, the BI group it is shared with."""


class SupersetDashboard(VobSettingsResource):
    """The Superset dashboard: Superset's home, the dashboard folder, the published warehouse it serves."""


class AlertWebhook(VobSettingsResource):
    """Where a failed run is reported: the webhook (a secret) and the UI link in the message."""

    @property
    def url(self) -> str | None:
        return self.settings.alert_webhook_url

    @property
    def ui_url(self) -> str:
        return self.settings.dagster_ui_url


def vob_resources(variables: Mapping[str, str] | None = None) -> dict[str, VobSettingsResource]:
    """Every resource of the code location by its key, reading `variables` (None: the environment of the
    process that initialises them): pipelines/definitions.py, `vob run`, the tests."""
    given = None if variables is None else dict(variables)
    return {
        "warehouse": WorkingWarehouse(variables=given),
        "report_output": ReportOutput(variables=given),
        "dashboard": SupersetDashboard(variables=given),
        "alerts": AlertWebhook(variables=given),
    }


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

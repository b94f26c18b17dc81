"""The Dagster resource that gives assets their settings and the working database."""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from typing import Iterator

import dagster as dg
import duckdb
from pydantic import PrivateAttr

from vob.processes import PID_TAG, process_tags
from vob.landing import SETTLED_TAG, settle_seconds
from vob.settings import Settings, load_settings
from vob.files import restrict_new_files
from warehouse.store import open_work_db

WRITER_POOL = "vob_warehouse_writer"  # one writer of the working DuckDB file at a time


class VobWarehouse(dg.ConfigurableResource):
    """Paths come from the environment at run time (see README, Configuration);
    a test or an operator may override them here."""

    landing_dir: str | None = None
    warehouse: str | None = None
    _settled_before: float | None = PrivateAttr(default=None)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """In the process that executes a run: tag the run with this process (pipelines/recovery.py)
        and fix the run's settle cutoff (files modified after it are left for a later run)."""
        run, instance = context.run, context.instance
        if run is None or instance is None:
            return
        tag_run_process(instance, run.run_id)
        self._settled_before = settle_cutoff(instance, run)

    @property
    def settled_before(self) -> float | None:
        """Epoch seconds: landing files modified after it are left for a later run (None outside a run)."""
        return self._settled_before

    def settings(self) -> Settings:
        overrides = {"VOB_LANDING_DIR": self.landing_dir, "VOB_WAREHOUSE": self.warehouse}
        return load_settings({**os.environ, **{k: v for k, v in overrides.items() if v}})

    @contextmanager
    def work_db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        # No warehouse lock here (warehouse/writer_lock.py): a step holds its pool slot, and taking the
        # lock too while `vob run` of the same instance holds it and waits for that slot would deadlock.
        restrict_new_files()  # a run started without vob-service (`dagster dev`) too
        con = open_work_db(self.settings())
        try:
            yield con
        finally:
            con.close()


def settle_cutoff(instance: dg.DagsterInstance, run: dg.DagsterRun) -> float:
    """The run's tag `vob/settled_before` (set by `vob run`), else the run's start minus VOB_SETTLE_SECONDS."""
    if run.tags.get(SETTLED_TAG):
        return float(run.tags[SETTLED_TAG])
    record = instance.get_run_record_by_id(run.run_id)
    started = record.start_time if record is not None and record.start_time else time.time()
    return started - settle_seconds()


def tag_run_process(instance: dg.DagsterInstance, run_id: str) -> None:
    """Record this process on the run (a run launched by the daemon: called in its run worker)."""
    run = instance.get_run_by_id(run_id)
    if run is not None and run.tags.get(PID_TAG) != str(os.getpid()):
        instance.add_run_tags(run_id, process_tags())

"""The Dagster resource that gives assets their settings and the working database."""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

import dagster as dg
import duckdb

from pipelines.config import Settings, load_settings
from pipelines.files import restrict_new_files
from warehouse.store import open_work_db


class VobWarehouse(dg.ConfigurableResource):
    """Paths come from the environment at run time (see README, Configuration);
    a test or an operator may override them here."""

    landing_dir: str | None = None
    warehouse: str | None = None

    def settings(self) -> Settings:
        overrides = {"VOB_LANDING_DIR": self.landing_dir, "VOB_WAREHOUSE": self.warehouse}
        return load_settings({**os.environ, **{k: v for k, v in overrides.items() if v}})

    @contextmanager
    def work_db(self) -> Iterator[duckdb.DuckDBPyConnection]:
        restrict_new_files()  # a run started without vob-service (`dagster dev`) too
        con = open_work_db(self.settings())
        try:
            yield con
        finally:
            con.close()

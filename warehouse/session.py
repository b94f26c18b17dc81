"""A step's database: the embedded working DuckDB file, or a step's DuckDB filled from the Iceberg
store (warehouse/lake.py) when VOB_ICEBERG_CATALOG_URI is set. Steps see one interface, StepDatabase."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial

from vob.settings import Settings
from warehouse.lake import Scope, lake_session
from warehouse.store import ANY_REBUILD, StepDatabase, open_work_db


@contextmanager
def work_session(
    settings: Settings, scope: Scope, rebuild: str = ANY_REBUILD, run_id: str | None = None
) -> Iterator[StepDatabase]:
    """The step's database for `scope` (the embedded file ignores it: it holds everything). In lake mode
    what the step changed is committed when the block ends without an error (warehouse/lake.py)."""
    if settings.lake:
        with lake_session(settings, scope, run_id) as session:
            yield session
        return
    reopen = partial(open_work_db, settings, rebuild)
    session = StepDatabase(reopen(), settings.work_db, reopen)
    try:
        yield session
    finally:
        session.con.close()

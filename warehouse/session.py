"""A step's database: the embedded working DuckDB file, or a step's DuckDB filled from the Iceberg
store (warehouse/lake.py) when VOB_ICEBERG_CATALOG_URI is set. Steps see one interface."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import duckdb

from vob.settings import Settings
from warehouse.lake import Scope, lake_session
from warehouse.store import ANY_REBUILD, open_work_db


class WorkSession(Protocol):
    con: duckdb.DuckDBPyConnection
    path: Path
    snapshots: dict[str, list[int]]  # lake mode: the Iceberg snapshot ids each table was read at

    def released(self): ...  # a context manager: the file with no connection of ours on it


@dataclass
class EmbeddedSession:
    """The working DuckDB file (warehouse/store.py open_work_db)."""

    con: duckdb.DuckDBPyConnection
    path: Path
    settings: Settings
    rebuild: str
    snapshots: dict[str, list[int]] = field(default_factory=dict)

    @contextmanager
    def released(self) -> Iterator[Path]:
        self.con.close()
        try:
            yield self.path
        finally:
            self.con = open_work_db(self.settings, self.rebuild)


@contextmanager
def work_session(
    settings: Settings, scope: Scope, rebuild: str = ANY_REBUILD, run_id: str | None = None
) -> Iterator[WorkSession]:
    """The step's database for `scope` (the embedded file ignores it: it holds everything). In lake mode
    what the step changed is committed when the block ends without an error (warehouse/lake.py)."""
    if settings.lake:
        with lake_session(settings, scope, run_id) as session:
            yield session
        return
    session = EmbeddedSession(open_work_db(settings, rebuild), settings.work_db, settings, rebuild)
    try:
        yield session
    finally:
        session.con.close()

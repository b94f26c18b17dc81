"""Peak memory of ingest alone, by file size: one source's files of a sample read into
a fresh working database in a child process (its own ru_maxrss), at two scales.

    .venv/bin/python bench/ingest_memory.py crm bench/data/scale1-seed2025 bench/data/scale10-seed2025

The working database is opened as the pipeline opens it (`open_work_db`: DuckDB's
memory limit and spill folder), so the figure shows whether memory grows with the
files' size.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import sys, time
from pathlib import Path
from vob.landing.ingest import ingest
from vob.landing.contract import SOURCES
from vob.base.settings import load_settings
from warehouse.store import open_work_db
source, landing = SOURCES[sys.argv[1]], Path(sys.argv[2])
settings = load_settings()
con = open_work_db(settings)
started = time.perf_counter()
con.begin()
audits = ingest(con, source, landing, source.files(landing), b"bench-key", "bench")
con.commit()
con.close()
size = sum(p.stat().st_size for p in source.files(landing))
print(f"{len(audits)} files, {size / 2**20:,.0f} MiB, {sum(a.rows_read for a in audits):,} rows, "
      f"{time.perf_counter() - started:.1f} s")
"""


def main(source: str, landings: list[str]) -> None:
    root = Path(__file__).resolve().parents[1]
    for landing in landings:
        with tempfile.TemporaryDirectory(dir=root / "bench" / "data") as work:
            env = {
                **os.environ,
                "VOB_WORK_DIR": work,
                "VOB_LANDING_DIR": landing,
                "VOB_PII_KEY": "bench-key",
                "VOB_WAREHOUSE": str(Path(work) / "vob.duckdb"),
            }
            started = time.perf_counter()
            pid = os.spawnve(os.P_NOWAIT, sys.executable, [sys.executable, "-c", CHILD, source, landing], env)
            _, status, usage = os.wait4(pid, 0)
            print(
                f"{source} {landing}: exit {os.waitstatus_to_exitcode(status)}, peak RSS {usage.ru_maxrss / 1024:,.0f} MiB, "
                f"CPU {usage.ru_utime + usage.ru_stime:.1f} s, wall {time.perf_counter() - started:.1f} s",
                flush=True,
            )


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])

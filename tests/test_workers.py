"""Steps on Celery workers (VOB_EXECUTOR=celery; pipelines/workers.py, docs/scale-out.md "Workers"), with
real services on loopback (tests/services.py): PostgreSQL for the Dagster instance, Redis as the broker, an
S3 server. Two `vob worker` processes share only those, each with its own DAGSTER_HOME and temporary folder."""

from __future__ import annotations

import os
import shutil
import signal
import time
from pathlib import Path

import dagster as dg
import pytest
from services import celery_workers, postgres_server, redis_server, s3_server, worker_env, worker_temp
from vob_process import REPO, SCALE, kill_group, marts, run, start, vob_env, write_zone

pytestmark = pytest.mark.slow  # Redis, an S3 server, PostgreSQL and two workers

# a dead worker's step goes back to the queue after this long: longer than any step on a loaded machine
VISIBILITY_SECONDS = 60


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """The services, a factory of worker environments, and the settings the workers and the run's process
    share (set in this process's environment too: it reads the run's events from the same instance)."""
    with (
        postgres_server() as pg,
        redis_server(tmp_path / "redis") as broker,
        s3_server(tmp_path / "s3") as s3,
        worker_temp() as temp,
    ):
        db = pg.create_database()
        s3.create_bucket("vob")
        shared = {
            "DAGSTER_PG_HOST": pg.host,
            "DAGSTER_PG_PORT": str(pg.port),
            "DAGSTER_PG_DB": db,
            "DAGSTER_PG_USERNAME": pg.user,
            "DAGSTER_PG_PASSWORD": pg.password,
            "VOB_EXECUTOR": "celery",
            "VOB_CELERY_BROKER_URL": broker,
            "VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS": str(VISIBILITY_SECONDS),
            "VOB_ICEBERG_CATALOG_URI": pg.url(db),
            "VOB_ICEBERG_WAREHOUSE": "s3://vob/lake",
            "VOB_S3_ENDPOINT": s3.endpoint,
            "VOB_S3_ACCESS_KEY_ID": s3.access_key_id,
            "VOB_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
            "VOB_S3_REGION": s3.region,
        }
        for name, value in shared.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DAGSTER_HOME", str(home(tmp_path / "coordinator")))
        base = dict(os.environ)

        def worker(n: int, **extra: str) -> dict[str, str]:
            return {**worker_env(base, home(tmp_path / f"worker{n}"), temp / str(n)), **extra}

        yield worker, shared


def home(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", folder / "dagster.yaml")
    return folder


def workers_of(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """Step key -> the Celery workers that started it, from the run's engine events."""
    executed: dict[str, list[str]] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        worker = data.metadata.get("Celery worker") if data and data.metadata else None
        if worker is not None and record.step_key:
            executed.setdefault(record.step_key, []).append(str(worker.value).split("@")[0])
    return executed


def test_the_half_year_on_two_workers_publishes_the_embedded_modes_marts_though_a_worker_is_killed(cluster, tmp_path):
    """The sample's H1 by `vob run` in the embedded mode, and again in Iceberg mode (catalog on PostgreSQL,
    warehouse on S3) with its steps on two workers that share only PostgreSQL, Redis and the object store
    (the landing zone and the published folder are mounts every worker sees). One worker is killed (SIGKILL,
    its whole process group) as soon as it starts a step and comes back, as a pod would: the run ends, the
    killed step was done again by a worker, every marts table equals the embedded mode's row for row, the
    reaper left the live run alone, and nothing stays held (pool slots, the months' advisory locks)."""
    from pipelines.recovery import dead_runs_sensor

    worker, shared = cluster
    write_zone(tmp_path / "landing")
    started = time.monotonic()
    embedded = {"VOB_WAREHOUSE": str(tmp_path / "embedded" / "vob.duckdb")}
    code, log = run(["run", "--period", "2025-H1"], vob_env(tmp_path, "embedded_home", **embedded), tmp_path / "e.log")
    assert code == 0, log
    embedded_seconds = time.monotonic() - started

    lake = {
        **{k: v for k, v in shared.items() if k.startswith("VOB_")},
        "VOB_WAREHOUSE": str(tmp_path / "lake" / "vob.duckdb"),
    }
    coordinator = vob_env(tmp_path, "coordinator", **lake, VOB_WORK_DIR=str(tmp_path / "coordinator" / "work"))
    own = {k: coordinator[k] for k in ("VOB_LANDING_DIR", "VOB_PII_KEY", "VOB_SETTLE_SECONDS")}

    def worker_of(n: int, incarnation: int = 0) -> dict[str, str]:
        return worker(n, **lake, **own, VOB_WORK_DIR=str(tmp_path / f"worker{n}" / f"work{incarnation}"))

    started = time.monotonic()
    with (
        celery_workers([worker_of(0), worker_of(1)], tmp_path / "logs", REPO) as processes,
        dg.DagsterInstance.get() as instance,
    ):
        process = start(["run", "--period", "2025-H1"], coordinator, tmp_path / "lake.log")
        try:
            victim_step = None
            deadline = time.monotonic() + 600
            while victim_step is None:
                assert process.poll() is None and time.monotonic() < deadline, (tmp_path / "lake.log").read_text()
                for record in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                    victim_step = next((s for s, w in workers_of(instance, record.run_id).items() if "w0" in w), None)
                time.sleep(0.1)
            os.killpg(processes[0].pid, signal.SIGKILL)  # in the middle of its step: the fill takes seconds
            assert "no dead run" in dead_runs_sensor(dg.build_sensor_context(instance=instance)).skip_message
            with celery_workers([worker_of(0, 1)], tmp_path / "logs_again", REPO):  # the pod comes back
                assert process.wait(1200) == 0, (tmp_path / "lake.log").read_text()
        finally:
            kill_group(process)
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"vob/trigger": "cli"}))
        executed = {step: w for r in runs for step, w in workers_of(instance, r.run_id).items()}
        pools = instance.event_log_storage.get_concurrency_keys()
        held = {p: instance.event_log_storage.get_concurrency_info(p).active_run_ids for p in pools}
    lake_seconds = time.monotonic() - started

    # started on the killed worker, then redone (again if a slow copy outlived the visibility timeout: the
    # months' locks make a second copy wait and write the same rows)
    assert executed[victim_step][0] == "w0" and len(executed[victim_step]) >= 2, executed
    assert {w for names in executed.values() for w in names} == {"w0", "w1"}, executed
    assert not any(held.values()), held
    assert advisory_locks(shared) == 0
    expected, got = marts(tmp_path / "embedded" / "vob.duckdb"), marts(tmp_path / "lake" / "vob.duckdb")
    assert sorted(got) == sorted(expected)
    for table, rows in expected.items():
        assert got[table] == rows, table
    assert all(expected[t] for t in ("fct_channel_monthly", "fct_vob_half_year", "fct_calls_service_monthly"))
    print(f"H1 at scale {SCALE}: embedded {embedded_seconds:.0f} s, Iceberg on two workers {lake_seconds:.0f} s")


def advisory_locks(shared: dict[str, str]) -> int:
    """Advisory locks held in the catalog's database (warehouse/lake.py part_locks)."""
    import psycopg2

    with (
        psycopg2.connect(
            host=shared["DAGSTER_PG_HOST"],
            port=shared["DAGSTER_PG_PORT"],
            dbname=shared["DAGSTER_PG_DB"],
            user=shared["DAGSTER_PG_USERNAME"],
            password=shared["DAGSTER_PG_PASSWORD"],
        ) as con,
        con.cursor() as cur,
    ):
        cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        return cur.fetchone()[0]

"""Steps on Celery workers (VOB_EXECUTOR=celery; pipelines/workers.py, docs/scale-out.md "Workers"), with
real services on loopback (tests/services.py): PostgreSQL for the Dagster instance, Redis as the broker, an
S3 server. Two `vob worker` processes share only those, each with its own DAGSTER_HOME and temporary folder."""

from __future__ import annotations

import importlib
import os
import shutil
import signal
import time
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest
from services import celery_workers, postgres_server, redis_server, s3_server, worker_env
from vob_process import REPO

pytestmark = pytest.mark.slow  # Redis, an S3 server, PostgreSQL and two workers

TESTS = Path(__file__).resolve().parent
VISIBILITY_SECONDS = 20  # a dead worker's step goes back to the queue after this long: longer than any step here


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    """The services, the shared settings (in this process's environment too: it orchestrates the run), and a
    factory for worker environments."""
    with (
        postgres_server() as pg,
        redis_server(tmp_path / "redis") as broker,
        s3_server(tmp_path / "s3") as s3,
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
            "VOB_S3_ENDPOINT": s3.endpoint,
            "VOB_S3_ACCESS_KEY_ID": s3.access_key_id,
            "VOB_S3_SECRET_ACCESS_KEY": s3.secret_access_key,
            "VOB_S3_REGION": s3.region,
            "PROBE_BUCKET": "vob",
        }
        for name, value in shared.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DAGSTER_HOME", str(home(tmp_path / "coordinator")))
        base = {**os.environ, "PYTHONPATH": f"{TESTS}{os.pathsep}{REPO}"}

        def worker(n: int, **extra: str) -> dict[str, str]:
            return {**worker_env(base, home(tmp_path / f"worker{n}"), tmp_path / f"worker{n}" / "tmp"), **extra}

        yield s3, worker


def home(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", folder / "dagster.yaml")
    return folder


def run_probe(instance: dg.DagsterInstance) -> dg.JobExecutionResult:
    """The probe job (tests/celery_probe.py) with the executor of this environment: this process
    orchestrates, the workers execute."""
    import celery_probe
    from dagster._core.definitions.reconstruct import ReconstructableRepository

    importlib.reload(celery_probe)  # its executor from this test's settings
    repo = ReconstructableRepository.for_module("celery_probe", "defs", working_directory=str(TESTS))
    return dg.execute_job(
        repo.get_reconstructable_job("months_on_workers"), instance, tags={"vob/pid": str(os.getpid())}
    )


def workers_of(instance: dg.DagsterInstance, run_id: str) -> dict[str, list[str]]:
    """Step key -> the Celery workers that started it, from the run's engine events."""
    executed: dict[str, list[str]] = {}
    for record in instance.all_logs(run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        worker = data.metadata.get("Celery worker") if data and data.metadata else None
        if worker is not None and record.step_key:
            executed.setdefault(record.step_key, []).append(str(worker.value).split("@")[0])
    return executed


def written(s3) -> tuple[dict[str, int], int]:
    from celery_probe import MONTHS

    filesystem = s3.filesystem()
    months = {m: pq.read_table(f"vob/months/{m}.parquet", filesystem=filesystem).num_rows for m in MONTHS}
    return months, pq.read_table("vob/total.parquet", filesystem=filesystem).column("rows")[0].as_py()


def test_two_workers_share_a_run_and_write_exact_months(cluster, tmp_path):
    from celery_probe import MONTHS, rows_of

    s3, worker = cluster
    with celery_workers([worker(0), worker(1)], tmp_path / "logs", REPO), dg.DagsterInstance.get() as instance:
        started = time.monotonic()
        result = run_probe(instance)
        seconds = time.monotonic() - started
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        executed = workers_of(instance, result.run_id)

    assert sorted(executed) == sorted([*(f"month_{m.replace('-', '_')}" for m in MONTHS), "total"])
    assert {w for names in executed.values() for w in names} == {"w0", "w1"}, executed  # both took steps
    assert all(len(names) == 1 for names in executed.values()), executed  # each step ran once
    assert written(s3) == ({m: rows_of(m) for m in MONTHS}, sum(rows_of(m) for m in MONTHS))
    print(f"6 months and a total on two workers in {seconds:.1f} s")


def test_a_worker_killed_in_a_step_leaves_exact_figures_and_no_slot_held(cluster, tmp_path):
    """SIGKILL to a worker's whole process group while it executes a step: Redis gives the step to the other
    worker after the visibility timeout, the run ends with exact rows, the run (whose process is alive) is not
    reaped, and no pool slot stays held."""
    from celery_probe import MONTHS, month_pool, rows_of

    from pipelines.recovery import dead_runs_sensor

    s3, worker = cluster
    slow = {"PROBE_SLOW_MONTH": "2025-03", "PROBE_SLOW_SECONDS": "5"}
    step = "month_2025_03"
    with (
        celery_workers([worker(0, **slow), worker(1, **slow)], tmp_path / "logs", REPO) as processes,
        dg.DagsterInstance.get() as instance,
    ):
        import threading

        outcome: dict[str, dg.JobExecutionResult] = {}
        runner = threading.Thread(target=lambda: outcome.setdefault("result", run_probe(instance)))
        runner.start()
        deadline, victim = time.monotonic() + 120, None
        while victim is None:
            assert time.monotonic() < deadline and runner.is_alive(), "the slow step never started"
            for run in instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
                victim = next(iter(workers_of(instance, run.run_id).get(step, [])), None)
            time.sleep(0.2)
        time.sleep(1)  # in the middle of the step
        os.killpg(processes[int(victim[1:])].pid, signal.SIGKILL)
        # the daemon's reaper, while the step waits for its redelivery: the run's process is alive
        assert "no dead run" in dead_runs_sensor(dg.build_sensor_context(instance=instance)).skip_message
        runner.join(300)
        result = outcome["result"]
        assert result.success, [e.message for e in result.all_events if e.is_failure]
        executed = workers_of(instance, result.run_id)
        pools = {month_pool(m) for m in MONTHS} | {"vob_warehouse_writer"}
        held = {p: instance.event_log_storage.get_concurrency_info(p).active_run_ids for p in pools}

    survivor = "w1" if victim == "w0" else "w0"
    assert executed[step] == [victim, survivor], executed  # started on the killed worker, done by the other
    assert written(s3) == ({m: rows_of(m) for m in MONTHS}, sum(rows_of(m) for m in MONTHS))
    assert not any(held.values()), held

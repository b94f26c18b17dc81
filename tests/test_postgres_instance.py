"""The production instance (deploy/dagster.postgres.yaml) against a real PostgreSQL server.

`.ci/run` installs PostgreSQL from Debian's packages, starts a throwaway cluster and
exports DAGSTER_PG_*; without those variables (a laptop without PostgreSQL) this skips.
"""

import os
import shutil
from datetime import date

import pytest
from conftest import RANGE_END, RANGE_START, contacts, vob_resources
from dagster_server import REPO
from landing_files import call, write_calls

PG_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD")

pytestmark = [
    pytest.mark.slow,  # a real PostgreSQL server
    pytest.mark.skipif(
        not all(os.environ.get(name) for name in PG_ENV),
        reason="no PostgreSQL server: DAGSTER_PG_* not set (.ci/run starts one)",
    ),
]


def test_runs_and_materializations_are_stored_in_postgres(vob_env, tmp_path):
    import dagster as dg
    import psycopg2
    from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage

    from pipelines.definitions import defs

    home = tmp_path / "dagster_home_pg"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    write_calls(
        vob_env.landing_dir,
        date(2025, 4, 2),
        [call("C-1", "2025-04-02T10:00:00+03:00"), call("C-2", "2025-04-02T11:00:00+03:00")],
    )

    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        result = defs.resolve_job_def("monthly_refresh").execute_in_process(
            instance=instance, tags={RANGE_START: "2025-04", RANGE_END: "2025-04"}, resources=vob_resources()
        )
        assert result.success
        run_id = result.run_id

    # a fresh instance (another process, another day) reads the run back from PostgreSQL
    with dg.DagsterInstance.from_config(str(home)) as instance:
        run = instance.get_run_by_id(run_id)
        assert run.status == dg.DagsterRunStatus.SUCCESS
        assert run.job_name == "monthly_refresh"
        records = instance.fetch_materializations(
            dg.AssetRecordsFilter(
                asset_key=dg.AssetKey(["marts", "fct_channel_monthly"]), asset_partitions=["2025-04"]
            ),
            limit=10,
        ).records
        assert run_id in {r.run_id for r in records}
        mine = [r for r in records if r.run_id == run_id][0]
        assert mine.asset_materialization.metadata["dagster/row_count"].value == 6  # six channels

    assert contacts(vob_env, "2025-04")["calls"] == 2

    # and it is really in the server's tables
    with (
        psycopg2.connect(
            host=os.environ["DAGSTER_PG_HOST"],
            port=os.environ["DAGSTER_PG_PORT"],
            dbname=os.environ["DAGSTER_PG_DB"],
            user=os.environ["DAGSTER_PG_USERNAME"],
            password=os.environ["DAGSTER_PG_PASSWORD"],
        ) as con,
        con.cursor() as cur,
    ):
        cur.execute("SELECT status FROM runs WHERE run_id = %s", (run_id,))
        assert cur.fetchall() == [("SUCCESS",)]
        cur.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            (run_id,),
        )
        assert cur.fetchall()[0][0] >= 10  # 7 staging + 3 marts + published_warehouse


INSTANCE_CHECK = """
import dagster as dg, os, sys
from dagster_postgres import PostgresRunStorage
with dg.DagsterInstance.from_config(sys.argv[1]) as instance:
    assert isinstance(instance.run_storage, PostgresRunStorage)
    print("runs:", len(instance.get_runs(limit=1)), "password from file:", "DAGSTER_PG_PASSWORD_FILE" not in os.environ)
"""


def test_the_password_may_come_from_a_mounted_secret_file(tmp_path):
    """dagster.postgres.yaml reads DAGSTER_PG_PASSWORD; vob-service fills it from DAGSTER_PG_PASSWORD_FILE."""
    import subprocess
    import sys

    home = tmp_path / "dagster_home_pg"
    home.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", home / "dagster.yaml")
    password = os.environ["DAGSTER_PG_PASSWORD"]
    secret = tmp_path / "pg_password"
    secret.write_text(password + "\n")
    env = {k: v for k, v in os.environ.items() if k != "DAGSTER_PG_PASSWORD"}
    env["DAGSTER_PG_PASSWORD_FILE"] = str(secret)
    service = [sys.executable, "-m", "pipelines.service", "python", "-c", INSTANCE_CHECK, str(home)]
    done = subprocess.run(service, env=env, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "password from file: True" in done.stdout

    wrong = tmp_path / "wrong_password"  # the file is really what is used: a wrong one fails to connect
    wrong.write_text("not-the-password\n")
    failed = subprocess.run(
        service,
        env={**env, "DAGSTER_PG_PASSWORD_FILE": str(wrong)},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert failed.returncode != 0 and "password authentication failed" in failed.stderr

    both = subprocess.run(
        service, env={**env, "DAGSTER_PG_PASSWORD": password}, capture_output=True, text=True, timeout=120, cwd=REPO
    )
    assert both.returncode == 2
    assert "both DAGSTER_PG_PASSWORD and DAGSTER_PG_PASSWORD_FILE are set" in both.stderr
    assert password not in both.stderr + both.stdout

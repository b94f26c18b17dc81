"""Run the real `vob` command in its own process group, as an operator's shell does, and read
what it published. Used by the crash-safety tests (docs/operations.md, "A run died")."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb

REPO = Path(__file__).resolve().parent.parent
VOB = Path(sys.executable).parent / "vob"
SCALE = 0.01  # the sample landing zone at 1 %: every source, every month of H1, the registers


def vob_env(root: Path, home: str = "dagster_home", **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOB_", "DAGSTER_HOME"))}
    env.update(
        VOB_LANDING_DIR=str(root / "landing"),
        VOB_WAREHOUSE=str(root / "warehouse" / "vob.duckdb"),
        VOB_PII_KEY="crash-test-key",
        DAGSTER_HOME=str(root / home),
        VOB_SETTLE_SECONDS="0",
        PYTHONUNBUFFERED="1",
    )  # what it printed is in the log even when it is killed
    env.update(extra)
    return env


def write_zone(landing: Path) -> None:
    from vob.sample import write_sample

    write_sample(landing, scale=SCALE, seed=2025)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen:
    """`vob ARGS` in a new session (its own process group), output to `log`."""
    return subprocess.Popen(
        [str(VOB), *args], cwd=REPO, env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True
    )


def run(args: list[str], env: dict[str, str], log: Path, timeout: float = 900) -> tuple[int, str]:
    process = start(args, env, log)
    try:
        code = process.wait(timeout)
    finally:
        kill_group(process)
    return code, log.read_text()


def kill_group(process: subprocess.Popen) -> None:
    """SIGKILL the whole process group, as the OOM killer or a container eviction does."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def wait_for_step(home: Path, step_key: str, process: subprocess.Popen, timeout: float = 600) -> str:
    """Wait until a run of `process` in the instance in `home` starts step `step_key` (its STEP_START
    event); the run id. Only this process's runs (tag vob/pid): a run killed by the previous attempt
    stays STARTED until this process reaps it, and may have started the same step."""
    import dagster as dg
    from dagster._core.events import DagsterEventType

    from vob.base.processes import PID_TAG

    ours = dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED], tags={PID_TAG: str(process.pid)})
    deadline = time.monotonic() + timeout
    with dg.DagsterInstance.from_config(str(home)) as instance:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"vob exited ({process.returncode}) before step {step_key} started")
            for run in instance.get_runs(filters=ours):
                for record in instance.all_logs(run.run_id, of_type=DagsterEventType.STEP_START):
                    if record.step_key == step_key:
                        return run.run_id
            time.sleep(0.2)
    raise TimeoutError(f"step {step_key} did not start in {timeout} s")


def marts(path: Path) -> dict[str, list[tuple]]:
    """Every table of the published marts schema, all rows, sorted."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        tables = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY 1"
            ).fetchall()
        ]
        return {t: sorted(con.execute(f"SELECT * FROM marts.{t}").fetchall(), key=repr) for t in tables}
    finally:
        con.close()

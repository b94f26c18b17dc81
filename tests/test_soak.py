"""Nights left alone (issue 24): the real `dagster-daemon` on the production instance
(deploy/dagster.postgres.yaml, PostgreSQL) while a harness plays deliveries into the landing zone,
one "night" per tick of the landing sensor, with faults drawn from a seed that the test prints,
and a crowd of BI readers querying the published file the whole time.

    VOB_SOAK_NIGHTS=30 VOB_SOAK_SEED=7 pytest -q -m slow tests/test_soak.py -s

Nights (VOB_SOAK_NIGHTS, default NIGHTS_CI) end on 2025-07-01, so every soak crosses a month end (the
count files) and a half-year end (the registers workbook). Faults, on nights drawn from the seed:
a run's process SIGKILLed at a random moment (the `dead_runs` sensor fails it, the operator runs
the period again as docs/operations.md says); an earlier day re-delivered corrected; an earlier day
re-delivered with contract-breaking lines (the gate fails the run) and corrected the next night; a
file still being written while the sensor looks; a day's e-mail export two nights late; the alert
webhook receiver down for a night; a contract-breaking line left for good. What must hold at the end
is asserted in `test_nights_of_deliveries_faults_and_readers` (docs/operations.md, "Nights left alone").
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import soak_landing as land
from dagster._core.scheduler.instigation import InstigatorType, TickStatus
from dagster_server import BIN, REPO, DagsterServer
from webhook_receiver import Receiver

from vob.base.processes import PID_TAG

PG_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD")

pytestmark = [
    pytest.mark.slow,  # a real daemon on PostgreSQL for several minutes
    pytest.mark.skipif(
        not all(os.environ.get(name) for name in PG_ENV),
        reason="no PostgreSQL server: DAGSTER_PG_* not set (.ci/run starts one)",
    ),
]

REACTING_SENSORS = ("half_year_after_months", "dashboard_after_publish")
# what the dashboard sensor's builds leave beside the published file when Superset is installed (the
# clean run builds no dashboard); anything else there is a leak
DASHBOARD_FILES = {
    f"vob_dashboard/{n}" for n in ("vob_dashboard_bundle.zip", "vob_dashboard.png", "vob_dashboard_preview.jpg")
}
NIGHTS_CI = 5  # about 8 minutes on 2 shared cores; the 30-night run is recorded in docs/operations.md
LAST_DAY = date(2025, 7, 1)
FIRST_MONTH = "2025-06"  # the deployment's first month (VOB_FIRST_MONTH): a CRM snapshot refreshes from it
READERS = 8
SETTLE_SECONDS = 5  # VOB_SETTLE_SECONDS: the compressed clock's "still being written"
POOL = "vob_warehouse_writer"
TERMINAL = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
SIZE_MARGIN = 1.5  # the soak's working database against a clean run's, and 2 MiB for DuckDB's block rounding
SIZE_SLACK_BYTES = 2 * 1024 * 1024
KINDS = ("kill", "corrected", "broken", "in_progress", "late", "webhook_down", "bad_line")


@dataclass
class Plan:
    """The faults of each night (index into the nights), drawn from the seed."""

    nights: int
    faults: dict[int, set[str]] = field(default_factory=dict)
    corrected_day: dict[int, int] = field(default_factory=dict)  # night -> earlier night whose calls
    broken_day: dict[int, int] = field(default_factory=dict)

    def at(self, night: int) -> set[str]:
        return self.faults.get(night, set())

    def count(self) -> Counter:
        return Counter(kind for kinds in self.faults.values() for kind in kinds)


def draw(seed: int, nights: int) -> Plan:
    """Each kind of fault at least once, more in a longer soak; a kill and a broken delivery never on
    the last night (the operator's re-run and the correction need a night after them)."""
    rng = random.Random(seed)
    plan = Plan(nights)

    def pick(kind: str, eligible: list[int], rate: float) -> list[int]:
        chosen = rng.sample(eligible, min(len(eligible), max(1, round(nights * rate))))
        for night in chosen:
            plan.faults.setdefault(night, set()).add(kind)
        return chosen

    middle = list(range(1, nights - 1))
    for night in pick("broken", middle, 0.07):
        plan.broken_day[night] = rng.randrange(0, night)
    pick("kill", [n for n in middle if "broken" not in plan.at(n) and "broken" not in plan.at(n - 1)], 0.15)
    for night in pick("corrected", list(range(1, nights)), 0.1):
        plan.corrected_day[night] = rng.randrange(max(0, night - 3), night)
    pick("in_progress", list(range(nights)), 0.1)
    pick("late", list(range(nights - 2)), 0.1)
    pick("bad_line", list(range(nights)), 0.15)
    failing = sorted(n for n in plan.faults if plan.at(n) & {"kill", "broken"})
    pick("webhook_down", failing, 0.07)
    return plan


@dataclass
class Figures:
    faults: Counter = field(default_factory=Counter)
    runs_killed: int = 0
    runs_recovered: int = 0
    expected_rejects: set[tuple[str, int]] = field(default_factory=set)
    in_progress_files: list[str] = field(default_factory=list)
    killed_runs: list[str] = field(default_factory=list)


class Soak:
    def __init__(self, root: Path, seed: int, plan: Plan, receiver: Receiver):
        self.root, self.seed, self.plan, self.receiver = root, seed, plan, receiver
        self.landing = root / "landing"
        self.landing.mkdir(parents=True)
        self.days = [LAST_DAY - timedelta(days=plan.nights - 1 - i) for i in range(plan.nights)]
        self.versions: dict[date, int] = {}  # calls file version delivered per day
        self.figures = Figures()
        self.held: dict[int, list[tuple[str, date]]] = {}  # night -> late files to deliver then
        self.started = time.time()
        self.home = root / "dagster_home"
        self.home.mkdir()
        shutil.copy(REPO / "deploy" / "dagster.postgres.yaml", self.home / "dagster.yaml")
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("VOB_", "DAGSTER_HOME"))},
            "VOB_LANDING_DIR": str(self.landing),
            "VOB_WAREHOUSE": str(root / "warehouse" / "vob.duckdb"),
            "VOB_PII_KEY": "soak-key",
            "VOB_SETTLE_SECONDS": str(SETTLE_SECONDS),
            "VOB_FIRST_MONTH": FIRST_MONTH,
            "VOB_ALERT_WEBHOOK_URL": receiver.url,
            "VOB_REPORT_DIR": str(root / "reports"),
            "PYTHONUNBUFFERED": "1",
        }
        self.server = DagsterServer(self.home, self.env, root)
        self.instance = dg.DagsterInstance.from_config(str(self.home))
        # a throwaway database (.ci/postgres.sh): an earlier soak's runs, run keys and sensor cursors
        # would make this one's deliveries look already seen
        self.instance.wipe()
        self.instance.schedule_storage.wipe()  # type: ignore[union-attr]
        self.instance.wipe_daemon_heartbeats()

    # --- deliveries -------------------------------------------------------------------------
    def deliver_calls(self, day: date, version: int = 0, bad_line: bool = False, broken: bool = False) -> None:
        path = land.event_file(self.landing, "calls", day)
        land.write_text(path, land.calls_text(self.seed, day, version, bad_line=bad_line, broken=broken))
        rel = path.relative_to(self.landing).as_posix()
        self.figures.expected_rejects = {r for r in self.figures.expected_rejects if r[0] != rel}
        if bad_line:
            self.figures.expected_rejects.add((rel, land.BAD_LINE_NO))

    def deliver_event(self, source: str, day: date) -> None:
        land.write_text(land.event_file(self.landing, source, day), land.event_text(self.seed, source, day))

    def deliver_slowly(self, source: str, day: date) -> None:
        """The file written a chunk a second (never whole) until a tick of the landing sensor has looked at it."""
        path = land.event_file(self.landing, source, day)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = land.event_text(self.seed, source, day)
        step = max(1, len(text) // 120)  # about two minutes of writing, never the last byte before a tick
        since, written = time.time(), 0
        with path.open("w", encoding="utf-8") as out:
            while not self.sensor_ticked_since(since):
                chunk = text[written : min(written + step, len(text) - 1)]
                out.write(chunk)
                out.flush()
                written += len(chunk)
                time.sleep(1)
            out.write(text[written:])
        assert path.read_text(encoding="utf-8") == land.event_text(self.seed, source, day)
        self.figures.in_progress_files.append(path.relative_to(self.landing).as_posix())

    def play_night(self, night: int) -> None:
        day, faults = self.days[night], self.plan.at(night)
        self.figures.faults.update(faults)
        if "webhook_down" in faults:
            self.receiver.down()
        self.versions.setdefault(day, 0)
        self.deliver_calls(day, bad_line="bad_line" in faults)
        if "late" in faults:
            self.held.setdefault(min(night + 2, self.plan.nights - 1), []).append(("email", day))
        else:
            self.deliver_event("email", day)
        for source, late_day in self.held.pop(night, []):
            self.deliver_event(source, late_day)
        if night in self.plan.corrected_day:
            earlier = self.days[self.plan.corrected_day[night]]
            self.versions[earlier] += 1
            self.deliver_calls(earlier, self.versions[earlier])
        if night in self.plan.broken_day:
            self.deliver_calls(
                self.days[self.plan.broken_day[night]],
                self.versions[self.days[self.plan.broken_day[night]]],
                broken=True,
            )
        if night - 1 in self.plan.broken_day:  # corrected the next night
            earlier = self.days[self.plan.broken_day[night - 1]]
            self.versions[earlier] += 1
            self.deliver_calls(earlier, self.versions[earlier])
        if night % land.CRM_EVERY == land.CRM_EVERY - 1:
            land.write_crm_snapshot(self.seed, self.landing, self.days[0], day)
        if land.month_end(day):
            land.write_month_counts(self.seed, self.landing, [d for d in self.days if d.month == day.month])
        # the workbook on the half's last night, its closing CRM snapshot (exported past midnight) the
        # next one: the harder order (section 11 asks the other), whose half-year facts must follow the
        # snapshot staged after them (sensor half_year_after_months)
        if half := land.half_year_end(day):
            land.write_registers(self.seed, self.landing, half, [d for d in self.days if d <= day])
        if land.half_year_end(day - timedelta(days=1)):
            land.write_crm_snapshot(self.seed, self.landing, self.days[0], day)
        if "in_progress" in faults:
            self.deliver_slowly("chat", day)
        else:
            self.deliver_event("chat", day)
        delivered = time.time()
        if "kill" in faults:
            self.kill_a_run(delivered)
        self.wait_quiet(delivered + SETTLE_SECONDS + 1)
        if "webhook_down" in faults:  # back once the alerts of the night's failures were tried
            self.wait_tick("run_failure_alert", self.last_run_end())
            self.receiver.up()

    # --- the instance ------------------------------------------------------------------------
    def sensor_state(self, name: str):
        states = self.instance.all_instigator_state(instigator_type=InstigatorType.SENSOR)
        return next((s for s in states if s.instigator_name == name), None)

    def last_tick(self, name: str):
        state = self.sensor_state(name)
        if state is None:
            return None
        ticks = self.instance.get_ticks(state.instigator_origin_id, state.selector_id, limit=1)
        return ticks[0] if ticks else None

    def sensor_ticked_since(self, moment: float, name: str = "landing_files") -> bool:
        """A tick of the sensor that started after `moment` and is finished."""
        tick = self.last_tick(name)
        return tick is not None and tick.timestamp > moment and tick.status != TickStatus.STARTED

    def wait_tick(self, name: str, after: float, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while not self.sensor_ticked_since(after + 1, name):
            assert time.monotonic() < deadline, f"sensor {name} did not tick in {timeout} s"
            self.check_daemon()
            time.sleep(1)

    def soak_runs(self) -> list[dg.DagsterRun]:
        return [
            r.dagster_run
            for r in self.instance.get_run_records(
                filters=dg.RunsFilter(created_after=_utc_datetime(self.started)), ascending=True
            )
        ]

    def last_run_end(self) -> float:
        records = self.instance.get_run_records(filters=dg.RunsFilter(created_after=_utc_datetime(self.started)))
        return max((r.end_time or 0 for r in records), default=0)

    def busy_runs(self) -> list[dg.DagsterRun]:
        return [r for r in self.soak_runs() if r.status not in TERMINAL]

    def wait_quiet(self, settled_after: float, timeout: float = 900, reacting: tuple[str, ...] = ()) -> None:
        """A landing tick has looked after everything delivered settled, and every run is done; with
        `reacting`, those sensors (which launch runs after other runs) have also ticked since the last
        run ended."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_daemon()
            if self.sensor_ticked_since(settled_after) and not self.busy_runs():
                ended = self.last_run_end()
                if all(self.sensor_ticked_since(ended, name) for name in reacting) and not self.busy_runs():
                    return
            time.sleep(1)
        raise TimeoutError(f"the night did not end in {timeout} s: {self.busy_runs()}\n{self.server.log('daemon')}")

    def check_daemon(self) -> None:
        daemon = self.server.processes["daemon"]
        assert daemon.poll() is None, f"the daemon exited ({daemon.returncode}):\n{self.server.log('daemon')}"

    def kill_a_run(self, delivered: float, timeout: float = 300) -> None:
        """SIGKILL the process of a run launched for tonight's files, at a random moment of it; then,
        once the `dead_runs` sensor failed it, run its period again as the operator does."""
        rng = random.Random(f"{self.seed}|kill|{delivered}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_daemon()
            started = [
                r
                for r in self.soak_runs()
                if r.status == dg.DagsterRunStatus.STARTED and (r.tags.get(PID_TAG) or self.launcher_pid(r))
            ]
            mine = [
                r
                for r in started
                if self.instance.get_run_record_by_id(r.run_id).create_timestamp.timestamp() > delivered
            ]  # type: ignore[union-attr]
            if mine:
                break
            time.sleep(0.2)
        else:
            raise TimeoutError(f"no run started for the night's files in {timeout} s\n{self.server.log('daemon')}")
        run = mine[0]
        time.sleep(rng.uniform(0, 4))
        pid = int(run.tags.get(PID_TAG) or self.launcher_pid(run))  # type: ignore[arg-type]
        if self.instance.get_run_by_id(run.run_id).status != dg.DagsterRunStatus.STARTED:  # type: ignore[union-attr]
            return  # it finished first: no kill tonight (counted as not killed)
        os.kill(pid, signal.SIGKILL)
        self.figures.runs_killed += 1
        self.figures.killed_runs.append(run.run_id)
        while self.instance.get_run_by_id(run.run_id).status != dg.DagsterRunStatus.FAILURE:  # type: ignore[union-attr]
            assert time.monotonic() < deadline + 180, (
                f"killed run {run.run_id} never failed\n{self.server.log('daemon')}"
            )
            self.check_daemon()
            time.sleep(1)
        self.rerun(run)

    def launcher_pid(self, run: dg.DagsterRun) -> int | None:
        from pipelines.recovery import _launcher_pid

        return _launcher_pid(self.instance, run)

    def rerun(self, run: dg.DagsterRun) -> None:
        """`dagster job launch` with the dead run's partition tags: the queue, then the daemon, runs it."""
        tags = {
            k: v
            for k, v in run.tags.items()
            if k.startswith("dagster/asset_partition_range") or k == "dagster/partition"
        }
        tags["vob/trigger"] = "operator_rerun"
        done = subprocess.run(
            [
                str(BIN / "dagster"),
                "job",
                "launch",
                "-w",
                "workspace.yaml",
                "-j",
                run.job_name,
                "--tags",
                json.dumps(tags),
            ],
            cwd=REPO,
            env={**self.server.env},
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]


def _utc_datetime(moment: float):
    from datetime import datetime

    return datetime.fromtimestamp(moment, tz=UTC)


def start_readers(published: Path, workdir: Path) -> list[subprocess.Popen]:
    workdir.mkdir()
    return [
        subprocess.Popen(
            [
                "nice",
                "-n",
                "5",
                sys.executable,
                str(Path(__file__).with_name("soak_reader.py")),
                str(published),
                str(workdir),
                f"reader{i}",
            ],
            cwd=REPO,
            stdout=(workdir / f"reader{i}.log").open("w"),
            stderr=subprocess.STDOUT,
        )
        for i in range(READERS)
    ]


def stop_readers(readers: list[subprocess.Popen], workdir: Path) -> list[dict]:
    (workdir / "stop").touch()
    results = []
    for i, reader in enumerate(readers):
        assert reader.wait(120) == 0, (workdir / f"reader{i}.log").read_text()
        results.append(json.loads((workdir / f"reader{i}.json").read_text()))
    return results


def tables(path: Path) -> dict[str, list[tuple]]:
    """Every table of the published file, its rows sorted."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        names = con.execute("SELECT schema_name || '.' || table_name FROM duckdb_tables() ORDER BY 1").fetchall()
        return {n: sorted(con.execute(f"SELECT * FROM {n}").fetchall(), key=repr) for (n,) in names}
    finally:
        con.close()


def clean_run(soak_landing: Path, root: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, int]:
    """One clean run over the final landing zone, in process: every month of the soak, the half-year,
    the publish. The published file's path, and the events its monthly run wrote to the instance."""
    from assets.resources import vob_resources
    from pipelines.definitions import defs

    shutil.copytree(soak_landing, root / "landing")
    env = {
        "VOB_LANDING_DIR": str(root / "landing"),
        "VOB_WAREHOUSE": str(root / "warehouse" / "vob.duckdb"),
        "VOB_PII_KEY": "soak-key",
        "VOB_SETTLE_SECONDS": "0",
        "VOB_FIRST_MONTH": FIRST_MONTH,
        "VOB_REPORT_DIR": str(root / "reports"),
    }
    for name, value in env.items():  # what the soak's runs read, for what else reads the environment here
        monkeypatch.setenv(name, value)
    resources = vob_resources(env)
    events = 0
    with dg.DagsterInstance.ephemeral() as instance:
        for job, tags in (
            (
                "monthly_refresh",
                {
                    "dagster/asset_partition_range_start": FIRST_MONTH,
                    "dagster/asset_partition_range_end": f"{LAST_DAY:%Y-%m}",
                },
            ),
            ("half_year_facts", {"dagster/partition": "2025-H1"}),
            ("publish", {}),
        ):
            result = defs.resolve_job_def(job).execute_in_process(instance=instance, tags=tags, resources=resources)
            assert result.success, job
            if job == "monthly_refresh":
                events = len(instance.all_logs(result.run_id))
    return root / "warehouse" / "vob.duckdb", events


def instance_leftovers() -> dict[str, int]:
    """What the PostgreSQL instance holds that no run should leave: events of runs that do not exist,
    writer-pool slots held, steps waiting for a slot."""
    import psycopg2

    queries = {
        "orphan events": "SELECT count(*) FROM event_logs AS e WHERE e.run_id <> '' "
        "AND NOT EXISTS (SELECT 1 FROM runs AS r WHERE r.run_id = e.run_id)",
        "slots held": "SELECT count(*) FROM concurrency_slots WHERE run_id IS NOT NULL",
        "steps waiting": "SELECT count(*) FROM pending_steps",
    }
    con = psycopg2.connect(
        host=os.environ["DAGSTER_PG_HOST"],
        port=os.environ["DAGSTER_PG_PORT"],
        dbname=os.environ["DAGSTER_PG_DB"],
        user=os.environ["DAGSTER_PG_USERNAME"],
        password=os.environ["DAGSTER_PG_PASSWORD"],
    )
    try:
        with con.cursor() as cur:
            found = {}
            for name, sql in queries.items():
                cur.execute(sql)
                found[name] = cur.fetchone()[0]  # type: ignore[index]
            cur.execute("SELECT pg_database_size(current_database())")
            found["database bytes"] = cur.fetchone()[0]  # type: ignore[index]
            return found
    finally:
        con.close()


def events_per_run(instance: dg.DagsterInstance, runs: list[dg.DagsterRun]) -> dict[str, int]:
    return {r.run_id: len(instance.all_logs(r.run_id)) for r in runs}


def test_nights_of_deliveries_faults_and_readers(tmp_path, monkeypatch):
    nights = int(os.environ.get("VOB_SOAK_NIGHTS", NIGHTS_CI))
    seed = int(os.environ.get("VOB_SOAK_SEED", random.SystemRandom().randrange(10**6)))
    plan = draw(seed, nights)
    print(
        f"\nsoak: {nights} nights, seed {seed} (VOB_SOAK_SEED={seed} replays it); faults by night: "
        + ", ".join(f"{n}:{'+'.join(sorted(k))}" for n, k in sorted(plan.faults.items()))
    )
    receiver = Receiver()
    receiver.up()
    soak = Soak(tmp_path / "soak", seed, plan, receiver)
    published = Path(soak.env["VOB_WAREHOUSE"])
    readers = start_readers(published, tmp_path / "readers")
    soak.server.start_daemon()
    began = time.monotonic()
    try:
        for night in range(nights):
            soak.play_night(night)
            print(f"night {night + 1}/{nights} ({soak.days[night]}) done at {time.monotonic() - began:.0f} s")
        # the runs launched after other runs (the half-year after its months, the dashboard after a publish)
        soak.wait_quiet(time.time(), reacting=REACTING_SENSORS)
        # every failed run alerted, the receiver back: the outbox drains within two of its ticks
        deadline = time.monotonic() + 240
        failed = [r.run_id for r in soak.soak_runs() if r.status == dg.DagsterRunStatus.FAILURE]
        while {b["run_id"] for b in receiver.received} < set(failed) and time.monotonic() < deadline:
            time.sleep(2)
        runs = soak.soak_runs()
        soak.check_daemon()
        landing_tick = soak.last_tick("landing_files")
        assert landing_tick is not None and landing_tick.timestamp > time.time() - 180, "the landing sensor stopped"
        heartbeats = soak.instance.get_daemon_heartbeats()
        assert heartbeats and all(h.timestamp > time.time() - 120 for h in heartbeats.values()), heartbeats
        concurrency = soak.instance.event_log_storage.get_concurrency_info(POOL)
        events = events_per_run(soak.instance, [r for r in runs if r.job_name == "monthly_refresh"])
    finally:
        reader_results = stop_readers(readers, tmp_path / "readers")
        soak.server.stop()
        receiver.down()
    soak_seconds = time.monotonic() - began

    queries = sum(r["queries"] for r in reader_results)
    statuses = Counter(r.status.value for r in runs)
    reruns = sum(r.tags.get("vob/trigger") == "operator_rerun" for r in runs)
    print(
        f"soak figures: nights {nights}, seed {seed}, faults {dict(soak.figures.faults)}, runs launched {len(runs)} "
        f"({dict(statuses)}), killed {soak.figures.runs_killed}, re-run {reruns}, alerts {len(receiver.received)}, "
        f"reader queries {queries} in {sum(r['visits'] for r in reader_results)} visits, reader errors "
        f"{sum(r['errors'] for r in reader_results)}, inconsistent {sum(r['inconsistent'] for r in reader_results)}, "
        f"{soak_seconds:.0f} s"
    )
    # no run left behind, no slot held
    assert set(statuses) <= {"SUCCESS", "FAILURE"}, statuses
    assert not concurrency.active_run_ids and not concurrency.pending_run_ids, concurrency
    # every killed or failed run: exactly one alert, delivered once the receiver was back
    failed = sorted(r.run_id for r in runs if r.status == dg.DagsterRunStatus.FAILURE)
    alerted = Counter(b["run_id"] for b in receiver.received)
    assert sorted(alerted) == failed and set(alerted.values()) <= {1}, (alerted, failed)
    assert set(soak.figures.killed_runs) <= set(failed)
    recovered = [
        r for r in runs if r.tags.get("vob/trigger") == "operator_rerun" and r.status == dg.DagsterRunStatus.SUCCESS
    ]
    assert len(recovered) == soak.figures.runs_killed
    # the half's closing CRM snapshot, staged after its workbook, was followed by the half-year's refresh
    if nights >= 2:
        assert any(
            r.tags.get("vob/trigger") == "half_year_after_months" and r.status == dg.DagsterRunStatus.SUCCESS
            for r in runs
        ), [(r.job_name, r.tags.get("vob/trigger")) for r in runs]
    # a file still being written was read once, whole: one run was triggered by it
    for path in soak.figures.in_progress_files:
        triggered = [r for r in runs if path in r.tags.get("vob/files", "")]
        assert len(triggered) == 1, (path, [r.tags.get("vob/files") for r in triggered])

    # the readers: many answers, no error, nothing inconsistent
    assert all(r["errors"] == 0 for r in reader_results), [r["error_texts"] for r in reader_results]
    assert all(r["inconsistent"] == 0 for r in reader_results), [r["inconsistent_texts"] for r in reader_results]
    assert all(r["visits"] > 0 for r in reader_results)

    # published figures: those of one clean run over the final landing zone, table by table
    clean, clean_events = clean_run(soak.landing, tmp_path / "clean", monkeypatch)
    soak_tables, clean_tables = tables(published), tables(clean)
    assert sorted(soak_tables) == sorted(clean_tables)
    for name in clean_tables:
        assert soak_tables[name] == clean_tables[name], name

    # every contract-breaking line is in quality.rejected_rows; read = loaded + rejected for every file
    work = soak.root / "warehouse" / "vob_work" / "work.duckdb"
    con = duckdb.connect(str(work), read_only=True)
    try:
        rejected = con.execute("SELECT file, line_no FROM quality.rejected_rows").fetchall()
        files = con.execute(
            "SELECT path, rows_read, rows_loaded, rows_rejected, "
            "(SELECT count(DISTINCT line_no) FROM quality.rejected_rows AS q WHERE q.file = f.path) "
            "FROM meta.landing_files AS f"
        ).fetchall()
    finally:
        con.close()
    assert soak.figures.expected_rejects <= set(rejected), (soak.figures.expected_rejects, rejected)
    assert set(rejected) == soak.figures.expected_rejects  # a corrected file's old rejects are gone
    for path, read, loaded, rejected_rows, kept in files:
        assert read == loaded + rejected_rows and kept == rejected_rows, (path, read, loaded, rejected_rows, kept)

    # no leak: the working and published files no larger than a clean run's, no stray file beside them
    clean_work = tmp_path / "clean" / "warehouse" / "vob_work" / "work.duckdb"
    leftovers = instance_leftovers()
    print(
        f"soak sizes: working db {work.stat().st_size} B (clean {clean_work.stat().st_size} B), published "
        f"{published.stat().st_size} B (clean {clean.stat().st_size} B), instance {leftovers}, events per monthly "
        f"run at most {max(events.values())} (clean {clean_events})"
    )
    assert work.stat().st_size <= SIZE_MARGIN * clean_work.stat().st_size + SIZE_SLACK_BYTES
    assert published.stat().st_size <= SIZE_MARGIN * clean.stat().st_size + SIZE_SLACK_BYTES
    soak_files = sorted(
        p.relative_to(published.parent).as_posix()
        for p in published.parent.rglob("*")
        if p.is_file() and p.relative_to(published.parent).as_posix() not in DASHBOARD_FILES
    )
    clean_files = sorted(p.relative_to(clean.parent).as_posix() for p in clean.parent.rglob("*") if p.is_file())
    assert soak_files == clean_files
    assert {k: v for k, v in leftovers.items() if k != "database bytes"} == {
        "orphan events": 0,
        "slots held": 0,
        "steps waiting": 0,
    }
    assert max(events.values()) <= SIZE_MARGIN * clean_events, (max(events.values()), clean_events)

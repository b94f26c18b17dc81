"""Start the real `dagster-webserver` and `dagster-daemon` on loopback, and talk to the
webserver through the GraphQL API the UI uses. Both run in their own process group,
so stopping them stops the code servers and run workers they spawned too."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOCATION = "pipelines.definitions:defs"  # python_module location with an attribute
REPOSITORY = "__repository__"
TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DagsterServer:
    def __init__(self, home: Path, env: dict[str, str], logs: Path):
        self.home, self.env, self.logs = home, {**env, "DAGSTER_HOME": str(home)}, logs
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.processes: dict[str, subprocess.Popen] = {}

    def _spawn(self, name: str, args: list[str]) -> None:
        log = (self.logs / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(  # umask 022: a shell's or a service manager's usual one
            args, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, umask=0o022
        )

    def start_webserver(
        self, timeout: float = 60, extra_args: tuple[str, ...] = (), launcher: tuple[str, ...] = ()
    ) -> None:
        """`launcher` goes before the command (e.g. vob-service), `extra_args` after (--read-only)."""
        self._spawn(
            "webserver",
            [
                *launcher,
                str(BIN / "dagster-webserver"),
                "-w",
                "workspace.yaml",
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                *extra_args,
            ],
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive("webserver")
            try:
                data = self.graphql(
                    """query($s: RepositorySelector!) {
                    repositoryOrError(repositorySelector: $s) { __typename } }""",
                    {"s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY}},
                )
                if data["repositoryOrError"]["__typename"] == "Repository":
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        raise TimeoutError(f"webserver not ready in {timeout} s:\n{self.log('webserver')}")

    def start_daemon(self, launcher: tuple[str, ...] = ()) -> None:
        self._spawn("daemon", [*launcher, str(BIN / "dagster-daemon"), "run", "-w", "workspace.yaml"])

    def _check_alive(self, name: str) -> None:
        if self.processes[name].poll() is not None:
            raise RuntimeError(f"{name} exited ({self.processes[name].returncode}):\n{self.log(name)}")

    def log(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            body = json.loads(response.read())
        if body.get("errors"):
            raise AssertionError(f"GraphQL errors: {body['errors']}")
        return body["data"]

    def stop_sensor(self, name: str) -> None:
        """What the UI's sensor toggle does."""
        data = self.graphql(
            """query($s: SensorSelector!) { sensorOrError(sensorSelector: $s) {
            __typename ... on Sensor { sensorState { id selectorId status } } } }""",
            {"s": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "sensorName": name}},
        )
        state = data["sensorOrError"]["sensorState"]
        result = self.graphql(
            """mutation($id: String, $sel: String) { stopSensor(id: $id, jobSelectorId: $sel) {
            __typename ... on StopSensorMutationResult { instigationState { status } }
            ... on PythonError { message } } }""",
            {"id": state["id"], "sel": state["selectorId"]},
        )
        assert result["stopSensor"]["instigationState"]["status"] == "STOPPED", result

    def launch_backfill(self, params: dict) -> str:
        data = self.graphql(
            """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
            __typename ... on LaunchBackfillSuccess { backfillId }
            ... on PythonError { message stack } ... on InvalidSubsetError { message }
            ... on PartitionSetNotFoundError { message } ... on UnauthorizedError { message } } }""",
            {"p": params},
        )
        result = data["launchPartitionBackfill"]
        assert result["__typename"] == "LaunchBackfillSuccess", result
        return result["backfillId"]

    def launch_runs(self, job: str, tag_sets: list[dict[str, str]]) -> list[str]:
        """Several runs submitted at once (the launchpad's "Launch run", several times)."""
        params = [
            {
                "selector": {"repositoryLocationName": LOCATION, "repositoryName": REPOSITORY, "jobName": job},
                "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
            }
            for tags in tag_sets
        ]
        data = self.graphql(
            """mutation($p: [ExecutionParams!]!) { launchMultipleRuns(executionParamsList: $p) {
            __typename ... on LaunchMultipleRunsResult { launchMultipleRunsResult {
                __typename ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
            ... on PythonError { message } } }""",
            {"p": params},
        )
        results = data["launchMultipleRuns"]["launchMultipleRunsResult"]
        assert all(r["__typename"] == "LaunchRunSuccess" for r in results), results
        return [r["run"]["runId"] for r in results]

    def runs(self, run_ids: list[str]) -> list[dict]:
        data = self.graphql(
            """query($f: RunsFilter) { runsOrError(filter: $f) { ... on Runs {
            results { runId status tags { key value } startTime endTime } } } }""",
            {"f": {"runIds": run_ids}},
        )
        return data["runsOrError"]["results"]

    def wait_runs(self, run_ids: list[str], timeout: float = 120) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive("daemon")
            runs = self.runs(run_ids)
            if len(runs) == len(run_ids) and all(r["status"] in TERMINAL for r in runs):
                return runs
            time.sleep(1)
        raise TimeoutError(f"runs not done in {timeout} s: {runs}\n{self.log('daemon')}")

    def backfill_runs(self, backfill_id: str) -> tuple[str, list[dict]]:
        data = self.graphql(
            """query($id: String!, $f: RunsFilter) {
            partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status } }
            runsOrError(filter: $f) { ... on Runs { results { runId status tags { key value }
                startTime endTime } } } }""",
            {"id": backfill_id, "f": {"tags": [{"key": "dagster/backfill", "value": backfill_id}]}},
        )
        return data["partitionBackfillOrError"]["status"], data["runsOrError"]["results"]

    def wait_backfill(self, backfill_id: str, runs_expected: int, timeout: float = 120) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_alive("daemon")
            status, runs = self.backfill_runs(backfill_id)
            done = status in {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"}
            if done and len(runs) >= runs_expected and all(r["status"] in TERMINAL for r in runs):
                return runs
            time.sleep(1)
        raise TimeoutError(f"backfill {backfill_id} not done in {timeout} s: {status} {runs}\n{self.log('daemon')}")

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM each process group, wait, SIGKILL what is left; then nothing may remain."""
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for _name, process in self.processes.items():
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        deadline = time.monotonic() + timeout
        for process in self.processes.values():  # children (code servers, run workers) too
            while _group_alive(process.pid):
                if time.monotonic() > deadline:
                    os.killpg(process.pid, signal.SIGKILL)
                    raise AssertionError(f"process group {process.pid} outlived its leader")
                time.sleep(0.2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True

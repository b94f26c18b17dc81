"""The UI behind nginx, as deploy/nginx/vob-dagster.conf configures it: TLS and a login in
front of two real dagster-webservers on loopback (operators, and observers read-only).

A throw-away certificate (openssl) and passwords (htpasswd -B), nginx started without
root's files (pid, logs, temp paths under tmp, free ports on 127.0.0.1), the webservers
started through `vob-service`, as docs/operations.md starts them."""

from __future__ import annotations

import base64
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from dagster_server import REPO, DagsterServer, free_port

from pipelines.definitions import defs, monthly_refresh_job

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
DEPLOY = REPO / "deploy" / "nginx"
SERVICE = (sys.executable, "-m", "pipelines.service")  # what the vob-service command runs

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(NGINX).exists() or not shutil.which("openssl") or not shutil.which("htpasswd"),
        reason="nginx, openssl and htpasswd (apache2-utils) are needed (.ci/run installs them)",
    ),
]

BACKFILL = """mutation($p: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $p) {
    __typename ... on LaunchBackfillSuccess { backfillId } ... on UnauthorizedError { message }
    ... on PythonError { message } } }"""
# what "Materialize -> Launch backfill" sends for the monthly job's assets (a selection one run can target)
MONTHLY_KEYS = sorted(key.to_user_string() for key in monthly_refresh_job.selection.resolve(defs.resolve_asset_graph()))
BACKFILL_PARAMS = {
    "partitionNames": ["2025-03"],
    "assetSelection": [{"path": key.split("/")} for key in MONTHLY_KEYS],
    "title": "through the proxy",
}
ASSETS = "{ assetsOrError { __typename ... on AssetConnection { nodes { key { path } } } } }"


@dataclass
class Door:
    """One server block of the proxy: its address, its user, and the webserver behind it."""

    url: str
    user: str
    password: str
    webserver: DagsterServer


@dataclass
class Proxy:
    operators: Door
    observers: Door
    certificate: Path
    home: Path

    def request(
        self, door: Door, path: str, body: dict | None = None, auth: tuple[str, str] | None = None
    ) -> tuple[int, bytes, dict]:
        headers = {"Content-Type": "application/json"} if body is not None else {}
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(":".join(auth).encode()).decode()
        request = urllib.request.Request(
            door.url + path, headers=headers, data=None if body is None else json.dumps(body).encode()
        )
        context = ssl.create_default_context(cafile=str(self.certificate))  # verified, not skipped
        try:
            with urllib.request.urlopen(request, context=context, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as err:
            return err.code, err.read(), dict(err.headers)

    def graphql(self, door: Door, query: str, variables: dict | None = None, auth=None) -> tuple[int, dict | bytes]:
        status, body, _ = self.request(door, "/graphql", {"query": query, "variables": variables or {}}, auth)
        return status, json.loads(body) if status == 200 else body

    def backfills(self) -> list:
        import dagster as dg

        with dg.DagsterInstance.from_config(str(self.home)) as instance:
            return instance.get_backfills()


def throwaway_certificate(folder: Path) -> tuple[Path, Path]:
    crt, key = folder / "vob-dagster.crt", folder / "vob-dagster.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(crt),
        ],
        check=True,
        capture_output=True,
    )
    return crt, key


def password_file(path: Path, user: str) -> str:
    password = secrets.token_urlsafe(18)
    subprocess.run(
        ["htpasswd", "-i", "-B", "-c", str(path), user], input=password, text=True, check=True, capture_output=True
    )
    return password


def render_site(folder: Path, ports: dict[str, int]) -> Path:
    """deploy/nginx/vob-dagster.conf with its production ports and paths swapped for the test's."""
    site = (DEPLOY / "vob-dagster.conf").read_text()
    swaps = {
        "listen 443 ssl;": f"listen 127.0.0.1:{ports['operators']} ssl;",
        "listen 8443 ssl;": f"listen 127.0.0.1:{ports['observers']} ssl;",
        "http://127.0.0.1:3000;": f"http://127.0.0.1:{ports['ui']};",
        "http://127.0.0.1:3001;": f"http://127.0.0.1:{ports['readonly']};",
        "/etc/ssl/vob/": f"{folder}/",
        "/etc/nginx/": f"{folder}/",
    }
    for production, here in swaps.items():
        assert production in site, f"deploy/nginx/vob-dagster.conf no longer has {production!r}"
        site = site.replace(production, here)
    (folder / "snippets").mkdir()
    shutil.copy(DEPLOY / "snippets" / "vob-dagster-proxy.conf", folder / "snippets")
    (folder / "vob-dagster.conf").write_text(site)
    return folder / "vob-dagster.conf"


def nginx_conf(folder: Path, site: Path) -> Path:
    """A main nginx.conf that needs no root: everything nginx writes is under `folder`."""
    user = "user root root;\n" if os.geteuid() == 0 else ""  # workers must read the tmp files
    temp = "\n".join(
        f"    {kind}_temp_path {folder}/{kind}_temp;" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = folder / "nginx.conf"
    conf.write_text(f"""{user}daemon off;
worker_processes 1;
pid {folder}/nginx.pid;
error_log {folder}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {folder}/access.log;
{temp}
    include {site};
}}
""")
    return conf


def wait_listening(port: int, process: subprocess.Popen, log: Path, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"nginx exited ({process.returncode}): {log.read_text(errors='replace')}")
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise TimeoutError(f"nginx not listening on {port}")


@pytest.fixture(scope="module")
def proxy(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxy")
    home, nginx_dir = root / "dagster_home", root / "nginx"
    for folder in (home, nginx_dir, root / "logs_ui", root / "logs_readonly", root / "landing"):
        folder.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOB_", "DAGSTER_"))}
    env.update(
        VOB_LANDING_DIR=str(root / "landing"),
        VOB_WAREHOUSE=str(root / "warehouse" / "vob.duckdb"),
        VOB_PII_KEY="test-key",
    )
    ui = DagsterServer(home, env, root / "logs_ui")
    readonly = DagsterServer(home, env, root / "logs_readonly")
    nginx = None
    try:
        ui.start_webserver(launcher=SERVICE)
        readonly.start_webserver(launcher=SERVICE, extra_args=("--read-only",))
        certificate, _ = throwaway_certificate(nginx_dir)
        ports = {"operators": free_port(), "observers": free_port(), "ui": ui.port, "readonly": readonly.port}
        operators = Door(
            f"https://127.0.0.1:{ports['operators']}",
            "operator",
            password_file(nginx_dir / "vob-operators.htpasswd", "operator"),
            ui,
        )
        observers = Door(
            f"https://127.0.0.1:{ports['observers']}",
            "auditor",
            password_file(nginx_dir / "vob-observers.htpasswd", "auditor"),
            readonly,
        )
        conf = nginx_conf(nginx_dir, render_site(nginx_dir, ports))
        command = [NGINX, "-p", str(nginx_dir), "-c", str(conf), "-e", str(nginx_dir / "error.log")]
        checked = subprocess.run([*command, "-t"], capture_output=True, text=True)
        assert checked.returncode == 0, checked.stderr
        nginx = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
        for port in (ports["operators"], ports["observers"]):
            wait_listening(port, nginx, nginx_dir / "error.log")
        yield Proxy(operators, observers, certificate, home)
    finally:
        if nginx is not None:
            nginx.send_signal(signal.SIGQUIT)  # graceful stop of master and worker
            try:
                nginx.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(nginx.pid, signal.SIGKILL)
                nginx.wait()
        readonly.stop()
        ui.stop()


def credentials(door: Door) -> tuple[str, str]:
    return door.user, door.password


def test_without_credentials_the_ui_and_graphql_answer_401(proxy):
    door = proxy.operators
    for auth in (None, (door.user, "wrong-password"), credentials(proxy.observers)):  # the other door's user too
        status, _, headers = proxy.request(door, "/", auth=auth)
        assert status == 401 and headers.get("WWW-Authenticate", "").startswith("Basic"), (auth, status)
        status, _ = proxy.graphql(door, ASSETS, auth=auth)
        assert status == 401


def test_a_backfill_is_refused_without_credentials_and_launched_with_them(proxy):
    status, _ = proxy.graphql(proxy.operators, BACKFILL, {"p": BACKFILL_PARAMS})
    assert status == 401
    assert proxy.backfills() == []  # nothing reached Dagster

    status, body = proxy.graphql(proxy.operators, BACKFILL, {"p": BACKFILL_PARAMS}, auth=credentials(proxy.operators))
    assert status == 200, body
    result = body["data"]["launchPartitionBackfill"]
    assert result["__typename"] == "LaunchBackfillSuccess", result
    # the mutation stores the backfill in the instance; the daemon launches its run from there
    (backfill,) = proxy.backfills()
    assert backfill.backfill_id == result["backfillId"]
    assert backfill.status.value == "REQUESTED"
    assert backfill.title == "through the proxy"
    targeted = backfill.asset_backfill_data.target_subset
    assert sorted(k.to_user_string() for k in targeted.asset_keys) == MONTHLY_KEYS
    partitioned = targeted.partitions_subsets_by_asset_key  # published_warehouse, dim_channel: unpartitioned
    assert {pk for subset in partitioned.values() for pk in subset.get_partition_keys()} == {"2025-03"}

    ui = proxy.operators.webserver
    ui.stop_sensor("landing_files")  # so that the only run is the backfill's
    ui.start_daemon(launcher=SERVICE)
    # Dagster gives each partitions definition its own run: the monthly assets one run for the
    # range (BackfillPolicy.single_run), the unpartitioned dim_channel another, in either order
    deadline = time.monotonic() + 240  # the backfill daemon ticks every 30 s; 2 shared cores
    while not (ranged := ranged_runs(ui.backfill_runs(result["backfillId"])[1])) and time.monotonic() < deadline:
        ui._check_alive("daemon")
        time.sleep(2)
    assert len(ranged) == 1, ui.log("daemon")
    assert (ranged[0]["dagster/asset_partition_range_start"], ranged[0]["dagster/asset_partition_range_end"]) == (
        "2025-03",
        "2025-03",
    )


def ranged_runs(runs: list[dict]) -> list[dict[str, str]]:
    """The tags of the backfill's runs that carry a partition range."""
    tagged = [{t["key"]: t["value"] for t in run["tags"]} for run in runs]
    return [tags for tags in tagged if "dagster/asset_partition_range_start" in tags]


def test_with_credentials_the_ui_and_graphql_answer_200(proxy):
    status, page, _ = proxy.request(proxy.operators, "/", auth=credentials(proxy.operators))
    assert status == 200 and b"Dagster" in page
    status, body = proxy.graphql(proxy.operators, ASSETS, auth=credentials(proxy.operators))
    assert status == 200 and body["data"]["assetsOrError"]["__typename"] == "AssetConnection"


def websocket_handshake(proxy: Proxy, door: Door, auth: tuple[str, str] | None) -> str:
    """The UI's subscription socket: an HTTP/1.1 upgrade of /graphql through the proxy."""
    context = ssl.create_default_context(cafile=str(proxy.certificate))
    host, port = door.url.removeprefix("https://").split(":")
    lines = [
        "GET /graphql HTTP/1.1",
        f"Host: {host}:{port}",
        "Upgrade: websocket",
        "Connection: Upgrade",
        f"Sec-WebSocket-Key: {base64.b64encode(secrets.token_bytes(16)).decode()}",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Protocol: graphql-ws",
    ]
    if auth:
        lines.append("Authorization: Basic " + base64.b64encode(":".join(auth).encode()).decode())
    with (
        socket.create_connection((host, int(port)), timeout=30) as raw,
        context.wrap_socket(raw, server_hostname=host) as sock,
    ):
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        return sock.recv(4096).decode(errors="replace").split("\r\n")[0]


def test_the_websocket_of_graphql_subscriptions_is_proxied_behind_the_login(proxy):
    assert " 401 " in websocket_handshake(proxy, proxy.operators, None)
    assert " 101 " in websocket_handshake(proxy, proxy.operators, credentials(proxy.operators))


def listening_addresses(port: int) -> set[str]:
    """The local addresses of the sockets listening on `port` (/proc/net/tcp and tcp6, what `ss -ltn` reads)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        if not Path(table).exists():
            continue
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                raw = bytes.fromhex(address)
                words = b"".join(raw[i : i + 4][::-1] for i in range(0, len(raw), 4))  # kernel order per word
                found.add(socket.inet_ntop(socket.AF_INET if len(raw) == 4 else socket.AF_INET6, words))
    return found


def non_loopback_address() -> str | None:
    """This machine's own address on its default route (a UDP connect sends no packet)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: only the route is looked up
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def test_the_webservers_own_ports_answer_on_loopback_only(proxy):
    for door in (proxy.operators, proxy.observers):
        port = door.webserver.port
        assert listening_addresses(port) == {"127.0.0.1"}
        with socket.create_connection(("127.0.0.1", port), timeout=5):
            pass  # the proxy reaches it
        address = non_loopback_address()
        if address is not None:  # the same machine through its network address: refused
            with pytest.raises(ConnectionRefusedError):
                socket.create_connection((address, port), timeout=5).close()


def test_observers_have_their_own_login_and_cannot_change_anything(proxy):
    door = proxy.observers
    status, _, _ = proxy.request(door, "/assets", auth=credentials(proxy.operators))  # operators' password: not here
    assert status == 401
    status, _, _ = proxy.request(door, "/assets")
    assert status == 401

    status, page, _ = proxy.request(door, "/assets", auth=credentials(door))
    assert status == 200 and b"Dagster" in page
    status, body = proxy.graphql(door, ASSETS, auth=credentials(door))
    assert status == 200
    keys = {"/".join(node["key"]["path"]) for node in body["data"]["assetsOrError"]["nodes"]}
    assert {"staging/calls", "marts/fct_channel_monthly", "published_warehouse"} <= keys

    before = len(proxy.backfills())
    status, body = proxy.graphql(
        door, BACKFILL, {"p": {**BACKFILL_PARAMS, "title": "by an observer"}}, auth=credentials(door)
    )
    assert status == 200
    assert body["data"]["launchPartitionBackfill"]["__typename"] == "UnauthorizedError"
    assert len(proxy.backfills()) == before


def test_the_services_write_the_instance_files_for_their_owner_only(proxy):
    """Started with umask 022, through vob-service: the webservers', the daemon's and the run's
    files in DAGSTER_HOME (run and event storage, schedules, logs) have no group or other bits."""
    written = [p for p in proxy.home.rglob("*") if p.name != "dagster.yaml"]  # dagster.yaml: copied by the test
    assert any(p.name == "runs.db" for p in written) and any(p.name == "schedules.db" for p in written)
    assert {
        str(p.relative_to(proxy.home)): oct(p.stat().st_mode & 0o777) for p in written if p.stat().st_mode & 0o077
    } == {}

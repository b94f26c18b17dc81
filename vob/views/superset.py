"""The VoB team's monthly dashboard on Apache Superset, rebuilt from the published warehouse.

The dashboard is code: Superset's import bundle in bi/superset/bundle/ (the database, datasets on
the `marts` tables, charts and the Arabic right-to-left dashboard, in YAML). `bi_dashboard` fills
in the published warehouse's absolute path (read-only), zips the bundle, imports it into
Superset's own environment (bi/superset/.venv, from bi/superset/install: its pins clash with
ours), starts Superset briefly on 127.0.0.1, logs in as the dashboard's user and takes a
screenshot with Debian's chromium (Playwright, as the report tests do).

Superset keeps its metadata database, secret key and the user's password under
VOB_SUPERSET_HOME (default bi/superset/home/, git-ignored, 0700); the bundle and the
screenshot go to VOB_DASHBOARD_DIR (default `<warehouse dir>/<name>_dashboard`).
"""

import hashlib
import os
import re
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from vob.base.settings import SUPERSET_DIR, Settings
from vob.views.browser import chromium_browser, find_chromium
from vob.views.dashboard_bundle import render_bundle, write_bundle_zip

VENV = SUPERSET_DIR / ".venv"
LOCK_FILE = SUPERSET_DIR / "requirements.lock"
INSTALLED_MARKER = VENV / "vob-installed"  # the lock's sha256, written last by bi/superset/install
BUNDLE_DIR = SUPERSET_DIR / "bundle"
DASHBOARD_SLUG = "vob"  # bundle/dashboards/vob_dashboard.yaml
# standalone=1: the dashboard without Superset's top menu (whose compiled-in telemetry pixel the CSP blocks)
DASHBOARD_PATH = f"/superset/dashboard/{DASHBOARD_SLUG}/?standalone=1"
DASHBOARD_CHARTS = 8  # the charts of bundle/dashboards/vob_dashboard.yaml
DASHBOARD_USER = "vob"
DEFAULT_PORT = 8088
INSTALL_COMMAND = "`.venv/bin/vob dashboard` (installs it, a few minutes) or `bi/superset/install`"
START_TIMEOUT_SECONDS = 180
CLI_TIMEOUT_SECONDS = 600
# DuckDB settings of Superset's connection: read-only, no file or network access beyond the
# warehouse itself (SQL Lab cannot read_csv('/etc/...')), never fetch an extension.
WAREHOUSE_CONNECTION = {
    "access_mode": "read_only",
    "enable_external_access": "false",
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
}


class DashboardError(RuntimeError):
    """Superset is missing or a step of the build failed; the message says what to do."""


def lock_digest() -> str:
    return hashlib.sha256(LOCK_FILE.read_bytes()).hexdigest()


def superset_installed() -> bool:
    """True once bi/superset/install finished with the current lock."""
    return INSTALLED_MARKER.exists() and INSTALLED_MARKER.read_text().strip() == lock_digest()


def require_superset() -> None:
    if not superset_installed():
        state = "is not installed" if not VENV.exists() else "is incomplete or older than requirements.lock"
        raise DashboardError(f"Superset {state} in {VENV}: run {INSTALL_COMMAND}")


def dashboard_dir(settings: Settings) -> Path:
    """VOB_DASHBOARD_DIR, by default <warehouse dir>/<name>_dashboard."""
    warehouse = settings.warehouse_path
    return (settings.dashboard_dir or warehouse.parent / f"{warehouse.stem}_dashboard").absolute()


def warehouse_uri(warehouse: Path) -> str:
    """duckdb-engine's URI of the published file (four slashes: an absolute path), read-only."""
    path = str(warehouse.absolute())
    if any(c in path for c in "?#%"):
        raise DashboardError(f"{path}: a warehouse path with '?', '#' or '%' cannot go into a database URI")
    return f"duckdb:///{path}?" + "&".join(f"{k}={v}" for k, v in WAREHOUSE_CONNECTION.items())


def write_bundle(warehouse: Path, zip_path: Path) -> Path:
    """bi/superset/bundle/ written for `warehouse` (vob/views/dashboard_bundle.py) and zipped as Superset imports it."""
    return write_bundle_zip(render_bundle(BUNDLE_DIR, warehouse, warehouse_uri(warehouse)), zip_path)


@dataclass(frozen=True)
class Superset:
    """Superset's command line and server, in its own environment, with its state under `home`."""

    home: Path

    @property
    def password_file(self) -> Path:
        return self.home / f"{DASHBOARD_USER}_password"

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
        env.update(
            SUPERSET_CONFIG_PATH=str(SUPERSET_DIR / "superset_config.py"),
            SUPERSET_HOME=str(self.home),
            FLASK_APP="superset",
            PATH=f"{VENV / 'bin'}:{env.get('PATH', '')}",
        )
        return env

    def cli(self, *args: str, stdin: str | None = None, program: str = "superset") -> str:
        """A command of Superset's environment (`superset ...` by default); its output, or a DashboardError."""
        done = subprocess.run(
            [str(VENV / "bin" / program), *args],
            env=self.env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=CLI_TIMEOUT_SECONDS,
        )
        output = f"{done.stdout}\n{done.stderr}"
        if done.returncode != 0 or "Traceback (most recent call last)" in output:
            tail = "\n".join(output.strip().splitlines()[-15:])
            raise DashboardError(f"`{program} {' '.join(args)}` failed (exit {done.returncode}):\n{tail}")
        return output

    def password(self) -> str:
        """The dashboard user's password, made once (0600) beside Superset's metadata database."""
        if not self.password_file.exists():
            fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_urlsafe(18) + "\n")
        return self.password_file.read_text().strip()

    def prepare(self) -> bool:
        """Create or upgrade the metadata database and the dashboard's user, once per installed
        Superset; returns whether it had to."""
        self.home.mkdir(mode=0o700, parents=True, exist_ok=True)
        marker = self.home / "prepared"
        if marker.exists() and marker.read_text().strip() == lock_digest() and self.password_file.exists():
            return False
        self.cli("db", "upgrade")
        self.cli("init")
        password = self.password()
        created = self.cli(
            "fab",
            "create-admin",
            "--username",
            DASHBOARD_USER,
            "--firstname",
            "VoB",
            "--lastname",
            "team",
            "--email",
            f"{DASHBOARD_USER}@localhost",
            stdin=f"{password}\n{password}\n",
        )
        if "already exists" in created:  # e.g. the password file was removed: set it again
            self.cli("fab", "reset-password", "--username", DASHBOARD_USER, stdin=f"{password}\n{password}\n")
        marker.write_text(lock_digest() + "\n")
        return True

    def import_bundle(self, bundle: Path) -> None:
        """Superset's ImportAssetsCommand (bi/superset/import_bundle.py): overwrites the database, datasets,
        charts and dashboard of the same uuids; `superset import-dashboards` overwrites the dashboard only."""
        self.cli(str(SUPERSET_DIR / "import_bundle.py"), str(bundle), DASHBOARD_USER, program="python")

    @contextmanager
    def serving(self, port: int | None = None) -> Iterator[str]:
        """Superset's gunicorn on 127.0.0.1:`port` (a free one if None) until the block ends; yields its base URL."""
        port = port or free_port()
        base_url = f"http://127.0.0.1:{port}"
        log_path = self.home / "server.log"
        with log_path.open("ab") as log:
            server = subprocess.Popen(
                [
                    str(VENV / "bin" / "gunicorn"),
                    "--workers",
                    "1",
                    "--threads",
                    "4",
                    "--timeout",
                    "120",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "superset.app:create_app()",
                ],
                env=self.env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            wait_until_healthy(server, base_url, log_path)
            yield base_url
        finally:
            stop(server)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until_healthy(server: subprocess.Popen, base_url: str, log_path: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            tail = "\n".join(log_path.read_text(errors="replace").strip().splitlines()[-15:])
            raise DashboardError(f"Superset stopped while starting (exit {server.returncode}), {log_path}:\n{tail}")
        try:
            with urllib.request.urlopen(f"{base_url}/health", timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1)
    raise DashboardError(f"Superset did not answer {base_url}/health within {START_TIMEOUT_SECONDS} s ({log_path})")


def stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def log_in(page, base_url: str, password: str) -> None:
    """Post Superset's login form (its CSRF token read from the page's HTML) in the page's session.
    The login page is not rendered: Superset 6.1.0 draws its top menu there, with Scarf's telemetry
    pixel, which our Content-Security-Policy blocks but which a browser still logs as an error."""
    form = page.request.get(f"{base_url}/login/").text()
    token = re.search(r'id="csrf_token"\s+value="([^"]+)"', form)
    if token is None:
        raise DashboardError(f"{base_url}/login/ has no csrf_token field: is this Superset?")
    answer = page.request.post(
        f"{base_url}/login/", form={"username": DASHBOARD_USER, "password": password, "csrf_token": token.group(1)}
    )
    if not page.request.get(f"{base_url}/api/v1/me/").ok:
        raise DashboardError(f"logging in to {base_url} as {DASHBOARD_USER} failed (HTTP {answer.status})")


# True once every chart has drawn (a table, a canvas, or the error it shows), with no spinner left,
# the page's fonts loaded, and every canvas the same as at the previous call: polled once a frame,
# a chart still moving never passes (bi/superset/superset_config.py turns ECharts' animations off,
# so a chart is whole as soon as it is drawn; this holds even if they were on).
CHARTS_DRAWN = """n => {
    const charts = [...document.querySelectorAll('.dashboard-chart')];
    if (charts.length < n || document.fonts.status !== 'loaded') return false;
    if (charts.some(c => c.querySelector('.loading') || !c.querySelector('table, canvas, .ant-alert, .ant-empty'))) return false;
    const pixels = [...document.querySelectorAll('.dashboard-chart canvas')].map(c => c.toDataURL()).join('|');
    const still = window.vobCanvases === pixels;
    window.vobCanvases = pixels;
    return still;
}"""


def wait_for_charts(page, charts: int = DASHBOARD_CHARTS) -> list[str]:
    """Until every chart has finished drawing (CHARTS_DRAWN): a table, a canvas, an error, or Superset's
    "no results" (.ant-empty: a table with no rows yet, as on a new deployment's first nights before any
    CRM snapshot); returns the title and error of each chart in error (e.g. a table a month-only
    warehouse lacks)."""
    page.wait_for_function(CHARTS_DRAWN, arg=charts, polling="raf", timeout=120_000)
    return page.eval_on_selector_all(
        ".dashboard-component-chart-holder:has(.ant-alert)",
        "holders => holders.map(h => h.innerText.split('\\n').filter(Boolean).slice(0, 3).join(' / '))",
    )


def screenshot_dashboard(
    base_url: str, password: str, png: Path, preview: Path, chromium: Path | None = None
) -> list[str]:
    """The whole dashboard as the VoB team sees it after logging in (PNG), and a small JPEG preview;
    returns the charts in error. In a thread of its own: Playwright's sync API refuses to start
    inside a running asyncio loop (or beside another sync Playwright) in the caller's thread."""
    with ThreadPoolExecutor(max_workers=1) as worker:
        return worker.submit(_screenshot, base_url, password, png, preview, chromium).result()


def _screenshot(base_url: str, password: str, png: Path, preview: Path, chromium: Path | None) -> list[str]:
    with chromium_browser(chromium) as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, locale="ar")
        log_in(page, base_url, password)
        page.goto(f"{base_url}{DASHBOARD_PATH}", wait_until="networkidle")
        in_error = wait_for_charts(page)
        page.screenshot(path=str(png), full_page=True)
        page.screenshot(path=str(preview), type="jpeg", quality=60)
        return in_error


def screenshot_unavailable(chromium: Path | None = None) -> str | None:
    """Why no screenshot can be taken here (with the browser `chromium`, else the one on PATH), or None."""
    if find_chromium(chromium) is None:
        return "headless Chromium not found (`apt-get install chromium`, or set VOB_CHROMIUM)"
    try:
        import playwright  # noqa: F401  (the project's [test] extra, which the README installs)
    except ImportError:
        return 'Playwright is not installed (`.venv/bin/pip install -e ".[test]"`)'
    return None


@dataclass(frozen=True)
class DashboardBuild:
    bundle: Path
    screenshot: Path | None
    preview: Path | None
    prepared: bool
    seconds: float
    skipped_screenshot: str | None
    charts_in_error: list[str]


def build_dashboard(settings: Settings, superset: Superset) -> DashboardBuild:
    """Bundle, import and (when a browser is here) photograph the dashboard on the published warehouse."""
    require_superset()
    if not settings.warehouse_path.exists():
        raise DashboardError(f"no published warehouse at {settings.warehouse_path}: run `vob run --period ...` first")
    started = time.monotonic()
    out = dashboard_dir(settings)
    bundle = write_bundle(settings.warehouse_path, out / "vob_dashboard_bundle.zip")
    prepared = superset.prepare()
    superset.import_bundle(bundle)
    why_not = screenshot_unavailable(settings.chromium)
    png = preview = None
    in_error = []
    if why_not is None:
        png, preview = out / "vob_dashboard.png", out / "vob_dashboard_preview.jpg"
        with superset.serving() as base_url:
            in_error = screenshot_dashboard(base_url, superset.password(), png, preview, settings.chromium)
    return DashboardBuild(bundle, png, preview, prepared, time.monotonic() - started, why_not, in_error)


def install_superset() -> None:
    """bi/superset/install: Superset's own environment from the pinned lock (minutes; prints its time)."""
    done = subprocess.run([str(SUPERSET_DIR / "install")], timeout=3600)
    if done.returncode != 0 or not superset_installed():
        raise DashboardError(f"bi/superset/install failed (exit {done.returncode}); its output is above")


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def serve_until_stopped(superset: Superset, port: int, announce=print) -> None:
    """Superset on 127.0.0.1:`port` until Ctrl-C or SIGTERM; says where to open the dashboard."""
    if port_in_use(port):
        raise DashboardError(f"127.0.0.1:{port} is already in use: choose another with `vob dashboard --port N`")
    stopped = []
    previous = signal.signal(signal.SIGTERM, lambda *_: stopped.append(True))
    try:
        with superset.serving(port) as base_url:
            announce(
                f"dashboard: {base_url}{DASHBOARD_PATH}\nuser: {DASHBOARD_USER}\n"
                f"password: in {superset.password_file}\nSuperset listens on 127.0.0.1 only; "
                "stop it with Ctrl-C"
            )
            while not stopped:
                time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)

"""The VoB dashboard on Apache Superset: the bi_dashboard asset materialised through Dagster on a
published warehouse holding the seed's figures, Superset served on 127.0.0.1, and the dashboard
opened in headless chromium (Playwright) as the VoB team's user. Every figure expected on the
page is read from the published warehouse.

Superset lives in its own environment (bi/superset/install, minutes): without it these tests
skip, unless VOB_REQUIRE_SUPERSET is set (.ci/run sets it), when they fail instead.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
import zipfile
from pathlib import Path

import duckdb
import pytest
from report_warehouse import build_published_warehouse

from vob import superset as bi
from vob.browser import chromium_browser, find_chromium

pytestmark = pytest.mark.slow  # a real Superset server and browser

REPO = Path(__file__).resolve().parents[1]
REQUIRED = bool(os.environ.get("VOB_REQUIRE_SUPERSET"))
CHANNELS = ("calls", "email", "chat", "x", "sms", "self_service")
WHY_NOT = (
    "Superset's environment bi/superset/.venv is not installed (bi/superset/install; CI sets VOB_REQUIRE_SUPERSET=1)"
    if not bi.superset_installed()
    else "Debian chromium is not installed (CI installs it)"
    if find_chromium() is None
    else None
)
needs_superset = pytest.mark.skipif(WHY_NOT is not None and not REQUIRED, reason=WHY_NOT or "")


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if WHY_NOT is not None:
        pytest.fail(f"VOB_REQUIRE_SUPERSET is set but {WHY_NOT}")
    root = tmp_path_factory.mktemp("dashboard")
    build_published_warehouse(root / "warehouse" / "vob.duckdb")
    return {
        "VOB_WAREHOUSE": str(root / "warehouse" / "vob.duckdb"),
        "VOB_LANDING_DIR": str(root / "landing"),
        "VOB_SUPERSET_HOME": str(root / "superset_home"),
        "VOB_DASHBOARD_DIR": str(root / "dashboard"),
        "DAGSTER_HOME": str(root / "dagster_home"),
    }


def materialise(env: dict[str, str]):
    """The `dashboard` job (the bi_dashboard asset) through Dagster, with the settings in `env`."""
    import dagster as dg

    from assets.resources import VobWarehouse
    from pipelines.definitions import defs

    return defs.resolve_job_def("dashboard").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        resources={"vob": VobWarehouse.from_variables(env)},
    )


@pytest.fixture(scope="module")
def built(env: dict[str, str]) -> dict:
    result = materialise(env)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    return {"metadata": result.asset_materializations_for_node("bi_dashboard")[0].metadata}


@pytest.fixture(scope="module")
def superset(built, env) -> bi.Superset:
    return bi.Superset(Path(env["VOB_SUPERSET_HOME"]))


@pytest.fixture(scope="module")
def served(superset):
    with superset.serving() as base_url:
        yield base_url


@pytest.fixture(scope="module")
def page(served, superset):
    """The dashboard after logging in, with every request and console message from then on."""
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, locale="ar")
        errors, requests = [], []
        page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
        page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
        page.on("request", lambda r: requests.append(r.url))
        bi.log_in(page, served, superset.password())
        page.goto(f"{served}{bi.DASHBOARD_PATH}", wait_until="networkidle")
        assert bi.wait_for_charts(page) == []
        yield {"page": page, "errors": errors, "requests": requests, "base_url": served}
        page.close()


def published(env: dict[str, str], sql: str) -> list[tuple]:
    con = duckdb.connect(env["VOB_WAREHOUSE"], read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def table_rows(page) -> list[list[str]]:
    """The cells of every table row on the dashboard, as shown."""
    return page.eval_on_selector_all(
        ".dashboard-chart table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.innerText.trim()))"
    )


def shown(n) -> str:
    return f"{n:,}"


@needs_superset
def test_the_asset_records_the_bundle_screenshot_and_where_to_open_it(built, env):
    from PIL import Image, ImageStat

    metadata = built["metadata"]
    assert metadata["dashboard_path"].value == "/superset/dashboard/vob/?standalone=1"
    assert metadata["url_when_served"].value == "http://127.0.0.1:8088/superset/dashboard/vob/?standalone=1"
    assert metadata["user"].value == "vob"
    password_file = Path(metadata["password_file"].value)
    assert password_file.stat().st_mode & 0o777 == 0o600
    assert (Path(env["VOB_SUPERSET_HOME"]) / "secret_key").stat().st_mode & 0o777 == 0o600
    assert metadata["metadata_db_created"].value is True
    bundle = Path(metadata["bundle"].value)
    assert bundle == Path(env["VOB_DASHBOARD_DIR"]) / "vob_dashboard_bundle.zip"
    with zipfile.ZipFile(bundle) as zipped:
        names = zipped.namelist()
        database = zipped.read("vob_dashboard/databases/vob_warehouse.yaml").decode()
    assert len([n for n in names if n.startswith("vob_dashboard/charts/")]) == bi.DASHBOARD_CHARTS
    assert f"duckdb:///{Path(env['VOB_WAREHOUSE']).absolute()}?access_mode=read_only" in database
    screenshot = Path(metadata["screenshot"].value)
    image = Image.open(screenshot).convert("L")
    assert image.size[0] == 1400 and image.size[1] > 1200  # the whole dashboard, taller than the window
    assert ImageStat.Stat(image).stddev[0] > 20  # not blank
    assert metadata["preview"].value.startswith("![dashboard](data:image/jpeg;base64,")
    assert metadata["charts_in_error"].value == "none"


@needs_superset
def test_the_dashboard_shows_the_published_figures_right_to_left_and_offline(page, env):
    p = page["page"]
    assert page["errors"] == []
    leaving = [url for url in page["requests"] if not url.startswith(page["base_url"] + "/")]
    assert leaving == []
    assert p.evaluate("getComputedStyle(document.querySelector('.dashboard')).direction") == "rtl"
    text = p.inner_text("body")
    assert "لوحة صوت المستفيد" in text
    for title in (
        "التواصل حسب القناة والشهر",
        "التذاكر المفتوحة والمغلقة",
        "أرقام نصف السنة",
        "حصص أبعاد أداء",
        "المشاركات الإلكترونية",
        "الإجراءات المتخذة للتحسين",
    ):
        assert title in text
    assert p.eval_on_selector_all(".dashboard-chart canvas", "c => c.length") >= 2  # the bar chart and the pie
    rows = table_rows(p)

    contacts = {}
    for month, channel, n in published(
        env,
        "SELECT strftime(month, '%Y-%m'), channel, contacts FROM marts.fct_channel_monthly WHERE month >= '2025-01-01'",
    ):
        contacts.setdefault(month, {})[channel] = n
    assert len(contacts) == 6
    for month, by_channel in contacts.items():
        expected = [month, *(shown(by_channel[c]) for c in CHANNELS), shown(sum(by_channel.values()))]
        assert expected in rows, month

    tickets = published(
        env,
        "SELECT strftime(month, '%Y-%m'), strftime(snapshot_date, '%Y-%m-%d'), tickets_total, "
        "tickets_open, tickets_closed FROM marts.fct_tickets_monthly "
        "QUALIFY snapshot_date = max(snapshot_date) OVER (PARTITION BY month)",
    )
    assert len(tickets) == 6
    for month, snapshot, *figures in tickets:
        assert [month, snapshot, *map(shown, figures)] in rows
    assert shown(999_991) not in text  # an older snapshot of the same months stays out

    for period, *figures in published(env, "SELECT * FROM marts.fct_vob_half_year"):
        assert [period, *map(shown, figures)] in rows

    shares = published(
        env,
        "SELECT f.period, d.name_ar, f.tags, f.share_pct FROM marts.fct_feedback_dimension_half_year f "
        "JOIN marts.dim_dimension d USING (dimension)",
    )
    assert len(shares) == 5
    for period, name, tags, share in shares:
        assert [period, name, shown(tags), f"{share:.2f}"] in rows

    participations = published(env, "SELECT title, url FROM marts.e_participations")
    assert len(participations) == 5
    for title, url in participations:
        assert any(title in row and url in row for row in rows), title
    actions = published(env, "SELECT period, action_no, title, plan_id FROM marts.improvement_actions")
    assert len(actions) == 4
    for period, number, title, plan in actions:
        assert [period, str(number), title, plan] in rows


@needs_superset
def test_the_login_page_telemetry_pixel_is_blocked_by_the_content_security_policy(page):
    """Superset 6.1.0 draws Scarf's pixel in its top menu whatever its settings; the browser must not load it."""
    login = page["page"].context.browser.new_page()  # a new context: not logged in
    try:
        with login.expect_event("requestfailed", timeout=60_000) as failure:
            answer = login.goto(f"{page['base_url']}/login/")
        policy = answer.headers["content-security-policy"]
    finally:
        login.close()
    assert "default-src 'self'" in policy and "img-src 'self' blob: data:" in policy
    assert failure.value.url.startswith("https://apachesuperset.gateway.scarf.sh/pixel/")
    assert failure.value.failure == "csp"


@needs_superset
def test_sql_lab_reads_the_published_warehouse(page, env):
    """The same database through SQL Lab's API, as an analyst would query it."""
    p, base = page["page"], page["base_url"]
    token = p.request.get(f"{base}/api/v1/security/csrf_token/").json()["result"]
    database_id = p.request.get(f"{base}/api/v1/database/").json()["result"][0]["id"]
    answer = p.request.post(
        f"{base}/api/v1/sqllab/execute/",
        headers={"X-CSRFToken": token, "Referer": base},
        data={
            "database_id": database_id,
            "sql": "SELECT sum(contacts) AS n FROM marts.fct_channel_monthly",
            "runAsync": False,
            "schema": "marts",
        },
    )
    assert answer.ok, answer.text()
    assert answer.json()["data"] == [{"n": published(env, "SELECT sum(contacts) FROM marts.fct_channel_monthly")[0][0]}]


@needs_superset
def test_superset_connects_read_only_without_file_access(env):
    """The URI of the bundle, in Superset's own environment (its duckdb and duckdb-engine)."""
    uri = bi.warehouse_uri(Path(env["VOB_WAREHOUSE"]))
    probe = """
import sys, sqlalchemy as sa
engine = sa.create_engine(sys.argv[1], poolclass=sa.pool.NullPool)
with engine.connect() as con:
    print(con.execute(sa.text("SELECT count(*) FROM marts.fct_channel_monthly")).scalar())
    for sql in ("CREATE TABLE marts.x (i INTEGER)", "SELECT * FROM read_csv('/etc/hostname')"):
        try:
            con.execute(sa.text(sql))
            print("allowed")
        except Exception as err:
            print(type(err.orig).__name__)
"""
    out = subprocess.run(
        [str(bi.VENV / "bin" / "python"), "-c", probe, uri], capture_output=True, text=True, check=True
    ).stdout.split()
    rows = published(env, "SELECT count(*) FROM marts.fct_channel_monthly")[0][0]
    assert out == [str(rows), "InvalidInputException", "PermissionException"]


@needs_superset
def test_a_new_publish_elsewhere_is_imported_over_the_old_one(built, env, page, tmp_path):
    """Another warehouse file with other figures and without a half-year table: the next build points
    Superset's database at it (the import overwrites), without preparing Superset again, and names
    the chart that has no table."""
    moved = dict(env, VOB_WAREHOUSE=str(tmp_path / "elsewhere" / "vob.duckdb"))
    build_published_warehouse(Path(moved["VOB_WAREHOUSE"]))
    con = duckdb.connect(moved["VOB_WAREHOUSE"])
    try:
        con.execute("UPDATE marts.fct_vob_half_year SET beneficiaries = 123457 WHERE period = '2025-H1'")
        con.execute("DROP TABLE marts.improvement_actions")
    finally:
        con.close()
    result = materialise(moved)
    assert result.success
    metadata = result.asset_materializations_for_node("bi_dashboard")[0].metadata
    assert metadata["metadata_db_created"].value is False
    assert metadata["build_seconds"].value < built["metadata"]["build_seconds"].value
    [in_error] = metadata["charts_in_error"].value.splitlines()
    assert in_error.startswith("الإجراءات المتخذة للتحسين") and "improvement_actions does not exist" in in_error
    p = page["page"]
    p.goto(f"{page['base_url']}{bi.DASHBOARD_PATH}", wait_until="networkidle")
    assert len(bi.wait_for_charts(p)) == 1
    assert any(row[:2] == ["2025-H1", "123,457"] for row in table_rows(p))


@needs_superset
def test_vob_dashboard_builds_serves_and_says_where(built, env):
    port = bi.free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "vob"), "dashboard", "--port", str(port)],
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline and not any(line.startswith("password:") for line in lines):
            line = server.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        url = f"http://127.0.0.1:{port}/superset/dashboard/vob/?standalone=1"
        assert f"dashboard: {url}" in lines, lines[-20:]
        assert "user: vob" in lines
        assert f"password: in {Path(env['VOB_SUPERSET_HOME']) / 'vob_password'}" in lines
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=10) as answer:
            assert answer.status == 200
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        rest = server.communicate(timeout=60)[0]
    assert server.returncode == 0, rest
    assert not bi.port_in_use(port)


def test_without_superset_the_asset_says_which_command_installs_it(tmp_path, monkeypatch):
    monkeypatch.setattr(bi, "INSTALLED_MARKER", tmp_path / "absent" / "vob-installed")
    build_published_warehouse(tmp_path / "warehouse" / "vob.duckdb")
    result = materialise(
        {
            "VOB_WAREHOUSE": str(tmp_path / "warehouse" / "vob.duckdb"),
            "VOB_SUPERSET_HOME": str(tmp_path / "home"),
            "VOB_DASHBOARD_DIR": str(tmp_path / "out"),
            "VOB_LANDING_DIR": str(tmp_path / "landing"),
        }
    )
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    message = failure.step_failure_data.error.message
    assert "Superset is" in message and "bi/superset/install" in message and "vob dashboard" in message
    assert not (tmp_path / "home").exists()  # nothing was started or written


def publish(instance, env: dict[str, str]) -> bool:
    """The real published_warehouse asset, in `instance`; whether it wrote the file (its metadata)."""
    import dagster as dg

    from assets.publish import published_warehouse
    from assets.resources import VobWarehouse

    result = dg.materialize(
        [published_warehouse], instance=instance, resources={"vob": VobWarehouse.from_variables(env)}
    )
    return result.asset_materializations_for_node("published_warehouse")[0].metadata["written"].value


def test_the_sensor_rebuilds_only_after_a_publish_that_wrote_the_file(tmp_path, monkeypatch):
    """A publish that finds the file already holding the same marts ("published warehouse unchanged")
    starts no rebuild, nor does it hide an earlier publish of the same tick that wrote the file."""
    import dagster as dg

    from pipelines.definitions import defs
    from pipelines.sensors import dashboard_after_publish

    installed = tmp_path / "vob-installed"
    installed.write_text(bi.lock_digest() + "\n")
    monkeypatch.setattr(bi, "INSTALLED_MARKER", installed)
    env = {
        "VOB_WAREHOUSE": str(tmp_path / "warehouse" / "vob.duckdb"),
        "VOB_LANDING_DIR": str(tmp_path / "landing"),
    }
    with dg.instance_for_test() as instance:
        cursor = None

        def tick():  # as the daemon ticks: the cursor the previous tick left
            nonlocal cursor
            context = dg.build_sensor_context(instance, cursor=cursor, repository_def=defs.get_repository_def())
            result = dashboard_after_publish.evaluate_tick(context)
            cursor = result.cursor or cursor
            return result

        assert tick().skip_message == "no publish since the last tick"
        assert publish(instance, env) is True
        [first] = tick().run_requests
        assert first.run_key.startswith("dashboard-after-") and first.job_name in (None, "dashboard")
        assert dashboard_after_publish.job_name == "dashboard"

        assert publish(instance, env) is False  # the same marts: the file is left as it is
        unchanged = tick()
        assert unchanged.run_requests == [] and unchanged.skip_message.startswith("published warehouse unchanged")
        assert tick().skip_message == "no publish since the last tick"

        Path(env["VOB_WAREHOUSE"]).unlink()  # the next publish writes it again, then one finds it unchanged
        assert publish(instance, env) is True
        assert publish(instance, env) is False
        [second] = tick().run_requests
        assert second.run_key != first.run_key

        installed.unlink()
        Path(env["VOB_WAREHOUSE"]).unlink()
        assert publish(instance, env) is True
        not_installed = tick()
        assert not_installed.run_requests == [] and "bi/superset/install" in not_installed.skip_message

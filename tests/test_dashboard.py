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
from datetime import date
from pathlib import Path

import duckdb
import pytest
from report_warehouse import build_published_warehouse

from vob.views import superset as bi
from vob.views.browser import chromium_browser, find_chromium
from vob.views.report import CHANNEL_COLOURS, DIMENSION_COLOURS, KIND_NAMES, TARGET_GROUP_NAMES

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
IN_PROGRESS = (date(2025, 6, 1), date(2025, 6, 14))  # the fixture's month in progress and its data_through


def add_dim_month(warehouse: Path, in_progress: tuple[date, date]) -> None:
    """marts.dim_month (WAREHOUSE.md, "Months in progress") for the months the warehouse publishes:
    each complete through its last day, except `in_progress` = (month, data_through)."""
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(
            "CREATE TABLE marts.dim_month (month DATE, status VARCHAR, data_through DATE, name_ar VARCHAR, "
            "name_en VARCHAR)"
        )
        con.execute(
            "INSERT INTO marts.dim_month SELECT DISTINCT month, "
            "CASE WHEN month = $month THEN 'in_progress' ELSE 'complete' END, "
            "CASE WHEN month = $month THEN $through ELSE last_day(month) END, "
            "strftime(month, '%m/%Y'), strftime(month, '%B %Y') FROM marts.fct_channel_monthly",
            {"month": in_progress[0], "through": in_progress[1]},
        )
    finally:
        con.close()


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    if WHY_NOT is not None:
        pytest.fail(f"VOB_REQUIRE_SUPERSET is set but {WHY_NOT}")
    root = tmp_path_factory.mktemp("dashboard")
    build_published_warehouse(root / "warehouse" / "vob.duckdb")
    add_dim_month(root / "warehouse" / "vob.duckdb", IN_PROGRESS)
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

    from assets.resources import vob_resources
    from pipelines.definitions import defs

    return defs.resolve_job_def("dashboard").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        resources=vob_resources(env),
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
    """The dashboard after logging in, with every request and console error or warning from then on."""
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1200}, locale="ar")
        errors, requests = [], []
        page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
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


def month_status(status: str, data_through: date) -> str:
    """How the contacts table says whether a month is complete (bundle: channel_contacts_monthly)."""
    return "مكتمل" if status == "complete" else f"قيد الاكتمال: البيانات حتى {data_through:%Y-%m-%d}"


# Where each character of a table cell is drawn: the lines of the cell (characters grouped by the
# top of their box), each the left edges of its characters in the order they are written.
CELL_LAYOUT = """cell => {
    const texts = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT), range = document.createRange();
    const lines = new Map();
    for (let text = texts.nextNode(); text; text = texts.nextNode()) {
        for (let i = 0; i < text.length; i++) {
            range.setStart(text, i); range.setEnd(text, i + 1);
            const box = range.getBoundingClientRect(), top = Math.round(box.top);
            if (!lines.has(top)) lines.set(top, []);
            lines.get(top).push(box.left);
        }
    }
    return [...lines.values()];
}"""


def cells(page, column: str) -> list:
    return page.locator(f'.dashboard-chart td[aria-labelledby="header-{column}"]').all()


def reads_left_to_right(cell) -> bool:
    """Each line of the cell drawn left to right in the order written (as a person reads "2025-H1")."""
    lines = cell.evaluate(CELL_LAYOUT)
    return bool(lines) and all(line == sorted(line) and len(set(line)) == len(line) for line in lines)


def chart_image(page, name: str):
    from io import BytesIO

    from PIL import Image

    canvas = page.locator(f'[data-test-chart-name="{name}"] canvas').first
    return Image.open(BytesIO(canvas.screenshot())).convert("RGB")


def colours_of(image) -> set[str]:
    return {f"#{r:02x}{g:02x}{b:02x}" for _, (r, g, b) in image.getcolors(maxcolors=1 << 20)}


def bar_heights_right_to_left(image, colour: str) -> list[int]:
    """The height in pixels of each bar's segment in `colour` (the bottom one of a stack), from the
    rightmost bar to the leftmost: runs of that colour on the row just above the lowest one."""
    rgb = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    pixels, (width, height) = image.load(), image.size
    baseline = max(y for y in range(height) for x in range(0, width, 2) if pixels[x, y] == rgb) - 1
    runs, x = [], 0
    while x < width:
        if pixels[x, baseline] == rgb:
            start = x
            while x < width and pixels[x, baseline] == rgb:
                x += 1
            runs.append((start + x) // 2)
        x += 1
    return [sum(1 for y in range(height) if pixels[middle, y] == rgb) for middle in reversed(runs)]


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
    for month, status, through, channel, n in published(
        env,
        "SELECT strftime(month, '%Y-%m'), status, data_through, channel, contacts FROM marts.fct_channel_monthly "
        "JOIN marts.dim_month USING (month) WHERE month >= '2025-01-01'",
    ):
        contacts.setdefault((month, month_status(status, through)), {})[channel] = n
    assert len(contacts) == 6
    for (month, status), by_channel in contacts.items():
        expected = [month, status, *(shown(by_channel[c]) for c in CHANNELS), shown(sum(by_channel.values()))]
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
def test_the_screenshot_was_taken_once_every_chart_had_finished_drawing(built, page):
    """The saved screenshot's charts are the charts as they stay once drawn: a bar caught growing
    would differ. Both are full pages of the same window, so a chart sits at the same place."""
    from io import BytesIO

    from PIL import Image, ImageChops

    p = page["page"]
    saved = Image.open(built["metadata"]["screenshot"].value).convert("RGB")
    now = Image.open(BytesIO(p.screenshot(full_page=True))).convert("RGB")
    for canvas in p.locator(".dashboard-chart canvas").all():
        box = canvas.bounding_box()
        assert box is not None
        area = tuple(round(v) for v in (box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"]))
        difference = ImageChops.difference(saved.crop(area), now.crop(area)).convert("L")
        changed = sum(difference.histogram()[17:])  # pixels that differ by more than 16 of 255
        assert changed <= 0.002 * difference.size[0] * difference.size[1], (area, changed)


@needs_superset
def test_values_read_left_to_right_inside_the_right_to_left_page(page):
    """What a person sees: "2025-H1" drawn as written (not "H1-2025"), a URL with its "/" at the end,
    a month on one line ("2025-03", never "2025-/03"), and the dashboard's title whole."""
    p = page["page"]
    periods = cells(p, "period")
    assert len(periods) >= 5 and {c.inner_text() for c in periods} >= {"2025-H1"}
    for column in ("period", "month", "snapshot_date", "url", "plan_id"):
        shown_cells = cells(p, column)
        assert shown_cells, column
        for cell in shown_cells:
            assert reads_left_to_right(cell), (column, cell.inner_text())
    for cell in cells(p, "month"):
        assert len(cell.evaluate(CELL_LAYOUT)) == 1, cell.inner_text()  # one line
    for cell in cells(p, "url"):
        last_line = cell.evaluate(CELL_LAYOUT)[-1]
        assert cell.inner_text().endswith("/") and last_line[-1] == max(last_line)  # the "/" at the right end
    title = p.locator(".dashboard-header-container .dynamic-title-input")
    assert title.input_value() == "لوحة صوت المستفيد"
    assert title.evaluate("t => t.scrollWidth <= t.clientWidth")  # not cut


@needs_superset
def test_the_e_participations_show_the_reports_arabic_labels(page, env):
    p = page["page"]
    channel_names = dict(published(env, "SELECT channel, name_ar FROM marts.dim_channel"))
    participations = published(
        env,
        "SELECT period, strftime(month, '%Y-%m'), title, kind, target_group, channel, url FROM marts.e_participations",
    )
    rows = table_rows(p)
    codes = set(KIND_NAMES) | set(TARGET_GROUP_NAMES) | set(channel_names)
    for period, month, title, kind, group, channel, url in participations:
        shown_row = [period, month, title, KIND_NAMES[kind], TARGET_GROUP_NAMES[group], channel_names[channel], url]
        assert shown_row in rows, title
    tile = p.locator('.dashboard-component-chart-holder:has([data-test-chart-name="المشاركات الإلكترونية"])')
    shown_cells = {c.strip() for c in tile.locator("td").all_inner_texts()}
    assert not shown_cells & codes  # no raw code is shown


@needs_superset
def test_a_month_in_progress_is_shown_as_such_with_its_date(page, env):
    month, through = IN_PROGRESS
    [(status, data_through)] = published(
        env, f"SELECT status, data_through FROM marts.dim_month WHERE month = '{month}'"
    )
    assert (status, data_through) == ("in_progress", through)
    [row] = [r for r in table_rows(page["page"]) if r[0] == f"{month:%Y-%m}" and len(r) == 9]
    assert row[1] == "قيد الاكتمال: البيانات حتى 2025-06-14"
    complete = published(env, "SELECT count(*) FROM marts.dim_month WHERE status = 'complete'")[0][0]
    assert sum(1 for r in table_rows(page["page"]) if len(r) == 9 and r[1] == "مكتمل") == complete


@needs_superset
def test_the_bar_chart_runs_right_to_left_in_the_reports_colours(page, env):
    """The stacked bars: every channel in the report's colour (vob/views/report.py), and the first month on
    the right: the calls segments, read right to left, rank as the months' calls do in time order."""
    bars = chart_image(page["page"], "التواصل حسب القناة والشهر (رسم)")
    assert set(CHANNEL_COLOURS) <= colours_of(bars)
    calls = [
        n
        for (n,) in published(
            env, "SELECT contacts FROM marts.fct_channel_monthly WHERE channel = 'calls' ORDER BY month"
        )
    ]
    heights = bar_heights_right_to_left(bars, CHANNEL_COLOURS[0])
    assert len(heights) == len(calls)
    assert sorted(range(len(calls)), key=heights.__getitem__) == sorted(range(len(calls)), key=calls.__getitem__)
    donut = chart_image(page["page"], "حصص أبعاد أداء (رسم)")
    assert set(DIMENSION_COLOURS) <= colours_of(donut)


@needs_superset
def test_each_table_tile_is_as_tall_as_its_rows(page):
    """No large empty area below a table, and no table cut short (every row shown without scrolling)."""
    gaps = page["page"].eval_on_selector_all(
        ".dashboard-component-chart-holder:has(tbody tr)",
        """holders => holders.map(h => {
            const rows = h.querySelectorAll('tbody tr'), last = rows[rows.length - 1];
            const scrolled = [...h.querySelectorAll('*')].some(e =>
                e.scrollHeight > e.clientHeight + 1 && ['auto', 'scroll'].includes(getComputedStyle(e).overflowY));
            return [h.querySelector('.anchor-link-container').id,
                    Math.round(h.getBoundingClientRect().bottom - last.getBoundingClientRect().bottom), scrolled];
        })""",
    )
    assert len(gaps) == 6
    for tile, gap, scrolled in gaps:
        if tile != "CHART-dimensions-table":  # beside the donut, in a row as tall as the donut
            assert 0 <= gap <= 64, (tile, gap)
        assert not scrolled, tile


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
def test_the_login_page_is_in_arabic_without_console_warnings(page):
    """Superset's Arabic language pack reaches the login page too (Superset serves it to logged-in users
    only), without the translations that fail in the browser, and with "Sign in" corrected."""
    login = page["page"].context.browser.new_page(locale="ar")  # a new context: not logged in
    messages = []
    login.on("console", lambda m: messages.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    try:
        login.goto(f"{page['base_url']}/login/", wait_until="networkidle")
        login.get_by_text("أدخل اسم المستخدم وكلمة المرور", exact=True).wait_for()
        text = login.inner_text("body")
        button = login.locator("button[type=submit]").inner_text()
    finally:
        login.close()
    assert "تسجيل الدخول" in text and "اسم المُستخدم" in text and "كلمه المرور" in text
    assert button == "تسجيل الدخول"
    for english in ("Sign in", "Username", "Password", "Enter your login"):
        assert english not in text
    assert [m for m in messages if "scarf.sh" not in m] == []  # the telemetry pixel: the test above


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
def test_a_chart_with_no_rows_yet_counts_as_drawn(built, env, page, tmp_path):
    """A new deployment's first nights publish tables with no rows yet (no CRM snapshot, no workbook):
    Superset draws "no results" there, and the build must not wait for a table that never comes (the
    soak's dashboard builds timed out at 120 s on it)."""
    empty = dict(env, VOB_WAREHOUSE=str(tmp_path / "first_nights" / "vob.duckdb"))
    build_published_warehouse(Path(empty["VOB_WAREHOUSE"]))
    con = duckdb.connect(empty["VOB_WAREHOUSE"])
    try:
        con.execute("DELETE FROM marts.improvement_actions")
    finally:
        con.close()
    started = time.monotonic()
    result = materialise(empty)
    assert result.success, [e.message for e in result.all_events if e.is_failure]
    assert time.monotonic() - started < 100  # not the 120 s of the wait's timeout
    metadata = result.asset_materializations_for_node("bi_dashboard")[0].metadata
    assert metadata["charts_in_error"].value == "none"
    p = page["page"]
    p.goto(f"{page['base_url']}{bi.DASHBOARD_PATH}", wait_until="networkidle")
    assert bi.wait_for_charts(p) == []
    titles = p.eval_on_selector_all(
        ".dashboard-component-chart-holder:has(.ant-empty)", "holders => holders.map(h => h.innerText.split('\\n')[0])"
    )
    assert [t for t in titles if t.startswith("الإجراءات المتخذة للتحسين")], titles


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
    from assets.resources import vob_resources

    result = dg.materialize([published_warehouse], instance=instance, resources=vob_resources(env))
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

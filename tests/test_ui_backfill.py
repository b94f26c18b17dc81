"""Backfills the way an operator launches them from the UI: the real webserver and daemon
on loopback, the instance of deploy/dagster.yaml; by clicks in Chromium (docs/operations.md, 4.4)
and by the GraphQL mutation the UI sends."""

import os
import re
import shutil
import time
from datetime import date
from pathlib import Path

import pytest
from conftest import query
from dagster_server import REPO, DagsterServer
from landing_files import call, write_calls

from vob.base.settings import load_settings
from vob.views.browser import chromium_browser, find_chromium

pytestmark = pytest.mark.slow  # real webserver and daemon

MONTHS = [f"2025-{m:02d}" for m in range(1, 7)]
MONTHLY_ASSETS = [["staging", s] for s in ("calls", "email", "chat", "x", "sms", "self_service", "crm")] + [
    ["marts", "fct_channel_monthly"],
    ["marts", "fct_tickets_monthly"],
    ["marts", "dim_channel"],
]


def calls_per_month(month: str) -> int:
    return int(month[-2:]) + 1  # January 2, February 3, ...


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("ops")
    landing, home, logs = root / "landing", root / "dagster_home", root / "logs"
    for folder in (landing, home, logs):
        folder.mkdir()
    shutil.copy(REPO / "deploy" / "dagster.yaml", home / "dagster.yaml")
    for month in MONTHS:
        year, mon = int(month[:4]), int(month[5:])
        write_calls(
            landing,
            date(year, mon, 10),
            [call(f"C-{month}-{i}", f"{month}-10T{10 + i:02d}:00:00+03:00") for i in range(calls_per_month(month))],
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOB_", "DAGSTER_"))}
    env.update(
        VOB_LANDING_DIR=str(landing),
        VOB_WAREHOUSE=str(root / "warehouse" / "vob.duckdb"),
        VOB_PII_KEY="test-key",
        VOB_SETTLE_SECONDS="0",
    )  # the zone was written just now: read it all
    dagster = DagsterServer(home, env, logs)
    dagster.settings = load_settings(env)
    try:
        dagster.start_webserver()
        # the landing sensor would launch runs of its own: pause it as an operator would,
        # through the UI's toggle, so the runs here are the backfills'
        dagster.stop_sensor("landing_files")
        dagster.start_daemon()
        yield dagster
    finally:
        dagster.stop()


def published_calls(settings) -> dict[str, int]:
    if not settings.warehouse_path.exists():
        return {}  # nothing published yet
    rows = query(
        settings.warehouse_path,
        "SELECT strftime(month, '%Y-%m'), contacts FROM marts.fct_channel_monthly WHERE channel = 'calls'",
    )
    return dict(rows)


SCREENSHOTS = ("job", "partitions", "run")  # docs/operations.md shows them: docs/backfill_<name>.png


def test_one_month_backfilled_by_clicks_reaches_the_published_file(server, tmp_path_factory):
    """What an operator does (docs/operations.md, 4.4): Jobs -> monthly_refresh -> Materialize all...
    -> Custom -> 2025-03 -> Launch 1 run, then watches the run until it succeeds."""
    if find_chromium() is None:
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    assert "2025-03" not in published_calls(server.settings)  # the figure the clicks publish is a new one
    shots = tmp_path_factory.mktemp("screenshots")
    with chromium_browser() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        # Dagster's "Join the community" dialog greets a new instance: the operator skips it
        page.add_locator_handler(
            page.get_by_text("Join the Dagster community"), lambda: page.get_by_role("button", name="Skip").click()
        )
        page.goto(server.url)
        page.get_by_role("link", name=re.compile(r"(^|\s)Jobs$")).first.click()  # the navigation
        page.get_by_role("link", name="monthly_refresh").first.click()
        page.get_by_text("fetching statuses").first.wait_for()  # the graph's groups, then their statuses
        page.get_by_text("fetching statuses").first.wait_for(state="detached")
        page.screenshot(path=shots / "job.png")
        page.get_by_role("button", name="Materialize all…").click()
        confirm = page.get_by_role("button", name="Confirm")  # "may fail: upstream half-year assets missing"
        confirm.or_(page.get_by_role("button", name="Custom")).first.wait_for()
        if confirm.is_visible():
            confirm.click()
        dialog = page.get_by_role("dialog")
        dialog.get_by_role("button", name="Custom", exact=True).click()
        months = dialog.get_by_placeholder(re.compile("^ex: 2025-01"))
        months.fill("2025-03")
        months.press("Enter")
        launch = dialog.get_by_role("button", name="Launch 1 run")
        launch.wait_for()
        dialog.screenshot(path=shots / "partitions.png")
        launch.click()

        page.get_by_role("link", name=re.compile(r"(^|\s)Runs$")).first.click()
        page.locator("a[href^='/runs/']").first.click()  # the newest run: the one just launched
        status = wait_for_status(page, timeout=300)  # one month: ~1 min here, several on 2 busy cores
        page.screenshot(path=shots / "run.png")
    assert status == "Success", server.log("daemon")
    assert published_calls(server.settings) == {"2025-03": calls_per_month("2025-03")}
    for name in SCREENSHOTS:
        shrink_png(shots / f"{name}.png")
    print(f"screenshots: {shots}")


def wait_for_status(page, timeout: float) -> str:
    """The run page's status tag once it says the run ended, reading the page as an operator would."""
    deadline = time.monotonic() + timeout
    ended = page.get_by_text(re.compile("^(Success|Failure|Canceled)$"))
    while time.monotonic() < deadline:
        if ended.count():
            return ended.first.inner_text()
        page.wait_for_timeout(2000)
    raise TimeoutError(f"the run did not end within {timeout} s: {page.url}")


def shrink_png(path: Path, colours: int = 64) -> None:
    """A screenshot small enough for the docs: a palette of `colours`."""
    from PIL import Image

    Image.open(path).convert("RGB").quantize(colours).save(path, optimize=True)


def test_backfill_of_one_month_launched_through_the_ui_api(server):
    # the asset graph's "Materialize -> Launch backfill" dialog: asset keys and partition names
    backfill = server.launch_backfill(
        {
            "partitionNames": ["2025-04"],
            "assetSelection": [{"path": key} for key in MONTHLY_ASSETS + [["published_warehouse"]]],
            "title": "one month from the UI",
        }
    )
    runs = server.wait_backfill(backfill, runs_expected=1, timeout=240)  # the backfill daemon ticks every 30 s
    assert [r["status"] for r in runs] == ["SUCCESS"] * len(runs)
    assert published_calls(server.settings)["2025-04"] == calls_per_month("2025-04")


def test_six_months_at_once_take_turns_on_the_writer_pool(server):
    # A six-month backfill from the UI is ONE run (the assets' BackfillPolicy.single_run).
    # Separate runs of different months meet when the schedule, the landing sensor and
    # an operator's per-month runs overlap: six of them, submitted at the same moment.
    run_ids = server.launch_runs("monthly_refresh", [{"dagster/partition": m} for m in MONTHS])
    runs = server.wait_runs(run_ids, timeout=600)  # 100 s here alone; 300+ s on 2 cores under load, with the gate
    assert sorted(next(t["value"] for t in r["tags"] if t["key"] == "dagster/partition") for r in runs) == MONTHS
    assert [r["status"] for r in runs] == ["SUCCESS"] * len(MONTHS), server.log("daemon")
    assert published_calls(server.settings) == {m: calls_per_month(m) for m in MONTHS}

    # the runs were in progress at the same time, but their writing steps never overlapped:
    # each step claims the one slot of pool vob_warehouse_writer ("Step blocked by limit")
    alive = sorted((r["startTime"], r["endTime"]) for r in runs)
    assert any(b[0] < a[1] for a, b in zip(alive, alive[1:])), "the runs never overlapped: nothing proven"
    steps = writer_steps(server.home, [r["runId"] for r in runs])
    assert len(steps) >= len(MONTHS) * len(MONTHLY_ASSETS + [["published_warehouse"]])
    for (_start_a, end_a, key_a), (start_b, _end_b, key_b) in zip(steps, steps[1:]):
        assert end_a <= start_b, f"{key_a} and {key_b} wrote at the same time"


def writer_steps(home: Path, run_ids: list[str]) -> list[tuple[float, float, str]]:
    """(start, end, run:step) of every step of the runs in the writer pool, from the event log."""
    import dagster as dg
    from dagster._core.events import DagsterEventType

    from assets.resources import WRITER_POOL
    from pipelines.definitions import defs

    job = defs.resolve_job_def("monthly_refresh")
    in_pool = {node.name for node in job.graph.node_defs if getattr(node, "pool", None) == WRITER_POOL}

    with dg.DagsterInstance.from_config(str(home)) as instance:
        spans = []
        for run_id in run_ids:
            started = {}
            for record in instance.all_logs(
                run_id, of_type={DagsterEventType.STEP_START, DagsterEventType.STEP_SUCCESS}
            ):
                event = record.dagster_event
                if event.step_key not in in_pool:
                    continue  # checks read only
                if event.event_type == DagsterEventType.STEP_START:
                    started[event.step_key] = record.timestamp
                else:
                    spans.append((started[event.step_key], record.timestamp, f"{run_id[:8]}:{event.step_key}"))
    return sorted(spans)

"""The run-failure alert against a local webhook, and the facts' 26-hour freshness policy."""

import asyncio
import time
from datetime import date

import dagster as dg
import pytest
from conftest import RANGE_END, RANGE_START
from dagster._core.definitions.freshness import FreshnessState
from dagster._core.definitions.freshness_evaluator import TimeWindowFreshnessPolicyEvaluator
from dagster._core.loader import LoadingContextForTest
from landing_files import call, write_calls
from webhook_receiver import Receiver

from assets.resources import AlertWebhook, vob_resources
from checks.freshness import FRESH_FACTS, FRESHNESS_HOURS
from pipelines.alerts import run_failure_alert
from pipelines.definitions import defs
from vob.base.settings import ConfigError, Settings


@pytest.fixture
def webhook():
    """An HTTP server on 127.0.0.1 that keeps the JSON bodies posted to it: (url, bodies)."""
    receiver = Receiver()
    receiver.up()
    try:
        yield receiver.url, receiver.received
    finally:
        receiver.down()


def without_key(settings: Settings, **alert: str) -> dict[str, str]:
    """The variables of `settings` without VOB_PII_KEY (a real failure: the staging steps refuse to run
    without a key), with the alert's variables in `alert`."""
    return {
        "VOB_LANDING_DIR": str(settings.landing_dir),
        "VOB_WAREHOUSE": str(settings.warehouse_path),
        "VOB_SETTLE_SECONDS": "0",
        **alert,
    }


def failed_run(instance: dg.DagsterInstance, variables: dict[str, str], month: str = "2025-03"):
    result = defs.resolve_job_def("monthly_refresh").execute_in_process(
        instance=instance,
        tags={RANGE_START: month, RANGE_END: month},
        raise_on_error=False,
        resources=vob_resources(variables),
    )
    assert not result.success
    return result


def alert_for(instance, result, variables: dict[str, str]) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"alerts": AlertWebhook(variables=variables)},
    ).for_run_failure()
    run_failure_alert(context)


def test_a_failed_run_posts_an_alert_to_the_webhook(vob_env, webhook):
    url, received = webhook
    variables = without_key(vob_env, VOB_ALERT_WEBHOOK_URL=url, VOB_DAGSTER_UI_URL="http://dagster.example:3000/")
    write_calls(vob_env.landing_dir, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    with dg.DagsterInstance.ephemeral() as instance:
        result = failed_run(instance, variables)
        alert_for(instance, result, variables)
    (body,) = received
    assert body["job"] == "monthly_refresh"
    assert body["run_id"] == result.run_id
    assert body["url"] == f"http://dagster.example:3000/runs/{result.run_id}"
    failed = {s["step"] for s in body["failed_steps"]}
    assert "staging" in failed
    assert all("VOB_PII_KEY is not set" in s["error"] for s in body["failed_steps"])
    assert body["text"].startswith("VoB pipeline: run of monthly_refresh failed (")
    assert "asset_partition_range_start=2025-03" in body["text"]
    assert body["url"] in body["text"]


def test_the_webhook_url_may_come_from_a_mounted_secret_file(vob_env, webhook, tmp_path):
    url, received = webhook
    secret = tmp_path / "webhook_url"
    secret.write_text(url + "\n")  # as `echo` and secret stores write it: one newline, stripped
    variables = without_key(vob_env, VOB_ALERT_WEBHOOK_URL_FILE=str(secret))
    write_calls(vob_env.landing_dir, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    with dg.DagsterInstance.ephemeral() as instance:
        result = failed_run(instance, variables)
        alert_for(instance, result, variables)
        (body,) = received
        assert body["run_id"] == result.run_id

        both = without_key(vob_env, VOB_ALERT_WEBHOOK_URL_FILE=str(secret), VOB_ALERT_WEBHOOK_URL=url)
        # both: refused when the sensor's resource is initialised (the tick fails), the URL (a secret) not shown
        with pytest.raises(dg.DagsterResourceFunctionError) as err:
            alert_for(instance, result, both)
        refusal = err.value.__cause__
        assert isinstance(refusal, ConfigError)
        assert "both VOB_ALERT_WEBHOOK_URL and VOB_ALERT_WEBHOOK_URL_FILE" in str(refusal)
        assert url not in str(err.value) and url not in str(refusal) and len(received) == 1


def test_without_a_webhook_the_alert_is_only_logged(vob_env, caplog):
    variables = without_key(vob_env)
    with dg.DagsterInstance.ephemeral() as instance:
        alert_for(instance, failed_run(instance, variables), variables)  # no exception, nothing posted


def freshness(instance) -> dict[str, FreshnessState]:
    """The facts' freshness as the daemon's freshness loop evaluates it (dagster/_daemon/freshness.py)."""
    graph = defs.resolve_asset_graph()
    evaluator = TimeWindowFreshnessPolicyEvaluator()
    return {
        key.to_user_string(): asyncio.run(evaluator.evaluate_freshness(LoadingContextForTest(instance), graph.get(key)))
        for key in sorted(FRESH_FACTS, key=lambda k: k.to_user_string())
    }


@pytest.mark.slow  # a whole run, then the freshness policy at +25 h and +27 h
def test_facts_not_refreshed_for_26_hours_are_overdue(vob_env, monkeypatch):
    import dagster._core.definitions.freshness_evaluator as evaluator

    write_calls(vob_env.landing_dir, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    facts = ("marts/fct_channel_monthly", "marts/fct_tickets_monthly")
    with dg.DagsterInstance.ephemeral() as instance:
        # never materialised: not known yet
        assert freshness(instance) == dict.fromkeys(facts, FreshnessState.UNKNOWN)
        defs.resolve_job_def("monthly_refresh").execute_in_process(
            instance=instance, tags={RANGE_START: "2025-03", RANGE_END: "2025-03"}, resources=vob_resources()
        )
        assert freshness(instance) == dict.fromkeys(facts, FreshnessState.PASS)
        # 25 hours later still fresh, 27 hours later overdue
        now = time.time()
        monkeypatch.setattr(evaluator, "get_current_timestamp", lambda: now + 25 * 3600)
        assert freshness(instance) == dict.fromkeys(facts, FreshnessState.PASS)
        monkeypatch.setattr(evaluator, "get_current_timestamp", lambda: now + (FRESHNESS_HOURS + 1) * 3600)
        assert freshness(instance) == dict.fromkeys(facts, FreshnessState.FAIL)


def test_an_alert_the_webhook_does_not_take_waits_in_the_outbox_and_goes_once_it_is_back(vob_env, webhook):
    """The receiver down when a run fails (issue 24's soak): Dagster's run-failure sensor never
    evaluates that run again, so the alert waits in the outbox and `alert_outbox` sends it, once."""
    from dagster_server import free_port

    from pipelines.alerts import alert_outbox, outbox_dir

    url, received = webhook
    down = f"http://127.0.0.1:{free_port()}/hook"  # nothing listens there: connection refused
    write_calls(vob_env.landing_dir, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    with dg.DagsterInstance.ephemeral() as instance:
        result = failed_run(instance, without_key(vob_env))
        alert_for(instance, result, without_key(vob_env, VOB_ALERT_WEBHOOK_URL=down))  # no exception: kept
        (kept,) = outbox_dir(vob_env).glob("*.json")
        assert kept.name == f"{result.run_id}.json" and oct(kept.stat().st_mode & 0o777) == "0o600"

        def tick(target: str) -> str:
            context = dg.build_sensor_context(
                instance=instance,
                resources={"alerts": AlertWebhook(variables=without_key(vob_env, VOB_ALERT_WEBHOOK_URL=target))},
            )
            return alert_outbox(context).skip_message

        assert tick(down) == "0 alert(s) re-sent, 1 waiting" and received == []  # still down: still kept
        assert tick(url) == "1 alert(s) re-sent, 0 waiting"
        assert tick(url) == "no alert waiting"
    (body,) = received
    assert body["run_id"] == result.run_id and "staging" in {s["step"] for s in body["failed_steps"]}
    assert not list(outbox_dir(vob_env).iterdir())

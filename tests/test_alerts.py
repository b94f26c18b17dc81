"""The run-failure alert against a local webhook, and the 26-hour freshness checks."""

import time
from datetime import date

import dagster as dg
import pytest
from conftest import RANGE_END, RANGE_START, vob_resources
from landing_files import call, write_calls
from webhook_receiver import Receiver

from assets.resources import VobWarehouse
from pipelines.alerts import FRESHNESS_HOURS, facts_freshness_checks, run_failure_alert
from pipelines.definitions import defs
from vob.settings import ConfigError, Settings


@pytest.fixture
def webhook():
    """An HTTP server on 127.0.0.1 that keeps the JSON bodies posted to it: (url, bodies)."""
    receiver = Receiver()
    receiver.up()
    try:
        yield receiver.url, receiver.received
    finally:
        receiver.down()


def without_key(settings: Settings, **fields: str) -> VobWarehouse:
    """The resource of `settings` without VOB_PII_KEY (a real failure: the staging steps refuse to run
    without a key), with the alert's settings in `fields`."""
    return VobWarehouse(
        landing_dir=str(settings.landing_dir), warehouse=str(settings.warehouse_path), settle_seconds="0", **fields
    )


def failed_run(instance: dg.DagsterInstance, vob: VobWarehouse, month: str = "2025-03"):
    result = defs.resolve_job_def("monthly_refresh").execute_in_process(
        instance=instance, tags={RANGE_START: month, RANGE_END: month}, raise_on_error=False, resources={"vob": vob}
    )
    assert not result.success
    return result


def alert_for(instance, result, vob: VobWarehouse) -> None:
    context = dg.build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={"vob": vob},
    ).for_run_failure()
    run_failure_alert(context)


def test_a_failed_run_posts_an_alert_to_the_webhook(vob_env, webhook):
    url, received = webhook
    vob = without_key(vob_env, alert_webhook_url=url, dagster_ui_url="http://dagster.example:3000/")
    write_calls(vob_env.landing_dir, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    with dg.DagsterInstance.ephemeral() as instance:
        result = failed_run(instance, vob)
        alert_for(instance, result, vob)
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
    vob = without_key(vob_env, alert_webhook_url_file=str(secret))
    write_calls(vob_env.landing_dir, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    with dg.DagsterInstance.ephemeral() as instance:
        result = failed_run(instance, vob)
        alert_for(instance, result, vob)
        (body,) = received
        assert body["run_id"] == result.run_id

        both = without_key(vob_env, alert_webhook_url_file=str(secret), alert_webhook_url=url)
        with pytest.raises(ConfigError, match="both VOB_ALERT_WEBHOOK_URL and VOB_ALERT_WEBHOOK_URL_FILE") as err:
            alert_for(instance, result, both)  # both: refused, the URL (a secret) not shown
        assert url not in str(err.value) and len(received) == 1


def test_without_a_webhook_the_alert_is_only_logged(vob_env, caplog):
    vob = without_key(vob_env)
    with dg.DagsterInstance.ephemeral() as instance:
        alert_for(instance, failed_run(instance, vob), vob)  # no exception, nothing posted


def evaluate_freshness(instance) -> dict[str, bool]:
    result = dg.materialize(
        [*facts_freshness_checks],
        instance=instance,
        selection=dg.AssetSelection.all_asset_checks(),
        raise_on_error=False,
    )
    return {e.asset_key.to_user_string(): e.passed for e in result.get_asset_check_evaluations()}


@pytest.mark.slow  # waits on real freshness checks
def test_facts_not_refreshed_for_26_hours_are_flagged(vob_env, monkeypatch):
    import dagster._core.definitions.asset_checks.asset_check_factories.freshness_checks.last_update as fresh

    write_calls(vob_env.landing_dir, date(2025, 3, 5), [call("C-1", "2025-03-05T10:00:00+03:00")])
    with dg.DagsterInstance.ephemeral() as instance:
        # never materialised: overdue
        assert evaluate_freshness(instance) == {"marts/fct_channel_monthly": False, "marts/fct_tickets_monthly": False}
        defs.resolve_job_def("monthly_refresh").execute_in_process(
            instance=instance, tags={RANGE_START: "2025-03", RANGE_END: "2025-03"}, resources=vob_resources()
        )
        assert evaluate_freshness(instance) == {"marts/fct_channel_monthly": True, "marts/fct_tickets_monthly": True}
        # 25 hours later still fresh, 27 hours later overdue
        now = time.time()
        monkeypatch.setattr(fresh, "get_current_timestamp", lambda: now + 25 * 3600)
        assert all(evaluate_freshness(instance).values())
        monkeypatch.setattr(fresh, "get_current_timestamp", lambda: now + (FRESHNESS_HOURS + 1) * 3600)
        assert not any(evaluate_freshness(instance).values())


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
        alert_for(instance, result, without_key(vob_env, alert_webhook_url=down))  # no exception: kept
        (kept,) = outbox_dir(vob_env).glob("*.json")
        assert kept.name == f"{result.run_id}.json" and oct(kept.stat().st_mode & 0o777) == "0o600"

        def tick(target: str) -> str:
            context = dg.build_sensor_context(
                instance=instance, resources={"vob": without_key(vob_env, alert_webhook_url=target)}
            )
            return alert_outbox(context).skip_message

        assert tick(down) == "0 alert(s) re-sent, 1 waiting" and received == []  # still down: still kept
        assert tick(url) == "1 alert(s) re-sent, 0 waiting"
        assert tick(url) == "no alert waiting"
    (body,) = received
    assert body["run_id"] == result.run_id and "staging" in {s["step"] for s in body["failed_steps"]}
    assert not list(outbox_dir(vob_env).iterdir())

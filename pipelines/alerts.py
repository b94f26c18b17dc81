"""Alerting: what tells the operator that something broke at night.

- `run_failure_alert`: a run-failure sensor that POSTs a JSON message (job, run
  id, failed steps, failed checks, link to the run in the UI) to the webhook in
  VOB_ALERT_WEBHOOK_URL or the file named by VOB_ALERT_WEBHOOK_URL_FILE (Slack/Teams/Mattermost incoming webhooks accept a JSON
  body with a `text` field). Without the variable it only logs. An alert the webhook does not
  take (down, unreachable, an error status) is kept in the outbox, `$VOB_WORK_DIR/alert_outbox/`,
  one file per run, and `alert_outbox` re-sends it every minute until the webhook takes it: each
  failed run gives one alert, late rather than never (Dagster's run-failure sensor does not
  evaluate a run again once its evaluation failed).

A nightly run that did not happen at all shows as the facts' freshness (checks/freshness.py).
"""

import http.client
import json
import os
import urllib.request
from pathlib import Path

import dagster as dg

from assets.resources import AlertWebhook
from pipelines.failures import run_failures
from vob.base.files import make_private, private_dir
from vob.base.settings import DEFAULT_UI_URL, Settings

WEBHOOK_TIMEOUT_SECONDS = 10
OUTBOX = "alert_outbox"  # under VOB_WORK_DIR: alerts the webhook has not taken yet
OUTBOX_INTERVAL_SECONDS = 60
DETAIL_CHARS = 500  # of a failed check's "problems"/"summary" metadata (file, line, reason)


def failure_message(
    instance: dg.DagsterInstance, run: dg.DagsterRun, error: str | None, ui_url: str = DEFAULT_UI_URL
) -> dict:
    """The alert's JSON body: what failed in the run, and where to look (the run in the UI at
    `ui_url`, VOB_DAGSTER_UI_URL)."""
    failures = run_failures(
        record.dagster_event
        for record in instance.all_logs(
            run.run_id,
            of_type={
                dg.DagsterEventType.STEP_FAILURE,
                dg.DagsterEventType.ASSET_CHECK_EVALUATION,
            },
        )
        if record.dagster_event is not None
    )
    steps = [{"step": s.step, "error": s.error} for s in failures.steps]
    checks = [
        {
            "asset": c.asset,
            "check": c.check,
            "severity": c.severity,
            "detail": None if c.detail is None else c.detail[:DETAIL_CHARS],
        }
        for c in failures.checks
    ]
    link = f"{ui_url.rstrip('/')}/runs/{run.run_id}"
    partitions = {k: v for k, v in run.tags.items() if "partition" in k}
    summary = f"VoB pipeline: run of {run.job_name} failed"
    if partitions:
        summary += " (" + ", ".join(f"{k.split('/')[-1]}={v}" for k, v in sorted(partitions.items())) + ")"
    details = [f"step {s['step']}: {s['error']}" for s in steps]
    details += [
        f"check {c['asset']}:{c['check']} failed ({c['severity']})"
        + (f": {c['detail'].splitlines()[0]}" if c["detail"] else "")
        for c in checks
    ]
    return {
        "text": "\n".join([summary, *details, link]),
        "job": run.job_name,
        "run_id": run.run_id,
        "tags": dict(run.tags),
        "failed_steps": steps,
        "failed_checks": checks,
        "error": error,
        "url": link,
    }


def post_json(url: str, body: dict) -> int:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode("utf-8"),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
        return response.status


def outbox_dir(settings: Settings) -> Path:
    return settings.work_dir / OUTBOX


def keep_in_outbox(outbox: Path, body: dict, settings: Settings) -> Path:
    """The alert written (whole, by a rename) to the outbox, one private file per run."""
    private_dir(outbox, settings)
    path = outbox / f"{body['run_id']}.json"
    temporary = outbox / f".{body['run_id']}.json.tmp"
    temporary.write_text(json.dumps(body, ensure_ascii=False), encoding="utf-8")
    make_private(temporary, settings)
    os.replace(temporary, path)
    return path


def send_or_keep(url: str, body: dict, settings: Settings) -> str:
    """POST the alert; when the webhook does not take it, keep it in the outbox. What happened."""
    try:
        return f"posted ({post_json(url, body)})"
    except (OSError, http.client.HTTPException) as error:  # URLError, HTTPError, refused, timeout
        path = keep_in_outbox(outbox_dir(settings), body, settings)
        return f"not taken by the webhook ({error}); kept in {path}, re-sent by sensor alert_outbox"


def flush_outbox(url: str, outbox: Path) -> tuple[int, int]:
    """Re-send the kept alerts, oldest first, each deleted once the webhook took it; stops at the first
    one refused (the webhook is still down). (sent, still waiting)."""
    pending = sorted(outbox.glob("*.json"), key=lambda p: p.stat().st_mtime_ns) if outbox.is_dir() else []
    sent = 0
    for path in pending:
        try:
            post_json(url, json.loads(path.read_text(encoding="utf-8")))
        except (OSError, http.client.HTTPException):
            break
        path.unlink()
        sent += 1
    return sent, len(pending) - sent


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="POSTs a JSON alert for every failed run to $VOB_ALERT_WEBHOOK_URL (log only without it); "
    "one the webhook does not take waits in the outbox for sensor alert_outbox.",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertWebhook) -> None:
    body = failure_message(context.instance, context.dagster_run, context.failure_event.message, alerts.ui_url)
    url = alerts.url  # VOB_ALERT_WEBHOOK_URL or the file in VOB_ALERT_WEBHOOK_URL_FILE
    if not url:
        context.log.warning(f"VOB_ALERT_WEBHOOK_URL is not set; alert not sent: {body['text']}")
        return
    context.log.info(f"alert for run {body['run_id']}: {send_or_keep(url, body, alerts.settings)}")


@dg.sensor(
    name="alert_outbox",
    minimum_interval_seconds=OUTBOX_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Re-sends the failure alerts the webhook did not take when they were raised "
    "($VOB_WORK_DIR/alert_outbox), every minute, until it takes them.",
)
def alert_outbox(context: dg.SensorEvaluationContext, alerts: AlertWebhook) -> dg.SkipReason:
    settings = alerts.settings
    outbox = outbox_dir(settings)
    if not settings.alert_webhook_url or not outbox.is_dir():
        return dg.SkipReason("no alert waiting")
    sent, waiting = flush_outbox(settings.alert_webhook_url, outbox)
    if waiting:
        context.log.warning(f"{waiting} alert(s) still not taken by the webhook ({sent} re-sent)")
    return dg.SkipReason(f"{sent} alert(s) re-sent, {waiting} waiting" if sent or waiting else "no alert waiting")

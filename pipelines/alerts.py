"""Alerting: what tells the operator that something broke at night.

- `run_failure_alert`: a run-failure sensor that POSTs a JSON message (job, run
  id, failed steps, failed checks, link to the run in the UI) to the webhook in
  VOB_ALERT_WEBHOOK_URL or the file named by VOB_ALERT_WEBHOOK_URL_FILE (Slack/Teams/Mattermost incoming webhooks accept a JSON
  body with a `text` field). Without the variable it only logs.

A nightly run that did not happen at all shows as the facts' freshness (checks/freshness.py).
"""

import json
import urllib.request

import dagster as dg

from assets.resources import AlertWebhook
from pipelines.failures import run_failures
from vob.base.settings import DEFAULT_UI_URL

WEBHOOK_TIMEOUT_SECONDS = 10
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


@dg.run_failure_sensor(
    name="run_failure_alert",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="POSTs a JSON alert for every failed run to $VOB_ALERT_WEBHOOK_URL (log only without it).",
)
def run_failure_alert(context: dg.RunFailureSensorContext, alerts: AlertWebhook) -> None:
    body = failure_message(context.instance, context.dagster_run, context.failure_event.message, alerts.ui_url)
    url = alerts.url  # VOB_ALERT_WEBHOOK_URL or the file in VOB_ALERT_WEBHOOK_URL_FILE
    if not url:
        context.log.warning(f"VOB_ALERT_WEBHOOK_URL is not set; alert not sent: {body['text']}")
        return
    status = post_json(url, body)  # an unreachable webhook fails the tick: visible in the UI
    context.log.info(f"alert for run {body['run_id']} posted ({status})")

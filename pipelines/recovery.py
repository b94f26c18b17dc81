"""Dead runs never stall the next one (docs/operations.md, "A run died").

A run whose process was killed hard (SIGKILL, the OOM killer, a reboot) stays
STARTED in the Dagster instance for ever and keeps its slot of the
`vob_warehouse_writer` pool, so every later run waits behind it. Dagster's run
monitoring only fails runs stuck *starting*: the default run launcher cannot
tell whether a worker is alive (`supports_check_run_worker_health` is false),
and the daemon frees the slots of *finished* runs only
(`run_monitoring.free_slots_after_run_end_seconds`). What it lacks is here:

- every run carries the process id, host and process start time of the process
  that executes it (`vob/pid`, `vob/host`, `vob/pid_started`): set by `vob run`
  when it launches, and by the resources (assets/resources.py) in the run worker of a
  daemon-launched run. A run without them falls back on the pid Dagster records
  itself ("Started process for run (pid: N)") when the default launcher, which
  runs workers on this host, started it.
- `reap_dead_runs` marks a STARTED/STARTING run whose process no longer exists on
  this host as failed, with a message that says so (the run-failure alert fires),
  and frees its pool slots. `vob run` / `vob rebuild` call it first; the
  `dead_runs` sensor calls it every minute in the daemon.

A run waiting for the slot of a dead one sleeps while it waits: pipelines/dagster_patch.py.
"""

from __future__ import annotations

import socket

import dagster as dg

from vob.base.processes import HOST_TAG, PID_STARTED_TAG, PID_TAG, process_started

REAP_INTERVAL_SECONDS = 60
ALIVE_STATUSES = [dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING]


def _launcher_pid(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    """The pid of the run worker, as the default launcher recorded it (workers on this host)."""
    if not isinstance(instance.run_launcher, dg.DefaultRunLauncher):
        return None
    for record in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        data = record.dagster_event.engine_event_data if record.dagster_event else None
        pid = data.metadata.get("pid") if data and data.metadata else None
        if pid is not None and "Started process for run" in (record.message or ""):
            return int(str(pid.value))
    return None


def why_dead(instance: dg.DagsterInstance, run: dg.DagsterRun) -> str | None:
    """Why the run's process is known to be gone, or None while it may be alive (or runs elsewhere)."""
    host = socket.gethostname()
    if PID_TAG in run.tags:
        if run.tags.get(HOST_TAG) != host:
            return None  # another machine's process: that machine's reaper decides
        pid, started = int(run.tags[PID_TAG]), run.tags.get(PID_STARTED_TAG) or None
    else:
        pid, started = _launcher_pid(instance, run), None
        if pid is None:
            return None
    now_started = process_started(pid)
    if now_started is None:
        return f"its process (pid {pid} on {host}) no longer exists"
    if started and now_started and now_started != started:
        return f"its process (pid {pid} on {host}) no longer exists (the pid now belongs to another process)"
    return None


def reap_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark runs whose process died as failed and free their pool slots; one line per run reaped."""
    reaped = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=ALIVE_STATUSES)):
        run = record.dagster_run
        reason = why_dead(instance, run)
        if reason is None:
            continue
        message = (
            f"Run {run.run_id} of {run.job_name} died: {reason} (killed, out of memory or machine "
            "restarted). Marked failed and its writer-pool slots freed; run the period again."
        )
        instance.report_run_failed(run, message)
        if instance.event_log_storage.supports_global_concurrency_limits:
            instance.event_log_storage.free_concurrency_slots_for_run(run.run_id)
        reaped.append(message)
    return reaped


@dg.sensor(
    name="dead_runs",
    minimum_interval_seconds=REAP_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks runs whose process died (SIGKILL, out of memory, reboot) as failed and frees their "
    "writer-pool slots, so the next run does not wait for ever. See docs/operations.md, 'A run died'.",
)
def dead_runs_sensor(context: dg.SensorEvaluationContext) -> dg.SkipReason:
    reaped = reap_dead_runs(context.instance)
    for message in reaped:
        context.log.warning(message)
    return dg.SkipReason("; ".join(reaped) if reaped else "no dead run")

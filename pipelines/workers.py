"""Where a run's steps execute (VOB_EXECUTOR; docs/scale-out.md, "Workers").

- `in_process` (the default): every step in the run's own process, one after another, as always.
- `celery`: the run's process submits each step to a Celery queue on a Redis broker and waits; worker
  processes (`vob worker` on any machine, which runs `dagster-celery worker start`) execute them. The
  executor and the workers take their Celery settings from this one place (`celery_config`).

What a worker needs to survive: Celery acknowledges a step's message only when the step has ended
(`task_acks_late`), so a worker killed in the middle of a step (SIGKILL, out of memory, a lost machine)
leaves the message unacknowledged and Redis gives it to another worker once the visibility timeout has
passed (VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS; it must be longer than the longest step, or a slow step is
started twice). A worker process killed under a live worker is requeued at once (`task_reject_on_worker_lost`).
The run's writer-pool slots are claimed by the run's process, not by the workers (the celery executor
claims a step's pool slot before it submits the step): the dead-run reaper (pipelines/recovery.py)
watches that process, and a dead worker holds nothing of its own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import dagster as dg
import yaml

from vob.base.settings import ConfigError, Settings, read_executor

CELERY_APP = "dagster_celery.app"  # the module `celery -A` loads: Dagster's step task
# kombu's Redis transport scans for unacknowledged messages to restore every
# unacked_restore_interval * unacked_restore_throttle seconds (10 * 10 by default): every 10 s here
RESTORE_INTERVAL_SECONDS = 10
RETRIES, RETRY_DELAY_SECONDS = 2, 10


def celery_config(broker: str, backend: str, timeout: float) -> dict[str, Any]:
    """The celery executor's configuration, which the workers' YAML repeats (`worker_yaml`): the broker's
    and the result backend's URLs, Redis's visibility timeout in seconds."""
    DEFAULT_CONFIG = _dagster_celery().config.DEFAULT_CONFIG
    return {
        "broker": broker,
        "backend": backend,
        "config_source": {
            **{key: value for key, value in DEFAULT_CONFIG.items() if key != "broker_transport_options"},
            "task_acks_late": True,  # acknowledged when the step ended: a dead worker's step is redelivered
            "task_reject_on_worker_lost": True,  # a killed worker process: requeued at once
            "broker_transport_options": {
                **DEFAULT_CONFIG["broker_transport_options"],
                "visibility_timeout": timeout,
                "unacked_restore_interval": min(RESTORE_INTERVAL_SECONDS, timeout),
                "unacked_restore_throttle": 1,
            },
        },
    }


def _dagster_celery() -> Any:
    """The dagster_celery package (the `workers` extra), or a ConfigError that says how to install it."""
    try:
        import dagster_celery
        import dagster_celery.config
    except ImportError:
        raise ConfigError(
            "VOB_EXECUTOR=celery needs dagster-celery: pip install '.[workers]' (docs/scale-out.md, 'Workers')"
        ) from None
    return dagster_celery


def run_executor(env: Mapping[str, str]) -> dg.ExecutorDefinition:
    """The executor of every job of the code location (pipelines/definitions.py), from VOB_EXECUTOR in `env`."""
    settings = read_executor(env)
    if settings["executor"] == "celery":
        celery_executor = _dagster_celery().celery_executor
        config = celery_config(
            settings["celery_broker_url"], settings["celery_backend_url"], settings["celery_visibility_timeout_seconds"]
        )
        return celery_executor.configured(config, name="celery")
    return dg.in_process_executor


def step_retry_policy(env: Mapping[str, str]) -> dg.RetryPolicy | None:
    """With the celery executor, a step that raised is retried twice (10 s, then 20 s later): a step on a
    worker meets the network (the object store, the catalog, the broker), whose errors pass. A worker that
    died is another matter: its step comes back through the broker (`task_acks_late`). In process: None."""
    if read_executor(env)["executor"] != "celery":
        return None
    return dg.RetryPolicy(max_retries=RETRIES, delay=RETRY_DELAY_SECONDS, backoff=dg.Backoff.EXPONENTIAL)


def worker_yaml(settings: Settings) -> str:
    """What `dagster-celery worker start -y` reads: the executor's configuration under execution.config."""
    if not (settings.celery_broker_url and settings.celery_backend_url):
        raise ConfigError("a Celery worker needs VOB_EXECUTOR=celery and VOB_CELERY_BROKER_URL")
    config = celery_config(
        settings.celery_broker_url, settings.celery_backend_url, settings.celery_visibility_timeout_seconds
    )
    return yaml.safe_dump({"execution": {"config": config}}, sort_keys=False)


def start_worker(settings: Settings, name: str | None, concurrency: int) -> int:
    """`vob worker`: a Celery worker for this machine, in the foreground, with the settings of `vob`'s
    environment (the broker's URL is written to a private file that only the worker reads)."""
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    folder = Path(tempfile.mkdtemp(prefix="vob-worker-"))  # mode 700
    try:
        config = folder / "celery.yaml"
        config.write_text(worker_yaml(settings))
        config.chmod(0o600)
        command = [str(Path(bin_dir) / "dagster-celery"), "worker", "start", "-A", CELERY_APP, "-y", str(config)]
        named = ["-n", name] if name else []
        return subprocess.call([*command, *named, "--", f"--concurrency={concurrency}"], env=env)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

"""VOB_EXECUTOR and the Celery settings (vob/base/settings.py, pipelines/workers.py): the default changes
nothing, the celery executor is refused without a broker and without the Iceberg store, and the workers'
YAML is what `dagster-celery worker start -y` accepts. The workers themselves: tests/test_workers.py."""

import subprocess
import sys

import dagster as dg
import pytest

from pipelines.cli import main
from pipelines.workers import run_executor, step_retry_policy, worker_yaml
from vob.base.settings import ConfigError, load_settings

CELERY = {
    "VOB_EXECUTOR": "celery",
    "VOB_CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
    "VOB_ICEBERG_CATALOG_URI": "postgresql+psycopg2://vob@127.0.0.1/vob",
    "VOB_ICEBERG_WAREHOUSE": "s3://vob/lake",
}


def test_without_the_settings_steps_run_in_process_with_no_retries():
    settings = load_settings({})
    assert (settings.executor, settings.celery_broker_url) == ("in_process", None)
    assert run_executor({}) is dg.in_process_executor
    assert step_retry_policy({}) is None


@pytest.mark.parametrize(
    ("env", "names"),
    [
        ({**CELERY, "VOB_EXECUTOR": "threads"}, "VOB_EXECUTOR"),
        ({k: v for k, v in CELERY.items() if k != "VOB_CELERY_BROKER_URL"}, "VOB_CELERY_BROKER_URL"),
        ({k: v for k, v in CELERY.items() if not k.startswith("VOB_ICEBERG")}, "VOB_ICEBERG_CATALOG_URI"),
        ({**CELERY, "VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS": "0"}, "VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS"),
    ],
)
def test_the_celery_executor_is_refused_without_what_it_needs(env, names):
    with pytest.raises(ConfigError, match=names):
        load_settings(env)


def test_the_broker_comes_from_a_secret_file_and_is_the_backend_by_default(tmp_path):
    secret = tmp_path / "broker"
    secret.write_text("redis://:s3cret@redis:6379/0\n")
    env = {k: v for k, v in CELERY.items() if k != "VOB_CELERY_BROKER_URL"}
    settings = load_settings({**env, "VOB_CELERY_BROKER_URL_FILE": str(secret)})
    assert settings.celery_broker_url == settings.celery_backend_url == "redis://:s3cret@redis:6379/0"
    assert "s3cret" not in repr(settings)
    backend = load_settings({**CELERY, "VOB_CELERY_BACKEND_URL": "redis://127.0.0.1:6379/1"}).celery_backend_url
    assert backend == "redis://127.0.0.1:6379/1"


def test_the_executor_and_the_workers_share_one_configuration(tmp_path):
    from dagster_celery.cli import get_validated_config

    env = {**CELERY, "VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS": "900"}
    executor = run_executor(env)
    assert executor.name == "celery"
    policy = step_retry_policy(env)
    assert policy is not None and policy.max_retries == 2
    (tmp_path / "celery.yaml").write_text(worker_yaml(load_settings(env)))
    config = get_validated_config(str(tmp_path / "celery.yaml"))  # what a worker reads, checked as it checks it
    assert config["broker"] == config["backend"] == CELERY["VOB_CELERY_BROKER_URL"]
    source = config["config_source"]
    assert source["task_acks_late"] and source["task_reject_on_worker_lost"]
    assert source["broker_transport_options"]["visibility_timeout"] == 900
    assert source["worker_prefetch_multiplier"] == 1  # a worker takes the next step when it is free


def test_the_code_location_puts_every_job_on_the_workers_when_asked():
    code = (
        "from pipelines.definitions import defs;"
        "print(sorted({defs.resolve_job_def(j.name).executor_def.name for j in defs.jobs}))"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code], env=CELERY | {"PATH": ""}, capture_output=True, text=True
    )
    assert out.stdout.strip() == "['celery']", out.stderr[-2000:]


def test_a_worker_is_refused_without_the_celery_executor(capsys):
    assert main(["worker"]) == 2
    assert "VOB_EXECUTOR=celery" in capsys.readouterr().err

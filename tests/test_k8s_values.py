"""deploy/k8s (docs/scale-out.md, "Kubernetes"): no cluster runs here, so what can be checked offline is
checked: the manifests parse, every VOB_* variable they set is one the pipeline reads, every secret is
given as a mounted file, and the workers and the code location carry the same settings."""

from pathlib import Path

import yaml

from vob.base.settings import VARIABLES

K8S = Path(__file__).resolve().parents[1] / "deploy" / "k8s"
SECRETS = {"VOB_PII_KEY", "VOB_ALERT_WEBHOOK_URL", "VOB_CELERY_BROKER_URL", "VOB_CELERY_BACKEND_URL"} | {
    "VOB_ICEBERG_CATALOG_URI",
    "VOB_S3_SECRET_ACCESS_KEY",
}


def env_of(container_env: list[dict]) -> dict[str, str]:
    return {e["name"]: e.get("value", "") for e in container_env if e["name"].startswith("VOB_")}


def code_location_env() -> tuple[dict, dict[str, str]]:
    values = yaml.safe_load((K8S / "values.yaml").read_text())
    (deployment,) = values["dagster-user-deployments"]["deployments"]
    return deployment, env_of(deployment["env"])


def worker_container() -> dict:
    (workers,) = [d for d in yaml.safe_load_all((K8S / "workers.yaml").read_text()) if d["kind"] == "Deployment"]
    (container,) = workers["spec"]["template"]["spec"]["containers"]
    return container


def test_every_variable_is_the_pipelines_and_every_secret_a_mounted_file():
    deployment, env = code_location_env()
    assert set(env) <= set(VARIABLES.values()), set(env) - set(VARIABLES.values())
    assert not SECRETS & set(env), "a secret set as a value: use its _FILE form"
    mounts = {m["mountPath"] for m in deployment["volumeMounts"]}
    files = {name: path for name, path in env.items() if name.endswith("_FILE")}
    assert files and all(any(path.startswith(m + "/") for m in mounts) for path in files.values()), files
    assert env["VOB_EXECUTOR"] == "celery" and "VOB_ICEBERG_CATALOG_URI_FILE" in env  # workers need the store


def test_the_workers_run_vob_worker_with_the_code_locations_settings():
    _, env = code_location_env()
    container = worker_container()
    assert container["command"][:2] == ["vob", "worker"]
    assert env_of(container["env"]) == env
    secret_keys = set(yaml.safe_load_all((K8S / "secrets.example.yaml").read_text()).__next__()["stringData"])
    assert {Path(path).name for name, path in env.items() if name.endswith("_FILE")} <= secret_keys


def test_the_chart_runs_a_pod_per_run_and_the_daemon_queues_and_watches_runs():
    values = yaml.safe_load((K8S / "values.yaml").read_text())
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    assert values["dagster-user-deployments"]["deployments"][0]["includeConfigInLaunchedRuns"]["enabled"]
    daemon = values["dagsterDaemon"]
    assert daemon["runCoordinator"]["type"] == "QueuedRunCoordinator" and daemon["runMonitoring"]["enabled"]
    # the pools of deploy/dagster.yaml
    instance = yaml.safe_load((K8S.parent / "dagster.yaml").read_text())
    assert values["additionalInstanceConfig"]["concurrency"]["pools"] == instance["concurrency"]["pools"]

"""Settings: one reader of the VOB_* variables (vob/base/settings.py), the Dagster resources that read them
when a run starts, and the README's table of them."""

import re
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from assets.resources import AlertWebhook, WorkingWarehouse, vob_resources
from vob.base.settings import DEFAULT_UI_URL, SUPERSET_DIR, VARIABLES, ConfigError, load_settings, memory_settings

ROOT = Path(__file__).resolve().parents[1]
CODE_FLOORS = ("vob", "warehouse", "assets", "checks", "pipelines")


def test_every_variable_is_a_row_of_the_readme():
    configuration = ROOT.joinpath("README.md").read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    assert {v for v in VARIABLES.values() if f"`{v}`" not in configuration} == set()
    documented = set(re.findall(r"^\| `(VOB_[A-Z_]+)`", configuration, flags=re.M))
    assert documented <= set(VARIABLES.values())


def test_only_vob_settings_reads_the_pipelines_variables():
    readers = [
        f"{path.relative_to(ROOT)}:{number}"
        for floor in CODE_FLOORS
        for path in sorted((ROOT / floor).rglob("*.py"))
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"(environ|getenv)\b.*VOB_", line) and path != ROOT / "vob" / "settings.py"
    ]
    assert readers == []


def test_defaults(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    settings = load_settings({})
    assert settings.landing_dir == tmp_path / "data" / "landing"
    assert settings.warehouse_path == tmp_path / "warehouse" / "vob.duckdb"
    assert settings.work_dir == tmp_path / "warehouse" / "vob_work"
    assert settings.report_dir == tmp_path / "warehouse" / "vob_reports"
    assert (settings.reject_threshold_pct, settings.export_lag_days, settings.settle_seconds) == (1.0, 1, 60.0)
    assert (settings.duckdb_memory_limit, settings.kpi_band_pct, settings.report_digits) == ("1GB", 50.0, "western")
    assert (settings.chromium, settings.file_group, settings.bi_group, settings.dashboard_dir) == (None,) * 4
    assert (settings.warehouse_mode, settings.lock_timeout_seconds) == (0o640, 0.0)
    assert settings.superset_home == SUPERSET_DIR / "home"
    assert (settings.secret_key, settings.alert_webhook_url, settings.dagster_ui_url) == (None, None, DEFAULT_UI_URL)


@pytest.mark.parametrize(
    "variable, value",
    [
        ("VOB_SETTLE_SECONDS", "a minute"),
        ("VOB_EXPORT_LAG_DAYS", "1.5"),
        ("VOB_EXPORT_LAG_DAYS", "-1"),
        ("VOB_DUCKDB_MEMORY_LIMIT", "lots"),
        ("VOB_DUCKDB_MEMORY_LIMIT", "2"),
        ("VOB_DUCKDB_MEMORY_LIMIT", "0GB"),
        ("VOB_REJECT_THRESHOLD_PCT", "1%"),
        ("VOB_KPI_BAND_PCT", "0"),
        ("VOB_REPORT_DIGITS", "roman"),
        ("VOB_WAREHOUSE_MODE", "755"),
        ("VOB_LOCK_TIMEOUT_SECONDS", "soon"),
    ],
)
def test_a_bad_value_is_refused_naming_its_variable(variable, value):
    with pytest.raises(ConfigError, match=variable):
        load_settings({variable: value})


def test_a_refused_value_is_said_in_one_sentence_before_any_work(tmp_path):
    for variable, value, sentence in [
        ("VOB_DUCKDB_MEMORY_LIMIT", "lots", "VOB_DUCKDB_MEMORY_LIMIT must be an amount of memory with its unit"),
        ("VOB_EXPORT_LAG_DAYS", "-1", "VOB_EXPORT_LAG_DAYS must be 0 or more days"),
    ]:
        done = subprocess.run(
            [sys.executable, "-m", "pipelines.cli", "run", "--month", "2025-03"],
            env={"PATH": "/usr/bin:/bin", "VOB_LANDING_DIR": str(tmp_path), variable: value},
            cwd=ROOT,
            capture_output=True,
            text=True,
        )
        assert (done.returncode, done.stdout) == (2, "")
        assert done.stderr.startswith(f"vob: {sentence}") and done.stderr.count("\n") == 1, done.stderr


@pytest.mark.parametrize("limit", ["1GB", "512 MB", "1.5gb", "2GiB", "100KB", "1G", "50%"])
def test_every_memory_limit_accepted_is_one_duckdb_accepts(limit, tmp_path):
    settings = load_settings({"VOB_DUCKDB_MEMORY_LIMIT": limit, "VOB_WORK_DIR": str(tmp_path)})
    with duckdb.connect(config={**memory_settings(settings.work_dir, settings.duckdb_memory_limit)}) as con:
        assert con.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]
    with pytest.raises(duckdb.Error, match="Memory must have a number"):  # what the check spares a run
        duckdb.connect(config={"memory_limit": "lots"})


def test_secrets_are_not_shown():
    settings = load_settings({"VOB_PII_KEY": "pii-secret", "VOB_ALERT_WEBHOOK_URL": "https://hook/token-secret"})
    assert "pii-secret" not in repr(settings) and "token-secret" not in repr(settings)


def config_shape(resources: dict) -> dict:
    return {key: sorted(type(resource).model_fields) for key, resource in resources.items()}


def test_the_resources_config_does_not_depend_on_the_environment_and_they_read_it_when_a_run_starts(
    monkeypatch, tmp_path
):
    monkeypatch.delenv("VOB_WAREHOUSE", raising=False)
    unset = vob_resources()
    monkeypatch.setenv("VOB_WAREHOUSE", str(tmp_path / "w" / "vob.duckdb"))
    monkeypatch.setenv("VOB_SETTLE_SECONDS", "5")
    assert config_shape(vob_resources()) == config_shape(unset) == dict.fromkeys(unset, ["variables"])
    assert all(resource.variables is None for resource in unset.values())  # nothing wired at import

    settings = unset["warehouse"].process_config_and_initialize().settings  # as a run or a tick does
    assert settings == load_settings()
    assert (settings.warehouse_path, settings.settle_seconds) == (tmp_path / "w" / "vob.duckdb", 5.0)


def test_a_resource_parses_given_variables_as_load_settings_does_and_once(tmp_path):
    variables = {
        "VOB_WAREHOUSE": str(tmp_path / "vob.duckdb"),
        "VOB_KPI_BAND_PCT": "20",
        "VOB_REPORT_DIGITS": "arabic",
        "VOB_WAREHOUSE_MODE": "600",
        "VOB_DAGSTER_UI_URL": "http://ui:3000/",
    }
    resource = WorkingWarehouse(variables=variables).process_config_and_initialize()
    assert resource.settings == load_settings(variables)
    assert resource.settings is resource.settings  # parsed once
    assert AlertWebhook(variables=variables).ui_url == "http://ui:3000"
    with pytest.raises(ConfigError, match="VOB_KPI_BAND_PCT"):
        WorkingWarehouse(variables={"VOB_KPI_BAND_PCT": "-5"}).process_config_and_initialize()

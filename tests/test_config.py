"""Settings: one reader of the VOB_* variables (vob/settings.py), the same variables on the Dagster
resource, and the README's table of them."""

import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from assets.resources import VobWarehouse
from vob.settings import DEFAULT_UI_URL, SUPERSET_DIR, VARIABLES, ConfigError, load_settings, memory_settings

ROOT = Path(__file__).resolve().parents[1]
CODE_FLOORS = ("vob", "warehouse", "assets", "checks", "pipelines")


def test_every_variable_is_a_field_of_the_resource_and_a_row_of_the_readme():
    assert set(VobWarehouse.model_fields) == set(VARIABLES)
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


def test_the_code_location_wires_the_variables_that_are_set_and_dagster_reads_them_at_run_time(monkeypatch, tmp_path):
    resource = VobWarehouse.from_environment({"VOB_WAREHOUSE": "set", "VOB_SETTLE_SECONDS": "", "PATH": "/bin"})
    assert resource.warehouse == dg.EnvVar("VOB_WAREHOUSE")
    assert {name for name in VARIABLES if getattr(resource, name) is not None} == {"warehouse"}

    monkeypatch.setenv("VOB_WAREHOUSE", str(tmp_path / "w" / "vob.duckdb"))
    settings = resource.process_config_and_initialize().settings()
    assert settings == load_settings({"VOB_WAREHOUSE": str(tmp_path / "w" / "vob.duckdb")})
    assert settings.settle_seconds == 60.0  # not wired: the default, whatever the environment says later


def test_the_resource_parses_its_fields_as_load_settings_parses_variables(tmp_path):
    resource = VobWarehouse(
        warehouse=str(tmp_path / "vob.duckdb"),
        kpi_band_pct="20",
        report_digits="arabic",
        warehouse_mode="600",
        dagster_ui_url="http://ui:3000/",
    )
    assert resource.settings() == load_settings(
        {
            "VOB_WAREHOUSE": str(tmp_path / "vob.duckdb"),
            "VOB_KPI_BAND_PCT": "20",
            "VOB_REPORT_DIGITS": "arabic",
            "VOB_WAREHOUSE_MODE": "600",
            "VOB_DAGSTER_UI_URL": "http://ui:3000/",
        }
    )
    assert resource.settings().dagster_ui_url == "http://ui:3000"
    with pytest.raises(ConfigError, match="VOB_KPI_BAND_PCT"):
        VobWarehouse(kpi_band_pct="-5").settings()

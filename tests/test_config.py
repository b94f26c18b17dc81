"""Settings: one reader of the VOB_* variables (vob/settings.py), the same variables on the Dagster
resource, and the README's table of them."""

import re
from pathlib import Path

import dagster as dg
import pytest

from assets.resources import VobWarehouse
from vob.settings import DEFAULT_UI_URL, SUPERSET_DIR, VARIABLES, ConfigError, load_settings

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

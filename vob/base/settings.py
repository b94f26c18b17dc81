"""Settings: every VOB_* variable, read from the environment in one place (`load_settings`).

Relative paths (the defaults among them) are taken from the current directory,
the repository root for `vob` and `dagster dev`, as the contracts say; an
operator points them elsewhere with environment variables (README, Configuration).
Library functions take a `Settings` (or the values they need), never the environment:
processes outside Dagster (`vob`, `vob-service`, the benchmarks) call `load_settings`
once, Dagster code gets them from its resources (assets/resources.py), which call
`load_settings` when a run or a sensor tick initialises them. A new setting is added
here only: a line in VARIABLES, a field of Settings, its line in load_settings (and
its row in the README's Configuration table).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, MutableMapping
from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

# The documented demo key: accepted only for landing zones written by `vob sample`.
SAMPLE_PII_KEY = "vob-sample-demo-key-not-for-production"
SAMPLE_MARKER = ".vob_sample"  # written by `vob sample` into the landing root
SPILL_DIR = "duckdb_spill"  # under the working directory
SUPERSET_DIR = Path(__file__).resolve().parents[2] / "bi" / "superset"

# Every variable the pipeline reads (README, Configuration), by a short name. A secret (VOB_PII_KEY,
# VOB_ALERT_WEBHOOK_URL) comes from the variable or from the file named by its _FILE variable (read_secret).
VARIABLES = {
    "landing_dir": "VOB_LANDING_DIR",
    "warehouse": "VOB_WAREHOUSE",
    "work_dir": "VOB_WORK_DIR",
    "report_dir": "VOB_REPORT_DIR",
    "pii_key": "VOB_PII_KEY",
    "pii_key_file": "VOB_PII_KEY_FILE",
    "reject_threshold_pct": "VOB_REJECT_THRESHOLD_PCT",
    "export_lag_days": "VOB_EXPORT_LAG_DAYS",
    "settle_seconds": "VOB_SETTLE_SECONDS",
    "duckdb_memory_limit": "VOB_DUCKDB_MEMORY_LIMIT",
    "kpi_band_pct": "VOB_KPI_BAND_PCT",
    "report_digits": "VOB_REPORT_DIGITS",
    "chromium": "VOB_CHROMIUM",
    "file_group": "VOB_FILE_GROUP",
    "bi_group": "VOB_BI_GROUP",
    "warehouse_mode": "VOB_WAREHOUSE_MODE",
    "lock_timeout_seconds": "VOB_LOCK_TIMEOUT_SECONDS",
    "superset_home": "VOB_SUPERSET_HOME",
    "dashboard_dir": "VOB_DASHBOARD_DIR",
    "alert_webhook_url": "VOB_ALERT_WEBHOOK_URL",
    "alert_webhook_url_file": "VOB_ALERT_WEBHOOK_URL_FILE",
    "dagster_ui_url": "VOB_DAGSTER_UI_URL",
    "first_month": "VOB_FIRST_MONTH",
    "executor": "VOB_EXECUTOR",
    "celery_broker_url": "VOB_CELERY_BROKER_URL",
    "celery_broker_url_file": "VOB_CELERY_BROKER_URL_FILE",
    "celery_backend_url": "VOB_CELERY_BACKEND_URL",
    "celery_backend_url_file": "VOB_CELERY_BACKEND_URL_FILE",
    "celery_visibility_timeout_seconds": "VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS",
    # the Iceberg store (docs/scale-out.md, "The Iceberg store"): unset, the embedded working DuckDB file
    "iceberg_catalog_uri": "VOB_ICEBERG_CATALOG_URI",
    "iceberg_catalog_uri_file": "VOB_ICEBERG_CATALOG_URI_FILE",
    "iceberg_warehouse": "VOB_ICEBERG_WAREHOUSE",
    "s3_endpoint": "VOB_S3_ENDPOINT",
    "s3_access_key_id": "VOB_S3_ACCESS_KEY_ID",
    "s3_secret_access_key": "VOB_S3_SECRET_ACCESS_KEY",
    "s3_secret_access_key_file": "VOB_S3_SECRET_ACCESS_KEY_FILE",
    "s3_region": "VOB_S3_REGION",
}
LAKE_VARIABLES = ("VOB_ICEBERG_CATALOG_URI", "VOB_ICEBERG_CATALOG_URI_FILE")  # either one: the Iceberg store
DEFAULT_MEMORY_LIMIT = "1GB"
DEFAULT_SETTLE_SECONDS = 60.0
DEFAULT_KPI_BAND_PCT = 50.0  # a KPI further than 50 % from the median of the previous months is flagged
DEFAULT_WAREHOUSE_MODE = 0o640
DEFAULT_UI_URL = "http://localhost:3000"
DEFAULT_FIRST_MONTH = "2025-01"  # the first monthly partition (and its half-year the first half-year)
EXECUTORS = ("in_process", "celery")  # VOB_EXECUTOR: where a run's steps execute (docs/scale-out.md, "Workers")
# Redis redelivers a step whose worker died after this long (Celery's visibility timeout): longer than any step
DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS = 3600.0
REPORT_DIGITS = ("western", "arabic")
# what DuckDB's memory_limit takes: a size with its unit (1GB, 512 MB, 2GiB) or a share of the machine's memory (80%)
MEMORY_LIMIT = re.compile(r"(?P<number>\d+(\.\d+)?)\s*(?P<unit>[KMGT]i?B|[KMGT]|B|%)", re.IGNORECASE)


class ConfigError(ValueError):
    """A setting is missing or unusable; the message says which and how to fix it."""


def read_secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret from variable `name`, or from the file named by `name`_FILE (what Docker and
    Kubernetes secrets mount), without one trailing newline. Setting both is an error; the
    message names the variables, never the secret."""
    value, file = env.get(name), env.get(f"{name}_FILE")
    if value and file:
        raise ConfigError(
            f"both {name} and {name}_FILE are set: set only one ({name}_FILE for a secret mounted as a file)"
        )
    if not file:
        return value or None
    try:
        secret = Path(file).read_text(encoding="utf-8").removesuffix("\n")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            f"{name}_FILE={file}: cannot read the secret file ({getattr(err, 'strerror', None) or type(err).__name__})"
        ) from None
    if not secret:
        raise ConfigError(f"{name}_FILE={file}: the secret file is empty")
    return secret


def export_secret_files(names: tuple[str, ...], env: MutableMapping[str, str] | None = None) -> None:
    """Put secrets given as files into the environment under their own names, for
    configurations that read only variables (dagster.yaml's `env: DAGSTER_PG_PASSWORD`)."""
    env = os.environ if env is None else env
    for name in names:
        if env.get(f"{name}_FILE"):
            env[name] = read_secret(env, name) or ""  # read_secret refuses an empty secret file
            del env[f"{name}_FILE"]  # so children that check again do not see both


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (Path.cwd() / path)


@dataclass(frozen=True)
class Settings:
    """Every setting, with its default (README, Configuration: one row per variable)."""

    landing_dir: Path
    warehouse_path: Path  # the published DuckDB file BI tools read
    work_dir: Path  # working database, rejected rows, staging files
    report_dir: Path
    reject_threshold_pct: float = 1.0
    export_lag_days: int = 1
    secret_key: str | None = field(default=None, repr=False)  # VOB_PII_KEY: never printed
    settle_seconds: float = DEFAULT_SETTLE_SECONDS  # landing files modified more recently are left
    duckdb_memory_limit: str = DEFAULT_MEMORY_LIMIT
    kpi_band_pct: float = DEFAULT_KPI_BAND_PCT
    report_digits: str = "western"  # or "arabic" (Arabic-Indic digits)
    chromium: Path | None = None  # None: `chromium` (or its other names) on PATH
    file_group: str | None = None  # may read the private files (vob/base/files.py)
    bi_group: str | None = None  # group of the published files; None: the owner's group
    warehouse_mode: int = DEFAULT_WAREHOUSE_MODE  # mode of the published files
    lock_timeout_seconds: float = 0.0  # 0: wait for the warehouse's writer lock as long as it takes
    superset_home: Path = SUPERSET_DIR / "home"
    dashboard_dir: Path | None = None  # None: <warehouse dir>/<name>_dashboard
    alert_webhook_url: str | None = field(default=None, repr=False)  # a secret (it may carry a token)
    dagster_ui_url: str = DEFAULT_UI_URL
    first_month: str = DEFAULT_FIRST_MONTH  # YYYY-MM: no period before it can be run
    executor: str = "in_process"  # or "celery": steps run on Celery workers (docs/scale-out.md, "Workers")
    celery_broker_url: str | None = field(default=None, repr=False)  # a secret (it may carry a password)
    celery_backend_url: str | None = field(default=None, repr=False)  # None: the broker's URL
    celery_visibility_timeout_seconds: float = DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS
    # The Iceberg store (docs/scale-out.md): a SQLAlchemy URI of pyiceberg's SQL catalog (a secret: it may
    # carry a password), the warehouse location (s3://... or file://...) and the object store's settings.
    iceberg_catalog_uri: str | None = field(default=None, repr=False)
    iceberg_warehouse: str | None = None
    s3_endpoint: str | None = None
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = field(default=None, repr=False)
    s3_region: str | None = None

    @property
    def work_db(self) -> Path:
        return self.work_dir / "work.duckdb"

    @property
    def lake(self) -> bool:
        """The working tables and the marts live in the Iceberg catalog (docs/scale-out.md)."""
        return self.iceberg_catalog_uri is not None

    @property
    def is_sample_landing(self) -> bool:
        return (self.landing_dir / SAMPLE_MARKER).exists()

    def pii_key(self) -> bytes:
        """The HMAC key for personal data. Never stored, logged or put in metadata."""
        if self.secret_key:
            return self.secret_key.encode("utf-8")
        if self.is_sample_landing:
            return SAMPLE_PII_KEY.encode("utf-8")
        raise ConfigError(
            "VOB_PII_KEY is not set. Personal data (phone numbers, e-mail addresses, national "
            "ids, visitor ids) is replaced by HMAC-SHA256 at ingest and needs a secret key: "
            "export VOB_PII_KEY=<secret> or VOB_PII_KEY_FILE=<file holding it> (keep the same key across runs, or distinct "
            f"beneficiary counts break). Landing zone: {self.landing_dir}. Only a landing zone "
            "written by `vob sample` runs without it (with the documented demo key)."
        )


DEFAULTS: dict[str, Any] = {
    f.name: f.default for f in fields(Settings) if f.default is not MISSING
}  # written once, above


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The settings from the variables in `env` (the process's environment by default), each
    checked: a bad value is a ConfigError naming the variable."""
    env = os.environ if env is None else env
    warehouse_path = _path(env, "VOB_WAREHOUSE", Path("warehouse/vob.duckdb"))
    # Working state lives beside the published file and is named after it, so two
    # runs with different VOB_WAREHOUSE settings never share state.
    sibling = warehouse_path.parent / f"{warehouse_path.stem}_work"
    return Settings(
        landing_dir=_path(env, "VOB_LANDING_DIR", Path("data/landing")),
        warehouse_path=warehouse_path,
        work_dir=_path(env, "VOB_WORK_DIR", sibling),
        report_dir=_path(env, "VOB_REPORT_DIR", warehouse_path.parent / f"{warehouse_path.stem}_reports"),
        reject_threshold_pct=_number(env, "VOB_REJECT_THRESHOLD_PCT", DEFAULTS["reject_threshold_pct"]),
        export_lag_days=_export_lag_days(env),
        secret_key=read_secret(env, "VOB_PII_KEY"),
        settle_seconds=_number(env, "VOB_SETTLE_SECONDS", DEFAULT_SETTLE_SECONDS),
        duckdb_memory_limit=_memory_limit(env.get("VOB_DUCKDB_MEMORY_LIMIT", "")),
        kpi_band_pct=_kpi_band_pct(env.get("VOB_KPI_BAND_PCT", "")),
        report_digits=_report_digits(env.get("VOB_REPORT_DIGITS", "")),
        chromium=Path(env["VOB_CHROMIUM"]) if env.get("VOB_CHROMIUM") else None,
        file_group=env.get("VOB_FILE_GROUP") or None,
        bi_group=env.get("VOB_BI_GROUP") or None,
        warehouse_mode=_warehouse_mode(env.get("VOB_WAREHOUSE_MODE", "")),
        lock_timeout_seconds=_number(env, "VOB_LOCK_TIMEOUT_SECONDS", DEFAULTS["lock_timeout_seconds"]),
        superset_home=Path(env.get("VOB_SUPERSET_HOME") or DEFAULTS["superset_home"]).absolute(),
        dashboard_dir=Path(env["VOB_DASHBOARD_DIR"]).absolute() if env.get("VOB_DASHBOARD_DIR") else None,
        alert_webhook_url=read_secret(env, "VOB_ALERT_WEBHOOK_URL"),
        dagster_ui_url=(env.get("VOB_DAGSTER_UI_URL") or DEFAULT_UI_URL).rstrip("/"),
        first_month=read_first_month(env),
        **read_executor(env),
        **_lake_settings(env),
    )


def read_executor(env: Mapping[str, str]) -> dict[str, Any]:
    """VOB_EXECUTOR and the Celery settings it needs, by Settings field (read alone too, when the code
    location loads: pipelines/definitions.py). Celery workers share only the database, the broker
    and the object store, never a folder: the working DuckDB file of the embedded mode lives in one
    machine's folder and has one writer, so the celery executor needs the Iceberg store."""
    executor = env.get("VOB_EXECUTOR", "").strip().lower() or "in_process"
    if executor not in EXECUTORS:
        raise ConfigError(f"VOB_EXECUTOR must be 'in_process' (the default) or 'celery', not {executor!r}")
    broker, backend = read_secret(env, "VOB_CELERY_BROKER_URL"), read_secret(env, "VOB_CELERY_BACKEND_URL")
    timeout = _number(env, "VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS", DEFAULT_CELERY_VISIBILITY_TIMEOUT_SECONDS)
    if timeout <= 0:
        raise ConfigError(f"VOB_CELERY_VISIBILITY_TIMEOUT_SECONDS must be above 0 seconds, not {timeout:g}")
    if executor == "celery":
        if not broker:
            raise ConfigError(
                "VOB_EXECUTOR=celery needs the broker the workers listen on: set VOB_CELERY_BROKER_URL "
                "(or VOB_CELERY_BROKER_URL_FILE), e.g. redis://127.0.0.1:6379/0"
            )
        if not lake_configured(env):
            raise ConfigError(
                "VOB_EXECUTOR=celery needs the Iceberg store (VOB_ICEBERG_CATALOG_URI and VOB_ICEBERG_WAREHOUSE): "
                "workers on other machines cannot share the embedded mode's working DuckDB file, which has one "
                "writer in one folder. Unset VOB_EXECUTOR to run in process (docs/scale-out.md, 'Workers')."
            )
    return {
        "executor": executor,
        "celery_broker_url": broker,
        "celery_backend_url": backend or broker,
        "celery_visibility_timeout_seconds": timeout,
    }


def lake_configured(env: Mapping[str, str] | None = None) -> bool:
    """Whether the Iceberg store is chosen (VOB_ICEBERG_CATALOG_URI or its _FILE form is set). Read alone
    too, when the code location loads (assets/resources.py chooses the writer pools by it)."""
    env = os.environ if env is None else env
    return any(env.get(name) for name in LAKE_VARIABLES)


def _lake_settings(env: Mapping[str, str]) -> dict[str, Any]:
    uri = read_secret(env, "VOB_ICEBERG_CATALOG_URI")
    warehouse = (env.get("VOB_ICEBERG_WAREHOUSE") or "").strip() or None
    if uri and not warehouse:
        raise ConfigError(
            "VOB_ICEBERG_CATALOG_URI is set but VOB_ICEBERG_WAREHOUSE is not: set it to where the Iceberg "
            "tables' files go, s3://bucket/prefix or file:///absolute/folder"
        )
    if warehouse and not uri:
        raise ConfigError(
            "VOB_ICEBERG_WAREHOUSE is set but VOB_ICEBERG_CATALOG_URI is not: set the catalog's SQLAlchemy URI "
            "too (postgresql+psycopg2://... or sqlite:////absolute/catalog.db), or unset both"
        )
    if warehouse and not warehouse.startswith(("s3://", "file://")):
        raise ConfigError(f"VOB_ICEBERG_WAREHOUSE must start with s3:// or file://, not {warehouse!r}")
    return {
        "iceberg_catalog_uri": uri,
        "iceberg_warehouse": warehouse,
        "s3_endpoint": env.get("VOB_S3_ENDPOINT") or None,
        "s3_access_key_id": env.get("VOB_S3_ACCESS_KEY_ID") or None,
        "s3_secret_access_key": read_secret(env, "VOB_S3_SECRET_ACCESS_KEY"),
        "s3_region": env.get("VOB_S3_REGION") or None,
    }


def read_first_month(env: Mapping[str, str] | None = None) -> str:
    """VOB_FIRST_MONTH (YYYY-MM, default 2025-01): the first month the partitions have. Read alone
    too, when the code location loads (assets/partitions.py), where no other setting is needed."""
    env = os.environ if env is None else env
    raw = env.get("VOB_FIRST_MONTH", "").strip()
    if not raw:
        return DEFAULT_FIRST_MONTH
    if not re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", raw):
        raise ConfigError(f"VOB_FIRST_MONTH must be a month like 2024-01, not {raw!r}")
    return raw


def _number(env: Mapping[str, str], name: str, default: float, kind: type = float) -> Any:
    """Variable `name` as a number of `kind` (`default` when unset or empty)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        return kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a{'n integer' if kind is int else ' number'}, not {raw!r}") from None


def _export_lag_days(env: Mapping[str, str]) -> int:
    days = _number(env, "VOB_EXPORT_LAG_DAYS", DEFAULTS["export_lag_days"], int)
    if days < 0:
        raise ConfigError(f"VOB_EXPORT_LAG_DAYS must be 0 or more days (how late a daily export may come), not {days}")
    return days


def _memory_limit(raw: str) -> str:
    """VOB_DUCKDB_MEMORY_LIMIT as DuckDB takes it, checked here: DuckDB would refuse it only when a step connects."""
    value = raw.strip()
    if not value:
        return DEFAULT_MEMORY_LIMIT
    size = MEMORY_LIMIT.fullmatch(value)
    if size is None or float(size["number"]) == 0:
        raise ConfigError(
            f"VOB_DUCKDB_MEMORY_LIMIT must be an amount of memory with its unit, e.g. 2GB or 512MB "
            f"(or a share of the machine's memory, e.g. 50%), not {value!r}"
        )
    return value


def _kpi_band_pct(raw: str) -> float:
    raw = raw.strip()
    if not raw:
        return DEFAULT_KPI_BAND_PCT
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"VOB_KPI_BAND_PCT must be a number of percent, e.g. 50, not {raw!r}") from None
    if value <= 0:
        raise ConfigError(f"VOB_KPI_BAND_PCT must be above 0, not {raw!r}")
    return value


def _report_digits(raw: str) -> str:
    value = raw.strip().lower() or DEFAULTS["report_digits"]
    if value not in REPORT_DIGITS:
        raise ConfigError(f"VOB_REPORT_DIGITS must be 'western' or 'arabic', not {value!r}")
    return value


def _warehouse_mode(raw: str) -> int:
    """VOB_WAREHOUSE_MODE, an octal mode such as 640: owner read-write at least, no execute bit."""
    if not raw:
        return DEFAULT_WAREHOUSE_MODE
    try:
        mode = int(raw, 8)
    except ValueError:
        mode = -1
    if mode < 0 or mode > 0o777 or mode & 0o600 != 0o600 or mode & 0o111:
        raise ConfigError(
            f"VOB_WAREHOUSE_MODE={raw}: expected an octal file mode with owner "
            "read-write and no execute bit, e.g. 640 (group reads) or 600"
        )
    return mode


def memory_settings(work_dir: Path, memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict[str, str]:
    """DuckDB's memory cap (VOB_DUCKDB_MEMORY_LIMIT) and spill folder, for every connection to the
    working database (ours, and the one Great Expectations opens): a run's memory does not grow
    with the files' size (docs/benchmarks.md)."""
    return {"memory_limit": memory_limit, "temp_directory": str(work_dir / SPILL_DIR)}

"""Settings, read from the environment once per use.

Relative paths (the defaults among them) are taken from the current directory,
the repository root for `vob` and `dagster dev`, as the contracts say; an
operator points them elsewhere with environment variables.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Mapping
from pathlib import Path

# The documented demo key: accepted only for landing zones written by `vob sample`.
SAMPLE_PII_KEY = "vob-sample-demo-key-not-for-production"
SAMPLE_MARKER = ".vob_sample"  # written by `vob sample` into the landing root
MEMORY_LIMIT_ENV = "VOB_DUCKDB_MEMORY_LIMIT"  # e.g. 2GB: the working database's DuckDB memory limit
DEFAULT_MEMORY_LIMIT = "1GB"
SPILL_DIR = "duckdb_spill"  # under the working directory


class ConfigError(RuntimeError):
    """A setting is missing or unusable; the message says which and how to fix it."""


def read_secret(env: Mapping[str, str], name: str) -> str | None:
    """A secret from variable `name`, or from the file named by `name`_FILE (what Docker and
    Kubernetes secrets mount), without one trailing newline. Setting both is an error; the
    message names the variables, never the secret."""
    value, file = env.get(name), env.get(f"{name}_FILE")
    if value and file:
        raise ConfigError(f"both {name} and {name}_FILE are set: set only one "
                          f"({name}_FILE for a secret mounted as a file)")
    if not file:
        return value or None
    try:
        secret = Path(file).read_text(encoding="utf-8").removesuffix("\n")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"{name}_FILE={file}: cannot read the secret file "
                          f"({getattr(err, 'strerror', None) or type(err).__name__})") from None
    if not secret:
        raise ConfigError(f"{name}_FILE={file}: the secret file is empty")
    return secret


def export_secret_files(names: tuple[str, ...], env: dict | None = None) -> None:
    """Put secrets given as files into the environment under their own names, for
    configurations that read only variables (dagster.yaml's `env: DAGSTER_PG_PASSWORD`)."""
    env = os.environ if env is None else env
    for name in names:
        if env.get(f"{name}_FILE"):
            env[name] = read_secret(env, name)
            del env[f"{name}_FILE"]  # so children that check again do not see both


def _path(env: Mapping[str, str], name: str, default: Path) -> Path:
    value = env.get(name)
    path = Path(value) if value else default
    return path if path.is_absolute() else (Path.cwd() / path)


@dataclass(frozen=True)
class Settings:
    landing_dir: Path
    warehouse_path: Path  # the published DuckDB file BI tools read
    work_dir: Path  # working database, rejected rows, staging files
    report_dir: Path
    reject_threshold_pct: float
    export_lag_days: int
    secret_key: str | None = field(default=None, repr=False)  # VOB_PII_KEY: never printed

    @property
    def work_db(self) -> Path:
        return self.work_dir / "work.duckdb"

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


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
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
        reject_threshold_pct=float(env.get("VOB_REJECT_THRESHOLD_PCT", "1.0")),
        export_lag_days=int(env.get("VOB_EXPORT_LAG_DAYS", "1")),
        secret_key=read_secret(env, "VOB_PII_KEY"),
    )


def memory_settings(work_dir: Path) -> dict[str, str]:
    """DuckDB's memory cap and spill folder, for every connection to the working database
    (ours, and the one Great Expectations opens): a run's memory does not grow with the files'
    size (docs/benchmarks.md)."""
    return {"memory_limit": os.environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT,
            "temp_directory": str(work_dir / SPILL_DIR)}

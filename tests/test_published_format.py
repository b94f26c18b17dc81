"""The published warehouse opens in the DuckDB clients BI tools embed, from 1.4 LTS on
(WAREHOUSE.md): written by the real `publish` in storage version v1.4.0 (docs/serving.md),
then read by a DuckDB 1.4 Python environment made here and by the Node client `@duckdb/node-api`
1.4 installed from bi/package-lock.json. Every marts table (row counts) and every column comment
must read the same as in the DuckDB that wrote it."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path

import duckdb
import pytest
from report_warehouse import add_dim_month, build_published_warehouse
from warehouse_contents import contents

from warehouse.store import PUBLISHED_STORAGE_VERSION, open_work_db, publish

pytestmark = pytest.mark.slow  # DuckDB 1.4 in its own environment, and Node

ROOT = Path(__file__).resolve().parents[1]
BI = ROOT / "bi"
# the LTS line the contract names, and Superset's driver with the SQLAlchemy our tests pin (pyproject.toml)
OLD_PYTHON_CLIENTS = ("duckdb==1.4.*", "duckdb-engine==0.17.0", "sqlalchemy>=2.0,<2.0.45")
# DuckDB's storage format numbers (the 8 bytes after "DUCK" in the file header): 64 = v0.10-v1.1,
# 65 = v1.2, 66 = v1.3, 67 = v1.4, 68 = v1.5; DuckDB 2.0's own format reads no client before it.
FORMAT_NUMBER_V1_4 = 67


def storage_format_number(path: Path) -> int:
    header = path.read_bytes()[:20]
    assert header[8:12] == b"DUCK", f"{path} is not a DuckDB file"
    return int.from_bytes(header[12:20], "little")


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real `publish` of a working database whose marts hold the seed report's figures
    (every published table and type: DATE, VARCHAR, BIGINT, INTEGER, DECIMAL), with comments."""
    from vob.base.settings import load_settings

    root = tmp_path_factory.mktemp("format")
    seed = root / "seed.duckdb"
    build_published_warehouse(seed)
    add_dim_month(seed, {"2025-06": date(2025, 6, 14)})  # marts.dim_month too: every published table has rows
    with pytest.MonkeyPatch.context() as env:
        env.setenv("VOB_WAREHOUSE", str(root / "warehouse" / "vob.duckdb"))
        env.setenv("VOB_LANDING_DIR", str(root / "landing"))
        env.delenv("VOB_WORK_DIR", raising=False)
        settings = load_settings()
    con = open_work_db(settings)
    try:
        con.execute(f"ATTACH '{seed}' AS seed (READ_ONLY)")
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = 'seed'").fetchall():
            con.execute(f"CREATE OR REPLACE TABLE marts.{table} AS SELECT * FROM seed.marts.{table}")
        con.execute("DETACH seed")
        publish(settings, con)
    finally:
        con.close()
    return settings.warehouse_path


@pytest.fixture(scope="module")
def written(published: Path) -> dict:
    """What the DuckDB that wrote the file reads in it."""
    seen = contents(str(published))
    assert len(seen["tables"]) >= 8 and all(t["rows"] > 0 for t in seen["tables"].values())
    comments = [c for t in seen["tables"].values() for c in t["columns"].values()]
    assert comments and all(comments), "every published column carries its description"
    return seen


def test_the_published_file_is_written_in_the_storage_format_of_duckdb_1_4(published):
    """Fails when the format drifts (a newer PUBLISHED_STORAGE_VERSION, or publish losing the option)."""
    assert PUBLISHED_STORAGE_VERSION == "v1.4.0"
    assert storage_format_number(published) == FORMAT_NUMBER_V1_4
    con = duckdb.connect()
    try:
        con.execute(f"ATTACH '{published}' AS published (READ_ONLY)")
        tags = con.execute("SELECT tags FROM duckdb_databases() WHERE database_name = 'published'").fetchall()[0][0]
    finally:
        con.close()
    assert tags["storage_version"] == "v1.4.0+"  # what DuckDB itself records: readable from v1.4.0 on
    newest = published.with_name("newest.duckdb")
    duckdb.connect(str(newest)).close()
    assert storage_format_number(newest) > FORMAT_NUMBER_V1_4  # what publish would write without the option


def test_duckdb_1_4_lts_in_its_own_python_environment_reads_every_table_and_comment(published, written, tmp_path):
    """DuckDB 1.4 through its own Python API, and through duckdb-engine and SQLAlchemy as Superset
    reads (tables and column descriptions by reflection)."""
    venv = tmp_path / "duckdb-1.4"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [
            str(python),
            "-m",
            "pip",
            "install",
            "-q",
            "--disable-pip-version-check",
            "--cache-dir",
            str(tmp_path / "pip-cache"),
            *OLD_PYTHON_CLIENTS,
        ],
        check=True,
        timeout=600,
    )
    script = Path(__file__).with_name("warehouse_contents.py")
    for route in ([], ["--sqlalchemy"]):
        done = subprocess.run(
            [str(python), str(script), str(published), *route], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        assert seen["version"].startswith("v1.4."), (route, seen["version"])
        assert seen["tables"] == written["tables"], route


def node_client() -> Path:
    if shutil.which("node") is None or not (BI / "node_modules" / "@duckdb" / "node-api").is_dir():
        if os.environ.get("VOB_REQUIRE_NODE_CLIENT"):  # set by .ci/run
            pytest.fail("the Node client is missing: .ci/run installs it (`npm ci` in bi/)")
        pytest.skip("Node client not installed: `cd bi && npm ci` (.ci/run does)")
    return BI / "read_warehouse.mjs"


def test_the_node_client_1_4_reads_every_table_and_comment(published, written):
    done = subprocess.run(
        ["node", str(node_client()), str(published)], capture_output=True, text=True, timeout=120, cwd=BI
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout)
    assert seen["version"].startswith("v1.4."), seen["version"]
    assert seen["tables"] == written["tables"]


def test_the_node_client_1_4_cannot_read_the_newest_format(tmp_path):
    """The old client is a real check: a file in DuckDB 2.0's own format fails to open in it."""
    newest = tmp_path / "newest.duckdb"
    con = duckdb.connect(str(newest))
    con.execute("CREATE SCHEMA marts; CREATE TABLE marts.t AS SELECT 1 AS x")
    con.close()
    done = subprocess.run(
        ["node", str(node_client()), str(newest)], capture_output=True, text=True, timeout=120, cwd=BI
    )
    assert done.returncode != 0 and "version number" in done.stderr, done.stderr

"""A lost or damaged working database is rebuilt, not fatal (issue 11, item 3), and a rebuild
with a new VOB_PII_KEY re-keys every hash (issue 16, key rotation). Real `vob` processes."""

from __future__ import annotations

import hashlib
import os
import shutil

import duckdb
import pytest
from vob_process import marts, run, vob_env, write_zone

pytestmark = pytest.mark.slow  # several whole runs and a rebuild

OLD_KEY, NEW_KEY = "the-key-before-rotation", "the-key-after-rotation"


def fingerprint(path) -> tuple[str, int]:
    return hashlib.sha256(path.read_bytes()).hexdigest(), path.stat().st_mtime_ns


def hmac_values(path) -> set[str]:
    """Every value of every keyed-hash column of the working database."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE column_name LIKE '%\\_hmac' ESCAPE '\\'"
        ).fetchall()
        return {
            v
            for s, t, c in columns
            for (v,) in con.execute(f'SELECT DISTINCT "{c}" FROM {s}.{t} WHERE "{c}" IS NOT NULL').fetchall()
        }
    finally:
        con.close()


def text_values_among(path, values: set[str]) -> int:
    """How many text cells of any table of the database hold one of `values`."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        columns = con.execute(
            "SELECT schema_name, table_name, column_name FROM duckdb_columns() "
            "WHERE data_type = 'VARCHAR' AND NOT internal"
        ).fetchall()
        return sum(
            con.execute(
                f'SELECT count(*) FROM {s}.{t} WHERE "{c}" IN (SELECT unnest($v))', {"v": sorted(values)}
            ).fetchall()[0][0]
            for s, t, c in columns
        )
    finally:
        con.close()


def test_a_damaged_or_lost_working_database_is_named_and_rebuilt_with_the_same_figures(tmp_path):
    write_zone(tmp_path / "landing")
    env = vob_env(tmp_path, VOB_PII_KEY=OLD_KEY)
    warehouse = tmp_path / "warehouse" / "vob.duckdb"
    work = tmp_path / "warehouse" / "vob_work" / "work.duckdb"
    code, out = run(["run", "--month", "2025-03"], env, tmp_path / "march.log")
    assert code == 0, out
    march = marts(warehouse)

    # a rebuild of February keeps March, which the warehouse already published
    code, out = run(["rebuild", "--month", "2025-02"], env, tmp_path / "rebuild_feb.log")
    assert code == 0, out
    assert f"deleted {work} (it holds pseudonymised personal data: no copy is kept)" in out
    both = marts(warehouse)
    assert {m.strftime("%Y-%m") for m, *_ in both["fct_channel_monthly"]} == {"2025-02", "2025-03"}
    assert set(march["fct_channel_monthly"]) <= set(both["fct_channel_monthly"])
    old_hashes = hmac_values(work)
    assert old_hashes
    good_copy = tmp_path / "good_work.duckdb"
    shutil.copy(work, good_copy)

    published = fingerprint(warehouse)
    damages = {
        "garbage": lambda: work.write_bytes(os.urandom(300_000)),
        "truncated": lambda: (shutil.copy(good_copy, work), os.truncate(work, work.stat().st_size // 2)),
        "empty": lambda: work.write_bytes(b""),
        "deleted": lambda: work.unlink(),
    }
    for name, damage in damages.items():
        damage()
        code, out = run(["run", "--month", "2025-03"], env, tmp_path / f"{name}.log")
        assert code == 1, out
        sentence = [line for line in out.splitlines() if "working database" in line]
        assert len(sentence) == 1, out
        assert ("is lost" if name == "deleted" else "is damaged") in sentence[0], out
        assert "`vob rebuild --month 2025-03`" in sentence[0] and "Traceback" not in out, out
        assert fingerprint(warehouse) == published, f"the published warehouse changed after a {name} working db"

    # the rebuild, with a new key: the same figures, and no hash made with the old key left anywhere
    code, out = run(["rebuild", "--month", "2025-03"], {**env, "VOB_PII_KEY": NEW_KEY}, tmp_path / "rebuild.log")
    assert code == 0, out
    assert marts(warehouse) == both
    new_hashes = hmac_values(work)
    assert new_hashes and not new_hashes & old_hashes
    assert text_values_among(work, old_hashes) == 0

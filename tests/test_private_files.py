"""Files only their owners read (docs/security.md): a real `vob run` started with umask 022
leaves the working database (rejected rows included), its directory and the Dagster
instance 0600/0700, and the published warehouse 0640; DuckDB's own spill files are private
too; VOB_FILE_GROUP, VOB_WAREHOUSE_MODE and VOB_BI_GROUP change that as documented."""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from conftest import query
from landing_files import call, ticket, write_calls, write_crm

from vob.base.settings import load_settings

TS = "2025-03-10T10:00:00+03:00"


def another_group() -> str:
    """A group this process may give files to, other than its own when there is one."""
    allowed = [g.gr_gid for g in grp.getgrall()] if os.geteuid() == 0 else os.getgroups()
    others = sorted(set(allowed) - {os.getegid()})
    return grp.getgrgid(others[0] if others else os.getegid()).gr_name


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def vob_command() -> list[str]:
    vob = Path(sys.executable).with_name("vob")
    return [str(vob)] if vob.exists() else [sys.executable, "-m", "pipelines.cli"]


def clean_env(root: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOB_", "DAGSTER_"))}
    env.update(
        VOB_LANDING_DIR=str(root / "landing"),
        VOB_WAREHOUSE=str(root / "warehouse" / "vob.duckdb"),
        VOB_PII_KEY="test-key",
        DAGSTER_HOME=str(root / "dagster_home"),
        **extra,
    )
    return env


def with_umask_022(command: list[str], env: dict[str, str], probe: Path, **kwargs) -> subprocess.CompletedProcess:
    """Run `command` from a shell whose umask is 022; `probe` is a file that shell created."""
    return subprocess.run(
        ["sh", "-c", 'umask 022 && : > "$0" && exec "$@"', str(probe), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        cwd=Path(__file__).parent.parent,
        **kwargs,
    )


pytestmark = pytest.mark.slow  # real `vob run` processes under a umask, files inspected


@pytest.fixture(scope="module")
def vob_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("modes")
    landing = root / "landing"
    write_calls(
        landing,
        date(2025, 3, 10),
        [
            call("C1", TS, caller_number="+966551234567"),
            call("C2", TS, caller_number="0551234568"),
            call("C3", "not a time"),
        ],
    )  # a rejected row
    write_crm(landing, date(2025, 4, 1), [ticket("T1", TS, beneficiary_id="1012345678")])
    env = clean_env(root, VOB_REJECT_THRESHOLD_PCT="100")
    done = with_umask_022([*vob_command(), "run", "--month", "2025-03"], env, root / "probe")
    assert done.returncode == 0, done.stdout + done.stderr
    return root, load_settings(env)


def test_the_shell_really_had_umask_022(vob_run):
    root, _ = vob_run
    assert mode(root / "probe") == 0o644  # what any file of the run would be without the fix


def test_the_working_database_and_its_rejected_rows_are_owner_only(vob_run):
    _, settings = vob_run
    assert query(settings.work_db, "SELECT count(*) FROM quality.rejected_rows")[0][0] >= 1
    assert query(settings.work_db, "SELECT count(*) FROM raw.calls WHERE caller_number_hmac IS NOT NULL")[0][0] == 2
    assert mode(settings.work_dir) == 0o700
    assert mode(settings.work_db) == 0o600
    written = list(settings.work_dir.rglob("*"))
    assert settings.work_db in written
    assert {p: oct(mode(p)) for p in written if mode(p) & 0o077} == {}


def test_the_dagster_instance_files_are_owner_only(vob_run):
    root, _ = vob_run
    home = root / "dagster_home"
    written = [home, *home.rglob("*")]
    assert any(p.suffix == ".db" for p in written) and (home / "dagster.yaml").exists()
    assert {p: oct(mode(p)) for p in written if mode(p) & 0o077} == {}


def test_the_published_warehouse_is_readable_by_the_bi_group_not_by_everyone(vob_run):
    _, settings = vob_run
    assert mode(settings.warehouse_path) == 0o640
    assert mode(settings.warehouse_path.parent) == 0o750  # the BI group can reach it, no one else


SPILL = """
import json, os, threading, time
os.umask(0o022)
from assets.resources import WorkingWarehouse
from warehouse.lake import whole_scope
modes, done = {}, threading.Event()
with WorkingWarehouse().process_config_and_initialize().work_db(whole_scope("marts")) as con:
    spill_dir = con.execute("SELECT current_setting('temp_directory')").fetchall()[0][0]
    assert spill_dir.startswith(os.environ["VOB_WORK_DIR"]), spill_dir
    con.execute("SET memory_limit = '64MB'; SET threads = 1; SET preserve_insertion_order = false; "
                "SET enable_progress_bar = false")
    def watch():
        while not done.is_set():
            if os.path.isdir(spill_dir):
                modes["<dir>"] = oct(os.stat(spill_dir).st_mode & 0o777)
            for name in (os.listdir(spill_dir) if os.path.isdir(spill_dir) else []):
                try:
                    modes[name] = oct(os.stat(os.path.join(spill_dir, name)).st_mode & 0o777)
                except FileNotFoundError:
                    pass
            time.sleep(0.01)
    watcher = threading.Thread(target=watch)
    watcher.start()
    con.execute("CREATE TABLE spill AS SELECT i, md5(i::VARCHAR) AS h FROM range(4000000) t(i) ORDER BY h")
    done.set()
    watcher.join()
print(json.dumps(modes))
"""


def test_duckdb_spill_files_of_a_run_are_owner_only(tmp_path):
    """The code location's resource (what `dagster dev` runs) in a process started with umask 022:
    a sort larger than the memory limit spills into the temp directory (<work dir>/duckdb_spill/)."""
    env = clean_env(tmp_path, VOB_WORK_DIR=str(tmp_path / "work"))
    done = with_umask_022([sys.executable, "-c", SPILL], env, tmp_path / "probe")
    assert done.returncode == 0, done.stderr
    modes = json.loads(done.stdout)
    spilled = {name: m for name, m in modes.items() if name != "<dir>"}
    assert spilled, f"nothing spilled: {modes}"
    assert set(spilled.values()) == {"0o600"}, modes
    assert modes["<dir>"] == "0o700"


def test_a_configured_group_may_read_and_the_warehouse_mode_is_a_setting(tmp_path):
    from vob.base.settings import ConfigError

    group = another_group()
    env = clean_env(tmp_path, VOB_FILE_GROUP=group, VOB_WAREHOUSE_MODE="600", VOB_BI_GROUP=group)
    script = (
        "import os; os.umask(0o022)\n"
        "from vob.base.settings import load_settings\nfrom vob.base.files import restrict_new_files\n"
        "from warehouse import store\ns = load_settings()\nrestrict_new_files(s)\n"
        "con = store.open_work_db(s)\nstore.publish(s, con)\ncon.close()\n"
    )
    done = with_umask_022([sys.executable, "-c", script], env, tmp_path / "probe")
    assert done.returncode == 0, done.stderr
    settings = load_settings(env)
    gid = grp.getgrnam(group).gr_gid
    assert (mode(settings.work_dir), mode(settings.work_db)) == (0o750, 0o640)
    assert settings.work_db.stat().st_gid == gid and settings.work_dir.stat().st_gid == gid
    assert settings.warehouse_path.stat().st_gid == gid
    assert mode(settings.warehouse_path) == 0o600 and mode(settings.warehouse_path.parent) == 0o700

    for bad in ("644x", "755", "0066", "1777"):
        with pytest.raises(ConfigError, match="VOB_WAREHOUSE_MODE"):
            load_settings({"VOB_WAREHOUSE_MODE": bad})
    assert load_settings({}).warehouse_mode == 0o640
    assert load_settings({"VOB_WAREHOUSE_MODE": "644"}).warehouse_mode == 0o644

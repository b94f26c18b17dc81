"""The quality gate remembers: a staged month whose rows did not change is not validated
by Great Expectations again, a changed one is, a bad one keeps failing; and nothing
imports Great Expectations on a path that does not validate. Real runs, real rows."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
from conftest import query, run_job
from test_bad_inputs import MONTH, _good_call_line, append_line, calls_file, good_zone

pytestmark = pytest.mark.slow  # whole runs in subprocesses, measured

ROOT = Path(__file__).resolve().parents[1]


def expectation_checks(result) -> dict[str, tuple[bool, dict]]:
    """source -> (passed, metadata) of its `expectations` check in a run."""
    found = {}
    for event in result.all_events:
        if event.event_type_value == "ASSET_CHECK_EVALUATION":
            evaluation = event.event_specific_data
            if evaluation.check_name == "expectations":
                found[evaluation.asset_key.path[-1]] = (
                    evaluation.passed,
                    {k: v.value for k, v in evaluation.metadata.items()},
                )
    return found


def validated_by(work_db: Path) -> dict[str, tuple[str, bool]]:
    """source -> (run that last validated the month, passed) from quality.validations."""
    rows = query(work_db, "SELECT source, run_id, passed FROM quality.validations WHERE month = DATE '2025-03-01'")
    return {source: (run_id, passed) for source, run_id, passed in rows}


def test_an_unchanged_month_is_not_validated_again_and_a_changed_file_validates_it(vob_env):
    good_zone(vob_env.landing_dir)
    first = run_job(MONTH)
    checks = expectation_checks(first)
    assert all(passed for passed, _ in checks.values()) and len(checks) == 7
    assert not any("unchanged" in metadata for _, metadata in checks.values())
    assert validated_by(vob_env.work_db) == {source: (first.run_id, True) for source in checks}

    again = run_job(MONTH)  # nothing changed in the landing zone
    for source, (passed, metadata) in expectation_checks(again).items():
        assert passed, source
        assert metadata["unchanged"].startswith(f"2025-03: unchanged since run {first.run_id}"), source
        assert "not re-validated" in metadata["unchanged"]
        assert "expectations met on" in metadata["unchanged"]  # the stored outcome is shown
        assert "rows of 2025-03" in metadata["expectations"]
    assert validated_by(vob_env.work_db) == {source: (first.run_id, True) for source in checks}

    append_line(calls_file(vob_env.landing_dir), _good_call_line("C-late", "2025-03-10T23:00:00+03:00"))
    changed = run_job(MONTH)
    checks = expectation_checks(changed)
    assert checks["calls"][0] and "unchanged" not in checks["calls"][1]
    assert "401 rows of 2025-03" in checks["calls"][1]["expectations"]  # validated on the new rows
    assert all("unchanged" in metadata for source, (_, metadata) in checks.items() if source != "calls")
    assert validated_by(vob_env.work_db) == {
        source: (changed.run_id if source == "calls" else first.run_id, True) for source in checks
    }


def test_a_bad_month_stays_failed_on_a_rerun(vob_env):
    """A row the loader let through (simulated in raw.calls and in the month staged from
    it: ingest skips the unchanged file, and a month whose files did not change is not
    staged again) fails the suite, and keeps failing when nothing changed."""
    good_zone(vob_env.landing_dir)
    run_job(MONTH)
    con = duckdb.connect(str(vob_env.work_db))
    for table in ("raw.calls", "staging.calls"):
        con.execute(f"UPDATE {table} SET disposition = 'dropped' WHERE call_id = 'C0-7'")
    con.close()
    for attempt in range(2):
        result = run_job(MONTH, raise_on_error=False)
        assert not result.success, attempt
        passed, metadata = expectation_checks(result)["calls"]
        assert not passed and "unchanged" not in metadata, attempt  # validated again, not reused
        assert "2025-03: 1 staged rows break the rule 'disposition not in its set'" in metadata["problems"]
        assert validated_by(vob_env.work_db)["calls"] == (result.run_id, False)


NO_GX_SCRIPT = textwrap.dedent("""
    import sys
    GX = "great_expectations"
    from pipelines.definitions import defs
    defs.resolve_job_def("monthly_facts")
    assert GX not in sys.modules, "loading the code location imported GX"
    from pipelines.cli import main
    try:
        main(["--help"])
    except SystemExit:
        pass
    assert GX not in sys.modules, "vob --help imported GX"
    assert main(["run", "--month", sys.argv[1]]) == 0
    assert GX not in sys.modules, "a run with no change imported GX"
    print("no GX")
""")


def test_nothing_imports_great_expectations_unless_it_validates(vob_env):
    good_zone(vob_env.landing_dir)
    assert run_job(MONTH).success  # validates every source once
    done = subprocess.run(
        [sys.executable, "-c", NO_GX_SCRIPT, MONTH],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("no GX")

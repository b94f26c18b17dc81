"""What `vob run` prints, as an operator reads it in a terminal: the real command in its own process
(Dagster's warnings show at the first import of the code location, so only a fresh process can tell)."""

import os
import re
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from landing_files import call, write_calls

ROOT = Path(__file__).resolve().parents[1]
VOB = [sys.executable, "-m", "pipelines.cli"]


def vob(root: Path, *args: str, **variables: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VOB_", "DAGSTER_"))}
    env.update(DAGSTER_HOME=str(root / ".dagster"), VOB_SETTLE_SECONDS="0", **variables)
    return subprocess.run([*VOB, *args], cwd=root, env=env, capture_output=True, text=True, timeout=900)


def steps_of(job: str) -> int:
    from pipelines.definitions import defs

    return len(defs.resolve_job_def(job).graph.nodes)


def test_a_run_says_each_step_as_it_goes_without_dagster_beta_warnings(tmp_path):
    landing = tmp_path / "landing"
    write_calls(landing, date(2025, 3, 10), [call(f"C-{i}", f"2025-03-10T1{i}:00:00+03:00") for i in range(4)])
    done = vob(tmp_path, "run", "--month", "2025-03", VOB_LANDING_DIR=str(landing), VOB_PII_KEY="test-key")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "BetaWarning" not in done.stderr and " - dagster - " not in done.stderr, done.stderr[:3000]

    out, steps = done.stdout, steps_of("monthly_refresh")  # a month: its facts and the publish in one run
    assert f"monthly_refresh: {steps} steps" in out
    # each step once, numbered in order, with how long it took (on its line, or after its messages)
    started = re.findall(rf"^  \[(\d+)/{steps}\] (\S+)\.\.\.", out, flags=re.M)
    ended = re.findall(rf"^  \[\d+/{steps}\] (\S+?)(?:\.\.\.|:) done in \d+\.\d s$", out, flags=re.M)
    assert [int(n) for n, _ in started] == list(range(1, steps + 1))
    assert sorted(ended) == sorted(step for _, step in started)
    assert {"staging", "monthly_quality_gate", "marts/fct_channel_monthly"} <= set(ended)
    # the step's own messages come under it, each line indented, then the step's end
    staging = re.search(
        rf"^  \[\d+/{steps}\] staging\.\.\.\n((?:      .*\n)+)  \[\d+/{steps}\] staging: done in", out, re.M
    )
    assert staging is not None, out
    assert re.search(r"^      calls 2025-03: 4 \w+ staged from 1 files", staging[1], re.M), staging[1]
    assert re.search(r"^monthly_refresh: ok in \d+ s \(run [0-9a-f-]{36}\)$", out, flags=re.M)


@pytest.mark.slow  # a small sample half-year, written and run (~40 s)
def test_the_samples_out_of_period_register_rows_are_said_once_as_expected(tmp_path):
    assert vob(tmp_path, "sample", "--scale", "0.02").returncode == 0
    done = vob(tmp_path, "run", "--period", "2025-H1")
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    printed = done.stdout + done.stderr
    assert "BetaWarning" not in printed

    warning = re.search(
        r"^  warning: check staging/registers:no_rejected_register_rows failed \(WARN\)(.*)$", printed, re.M
    )
    assert warning is not None, printed[-4000:]
    assert warning[1].startswith(", as expected for the sample: `vob sample` puts register rows dated outside")
    rows = re.findall(r"sheet \w+, row \d+: \w+ [\d-]+ is (?:outside|after) the half-year.*", printed)
    assert len(rows) == len(set(rows)) > 0  # each rejected row said once, under the warning

"""Benchmark: `vob run --period 2025-H1` against the bare DuckDB floor (bench/floor.sql).

    .venv/bin/python bench/run.py [--scales 1 10] [--repeat 3 [N10]] [--seed 2025]

For each scale the seeded sample is written once to bench/data/scale<S>-seed<N>/
(git-ignored; reused by later runs). Then, in the same run and alternating,
`--repeat` times each:

(a) the pipeline: `vob run --period 2025-H1` as a subprocess, end to end, with a
    fresh warehouse, working directory and DAGSTER_HOME every time: ingest,
    staging, facts, the quality checks (GX suites included), the half-year
    marts, publish, and the report (HTML + PDF through headless chromium, so
    chromium must be installed). The report job is timed on its own from
    Dagster's run records, and the "to publish" column leaves it out;
(b) the floor: bench/floor.sql run through the DuckDB Python API in a
    subprocess, on the same landing files; and the contract's floor,
    bench/contract_floor.py (LANDING.md's per-row work for calls and CRM, no
    Dagster), in the same run, so that each step can be set beside both.

(c) after each pipeline run of (a), two incremental runs on its working database:
    `vob run --month 2025-06` again with nothing changed ("unchanged month"),
    then the same with one new day of files ("one new day"): run (a) reads a
    landing zone of hard links to the sample without the files of its last
    export day (calls, e-mail, chat of 2025-06-30), which are linked in before
    this last run. The floor's figures are compared with the warehouse it
    publishes (the whole sample again).

It prints a markdown table: medians of wall time and of CPU time (user + sys of
the process tree), the ratio a / b, peak RSS (largest single process of the
tree, from wait4), landing rows per second, and the median time of every
Dagster step (asset, asset check) read from the run's event log. The floor's
figures are compared with the published warehouse once per scale.

The machine may be shared: compare the ratios within one run, not wall times
across runs. Results are also written as JSON to bench/results/.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "bench" / "data"
RESULTS = ROOT / "bench" / "results"
FLOOR_SQL = ROOT / "bench" / "floor.sql"
PERIOD = "2025-H1"
COMPLETE = ".bench-complete"

# The floor in a child process: its own peak RSS, its import cost included like the pipeline's.
FLOOR_CHILD = r"""
import json, sys, duckdb
landing, sql = sys.argv[1], open(sys.argv[2]).read()
con = duckdb.connect()
con.execute("SET enable_progress_bar = false")
con.execute("SET VARIABLE landing = ?", [landing])
con.execute(sql)
channel = con.execute("SELECT strftime(month, '%Y-%m'), channel, contacts FROM fct_channel_monthly ORDER BY ALL").fetchall()
tickets = con.execute("SELECT strftime(month, '%Y-%m'), strftime(snapshot_date, '%Y-%m-%d'), tickets_total, "
                      "tickets_open, tickets_closed FROM fct_tickets_monthly ORDER BY ALL").fetchall()
json.dump({"channel": channel, "tickets": tickets}, sys.stdout)
"""


@dataclass
class Measure:
    kind: str  # "pipeline", "floor" (bare) or "contract" (bench/contract_floor.py)
    scale: float
    wall_s: float
    cpu_s: float
    peak_rss_mb: float
    ok: bool
    steps: dict[str, float] = field(default_factory=dict)  # step key -> seconds (pipeline)
    jobs: dict[str, float] = field(default_factory=dict)  # job name -> seconds (pipeline)
    landing_rows: int = 0
    unchanged_month_s: float = 0.0  # (c) vob run --month, nothing changed
    new_day_s: float = 0.0  # (c) vob run --month, one new day of files
    unchanged_month_cpu_s: float = 0.0
    new_day_cpu_s: float = 0.0
    sources: dict[str, dict] = field(default_factory=dict)  # contract floor: source -> rows, wall_s, cpu_s


def run_child(cmd: list[str], env: dict[str, str], cwd: Path, log: Path) -> tuple[float, float, float, int, str]:
    """Run a child; wall seconds, CPU seconds and peak RSS (MiB) of its tree, exit code, stdout."""
    with open(log, "w") as err:
        started = time.perf_counter()
        child = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=err, text=True)
        out = child.stdout.read()
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
    # Linux: ru_maxrss in KiB, the largest of the child and the descendants it waited for
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, child.returncode, out


def ensure_sample(scale: float, seed: int) -> Path:
    landing = DATA / f"scale{scale:g}-seed{seed}"
    if (landing / COMPLETE).exists():
        return landing
    shutil.rmtree(landing, ignore_errors=True)
    print(f"writing the sample at scale {scale:g} (seed {seed}) to {landing} ...", file=sys.stderr, flush=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pipelines.cli",
            "sample",
            "--out",
            str(landing),
            "--scale",
            f"{scale:g}",
            "--seed",
            str(seed),
        ],
        cwd=ROOT,
        check=True,
        stdout=sys.stderr,
    )
    (landing / COMPLETE).write_text(f"vob sample --scale {scale:g} --seed {seed}\n")
    return landing


def pipeline_env(landing: Path, run_dir: Path) -> dict[str, str]:
    passed = ("VOB_CHROMIUM", "VOB_DUCKDB_MEMORY_LIMIT")  # machine settings; the rest is the run's own
    env = {k: v for k, v in os.environ.items() if k in passed or not k.startswith(("VOB_", "DAGSTER_"))}
    (run_dir / "dagster_home").mkdir(parents=True)
    (run_dir / "dagster_home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env.update(
        VOB_LANDING_DIR=str(landing),
        VOB_WAREHOUSE=str(run_dir / "warehouse" / "vob.duckdb"),
        VOB_WORK_DIR=str(run_dir / "work"),
        VOB_REPORT_DIR=str(run_dir / "reports"),
        DAGSTER_HOME=str(run_dir / "dagster_home"),
        PYTHONUNBUFFERED="1",
    )
    return env


def dagster_times(home: Path) -> tuple[dict[str, float], dict[str, float]]:
    """Seconds per step and per job of every run recorded in the instance at `home`."""
    import dagster as dg

    steps: dict[str, float] = {}
    jobs: dict[str, float] = {}
    with dg.DagsterInstance.from_config(str(home)) as instance:
        for run in instance.get_runs():
            stats = instance.get_run_stats(run.run_id)
            if stats.start_time and stats.end_time:
                jobs[run.job_name] = jobs.get(run.job_name, 0.0) + stats.end_time - stats.start_time
            for step in instance.get_run_step_stats(run.run_id):
                if step.start_time and step.end_time:
                    steps[step.step_key] = steps.get(step.step_key, 0.0) + step.end_time - step.start_time
    return steps, jobs


def landing_rows(work_db: Path) -> int:
    """Rows the pipeline read from the landing files (meta.landing_files), all sources."""
    import duckdb

    con = duckdb.connect(str(work_db), read_only=True)
    try:
        return con.execute("SELECT sum(rows_read)::BIGINT FROM meta.landing_files").fetchall()[0][0]
    finally:
        con.close()


def published_figures(warehouse: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        channel = con.execute(
            "SELECT strftime(month, '%Y-%m'), channel, contacts FROM marts.fct_channel_monthly ORDER BY ALL"
        ).fetchall()
        tickets = con.execute(
            "SELECT strftime(month, '%Y-%m'), strftime(snapshot_date, '%Y-%m-%d'), tickets_total, "
            "tickets_open, tickets_closed FROM marts.fct_tickets_monthly ORDER BY ALL"
        ).fetchall()
    finally:
        con.close()
    return {"channel": [list(r) for r in channel], "tickets": [list(r) for r in tickets]}


INCREMENTAL_MONTH = "2025-06"


def last_day_files(landing: Path) -> list[Path]:
    """The files of the sample's last export day (the daily event files)."""
    days = sorted(p.name.split("_")[-1].split(".")[0] for p in landing.glob("calls/*/*/calls_*.csv"))
    return [p for p in landing.glob("*/*/*/*_" + days[-1] + ".*") if p.is_file()]


def linked_landing(landing: Path, target: Path, held_back: list[Path]) -> None:
    """A landing zone of hard links to the sample's files, but those held back."""
    held = set(held_back)
    for path in landing.rglob("*"):
        if path.is_file() and path not in held and path.name != COMPLETE:
            link = target / path.relative_to(landing)
            link.parent.mkdir(parents=True, exist_ok=True)
            os.link(path, link)


def measure_pipeline(scale: float, landing: Path, scratch: Path, keep_figures: bool) -> tuple[Measure, dict | None]:
    run_dir = Path(tempfile.mkdtemp(prefix=f"pipeline-s{scale:g}-", dir=scratch))
    try:
        held_back = last_day_files(landing)
        linked = run_dir / "landing"
        linked_landing(landing, linked, held_back)
        env = pipeline_env(linked, run_dir)
        wall, cpu, rss, code, out = run_child(
            [sys.executable, "-m", "pipelines.cli", "run", "--period", PERIOD], env, ROOT, run_dir / "stderr.log"
        )
        check_exit(code, out, run_dir, f"vob run --period {PERIOD} at scale {scale:g}")
        steps, jobs = dagster_times(run_dir / "dagster_home")
        rows = landing_rows(run_dir / "work" / "work.duckdb")
        month = [sys.executable, "-m", "pipelines.cli", "run", "--month", INCREMENTAL_MONTH]
        unchanged, unchanged_cpu, rss_c, code, out = run_child(month, env, ROOT, run_dir / "stderr-unchanged.log")
        check_exit(code, out, run_dir, f"vob run --month {INCREMENTAL_MONTH} (unchanged)")
        for path in held_back:
            (linked / path.relative_to(landing)).parent.mkdir(parents=True, exist_ok=True)
            os.link(path, linked / path.relative_to(landing))
        new_day, new_day_cpu, rss_d, code, out = run_child(month, env, ROOT, run_dir / "stderr-new-day.log")
        check_exit(code, out, run_dir, f"vob run --month {INCREMENTAL_MONTH} (one new day)")
        figures = published_figures(run_dir / "warehouse" / "vob.duckdb") if keep_figures else None
        return Measure(
            "pipeline",
            scale,
            wall,
            cpu,
            max(rss, rss_c, rss_d),
            True,
            steps,
            jobs,
            rows,
            unchanged,
            new_day,
            unchanged_cpu,
            new_day_cpu,
        ), figures
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)


SETTLE_WATCH = "for uploads in progress"  # `vob run` printed that it watched recent files for 3 s


def check_exit(code: int, out: str, run_dir: Path, what: str) -> None:
    if SETTLE_WATCH in out:  # the sample was written less than VOB_SETTLE_SECONDS before: say so
        print(
            f"note: {what} watched recently modified landing files for 3 s (docs/operations.md, "
            "section 7): its wall time includes that wait",
            file=sys.stderr,
            flush=True,
        )
    if code != 0:
        logs = "".join(p.read_text()[-3000:] for p in sorted(run_dir.glob("stderr*.log")))
        print(out[-3000:], logs, file=sys.stderr)
        raise SystemExit(f"{what} failed (exit {code}); see above")


def measure_floor(scale: float, landing: Path, scratch: Path) -> tuple[Measure, dict]:
    log = scratch / f"floor-s{scale:g}.log"
    wall, cpu, rss, code, out = run_child(
        [sys.executable, "-c", FLOOR_CHILD, str(landing), str(FLOOR_SQL)], dict(os.environ), ROOT, log
    )
    if code != 0:
        raise SystemExit(f"the floor failed at scale {scale:g}: {log.read_text()[-2000:]}")
    return Measure("floor", scale, wall, cpu, rss, True), json.loads(out)


CONTRACT_FLOOR = ROOT / "bench" / "contract_floor.py"
REPORT_STEP = "report__vob_report"


def measure_contract_floor(scale: float, landing: Path, scratch: Path) -> Measure:
    """bench/contract_floor.py: LANDING.md's per-row work for calls and CRM, nothing else."""
    log = scratch / f"contract-s{scale:g}.log"
    wall, cpu, rss, code, out = run_child(
        [sys.executable, str(CONTRACT_FLOOR), str(landing)], dict(os.environ), ROOT, log
    )
    if code != 0:
        raise SystemExit(f"the contract floor failed at scale {scale:g}: {log.read_text()[-2000:]}")
    sources = {row["source"]: row for row in (json.loads(line) for line in out.splitlines() if line.strip())}
    return Measure("contract", scale, wall, cpu, rss, True, sources=sources)


def compare_figures(scale: float, published: dict, floor: dict) -> None:
    """The floor must give the pipeline's figures for the months the pipeline published
    (the floor also counts tickets of 2024 that the CRM snapshots hold)."""
    for table in ("channel", "tickets"):
        months = {row[0] for row in published[table]}
        ours = sorted(tuple(row) for row in published[table])
        theirs = sorted(tuple(row) for row in floor[table] if row[0] in months)
        verdict = "same figures" if ours == theirs else "DIFFERENT figures"
        print(
            f"scale {scale:g}: floor vs published {table} facts ({len(ours)} rows): {verdict}",
            file=sys.stderr,
            flush=True,
        )


def med(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summarise(measures: list[Measure], scales: list[float]) -> dict:
    summary = {}
    for scale in scales:
        pipe = [m for m in measures if m.scale == scale and m.kind == "pipeline"]
        floor = [m for m in measures if m.scale == scale and m.kind == "floor"]
        contract = [m for m in measures if m.scale == scale and m.kind == "contract"]
        # the report step (since issue 20 it runs in the half-year job, after the publish)
        report = [m.steps.get(REPORT_STEP, m.jobs.get("report", 0.0)) for m in pipe]
        to_publish = [m.wall_s - r for m, r in zip(pipe, report)]
        rows = pipe[0].landing_rows
        steps = sorted({k for m in pipe for k in m.steps})
        summary[scale] = {
            "runs": len(pipe),
            "landing_rows": rows,
            "pipeline_wall_s": med([m.wall_s for m in pipe]),
            "pipeline_wall_all_s": [round(m.wall_s, 2) for m in pipe],
            "pipeline_to_publish_s": med(to_publish),
            "report_s": med(report),
            "pipeline_cpu_s": med([m.cpu_s for m in pipe]),
            "pipeline_peak_rss_mb": max(m.peak_rss_mb for m in pipe),
            "unchanged_month_s": med([m.unchanged_month_s for m in pipe]),
            "new_day_s": med([m.new_day_s for m in pipe]),
            "unchanged_month_all_s": [round(m.unchanged_month_s, 2) for m in pipe],
            "new_day_all_s": [round(m.new_day_s, 2) for m in pipe],
            "unchanged_month_cpu_s": med([m.unchanged_month_cpu_s for m in pipe]),
            "new_day_cpu_s": med([m.new_day_cpu_s for m in pipe]),
            "floor_wall_s": med([m.wall_s for m in floor]),
            "floor_wall_all_s": [round(m.wall_s, 2) for m in floor],
            "floor_cpu_s": med([m.cpu_s for m in floor]),
            "floor_peak_rss_mb": max(m.peak_rss_mb for m in floor),
            "contract_wall_s": med([m.wall_s for m in contract]),
            "contract_cpu_s": med([m.cpu_s for m in contract]),
            "contract_sources": {
                name: {k: med([m.sources[name][k] for m in contract]) for k in ("rows", "wall_s", "cpu_s")}
                for name in (contract[0].sources if contract else {})
            },
            "jobs_s": {
                job: med([m.jobs.get(job, 0.0) for m in pipe]) for job in sorted({j for m in pipe for j in m.jobs})
            },
            "steps_s": {step: med([m.steps.get(step, 0.0) for m in pipe]) for step in steps},
        }
        s = summary[scale]
        s["ratio_wall"] = s["pipeline_wall_s"] / s["floor_wall_s"]
        s["ratio_to_publish"] = s["pipeline_to_publish_s"] / s["floor_wall_s"]
        s["ratio_cpu"] = s["pipeline_cpu_s"] / s["floor_cpu_s"]
    return summary


def markdown(summary: dict, scales: list[float], machine: str) -> str:
    gib = 1024.0
    out = [f"Machine: {machine}", ""]
    out.append(
        "| scale | landing rows | runs | pipeline wall s (median) | of which report s | to publish s "
        "| floor wall s | ratio a/b (all) | ratio a/b (to publish) | pipeline CPU s | floor CPU s | CPU ratio "
        "| pipeline peak RSS MiB | floor peak RSS MiB | pipeline rows/s (to publish) | floor rows/s |"
    )
    out.append("|" + "---|" * 16)
    for scale in scales:
        s = summary[scale]
        out.append(
            f"| {scale:g}x | {s['landing_rows']:,} | {s['runs']} | {s['pipeline_wall_s']:.1f} | {s['report_s']:.1f} "
            f"| {s['pipeline_to_publish_s']:.1f} | {s['floor_wall_s']:.2f} | {s['ratio_wall']:.1f} "
            f"| {s['ratio_to_publish']:.1f} | {s['pipeline_cpu_s']:.1f} | {s['floor_cpu_s']:.1f} | {s['ratio_cpu']:.1f} "
            f"| {s['pipeline_peak_rss_mb']:,.0f} | {s['floor_peak_rss_mb']:,.0f} "
            f"| {s['landing_rows'] / s['pipeline_to_publish_s']:,.0f} | {s['landing_rows'] / s['floor_wall_s']:,.0f} |"
        )
    out.append("")
    out.append(
        "Every run, wall seconds (pipeline / floor): "
        + "; ".join(
            f"{scale:g}x: {summary[scale]['pipeline_wall_all_s']} / {summary[scale]['floor_wall_all_s']}"
            for scale in scales
        )
    )
    out.append("")
    out.append(
        "The contract's floor (bench/contract_floor.py: LANDING.md's per-row work for calls and CRM, "
        "in the same run), per source, median: "
        + "; ".join(
            f"{scale:g}x "
            + ", ".join(
                f"{name} {v['rows']:,.0f} rows {v['wall_s']:.1f} s wall / {v['cpu_s']:.1f} s CPU"
                for name, v in summary[scale]["contract_sources"].items()
            )
            for scale in scales
        )
    )
    out.append("")
    # targets (issue 20)
    out.append("| target | figure | met |")
    out.append("|---|---|---|")
    if 1 in summary:
        s = summary[1]
        out.append(
            f"| scale 1 end to end with the report: at most 4x the floor | {s['ratio_wall']:.1f}x "
            f"({s['pipeline_wall_s']:.1f} s / {s['floor_wall_s']:.2f} s) | {'yes' if s['ratio_wall'] <= 4 else 'no'} |"
        )
    if 10 in summary:
        s = summary[10]
        out.append(
            f"| scale 10 end to end: at most 3.5x the floor | {s['ratio_wall']:.1f}x "
            f"({s['pipeline_wall_s']:.1f} s / {s['floor_wall_s']:.2f} s) "
            f"| {'yes' if s['ratio_wall'] <= 3.5 else 'no'} |"
        )
        out.append(
            f"| scale 10: peak RSS at most 2 GiB | {s['pipeline_peak_rss_mb'] / gib:.2f} GiB "
            f"| {'yes' if s['pipeline_peak_rss_mb'] <= 2 * gib else 'no'} |"
        )
    for scale in scales:
        s = summary[scale]
        out.append(
            f"| scale {scale:g}: a month with nothing changed, run again: at most 5 s "
            f"| {s['unchanged_month_s']:.1f} s (all: {s['unchanged_month_all_s']}; CPU {s['unchanged_month_cpu_s']:.1f} s) "
            f"| {'yes' if s['unchanged_month_s'] <= 5 else 'no'} |"
        )
        out.append(
            f"| scale {scale:g}: a month with one new day of files: at most 8 s "
            f"| {s['new_day_s']:.1f} s (all: {s['new_day_all_s']}; CPU {s['new_day_cpu_s']:.1f} s) "
            f"| {'yes' if s['new_day_s'] <= 8 else 'no'} |"
        )
    if 1 in summary and 10 in summary:
        a, b = summary[1], summary[10]
        growth_rows = b["landing_rows"] / a["landing_rows"]
        growth = b["pipeline_wall_s"] / a["pipeline_wall_s"]
        growth_cpu = b["pipeline_cpu_s"] / a["pipeline_cpu_s"]
        out.append(
            f"| cost 1x -> 10x linear or better (rows x{growth_rows:.1f}) | wall x{growth:.1f}, "
            f"CPU x{growth_cpu:.1f} | {'yes' if growth <= growth_rows * 1.05 else 'no'} |"
        )
    out.append("")
    # per job and per step
    keys = sorted({k for scale in scales for k in summary[scale]["jobs_s"]})
    out.append("| Dagster job (run) | " + " | ".join(f"{scale:g}x s" for scale in scales) + " |")
    out.append("|---|" + "---|" * len(scales))
    for key in keys:
        out.append(
            f"| {key} | " + " | ".join(f"{summary[scale]['jobs_s'].get(key, 0.0):.2f}" for scale in scales) + " |"
        )
    out.append("")
    keys = sorted(
        {k for scale in scales for k in summary[scale]["steps_s"]},
        key=lambda k: -summary[scales[-1]]["steps_s"].get(k, 0.0),
    )
    out.append("| Dagster step (median s) | " + " | ".join(f"{scale:g}x s" for scale in scales) + " |")
    out.append("|---|" + "---|" * len(scales))
    for key in keys:
        out.append(
            f"| {key} | " + " | ".join(f"{summary[scale]['steps_s'].get(key, 0.0):.2f}" for scale in scales) + " |"
        )
    return "\n".join(out)


def machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(l.split()[1]) for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal"))
    return f"{os.cpu_count()} CPUs ({model}), {mem_kb / 1024 / 1024:.0f} GiB RAM, Linux {os.uname().release}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument(
        "--repeat",
        type=int,
        nargs="+",
        default=[3],
        help="runs of each side per scale, one number for all scales or one per scale (default 3)",
    )
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)

    scales = args.scales
    repeats = args.repeat * len(scales) if len(args.repeat) == 1 else args.repeat
    if len(repeats) != len(scales):
        parser.error("--repeat takes one number, or one per scale")
    landings = {scale: ensure_sample(scale, args.seed) for scale in scales}
    scratch = Path(tempfile.mkdtemp(prefix="runs-", dir=DATA))
    measures: list[Measure] = []
    try:
        for scale, repeat in zip(scales, repeats):
            for i in range(repeat):  # alternate: pipeline, floor, pipeline, floor, ...
                pipe, figures = measure_pipeline(scale, landings[scale], scratch, keep_figures=(i == 0))
                measures.append(pipe)
                print(
                    f"scale {scale:g} run {i + 1}: pipeline measured: {json.dumps(asdict(pipe))}",
                    file=sys.stderr,
                    flush=True,
                )
                floor, floor_figures = measure_floor(scale, landings[scale], scratch)
                measures.append(floor)
                contract = measure_contract_floor(scale, landings[scale], scratch)
                measures.append(contract)
                print(
                    f"scale {scale:g} run {i + 1}: pipeline {pipe.wall_s:.1f} s (cpu {pipe.cpu_s:.1f} s, "
                    f"rss {pipe.peak_rss_mb:,.0f} MiB), floor {floor.wall_s:.2f} s (cpu {floor.cpu_s:.1f} s, "
                    f"rss {floor.peak_rss_mb:,.0f} MiB); month again: unchanged {pipe.unchanged_month_s:.1f} s, "
                    f"one new day {pipe.new_day_s:.1f} s (cpu {pipe.unchanged_month_cpu_s:.1f} s, {pipe.new_day_cpu_s:.1f} s); "
                    f"contract floor (calls + CRM) {contract.wall_s:.1f} s (cpu {contract.cpu_s:.1f} s)",
                    file=sys.stderr,
                    flush=True,
                )
                if figures is not None:
                    compare_figures(scale, figures, floor_figures)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    summary = summarise(measures, scales)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (RESULTS / f"bench-{stamp}.json").write_text(
        json.dumps(
            {
                "machine": machine(),
                "args": vars(args),
                "summary": {f"{k:g}": v for k, v in summary.items()},
                "measures": [asdict(m) for m in measures],
            },
            indent=1,
            default=str,
        )
    )
    table = markdown(summary, scales, machine())
    print(table)
    (RESULTS / f"bench-{stamp}.md").write_text(table + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

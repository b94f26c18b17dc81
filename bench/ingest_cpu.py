"""CPU per landing row of ingest and staging, source by source, for one or more code trees.

    .venv/bin/python bench/ingest_cpu.py bench/data/scale1-seed2025 --code . --code bench/data/base --rounds 2

Each (round, source, code tree) runs in a child process of its own, with a fresh working
database opened as the pipeline opens it (`open_work_db`: memory limit, spill folder): every
month of the sample is loaded as `load_source_month` loads it (the month's files ingested,
then the month staged), and the child reports the CPU seconds of ingest and of staging
(`time.process_time`: every thread of the process, DuckDB's included). The parent adds the
child's CPU, wall time and peak RSS (`os.wait4`). The code trees alternate within each round
so that the load of a shared machine falls on both alike; compare within one run.
A code tree is a checkout of the project (`git archive <commit> | tar -x -C <dir>`).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

MONTHS = ["2025-01", "2025-02", "2025-03", "2025-04", "2025-05", "2025-06"]
SOURCES = ["calls", "email", "chat", "crm", "x", "sms", "self_service"]

CHILD = r"""
import json, sys, time
from datetime import date
from pathlib import Path
from vob.landing.ingest import ingest
from vob.landing.contract import SOURCES, files_for_month
from vob.marts.transforms import stage_counts, stage_events, stage_tickets
from vob.base.settings import load_settings
from warehouse.store import open_work_db
source, months = SOURCES[sys.argv[1]], sys.argv[2].split(",")
settings = load_settings()
con = open_work_db(settings)
ingest_cpu = stage_cpu = 0.0
rows = staged = 0
for month in months:
    first = date.fromisoformat(month + "-01")
    paths = files_for_month(source, settings.landing_dir, first, settings.export_lag_days)
    files = [p.relative_to(settings.landing_dir).as_posix() for p in paths]
    con.begin()
    started = time.process_time()
    audits = ingest(con, source, settings.landing_dir, paths, b"bench-key", "bench")
    ingest_cpu += time.process_time() - started
    rows += sum(a.rows_read for a in audits)
    started = time.process_time()
    if source.kind == "events":
        staged += stage_events(con, source, first, files)
    elif source.kind == "counts":
        staged += stage_counts(con, source, first, files)
    else:
        staged += stage_tickets(con, first, files)
    stage_cpu += time.process_time() - started
    con.commit()
con.close()
print(json.dumps({"rows": rows, "staged": staged, "ingest_cpu": ingest_cpu, "stage_cpu": stage_cpu}))
"""


def run_child(code: Path, source: str, landing: Path, months: list[str], scratch: Path) -> dict:
    with tempfile.TemporaryDirectory(dir=scratch) as work:
        env = {
            **os.environ,
            "VOB_WORK_DIR": work,
            "VOB_LANDING_DIR": str(landing),
            "VOB_PII_KEY": "bench-key",
            "VOB_WAREHOUSE": str(Path(work) / "vob.duckdb"),
            "PYTHONPATH": str(code),
        }
        read_end, write_end = os.pipe()
        started = time.perf_counter()
        pid = os.fork()
        if pid == 0:  # child: stdout to the pipe, then the interpreter on CHILD
            os.close(read_end)
            os.dup2(write_end, 1)
            os.chdir(code)
            os.execve(sys.executable, [sys.executable, "-c", CHILD, source, ",".join(months)], env)
        os.close(write_end)
        with os.fdopen(read_end) as out:
            printed = out.read()
        _, status, usage = os.wait4(pid, 0)
        if os.waitstatus_to_exitcode(status):
            raise SystemExit(f"{code} {source}: child failed")
        result = json.loads(printed.strip().splitlines()[-1])
        return {
            **result,
            "cpu": usage.ru_utime + usage.ru_stime,
            "wall": time.perf_counter() - started,
            "rss_mib": usage.ru_maxrss / 1024,
        }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("landing", type=Path)
    parser.add_argument("--code", type=Path, action="append", required=True, help="a code tree (repeat to compare)")
    parser.add_argument("--sources", nargs="+", default=SOURCES)
    parser.add_argument("--months", nargs="+", default=MONTHS)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    scratch = Path(__file__).resolve().parent / "data"
    scratch.mkdir(exist_ok=True)
    results: dict[tuple[str, str], list[dict]] = {}
    for round_no in range(args.rounds):
        for source in args.sources:
            codes = args.code if round_no % 2 == 0 else list(reversed(args.code))
            for code in codes:
                result = run_child(code.resolve(), source, args.landing.resolve(), args.months, scratch)
                results.setdefault((str(code), source), []).append(result)
                print(
                    f"round {round_no + 1} {source:<13} {str(code):<20} rows {result['rows']:>10,} "
                    f"ingest {result['ingest_cpu']:6.2f} s CPU  stage {result['stage_cpu']:5.2f} s CPU  "
                    f"child {result['cpu']:6.2f} s CPU {result['wall']:6.1f} s wall  {result['rss_mib']:,.0f} MiB",
                    file=sys.stderr,
                    flush=True,
                )
    print("| source | code | rows | ingest CPU s | µs/row | staging CPU s | child CPU s | wall s | peak RSS MiB |")
    print("|---|---|---|---|---|---|---|---|---|")
    for (code, source), runs in results.items():
        med = {k: statistics.median(r[k] for r in runs) for k in ("ingest_cpu", "stage_cpu", "cpu", "wall", "rss_mib")}
        rows = runs[0]["rows"]
        print(
            f"| {source} | {code} | {rows:,} | {med['ingest_cpu']:.2f} | {1e6 * med['ingest_cpu'] / max(rows, 1):.2f} "
            f"| {med['stage_cpu']:.2f} | {med['cpu']:.2f} | {med['wall']:.1f} | {med['rss_mib']:,.0f} |"
        )


if __name__ == "__main__":
    main()

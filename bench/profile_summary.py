"""Where a run's time goes, from a py-spy raw profile (collapsed stacks):

    py-spy record -r 20 --subprocesses -f raw -o profile.txt -- python -m pipelines.cli run --period 2025-H1
    python bench/profile_summary.py profile.txt

Each sample is counted once, under the first matching category (the order of
CATEGORIES); time in DuckDB is counted at the Python line that called it.
"""

from __future__ import annotations

import sys
from collections import Counter

CATEGORIES = (
    ("ingest: fingerprint and line count (Python, streaming)", ("scan_file",)),
    ("ingest: fast path, one read straight into raw (valid rows)", ("insert_fast",)),
    ("ingest: read_csv line scan (JSON Lines, line-by-line files)", ("read_lines", "stream_lines")),
    ("ingest: checks, hashing, insert into raw / rejected_rows", ("store_checked",)),
    ("ingest: other", ("vob/landing/ingest.py",)),
    ("staging (de-duplication into staging.*)", ("stage_events", "stage_counts", "stage_tickets")),
    ("month accounting / month inputs", ("account_month", "month_inputs", "staged_inputs")),
    (
        "quality gate (checks/*, vob/marts/gx_suites.py, Great Expectations)",
        ("checks/", "gx_suites", "great_expectations"),
    ),
    ("report (chromium, HTML, PDF)", ("vob/views/report.py", "assets/report.py", "browser.py")),
    ("half-year marts and registers", ("half_year.py", "registers.py")),
    ("publish", ("publish",)),
    ("open / close the working database", ("open_work_db", "ensure_schema", "DuckDBPyConnection.close")),
    ("imports (Python, Dagster, libraries)", ("_find_and_load",)),
    ("Dagster (instance, runs, events, executor)", ("dagster/",)),
)


def main(path: str) -> None:
    totals: Counter[str] = Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip("\n").rpartition(" ")
        if not count.isdigit():
            continue
        name = next((label for label, keys in CATEGORIES if any(k in stack for k in keys)), "other")
        totals[name] += int(count)
    everything = sum(totals.values())
    print("| where | samples | share |\n|---|---|---|")
    for name, n in totals.most_common():
        print(f"| {name} | {n} | {100 * n / everything:.0f} % |")


if __name__ == "__main__":
    main(sys.argv[1])

"""Measure the two ways of running our Great Expectations suites on one staged month.

    python bench/gx_routes.py WORK_DB [--source calls] [--month 2025-05] [--repeat 3]

(a) pandas: the month's rows leave DuckDB as Arrow, become a pandas DataFrame,
    and GX's pandas engine evaluates the suite;
(b) SQL pushdown (what the pipeline does): GX's SQLAlchemy engine runs the
    suite as SQL inside DuckDB through duckdb-engine, with the shim GX needs
    for DuckDB (keep the connection open, as GX does for SQLite).
Each measurement runs in a fresh process (peak RSS is per process); the two
routes alternate so that machine noise hits both alike.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def measure(route: str, work_db: str, source_name: str, month: date) -> dict:
    from vob.gx_suites import batch_query, expectations, validate_query
    from vob.landing import SOURCES

    source = SOURCES[source_name]
    import great_expectations as gx  # import cost is not part of either route

    started = time.perf_counter()
    if route == "pandas":
        import duckdb

        con = duckdb.connect(work_db)
        frame = read_batch(con, source, [month])
        context = gx.get_context(mode="ephemeral")
        batch = (
            context.data_sources.add_pandas("work")
            .add_dataframe_asset("month")
            .add_batch_definition_whole_dataframe("all")
            .get_batch(batch_parameters={"dataframe": frame})
        )
        suite = gx.ExpectationSuite(name="bench", expectations=expectations(source))
        outcomes = batch.validate(suite, result_format={"result_format": "SUMMARY"}).results
        rows = len(frame)
    else:  # the pipeline's route
        outcomes = validate_query(Path(work_db), "bench", batch_query(source, [month]), expectations(source))
        rows = None
    elapsed = time.perf_counter() - started
    ok = all(o.success for o in outcomes)  # both outcome types have .success
    return {
        "route": route,
        "seconds": round(elapsed, 3),
        "rows": rows,
        "all_passed": ok,
        "expectations": len(outcomes),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work_db")
    parser.add_argument("--source", default="calls")
    parser.add_argument("--month", default="2025-05")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--route", help=argparse.SUPPRESS)
    args = parser.parse_args()
    month = date.fromisoformat(args.month + "-01")
    if args.route:
        print(json.dumps(measure(args.route, args.work_db, args.source, month)))
        return
    results: dict[str, list[dict]] = {"pandas": [], "sql": []}
    for _ in range(args.repeat):
        for route in ("pandas", "sql"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    args.work_db,
                    "--source",
                    args.source,
                    "--month",
                    args.month,
                    "--route",
                    route,
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            results[route].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{args.source} {args.month}: median of {args.repeat} runs each, fresh process per run")
    print("| route | seconds | peak RSS MB | expectations | all passed |\n|---|---|---|---|---|")
    for route, runs in results.items():
        print(
            f"| {route} | {statistics.median(r['seconds'] for r in runs):.2f} "
            f"| {statistics.median(r['peak_rss_mb'] for r in runs):.0f} | {runs[0]['expectations']} "
            f"| {runs[0]['all_passed']} |"
        )
    pandas, sql = (statistics.median(r["seconds"] for r in results[k]) for k in ("pandas", "sql"))
    print(f"\nratio pandas / sql: {pandas / sql:.2f}")


if __name__ == "__main__":
    main()


def read_batch(con, source, months):
    """The batch as a pandas DataFrame: the pandas route this benchmark compares with SQL pushdown."""
    from vob.gx_suites import batch_sql

    params = {"months": months, **({"source": source.name} if source.kind == "counts" else {})}
    return con.sql(batch_sql(source), params=params).to_arrow_table().to_pandas()

"""What the Great Expectations gate costs as a function of the number of expectations.

    python bench/gx_gate.py WORK_DB [--source calls] [--month 2025-05] [--sizes 1,3,6,11,16,22] [--repeat 3]

Two routes over the same staged month, in one process after a warm-up (GX's
import is measured apart), alternating so that machine noise hits both alike:

- per_expectation (before issue 12): a new GX data source per validation, a
  query asset that every metric query re-runs, result format SUMMARY (a query
  for the unexpected values of each map expectation);
- bundled (vob/gx_suites.py now): one data source, the batch materialised
  once into a temporary table, pass/fail first (BOOLEAN_ONLY: the aggregate
  metrics of single-column expectations in one query per domain, no
  unexpected-value queries), details only for what failed.

The first n expectations of the source's suite are used; past the suite's
size, further expectations that hold on the sample (extra not-null, set,
length and pair rules) are added. Printed per route and n: median wall and
CPU seconds, and the SQL statements GX sent (counted by a SQLAlchemy event).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
import uuid
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def extra_expectations(gxe, source) -> list:
    """Further expectations that hold on staged rows of any event or snapshot source."""
    id_column = source.field(source.id_field).column
    time_column = source.field(source.time_field).column
    return [
        gxe.ExpectColumnValuesToNotBeNull(column="month_start"),
        gxe.ExpectColumnValuesToNotBeNull(column="month_end"),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="month_end", column_B="month_start"),
        gxe.ExpectColumnValueLengthsToBeBetween(column=id_column, min_value=1),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(column_A="month_end", column_B="month_start", or_equal=True),
        gxe.ExpectColumnValuesToNotBeNull(column=id_column, mostly=0.5),
        gxe.ExpectColumnValuesToNotBeNull(column=time_column, mostly=0.5),
        gxe.ExpectColumnValueLengthsToBeBetween(column=id_column, min_value=1, max_value=10_000),
        gxe.ExpectColumnPairValuesAToBeGreaterThanB(
            column_A=time_column, column_B="month_start", or_equal=True, ignore_row_if="either_value_is_missing"
        ),
        gxe.ExpectColumnValuesToNotBeNull(column="month_start", mostly=0.5),
        gxe.ExpectColumnValuesToNotBeNull(column="month_end", mostly=0.5),
    ]


def per_expectation_route(db_path: Path, name: str, query: str, suite: list) -> list:
    """The route of vob/gx_suites.py before issue 12 (kept here as the reference)."""
    import great_expectations as gx

    from vob.gx_suites import SAMPLE_VALUES, _context, _outcome

    context = _context()
    datasource_name = f"{name}_{uuid.uuid4().hex[:8]}"
    datasource = context.data_sources.add_sql(datasource_name, connection_string=f"duckdb:///{db_path}")
    batch = None
    try:
        batch = datasource.add_query_asset(name, query=query).add_batch_definition_whole_table("batch").get_batch()
        result = batch.validate(
            gx.ExpectationSuite(name=name, expectations=suite),
            result_format={"result_format": "SUMMARY", "partial_unexpected_count": SAMPLE_VALUES},
        )
        return [_outcome(item) for item in result.results]
    finally:
        if batch is not None:
            engine = batch.data.execution_engine
            if engine._connection is not None:
                engine._connection.close()
            engine.engine.dispose()
        context.data_sources.delete(datasource_name)
        gc.collect()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("work_db")
    parser.add_argument("--source", default="calls")
    parser.add_argument("--month", default="2025-05")
    parser.add_argument("--sizes", default="1,3,6,11,16,22")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    from vob.gx_suites import _context, batch_query, expectations, validate_query
    from vob.landing import SOURCES

    started = time.perf_counter()
    import great_expectations.expectations as gxe
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    _context()
    print(f"GX import and context: {time.perf_counter() - started:.2f} s")

    statements = []
    event.listen(Engine, "before_cursor_execute", lambda *a, **k: statements.append(1))
    source = SOURCES[args.source]
    db_path = Path(args.work_db)
    query = batch_query(source, [date.fromisoformat(args.month + "-01")])
    routes = {"per_expectation": per_expectation_route, "bundled": validate_query}

    def pool() -> list:
        return expectations(source) + extra_expectations(gxe, source)

    sizes = [int(n) for n in args.sizes.split(",") if int(n) <= len(pool())]
    for route in routes.values():  # warm-up: GX's registries, DuckDB's caches
        route(db_path, "warmup", query, pool()[:2])
    rows = []
    for n in sizes:
        runs: dict[str, list[tuple[float, float, int, bool]]] = {r: [] for r in routes}
        for _ in range(args.repeat):
            for name, route in routes.items():
                statements.clear()
                wall, cpu = time.perf_counter(), time.process_time()
                outcomes = route(db_path, f"bench_{n}", query, pool()[:n])
                runs[name].append(
                    (
                        time.perf_counter() - wall,
                        time.process_time() - cpu,
                        len(statements),
                        all(o.success for o in outcomes),
                    )
                )
        for name, measured in runs.items():
            rows.append(
                (
                    name,
                    n,
                    statistics.median(m[0] for m in measured),
                    statistics.median(m[1] for m in measured),
                    measured[0][2],
                    measured[0][3],
                )
            )
    print(f"{args.source} {args.month}: median of {args.repeat} runs each")
    print("| route | expectations | seconds | CPU seconds | SQL statements | all passed |\n|---|---|---|---|---|---|")
    for name, n, wall, cpu, count, ok in sorted(rows):
        print(f"| {name} | {n} | {wall:.2f} | {cpu:.2f} | {count} | {ok} |")


if __name__ == "__main__":
    main()

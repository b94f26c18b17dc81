"""A small job for the Celery workers (tests/test_workers.py): one step per month, each writing its month
to the object store, and a step that adds the months up. What the workers share is only what production
workers share: PostgreSQL (the Dagster instance), Redis and the object store; the rows are exact or the test
fails. The month steps carry a retry policy and the writer pool, as the pipeline's steps do with Celery."""

import os
import time

import dagster as dg
import pyarrow as pa
import pyarrow.parquet as pq
from pyarrow import fs

from assets.resources import WRITER_POOL
from pipelines.workers import run_executor

MONTHS = [f"2025-{m:02d}" for m in range(1, 7)]
SLOW_MONTH_VARIABLE = "PROBE_SLOW_MONTH"  # this month's step sleeps PROBE_SLOW_SECONDS before it writes


def month_pool(month: str) -> str:
    """A pool per month, as the Iceberg store's writer guard is: two months run at once, one writer a month."""
    return f"{WRITER_POOL}/{month}"


def rows_of(month: str) -> int:
    return 1000 * int(month[-2:]) + 7


def store() -> fs.S3FileSystem:
    return fs.S3FileSystem(
        access_key=os.environ["VOB_S3_ACCESS_KEY_ID"],
        secret_key=os.environ["VOB_S3_SECRET_ACCESS_KEY"],
        endpoint_override=os.environ["VOB_S3_ENDPOINT"],
        scheme="http",
        region=os.environ.get("VOB_S3_REGION", "us-east-1"),
    )


def month_op(month: str) -> dg.OpDefinition:
    @dg.op(
        name=f"month_{month.replace('-', '_')}",
        out=dg.Out(dg.Nothing),
        pool=month_pool(month),
        retry_policy=dg.RetryPolicy(max_retries=2, delay=1),
    )
    def write_month(context: dg.OpExecutionContext) -> None:
        if os.environ.get(SLOW_MONTH_VARIABLE) == month:
            time.sleep(float(os.environ.get("PROBE_SLOW_SECONDS", "0")))
        table = pa.table({"month": [month] * rows_of(month), "n": list(range(rows_of(month)))})
        pq.write_table(table, f"{os.environ['PROBE_BUCKET']}/months/{month}.parquet", filesystem=store())
        context.log.info(f"{month}: {table.num_rows} rows by pid {os.getpid()}")

    return write_month


@dg.op(ins={f"after_{n}": dg.In(dg.Nothing) for n in range(len(MONTHS))}, pool=WRITER_POOL)
def total(context: dg.OpExecutionContext) -> None:
    months = pq.read_table(f"{os.environ['PROBE_BUCKET']}/months", filesystem=store())
    summed = pa.table({"rows": [months.num_rows]})
    pq.write_table(summed, f"{os.environ['PROBE_BUCKET']}/total.parquet", filesystem=store())
    context.log.info(f"total {months.num_rows} rows")


@dg.job(executor_def=run_executor(os.environ))
def months_on_workers() -> None:
    total(**{f"after_{n}": month_op(month)() for n, month in enumerate(MONTHS)})


defs = dg.Definitions(jobs=[months_on_workers])

"""A dashboard-like reader, run as a separate process by test_serving.py.

    python bi_reader.py hold|reopen WAREHOUSE_FILE WORKDIR

`hold` opens one read-only connection and queries it in a loop; `reopen` opens,
queries and closes a connection at each iteration. Both write WORKDIR/<mode>.ready
once started, stop when WORKDIR/stop appears, and write WORKDIR/<mode>.json:
every state seen (sum of contacts, months, ticket rows, CRM snapshots), the
errors met, and (for `hold`) the state the held connection shows after the
publish, the state a second connection opened meanwhile shows, and the state a
fresh connection shows once every connection is closed.
"""

import json
import sys
import time
import traceback
from pathlib import Path

import duckdb

STATE_SQL = """
SELECT (SELECT sum(contacts) FROM marts.fct_channel_monthly),
       (SELECT count(DISTINCT month) FROM marts.fct_channel_monthly),
       (SELECT count(*) FROM marts.fct_tickets_monthly),
       (SELECT count(DISTINCT snapshot_date) FROM marts.fct_tickets_monthly)
"""


def read(con: duckdb.DuckDBPyConnection) -> list:
    return [int(x) for x in con.execute(STATE_SQL).fetchall()[0]]


def connect(path: str) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(path, read_only=True, config={"threads": 1})


def main(mode: str, path: str, workdir: str) -> int:
    work = Path(workdir)
    stop = work / "stop"
    seen: list[list] = []
    errors: list[str] = []
    result: dict = {"seen": seen, "errors": errors}
    held = connect(path) if mode == "hold" else None
    (work / f"{mode}.ready").write_text("ready")
    deadline = time.monotonic() + 300
    while not stop.exists() and time.monotonic() < deadline:
        try:
            if held is not None:
                seen.append(read(held))
            else:
                con = connect(path)
                try:
                    seen.append(read(con))
                finally:
                    con.close()
                if seen[-1] != seen[0] and not (work / "reopen.changed").exists():
                    (work / "reopen.changed").write_text("changed")  # tells the test it saw a publish
        except Exception:
            errors.append(traceback.format_exc())
        time.sleep(0.02)
    try:
        if held is not None:
            result["held_after_publish"] = read(held)
            other = connect(path)  # opened while `held` is open: DuckDB reuses the same instance
            try:
                result["new_connection_while_held"] = read(other)
            finally:
                other.close()
            held.close()  # DuckDB shares one instance per path in a process: close all to see new data
        con = connect(path)
        try:
            result["after_reopen"] = read(con)
        finally:
            con.close()
    except Exception:
        errors.append(traceback.format_exc())
    (work / f"{mode}.json").write_text(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))

"""What a BI client sees in a published warehouse: its DuckDB version, each marts table's row
count and each column's comment, as JSON on stdout. Run by test_published_format.py with the old
clients (a DuckDB 1.4 LTS virtual environment); bi/read_warehouse.mjs does the same in Node.

    python warehouse_contents.py WAREHOUSE.duckdb
"""

import json
import sys

import duckdb


def contents(path: str) -> dict:
    con = duckdb.connect(path, read_only=True, config={
        "autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        version = con.execute("SELECT version()").fetchall()[0][0]
        tables = {}
        for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' "
                                    "ORDER BY table_name").fetchall():
            count = con.execute(f'SELECT count(*) FROM marts."{table}"').fetchall()[0][0]
            tables[table] = {"rows": count, "columns": {}}
        for table, column, comment in con.execute(
                "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts' "
                "ORDER BY table_name, column_index").fetchall():
            tables[table]["columns"][column] = comment
        return {"version": version, "tables": tables}
    finally:
        con.close()


if __name__ == "__main__":
    print(json.dumps(contents(sys.argv[1])))

"""What a BI client sees in a published warehouse: its DuckDB version, each marts table's row
count and each column's comment, as JSON on stdout. Run by test_published_format.py with the old
clients (a DuckDB 1.4 LTS virtual environment); bi/read_warehouse.mjs does the same in Node.

    python warehouse_contents.py WAREHOUSE.duckdb               # DuckDB's own Python API
    python warehouse_contents.py WAREHOUSE.duckdb --sqlalchemy  # as Superset reads: duckdb-engine
"""

import json
import sys

import duckdb

NO_DOWNLOADS = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}


def contents(path: str) -> dict:
    con = duckdb.connect(path, read_only=True, config=NO_DOWNLOADS)
    try:
        version = con.execute("SELECT version()").fetchall()[0][0]
        tables = {}
        for (table,) in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts' ORDER BY table_name"
        ).fetchall():
            count = con.execute(f'SELECT count(*) FROM marts."{table}"').fetchall()[0][0]
            tables[table] = {"rows": count, "columns": {}}
        for table, column, comment in con.execute(
            "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts' "
            "ORDER BY table_name, column_index"
        ).fetchall():
            tables[table]["columns"][column] = comment
        return {"version": version, "tables": tables}
    finally:
        con.close()


def contents_through_sqlalchemy(path: str) -> dict:
    """Superset's route: SQLAlchemy with duckdb-engine, read-only, one connection per query,
    tables and column descriptions from the inspector (reflection)."""
    import sqlalchemy as sa
    from sqlalchemy.pool import NullPool

    engine = sa.create_engine(
        f"duckdb:///{path}", poolclass=NullPool, connect_args={"read_only": True, "config": NO_DOWNLOADS}
    )
    try:
        inspector = sa.inspect(engine)
        with engine.connect() as con:
            version = con.execute(sa.text("SELECT version()")).scalar_one()
            tables = {
                table: {
                    "rows": con.execute(sa.text(f'SELECT count(*) FROM marts."{table}"')).scalar_one(),
                    "columns": {c["name"]: c.get("comment") for c in inspector.get_columns(table, schema="marts")},
                }
                for table in sorted(inspector.get_table_names(schema="marts"))
            }
        return {"version": version, "tables": tables}
    finally:
        engine.dispose()


if __name__ == "__main__":
    read = contents_through_sqlalchemy if "--sqlalchemy" in sys.argv[2:] else contents
    print(json.dumps(read(sys.argv[1])))

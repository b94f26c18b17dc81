"""A BI tool's view: SQLAlchemy with duckdb-engine, read-only, as Superset connects."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from conftest import run_job
from landing_files import call, chat, email, ticket, write_calls, write_counts, write_crm, write_jsonl
from serving_env import module_env
from sqlalchemy.pool import NullPool

from warehouse import dictionary

pytestmark = pytest.mark.slow  # Superset's environment reads the warehouse


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    with module_env(tmp_path_factory.mktemp("bi")) as settings:
        write_landing(settings.landing_dir)
        run_job("2025-03", "2025-04")
        return settings.warehouse_path


def write_landing(landing) -> None:
    for day in (10, 11):
        write_calls(
            landing, date(2025, 3, day), [call(f"C{day}-{i}", f"2025-03-{day}T10:00:00+03:00") for i in range(day)]
        )
    write_calls(landing, date(2025, 4, 2), [call("A1", "2025-04-02T10:00:00+03:00")])
    write_jsonl(landing, "email", date(2025, 3, 10), [email("<m1@x>", "2025-03-10T08:00:00Z")])
    write_jsonl(landing, "chat", date(2025, 4, 10), [chat("S1", "2025-04-10T08:00:00Z")])
    write_counts(landing, "sms", "2025-03", [("2025-03-01", "S01", 7)])
    write_crm(landing, date(2025, 5, 1), [ticket("T1", "2025-03-05T10:00:00+03:00")])


def superset_engine(path) -> sa.Engine:
    # Superset: SQLAlchemy URI duckdb:////abs/path, engine parameters {"connect_args": {"read_only": true}}
    return sa.create_engine(f"duckdb:///{path}", connect_args={"read_only": True}, poolclass=NullPool)


def test_superset_lists_schemas_tables_columns_and_descriptions(published):
    engine = superset_engine(published)
    try:
        inspector = sa.inspect(engine)
        # duckdb-engine names schemas catalog.schema; the catalog is the file's stem
        assert "vob.marts" in inspector.get_schema_names()
        for schema in ("marts", "vob.marts"):
            tables = set(inspector.get_table_names(schema=schema))
            assert {"fct_channel_monthly", "fct_tickets_monthly", "dim_channel"} <= tables
        columns = {c["name"]: c for c in inspector.get_columns("fct_channel_monthly", schema="marts")}
        assert list(columns) == ["month", "channel", "contacts"]
        assert isinstance(columns["month"]["type"], sa.Date)
        assert isinstance(columns["contacts"]["type"], sa.BigInteger)
        # the data dictionary reaches the BI tool as column and table descriptions
        described = dictionary.BY_NAME["fct_channel_monthly"]
        assert {name: c["comment"] for name, c in columns.items()} == {c.name: c.comment for c in described.columns}
        assert inspector.get_table_comment("fct_channel_monthly", schema="marts")["text"] == described.comment
    finally:
        engine.dispose()


def test_a_dashboard_query_through_sqlalchemy_read_only(published):
    engine = superset_engine(published)
    try:
        with engine.connect() as con:
            rows = con.execute(
                sa.text(
                    """SELECT date_trunc('month', f.month) AS __timestamp, d.name_en, sum(f.contacts) AS contacts
                   FROM marts.fct_channel_monthly f JOIN marts.dim_channel d USING (channel)
                   WHERE f.month >= :since
                   GROUP BY 1, 2 ORDER BY 1, 2"""
                ),
                {"since": date(2025, 1, 1)},
            ).all()
            by_key = {(r[0].strftime("%Y-%m"), r[1]): r[2] for r in rows}
            assert by_key[("2025-03", "Calls")] == 21
            assert by_key[("2025-04", "Calls")] == 1
            assert by_key[("2025-03", "E-mail")] == 1
            assert by_key[("2025-04", "Live chat")] == 1
            assert by_key[("2025-03", "SMS")] == 7
            assert by_key[("2025-04", "X (Twitter)")] == 0
            assert len(rows) == 12  # two months x six channels, zeros included
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.execute(sa.text("DELETE FROM marts.fct_channel_monthly"))
    finally:
        engine.dispose()


def test_the_url_form_of_read_only_also_works(published):
    engine = sa.create_engine(f"duckdb:///{published}?access_mode=read_only", poolclass=NullPool)
    try:
        with engine.connect() as con:
            assert con.execute(sa.text("SELECT count(*) FROM marts.dim_channel")).scalar() == 6
            with pytest.raises(sa.exc.DBAPIError, match="read-only"):
                con.execute(sa.text("CREATE TABLE marts.scratch (x INT)"))
    finally:
        engine.dispose()

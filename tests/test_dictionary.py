"""The data dictionary: every published table and column described in English and Arabic,
and docs/warehouse.md generated from the same texts."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import duckdb
from conftest import query, run_job
from landing_files import call, ticket, write_calls, write_counts, write_crm

from warehouse import dictionary, dictionary_docs
from warehouse.store import ensure_half_year_schema

DOCS = Path(__file__).resolve().parents[1] / "docs" / "warehouse.md"
ARABIC = re.compile(r"[\u0600-\u06FF]")
LATIN = re.compile(r"[A-Za-z]{3}")


def publish_small_warehouse(vob_env) -> None:
    write_calls(vob_env.landing_dir, date(2025, 3, 10), [call("C1", "2025-03-10T10:00:00+03:00")])
    write_counts(vob_env.landing_dir, "x", "2025-03", [("2025-03-01", "mention", 4)])
    write_crm(vob_env.landing_dir, date(2025, 4, 1), [ticket("T1", "2025-03-05T10:00:00+03:00")])
    run_job("2025-03")


def test_every_published_table_and_column_has_an_english_and_arabic_comment(vob_env):
    publish_small_warehouse(vob_env)
    path = vob_env.warehouse_path
    tables = query(path, "SELECT table_name, comment FROM duckdb_tables() WHERE schema_name = 'marts'")
    columns = query(path, "SELECT table_name, column_name, comment FROM duckdb_columns() WHERE schema_name = 'marts'")
    assert {t for t, _ in tables} >= {"fct_channel_monthly", "fct_tickets_monthly", "dim_channel"}
    for table, comment in tables:
        assert comment == dictionary.BY_NAME[table].comment, table
    for table, column, comment in columns:
        assert comment == dictionary.BY_NAME[table].column(column).comment, (table, column)
    for comment in [c for _, c in tables] + [c for *_, c in columns]:
        english, arabic = comment.split(dictionary.SEPARATOR)
        assert LATIN.search(english) and not ARABIC.search(english), comment
        assert ARABIC.search(arabic), comment


def test_the_working_marts_have_nothing_the_dictionary_does_not_describe(vob_env):
    """A table or column added to marts without a description fails here (and is published
    without a comment): add its texts to warehouse/dictionary.py."""
    publish_small_warehouse(vob_env)
    con = duckdb.connect(str(vob_env.work_db), read_only=True)
    try:
        assert dictionary.undocumented(con, "work") == []
    finally:
        con.close()


def test_the_dictionary_covers_every_table_and_column_of_the_contract():
    contract = {
        "fct_channel_monthly": "month channel contacts",
        "fct_tickets_monthly": "month snapshot_date tickets_total tickets_open tickets_closed",
        "fct_vob_half_year": "period beneficiaries notes plans_total plans_in_progress plans_implemented",
        "fct_feedback_dimension_half_year": "period dimension tags share_pct",
        "dim_channel": "channel name_ar name_en",
        "dim_dimension": "dimension name_ar name_en",
        "e_participations": "period title kind target_group channel month url",
        "improvement_actions": "period action_no title description plan_id",
    }
    for table, columns in contract.items():
        described = dictionary.BY_NAME[table]
        assert ARABIC.search(described.ar) and not ARABIC.search(described.en)
        for column in columns.split():
            assert described.column(column) is not None, (table, column)


def test_docs_warehouse_md_is_generated_from_the_dictionary():
    assert DOCS.read_text(encoding="utf-8") == dictionary_docs.render_markdown(), (
        "docs/warehouse.md is stale: run `python -m warehouse.dictionary_docs docs/warehouse.md`"
    )


def test_the_example_queries_of_the_docs_run_read_only_on_the_published_file(vob_env):
    publish_small_warehouse(vob_env)
    con = duckdb.connect(str(vob_env.warehouse_path), read_only=True)
    try:
        present = {
            t for (t,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        }
        ran = 0
        for title, sql in dictionary_docs.EXAMPLES:
            needed = set(re.findall(r"marts\.(\w+)", sql))
            if needed <= present:
                assert con.execute(sql).fetchall(), title
                ran += 1
        assert ran >= 4
    finally:
        con.close()


def test_the_dictionarys_types_are_the_schemas(con):
    """The schema is written once (warehouse/schema.sql); the dictionary's types, the contract's words
    shown in docs/warehouse.md, may not drift from it."""
    ensure_half_year_schema(con)
    types = {
        (t, c): d
        for t, c, d in con.execute(
            "SELECT table_name, column_name, data_type FROM duckdb_columns() WHERE schema_name = 'marts'"
        ).fetchall()
    }
    described = [(t.name, c.name, c.type.upper()) for t in dictionary.TABLES for c in t.columns if c.type]
    assert len(described) > 40
    assert [(t, c, d) for t, c, d in described if types.get((t, c)) != d] == []

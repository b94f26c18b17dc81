"""The dashboard's import bundle (bi/superset/bundle/) written for one published warehouse.

The YAML in bi/superset/bundle/ is the dashboard as code. What depends on the warehouse is
filled in here, from the warehouse itself (opened read-only) and the report's own names and
colours (vob/views/report.py owns them, so the dashboard and the report agree):

- the database's URI (the published file, read-only, no file access);
- the datasets' SQL fragments `${name}`: the Arabic names of participation kinds and target
  groups, as the report writes them, and the months' status (`marts.dim_month` where the
  warehouse has it, WAREHOUSE.md "Months in progress");
- the colour of each channel and Adaa dimension, as the report draws them;
- each tile's height, fitted to the rows its table shows (the row of a tile: the tallest of it).
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from string import Template

import duckdb
import yaml

from vob.base.text import sql_quote
from vob.landing.registers import DIMENSION_CODES
from vob.views.report import CHANNEL_COLOURS, DIMENSION_COLOURS, KIND_NAMES, TARGET_GROUP_NAMES

BUNDLE_ROOT = "vob_dashboard"  # the folder inside the zip, as Superset's own exports have one
MONTH_STATUS_COLUMN = "month_status"  # shown only when the warehouse has marts.dim_month
NO_DIM_MONTH = "SELECT NULL::DATE AS month, NULL::VARCHAR AS status, NULL::DATE AS data_through WHERE false"

# Tile heights, in Superset's grid units (8 px), from Superset 6.1's table as drawn at 1,400 px wide:
# the tile's title bar down to the first row under a one-line header, each further header line,
# each row of one line, each further line of a row whose text wraps, and the space left below.
# Up to MAX_TABLE_ROWS rows are shown whole; more scroll inside the tile.
GRID_UNIT_PX = 8
TITLE_AND_HEADER_PX = 84
LINE_PX = 19
ROW_PX = 29
BELOW_PX = 16
MAX_TABLE_ROWS = 14
CHART_MIN_PX = 320  # the donut: its own height, or its row's when taller
BAR_CHART_PX = 440


@dataclass(frozen=True)
class TableTile:
    dataset: str  # the dataset's table_name, whose rows it shows
    header_lines: int = 1  # column titles that wrap at the tile's width
    lines_per_row: int = 1  # rows whose long text wraps at the tile's width


# The table tiles of bundle/dashboards/vob_dashboard.yaml, by layout id.
TABLE_TILES = {
    "CHART-contacts-table": TableTile("channel_contacts_monthly"),
    "CHART-tickets": TableTile("tickets_latest_snapshot", header_lines=2),
    "CHART-dimensions-table": TableTile("dimension_shares", header_lines=2),
    "CHART-half-year": TableTile("fct_vob_half_year"),
    "CHART-e-participations": TableTile("e_participations", header_lines=2, lines_per_row=2),
    "CHART-improvement-actions": TableTile("improvement_actions"),
}
CHART_TILES = {"CHART-contacts-chart": BAR_CHART_PX, "CHART-dimensions-chart": CHART_MIN_PX}


@dataclass(frozen=True)
class WarehouseFacts:
    """What the bundle needs to know of the published warehouse."""

    tables: frozenset[str]  # the marts tables it holds
    channel_names: tuple[str, ...]  # dim_channel's Arabic names, in the published sort order
    dimension_names: dict[str, str]  # dimension code -> Arabic name (dim_dimension)


def values_sql(names: dict[str, str]) -> str:
    """A VALUES list of (code, Arabic name) for a dataset's SQL."""
    return "VALUES " + ", ".join(f"({sql_quote(code)}, {sql_quote(name)})" for code, name in names.items())


def sql_fragments(facts: WarehouseFacts) -> dict[str, str]:
    """The `${name}` fragments of the datasets' SQL."""
    return {
        "kind_names": values_sql(KIND_NAMES),
        "target_group_names": values_sql(TARGET_GROUP_NAMES),
        "dim_month": (
            "SELECT month, status, data_through FROM marts.dim_month" if "dim_month" in facts.tables else NO_DIM_MONTH
        ),
    }


def label_colours(facts: WarehouseFacts) -> dict[str, str]:
    """Each channel's and each dimension's colour, by Arabic name, as the report draws them
    (channels in their published order, dimensions in the registers' order)."""
    colours = {name: CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)] for i, name in enumerate(facts.channel_names)}
    for i, code in enumerate(DIMENSION_CODES):
        if code in facts.dimension_names:
            colours[facts.dimension_names[code]] = DIMENSION_COLOURS[i % len(DIMENSION_COLOURS)]
    return colours


def table_height_px(rows: int, tile: TableTile) -> int:
    shown = min(max(rows, 1), MAX_TABLE_ROWS)
    header = TITLE_AND_HEADER_PX + (tile.header_lines - 1) * LINE_PX
    return header + shown * (ROW_PX + (tile.lines_per_row - 1) * LINE_PX) + BELOW_PX


def tile_heights(position: dict, rows: dict[str, int]) -> dict[str, int]:
    """Grid units of each chart tile: a table fitted to its rows (`rows`: dataset -> row count),
    a chart its own height; every tile of a row as tall as the row's tallest."""
    wanted = {tile: table_height_px(rows.get(t.dataset, 0), t) for tile, t in TABLE_TILES.items()}
    wanted.update(CHART_TILES)
    heights = {}
    for row in (c for c in position.values() if isinstance(c, dict) and c.get("type") == "ROW"):
        tallest = max(wanted[tile] for tile in row["children"])
        heights.update({tile: math.ceil(tallest / GRID_UNIT_PX) for tile in row["children"]})
    return heights


def read_facts(warehouse: Path) -> WarehouseFacts:
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        tables = frozenset(
            r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'marts'").fetchall()
        )
        channels: tuple[str, ...] = ()
        if "dim_channel" in tables:
            columns = {r[0] for r in con.execute("DESCRIBE marts.dim_channel").fetchall()}
            order = "sort_order, channel" if "sort_order" in columns else "channel"
            channels = tuple(
                r[0] for r in con.execute(f"SELECT name_ar FROM marts.dim_channel ORDER BY {order}").fetchall()
            )
        dimensions = {}
        if "dim_dimension" in tables:
            dimensions = dict(con.execute("SELECT dimension, name_ar FROM marts.dim_dimension").fetchall())
        return WarehouseFacts(tables, channels, dimensions)
    finally:
        con.close()


def count_rows(warehouse: Path, datasets: dict[str, dict]) -> dict[str, int]:
    """Rows of each dataset (its SQL, or its table) on the warehouse; 0 where it cannot be read
    (a table the warehouse was published without: the tile shows Superset's error)."""
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        counts = {}
        for name, dataset in datasets.items():
            source = f"({dataset['sql']})" if dataset.get("sql") else f"{dataset['schema']}.{dataset['table_name']}"
            try:
                counts[name] = con.execute(f"SELECT count(*) FROM {source} AS t").fetchall()[0][0]
            except duckdb.Error:
                counts[name] = 0
        return counts
    finally:
        con.close()


def render_bundle(bundle_dir: Path, warehouse: Path, database_uri: str) -> dict[str, str]:
    """The bundle's files (path inside bundle_dir -> YAML text) for this warehouse."""
    facts = read_facts(warehouse)
    fragments = sql_fragments(facts)
    docs = {
        p.relative_to(bundle_dir).as_posix(): yaml.safe_load(p.read_text(encoding="utf-8"))
        for p in sorted(bundle_dir.rglob("*.yaml"))
    }
    datasets = {}
    for path, doc in docs.items():
        if path.startswith("databases/"):
            doc["sqlalchemy_uri"] = database_uri
        elif path.startswith("datasets/"):
            if doc.get("sql"):
                doc["sql"] = Template(doc["sql"]).substitute(fragments)
            datasets[doc["table_name"]] = doc
        elif path.startswith("charts/") and "dim_month" not in facts.tables:
            columns = doc["params"].get("all_columns", [])
            doc["params"]["all_columns"] = [c for c in columns if c != MONTH_STATUS_COLUMN]
    dashboard = docs["dashboards/vob_dashboard.yaml"]
    dashboard["metadata"]["label_colors"] = label_colours(facts)
    heights = tile_heights(dashboard["position"], count_rows(warehouse, datasets))
    for tile, height in heights.items():
        dashboard["position"][tile]["meta"]["height"] = height
    return {path: yaml.safe_dump(doc, allow_unicode=True, sort_keys=False) for path, doc in docs.items()}


def write_bundle_zip(files: dict[str, str], zip_path: Path) -> Path:
    """The files zipped as Superset imports them (one root folder)."""
    zip_path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as bundle:
        for path, text in files.items():
            bundle.writestr(f"{BUNDLE_ROOT}/{path}", text)
    return zip_path

"""What `vob explain` needs for any fact table: the table's key, its published row, the
reckoning of a figure from its records, the arithmetic that re-does the warehouse's rounding,
and the text.

A table says how to read its key (`FactTable`), how to name a figure in words, the rule it is
computed by, and how to reckon it from the working database (`Reckoning`): the parts
(numerator, denominator, values' count and the values around a quantile), what each landing
file gives to them, and the figure recomputed from the parts, which the last line compares
with the published value. Only counts, sums and durations are read and printed: never an id.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from fractions import Fraction
from math import floor

import duckdb

from vob.base.periods import parse_period

MONTH_NAMES_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class ExplainError(ValueError):
    """The table, the key or the warehouse cannot be explained; the message says why."""


def parse_date(text: str, what: str, example: str) -> date:
    try:
        parts = [int(p) for p in text.split("-")]
        return date(parts[0], parts[1], parts[2] if len(parts) > 2 else 1)
    except (ValueError, IndexError):
        raise ExplainError(f"{text!r} is not a {what} (e.g. {example})") from None


def month_words(month: date) -> str:
    return f"{MONTH_NAMES_EN[month.month - 1]} {month.year}"


# ---------------------------------------------------------------- keys and published rows


def _grain_value(column: str, text: str) -> date | str:
    """A grain value as the warehouse holds it: months and snapshot dates as dates."""
    if column == "month":
        return parse_date(text, "month", "2025-03").replace(day=1)
    if column == "snapshot_date":
        return parse_date(text, "snapshot date", "2025-07-01")
    if column == "period":
        try:
            if parse_period(text).is_half_year:
                return text
        except ValueError:
            pass
        raise ExplainError(f"{text!r} is not a half-year (e.g. 2025-H1)")
    return text


def key_text(value: date | str, column: str) -> str:
    if isinstance(value, date):
        return f"{value:%Y-%m}" if column == "month" else f"{value:%Y-%m-%d}"
    return value


@dataclass(frozen=True)
class Key:
    table: FactTable
    values: dict[str, date | str]  # grain column: value
    measure: str

    def day(self, column: str) -> date:
        """A month or snapshot date of the key."""
        value = self.values[column]
        assert isinstance(value, date), column
        return value

    @property
    def text(self) -> str:
        """The figure's key as `marts.figure_sources` writes keys: grain values, then the measure."""
        grain = [key_text(v, c) for c, v in self.values.items()]
        return "|".join(grain + ([self.measure] if len(self.table.measures) > 1 else []))


@dataclass
class FileRow:
    """One landing file (or a workbook's sheet) behind a figure and what it gives to each part."""

    file: str
    rows_read: int | None
    rows_rejected: int | None
    gives: tuple[int | Fraction | None, ...]


@dataclass
class Reckoning:
    """A figure re-done from the working database's records."""

    lines: list[str]  # the parts and the arithmetic, with their numbers
    recomputed: int | Decimal | None
    columns: tuple[str, ...] = ()  # the parts each file gives
    files: list[FileRow] = field(default_factory=list)
    reasons: list[tuple[str, str, int]] = field(default_factory=list)  # file, reason, rows
    notes: list[str] = field(default_factory=list)
    adds_up: bool = True  # the files' column totals are meaningful (not a distinct count)


@dataclass(frozen=True)
class FactTable:
    name: str
    grain: tuple[str, ...]
    measures: tuple[str, ...]
    example: str
    words: Callable[[Key], str]  # the figure in words
    rule: Callable[[Key], str]  # how it is computed, without numbers
    reckon: Callable[[duckdb.DuckDBPyConnection, Key, dict], Reckoning]

    def usage(self) -> str:
        grain = " ".join(c.upper() for c in self.grain)
        measure = " MEASURE" if len(self.measures) > 1 else ""
        return f"{self.name} takes {grain}{measure}, e.g. `{self.example}` (measures: {', '.join(self.measures)})"

    def parse(self, parts: list[str]) -> Key:
        """The key of the command line; with one measure, naming it is allowed."""
        only = self.measures[0] if len(self.measures) == 1 else None
        if only and len(parts) == len(self.grain) + 1 and parts[-1] == only:
            parts = parts[:-1]
        if len(parts) != len(self.grain) + (only is None):
            raise ExplainError(self.usage())
        measure = only or parts[-1]
        if measure not in self.measures:
            raise ExplainError(f"{measure!r} is not a measure of {self.name}: {self.usage()}")
        return Key(self, {c: _grain_value(c, p) for c, p in zip(self.grain, parts)}, measure)


def published_row(con: duckdb.DuckDBPyConnection, key: Key) -> dict:
    """The figure's row of the published fact table; a clear error naming what is published."""
    table = key.table.name
    if not con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'marts' AND table_name = $t", {"t": table}
    ).fetchall()[0][0]:
        raise ExplainError(f"the published warehouse has no marts.{table}: run and publish its period first (vob run)")
    where = " AND ".join(f"{c} = ${c}" for c in key.values)
    cursor = con.execute(f"SELECT * FROM marts.{table} WHERE {where}", key.values)
    names = [d[0] for d in cursor.description]
    rows = cursor.fetchall()
    if rows:
        return dict(zip(names, rows[0]))
    first, *rest = key.table.grain
    first_text = key_text(key.values[first], first)
    if (
        rest
        and con.execute(
            f"SELECT count(*) FROM marts.{table} WHERE {first} = ${first}", {first: key.values[first]}
        ).fetchall()[0][0]
    ):
        others = " || ' ' || ".join(_as_text(c) for c in rest)
        shown = con.execute(
            f"SELECT DISTINCT {others} FROM marts.{table} WHERE {first} = ${first} ORDER BY 1",
            {first: key.values[first]},
        ).fetchall()
        hint = f"published {' × '.join(rest)} values of {first_text}"
    else:
        shown = con.execute(f"SELECT DISTINCT {_as_text(first)} FROM marts.{table} ORDER BY 1").fetchall()
        hint = f"published {first}s"
    listed = ", ".join(r[0] for r in shown) or "none"
    raise ExplainError(f"no published figure {table} {key.text} ({hint}: {listed})")


def _as_text(column: str) -> str:
    if column == "month":
        return "strftime(month, '%Y-%m')"
    if column == "snapshot_date":
        return "strftime(snapshot_date, '%Y-%m-%d')"
    return column


# ---------------------------------------------------------------- arithmetic


def half_away(value: Fraction, scale: int) -> Decimal:
    """`value` rounded half away from zero to `scale` decimals, as the warehouse stores it."""
    unit = 10**scale
    magnitude = floor(abs(value) * unit + Fraction(1, 2))
    return Decimal(magnitude if value >= 0 else -magnitude).scaleb(-scale)


def exact(value: int | Fraction | Decimal | None) -> str:
    """A number in full: exact when its decimals end, else to 6 decimals followed by `…`."""
    if value is None:
        return "NULL"
    if isinstance(value, Decimal):
        return f"{value:,}"
    fraction = Fraction(value)
    if fraction.denominator == 1:
        return f"{fraction.numerator:,}"
    denominator = fraction.denominator
    for prime in (2, 5):
        while denominator % prime == 0:
            denominator //= prime
    if denominator == 1:
        text = f"{Decimal(fraction.numerator) / Decimal(fraction.denominator):,f}"
        return text.rstrip("0").rstrip(".") if "." in text else text
    return f"{float(fraction):,.6f}…"


def ratio_lines(
    numerator: tuple[str, Fraction | int | None, str],
    denominator: tuple[str, int | None, str],
    times: int,
    scale: int,
    unit: str = "",
) -> tuple[list[str], Decimal | None]:
    """The parts of a ratio and its arithmetic; the ratio rounded half away from zero (NULL over 0)."""
    (num_name, num, num_words), (den_name, den, den_words) = numerator, denominator
    lines = [
        f"  numerator    {num_name} = {exact(num)}{unit}  ({num_words})",
        f"  denominator  {den_name} = {exact(den)}  ({den_words})",
    ]
    if not den or num is None:
        return lines + ["  over zero records the figure is NULL"], None
    value = Fraction(num) * times / den
    by = f" × {times}" if times != 1 else ""
    rounded = half_away(value, scale)
    lines.append(f"  {exact(num)}{by} / {exact(den)} = {exact(value)} → {rounded}")
    return lines, rounded


def quantile_lines(
    fraction: float, count: int, neighbours: list[Fraction], unit: str, scale_to: int = 1, per: int = 1
) -> tuple[list[str], Decimal | None]:
    """DuckDB's quantile_cont: position h = fraction × (count − 1) in the values sorted ascending,
    linear between the values at floor(h) and floor(h) + 1 (1st value = position 0); the result,
    divided by `per` (3,600 for hours), rounded half away from zero."""
    q = Fraction(str(fraction))
    lines = [f"  values = {count:,}"]
    if count == 0:
        return lines + ["  over no value the figure is NULL"], None
    h = q * (count - 1)
    k = floor(h)
    lo = neighbours[0]
    hi = neighbours[1] if len(neighbours) > 1 else lo
    lines.append(
        f"  position = {fraction} × ({count:,} − 1) = {exact(h)}: between value {k + 1:,} and value "
        f"{min(k + 2, count):,} in ascending order"
    )
    lines.append(f"  value {k + 1:,} = {exact(lo)}{unit}")
    lines.append(f"  value {min(k + 2, count):,} = {exact(hi)}{unit}")
    result = lo + (h - k) * (hi - lo)
    arithmetic = f"  {exact(lo)} + {exact(h - k)} × ({exact(hi)} − {exact(lo)}) = {exact(result)}{unit}"
    if per != 1:
        arithmetic += f"; / {per:,} = {exact(result / per)}"
        result = result / per
    rounded = half_away(result, scale_to)
    return lines + [f"{arithmetic} → {rounded}"], rounded


# ---------------------------------------------------------------- working database queries


def file_rows(con: duckdb.DuckDBPyConnection, files_sql: str, gives_sql: str, columns: tuple[str, ...], params: dict):
    """Per file of `files_sql` (source, path): rows read and rejected (meta.landing_files) and what
    it gives to each column of `gives_sql` (file, columns...), 0 when nothing."""
    gives = ", ".join(f"coalesce(g.{c}, 0)" for c in columns)
    rows = con.execute(
        f"""SELECT f.path, lf.rows_read, lf.rows_rejected, {gives}
            FROM ({files_sql}) f
            LEFT JOIN meta.landing_files lf ON lf.source = f.source AND lf.path = f.path
            LEFT JOIN ({gives_sql}) g ON g.file = f.path
            ORDER BY f.path""",
        params,
    ).fetchall()
    return [FileRow(path, read, rejected, tuple(rest)) for path, read, rejected, *rest in rows]


def rejected_reasons(
    con: duckdb.DuckDBPyConnection, source: str, files: list[str], sheet: str = ""
) -> list[tuple[str, str, int]]:
    """The rejected rows of these files (of a register's sheet), grouped by reason (a register's
    `sheet S, row N:` prefix dropped so that rows with the same fault group together)."""
    return con.execute(
        r"""SELECT file, regexp_replace(reason, '^sheet \w+, row \d+: ', '') AS why, count(*)
            FROM quality.rejected_rows
            WHERE source = $s AND file IN (SELECT unnest($files)) AND starts_with(reason, $prefix)
            GROUP BY ALL ORDER BY file, count(*) DESC, why""",
        {"s": source, "files": files, "prefix": f"sheet {sheet}," if sheet else ""},
    ).fetchall()


def neighbours(con: duckdb.DuckDBPyConnection, values_sql: str, count: int, fraction: float, params: dict):
    """The values at the quantile's two positions (floor(h), floor(h) + 1) of `values_sql`
    (one column `v`, NULLs excluded), sorted ascending."""
    if count == 0:
        return []
    k = floor(Fraction(str(fraction)) * (count - 1))
    rows = con.execute(
        f"SELECT v FROM ({values_sql}) WHERE v IS NOT NULL ORDER BY v LIMIT 2 OFFSET {k}", params
    ).fetchall()
    return [Fraction(r[0]) for r in rows]


# ---------------------------------------------------------------- text


def wrapped(text: str) -> list[str]:
    return textwrap.wrap(text, width=100, initial_indent="  ", subsequent_indent="  ")


def held(value) -> str:
    """A published value exactly as the warehouse holds it: `115534`, `20.00`, `NULL`."""
    if value is None:
        return "NULL"
    return f"{value:%Y-%m-%d}" if isinstance(value, date) else str(value)


def shown(value) -> str:
    """A published value for reading: integers with thousands separators, the rest as held."""
    return f"{value:,}" if isinstance(value, int) else held(value)


def file_table(columns: tuple[str, ...], files: list[FileRow], totals: bool) -> list[str]:
    header = ["file", "rows read", "rejected", *columns]
    body = [[f.file, exact(f.rows_read), exact(f.rows_rejected), *map(exact, f.gives)] for f in files]
    if totals:
        sums = [
            None if any(row[i] is None for row in numbers) else sum(row[i] or 0 for row in numbers)
            for numbers in [[(f.rows_read, f.rows_rejected, *f.gives) for f in files]]
            for i in range(len(header) - 1)
        ]
        body.append(["total", *map(exact, sums)])
    table = [header, *body]
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return [
        "  " + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row))
        for row in table
    ]


def render(key: Key, row: dict, reckoning: Reckoning | None, why_not: str, warehouse: str, landing: str) -> str:
    value = row[key.measure]
    others = ", ".join(f"{c} {held(v)}" for c, v in row.items() if c not in key.values and c != "sort_order")
    lines = [
        f"{key.table.name} {key.text} = {shown(value)}",
        f"  {key.table.words(key)}; published warehouse {warehouse}",
        f"  the published row, as the warehouse holds it: {others}",
        "",
        "Computed as:",
        *wrapped(key.table.rule(key)),
        "",
    ]
    if reckoning is None:
        lines.append(f"The records it was computed from and their files: not shown, {why_not}.")
        return "\n".join(lines)
    lines += ["From these records:", *reckoning.lines, ""]
    if reckoning.files:
        lines.append(f"The landing files behind it (under {landing}), what each read, rejected and gives:")
        lines += file_table(reckoning.columns, reckoning.files, reckoning.adds_up)
    else:
        lines.append("No landing file gives a record to it.")
    if reckoning.notes:
        lines.append("")
    for note in reckoning.notes:
        lines += wrapped(note)
    lines.append("")
    if reckoning.reasons:
        lines.append("Rejected rows of these files, by reason (they count nowhere):")
        lines += [f"  {file}: {n:,} × {reason}" for file, reason, n in reckoning.reasons]
    else:
        lines.append("Rejected rows: none in these files.")
    lines.append("")
    verdict = "equal to" if reckoning.recomputed == value else "DIFFERENT FROM"
    lines.append(
        f"Total: the records give {shown(reckoning.recomputed)}, {verdict} the published figure {shown(value)}."
    )
    return "\n".join(lines)

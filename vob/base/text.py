"""Text helpers with one owner each: SQL string literals, markdown tables and inline previews."""

from __future__ import annotations

import base64
from collections.abc import Iterable, Sequence
from typing import Any

INLINE_PREVIEW_MAX_BYTES = 400_000  # larger images are only linked by path in a run's metadata


def sql_quote(text: str) -> str:
    """A SQL string literal (for the statements that take no parameters: SET, ATTACH, COMMENT ON)."""
    return "'" + text.replace("'", "''") + "'"


def markdown_cell(value: Any) -> str:
    """A value as one markdown table cell: None is empty; a | or a line break would split the row."""
    return "" if value is None else str(value).replace("|", "\\|").replace("\n", " ")


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(markdown_cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def query_table(con, sql: str, params: dict | None = None) -> str:
    """A query's result as a markdown table (asset metadata previews)."""
    cursor = con.execute(sql, params or {})
    return markdown_table([d[0] for d in cursor.description], cursor.fetchall())


def preview_markdown(image: bytes, mime: str, alt: str, link: str) -> str:
    """`link` (markdown: where the full image is), with `image` inline above it when it is small enough
    for a run's metadata (INLINE_PREVIEW_MAX_BYTES)."""
    if len(image) > INLINE_PREVIEW_MAX_BYTES:
        return link
    return f"![{alt}](data:{mime};base64,{base64.b64encode(image).decode('ascii')})\n\n{link}"

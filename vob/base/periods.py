"""Reporting periods: a month `2025-03` or a half-year `2025-H1`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Period:
    key: str  # 2025-H1 or 2025-03
    months: tuple[str, ...]  # monthly partition keys, in order

    @property
    def is_half_year(self) -> bool:
        return "-H" in self.key


def parse_period(text: str) -> Period:
    text = text.strip()
    if match := re.fullmatch(r"(\d{4})-H([12])", text):
        year, half = int(match[1]), int(match[2])
        first = 1 if half == 1 else 7  # the half-year's months: written here only
        return Period(text, tuple(f"{year:04d}-{m:02d}" for m in range(first, first + 6)))
    if match := re.fullmatch(r"(\d{4})-(\d{2})", text):
        if 1 <= int(match[2]) <= 12:
            return Period(text, (text,))
    raise ValueError(f"period {text!r}: expected a half-year like 2025-H1 or a month like 2025-03")


def half_year_bounds(key: str) -> tuple[date, date]:
    """First and last day of a half-year."""
    parse_period(key)  # validates the key
    year = int(key[:4])
    return (date(year, 1, 1), date(year, 6, 30)) if key.endswith("H1") else (date(year, 7, 1), date(year, 12, 31))


def months_of_half(half_key: str) -> list[str]:
    """The six monthly keys of a half-year key (2025-H1: 2025-01 .. 2025-06)."""
    return list(parse_period(half_key).months)


def month_of(month_key: str) -> date:
    """The first day of a month key (2025-03: 2025-03-01)."""
    year, month = month_key.split("-")
    return date(int(year), int(month), 1)


def month_key(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def half_year_of_month(month: str) -> str:
    """The half-year key of a month key (2025-03: 2025-H1; 2025-07: 2025-H2)."""
    return f"{month[:4]}-H{1 if int(month[5:7]) <= 6 else 2}"


def month_spans(months: Iterable[str]) -> list[tuple[str, str]]:
    """Contiguous ranges of YYYY-MM months, in order: one run of a job per range."""
    spans: list[list[str]] = []
    for month in sorted(set(months)):
        year, number = map(int, month.split("-"))
        if spans:
            last_year, last_number = map(int, spans[-1][1].split("-"))
            if (year, number) == (last_year + last_number // 12, last_number % 12 + 1):
                spans[-1][1] = month
                continue
        spans.append([month, month])
    return [(first, last) for first, last in spans]

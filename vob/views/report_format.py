"""How the report writes figures and dates: thousands separators, a fixed number of decimals per
kind of figure, Western digits by default or Arabic-Indic digits (`VOB_REPORT_DIGITS=arabic`),
months by their Arabic names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from vob.marts.months import MONTH_NAMES_AR

MONTH_NAMES = MONTH_NAMES_AR  # one list of the Arabic month names (vob/marts/months.py)

WESTERN_TO_ARABIC = str.maketrans("0123456789,.%", "٠١٢٣٤٥٦٧٨٩٬٫٪")


@dataclass(frozen=True)
class NumberFormat:
    """How figures are written: thousands separators always; Arabic-Indic digits optionally."""

    arabic_digits: bool = False

    @classmethod
    def from_settings(cls, settings) -> NumberFormat:
        """VOB_REPORT_DIGITS (Settings.report_digits): 'western' (default) or 'arabic'."""
        return cls(arabic_digits=settings.report_digits == "arabic")

    def _digits(self, text: str) -> str:
        return text.translate(WESTERN_TO_ARABIC) if self.arabic_digits else text

    def integer(self, value: int | None) -> str:
        return "—" if value is None else self._digits(f"{int(value):,}")

    def percent(self, value: Decimal | float | None, places: int = 2) -> str:
        """A published percentage with the decimals WAREHOUSE.md gives it: 54.8 -> '54.80%', so a
        column of percentages lines up; '—' when NULL. Axis ticks pass places=0."""
        return "—" if value is None else self.decimal(value, places) + self._digits("%")

    def decimal(self, value: Decimal | float | None, places: int = 1) -> str:
        """A published DECIMAL as stored, e.g. 48.2 seconds or 4.31 of 5; '—' when NULL."""
        if value is None:
            return "—"
        return self._digits(f"{Decimal(str(value)).quantize(Decimal(1).scaleb(-places)):,f}")

    def plain(self, value: int | str) -> str:
        """A year or an ordinal: digits only, no separators."""
        return self._digits(str(value))


@dataclass(frozen=True)
class DateWords:
    """A day as the report writes it: day and year as digits, the month by its Arabic name."""

    day: str
    month: str
    year: str


def date_words(fmt: NumberFormat, day: date | None) -> DateWords | None:
    if day is None:
        return None
    return DateWords(day=fmt.plain(day.day), month=MONTH_NAMES[day.month - 1], year=fmt.plain(day.year))

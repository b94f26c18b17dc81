"""The published figures the sample must reproduce, read from the copy shipped here.

`published_figures.json` is a copy of shared/seed/published_figures.json (the
figures of the H1 2025 Voice of the Beneficiary report). The generator takes
every target from it instead of repeating numbers in code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources

from vob.landing.contract import COUNT_SOURCES, EVENT_SOURCES

FIGURES_FILE = "published_figures.json"

EVENT_CHANNELS = tuple(str(s.channel) for s in EVENT_SOURCES)  # the landing contract's channels
COUNT_CHANNELS = tuple(str(s.channel) for s in COUNT_SOURCES)

# The report's month cannot be read for the e-participations (see the JSON's
# notes); these are the months the sample uses, in the JSON's order.
E_PARTICIPATION_MONTHS = ("2025-03", "2025-05", "2025-06", "2025-06", "2025-05")


@dataclass(frozen=True)
class MonthTargets:
    """One month of the channels table."""

    month: str  # YYYY-MM
    contacts: dict[str, int]  # channel -> contacts (calls, email, chat, x, sms, self_service)
    tickets_total: int
    tickets_open: int
    tickets_closed: int

    @property
    def year_month(self) -> tuple[int, int]:
        year, month = self.month.split("-")
        return int(year), int(month)


@dataclass(frozen=True)
class PublishedFigures:
    period: str  # 2025-H1
    snapshot_date: date  # the CRM snapshot the report uses
    months: tuple[MonthTargets, ...]
    beneficiaries: int
    notes: int
    plans_total: int
    plans_in_progress: int
    plans_implemented: int
    dimension_share_pct: dict[str, float]
    e_participations: tuple[dict, ...]
    improvement_actions: tuple[str, ...]

    def month(self, month: str) -> MonthTargets:
        return next(m for m in self.months if m.month == month)


@cache
def load_published_figures() -> PublishedFigures:
    raw = json.loads(resources.files("vob.sample").joinpath(FIGURES_FILE).read_text("utf-8"))
    table = raw["channel_monthly"]
    columns = table["_columns"]
    months = []
    for key in sorted(k for k in table if not k.startswith("_")):
        row = dict(zip(columns, table[key], strict=True))
        months.append(
            MonthTargets(
                month=key,
                contacts={c: row[c] for c in EVENT_CHANNELS + COUNT_CHANNELS},
                tickets_total=row["tickets_total"],
                tickets_open=row["tickets_open"],
                tickets_closed=row["tickets_closed"],
            )
        )
    half = raw["half_year"]
    return PublishedFigures(
        period=raw["period"],
        snapshot_date=date.fromisoformat(raw["ticket_snapshot_date"]),
        months=tuple(months),
        beneficiaries=half["beneficiaries"],
        notes=half["notes"],
        plans_total=half["plans_total"],
        plans_in_progress=half["plans_in_progress"],
        plans_implemented=half["plans_implemented"],
        dimension_share_pct=dict(raw["dimension_share_pct"]),
        e_participations=tuple(raw["e_participations"]),
        improvement_actions=tuple(raw["improvement_actions"]),
    )

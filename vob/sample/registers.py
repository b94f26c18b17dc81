"""The half-year registers workbook `registers/vob_registers_2025-H1.xlsx`.

Four sheets, written with xlsxwriter (through polars), right-to-left as the
VoB team keeps them. Dates (`received_on`, `opened_on`, `implemented_on`) are
real Excel dates (cell format yyyy-mm-dd); `month` of e_participations is the
text `YYYY-MM`; `beneficiary_id` is text (blank when unknown); `action_no` a
number. The registers do not scale: they are hand-kept and stay at their
published size.

Besides the period's rows, the workbook holds what a hand-kept register
collects at its edges, which the contract's rules exclude: a few notes received
in late December 2024 (registered in January) and two plans opened in early
July 2025 (the workbook was exported mid-July).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import numpy as np
import polars as pl
import xlsxwriter

from . import clock, vocab
from .figures import E_PARTICIPATION_MONTHS, PublishedFigures
from .people import BeneficiaryPlan

STREAM = 31
PERIOD_START, PERIOD_END = date(2025, 1, 1), date(2025, 6, 30)  # inclusive
RELATIVE_PATH = "registers/vob_registers_2025-H1.xlsx"
WORKBOOK_CREATED = datetime(2025, 7, 14, 9, 30)  # fixed: the same seed gives the same bytes

TOTAL_TAGS = 5000  # the published shares are shares of 5,000 tags (see the figures' notes)
# Notes carrying several dimensions: (dimensions, notes). Single-tag notes make up the rest.
MULTI_TAG_NOTES = (
    (("speed", "outputs", "technology"), 30),
    (("speed", "outputs", "employees"), 20),
    (("speed", "outputs"), 400),
    (("speed", "technology"), 200),
    (("outputs", "employees"), 120),
    (("speed", "employees"), 100),
    (("technology", "employees"), 50),
    (("outputs", "procedures"), 30),
)
NOTE_SOURCES = (("najiz_ticket", 2350), ("survey", 1050), ("x", 600))
SURVEY_NEW_PEOPLE = 850  # survey notes signed by people with no ticket in the period
SURVEY_TICKET_PEOPLE = 120  # survey notes signed by people who also have a ticket
NOTES_BEFORE_PERIOD = 5  # received 2024-12-28..31, outside the half-year

# Corrective plans beyond the four linked to the improvement actions, by dimension.
PLAN_DIMENSIONS = {"speed": 26, "outputs": 15, "procedures": 8, "technology": 14, "employees": 12}
PLANS_BEFORE_2025 = 4  # opened Oct-Dec 2024 (they count: opened on or before the period's end)
PLANS_AFTER_PERIOD = (date(2025, 7, 2), date(2025, 7, 6))  # in the workbook, not counted


@dataclass
class RegistersReport:
    file: str = RELATIVE_PATH
    rows: dict[str, int] = field(default_factory=dict)  # sheet -> rows
    notes_outside_period: tuple[str, ...] = ()  # note_ids the rules must exclude
    plans_outside_period: tuple[str, ...] = ()  # plan_ids the rules must exclude
    note_beneficiary_ids: pl.Series = field(default_factory=pl.Series)  # distinct, period's notes


def dimension_tags(figures: PublishedFigures) -> dict[str, int]:
    """Tags per dimension that give the published shares (2,740 / 1,237 / ...)."""
    return {d: round(figures.dimension_share_pct[d] * TOTAL_TAGS / 100) for d in vocab.DIMENSIONS}


def note_dimension_sets(figures: PublishedFigures) -> list[tuple[tuple[str, ...], int]]:
    """(dimensions, notes) for every combination, single-tag notes included."""
    tags = dimension_tags(figures)
    singles = dict(tags)
    for dims, notes in MULTI_TAG_NOTES:
        for d in dims:
            singles[d] -= notes
    sets = [*MULTI_TAG_NOTES, *(((d,), n) for d, n in singles.items())]
    assert all(n >= 0 for _, n in sets), "MULTI_TAG_NOTES uses more tags than published"
    assert sum(n for _, n in sets) == figures.notes, "tags and notes do not match the figures"
    return sets


def _spread_dates(rng: np.random.Generator, n: int, first: date, last: date) -> np.ndarray:
    """`n` local day numbers in [first, last], weekday-weighted, sorted."""
    days = np.arange(clock.day_number(first), clock.day_number(last) + 1)
    weights = clock.day_weights(days)
    return np.repeat(days, rng.multinomial(n, weights / weights.sum()))


def _summaries(rng: np.random.Generator, primary: np.ndarray, secondary: np.ndarray) -> pl.Series:
    """Arabic summary: a phrase of the first dimension (and of the second, if any)."""
    phrases = [p for d in vocab.DIMENSIONS for p in vocab.NOTE_SUMMARIES[d]]
    offset = np.cumsum([0] + [len(vocab.NOTE_SUMMARIES[d]) for d in vocab.DIMENSIONS])
    size = np.diff(offset)

    def pick(dim: np.ndarray) -> pl.Series:
        safe = np.maximum(dim, 0)
        index = offset[safe] + (rng.random(len(dim)) * size[safe]).astype(np.int64)
        return pl.Series(phrases).gather(index)

    frame = pl.DataFrame({"first": pick(primary), "second": pick(secondary), "has": secondary >= 0})
    return frame.select(
        pl.when(pl.col("has"))
        .then(pl.concat_str(pl.col("first"), pl.lit("، و"), pl.col("second")))
        .otherwise(pl.col("first"))
        .alias("summary")
    ).to_series()


def _typed_dimensions(sets: list[tuple[tuple[str, ...], int]]) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Each combination as typed in the sheet, in its order then reversed (the order codes were typed in
    varies), with the index of its first and second dimension (-1: none) for the note's summary."""
    written = [",".join(dims) for dims, _ in sets] + [",".join(dims[::-1]) for dims, _ in sets]
    dims_index = {d: i for i, d in enumerate(vocab.DIMENSIONS)}
    first_dim = np.array([dims_index[d[0]] for d, _ in sets] + [dims_index[d[-1]] for d, _ in sets])
    second_dim = np.array(
        [dims_index[d[1]] if len(d) > 1 else -1 for d, _ in sets]
        + [dims_index[d[-2]] if len(d) > 1 else -1 for d, _ in sets]
    )
    return written, first_dim, second_dim


def _note_picks(rng: np.random.Generator, sets: list[tuple[tuple[str, ...], int]], n: int) -> np.ndarray:
    """Per note, which typed combination it carries (an index into `_typed_dimensions`' lists)."""
    combo = rng.permutation(np.repeat(np.arange(len(sets)), [k for _, k in sets]))
    reverse = rng.random(n) < 0.5  # the order codes were typed in varies
    return combo + len(sets) * reverse


def _note_sources(rng: np.random.Generator, n: int) -> np.ndarray:
    sources = np.array([s for s, k in NOTE_SOURCES for _ in range(k)])
    assert len(sources) == n, "NOTE_SOURCES must add up to the published notes"
    return rng.permutation(sources)


def _note_people(rng: np.random.Generator, sources: np.ndarray, plan: BeneficiaryPlan) -> np.ndarray:
    """Per note, the planned beneficiary who signed it (-1: no beneficiary id): Najiz notes by ticket
    people, survey notes by new people then by some ticket people, X notes by nobody known."""
    person = np.full(len(sources), -1, dtype=np.int64)
    najiz = np.flatnonzero(sources == "najiz_ticket")
    person[najiz] = rng.integers(0, plan.ticket_people, len(najiz))
    survey = rng.permutation(np.flatnonzero(sources == "survey"))
    new_people = min(plan.survey_people, len(survey))
    person[survey[:new_people]] = plan.survey_person(new_people)
    returning = survey[new_people : new_people + SURVEY_TICKET_PEOPLE]
    person[returning] = rng.integers(0, plan.ticket_people, len(returning))
    return person


def _note_ids(n: int) -> pl.Series:
    """FB-2024-01481.. for the notes received before the period, then FB-2025-00001.."""
    return pl.select(
        pl.concat_str(
            pl.lit("FB-"),
            pl.Series(np.r_[np.full(NOTES_BEFORE_PERIOD, 2024), np.full(n, 2025)]).cast(pl.String),
            pl.lit("-"),
            pl.Series(np.r_[np.arange(1, NOTES_BEFORE_PERIOD + 1) + 1480, np.arange(1, n + 1)])
            .cast(pl.String)
            .str.zfill(5),
        )
    ).to_series()


def feedback_notes(
    rng: np.random.Generator, figures: PublishedFigures, plan: BeneficiaryPlan
) -> tuple[pl.DataFrame, tuple[str, ...]]:
    sets = note_dimension_sets(figures)
    n = figures.notes
    written, first_dim, second_dim = _typed_dimensions(sets)
    pick = _note_picks(rng, sets, n)
    sources = _note_sources(rng, n)
    person = _note_people(rng, sources, plan)

    received = _spread_dates(rng, n, PERIOD_START, PERIOD_END)
    order = rng.permutation(n)  # notes arrive in no particular order of source or dimension
    before = _spread_dates(rng, NOTES_BEFORE_PERIOD, date(2024, 12, 28), date(2024, 12, 31))
    before_person = rng.integers(0, plan.ticket_people, NOTES_BEFORE_PERIOD)
    beneficiary = np.concatenate([before_person, person[order]])
    ids = np.where(beneficiary >= 0, plan.ids[np.maximum(beneficiary, 0)], 0)
    before_pick = rng.integers(0, len(written), NOTES_BEFORE_PERIOD)
    picks = np.concatenate([before_pick, pick[order]])
    note_ids = _note_ids(n)
    notes = pl.DataFrame(
        {
            "note_id": note_ids,
            "received_on": pl.Series(np.r_[before, received]).cast(pl.Date),
            "source": pl.Series(np.r_[np.full(NOTES_BEFORE_PERIOD, "najiz_ticket"), sources[order]]),
            "beneficiary_id": pl.Series(ids).cast(pl.String).set(pl.Series(beneficiary < 0), None),
            "dimensions": pl.Series(written).gather(picks),
            "summary": _summaries(rng, first_dim[picks], second_dim[picks]),
        }
    )
    assert notes.height == NOTES_BEFORE_PERIOD + n
    return notes, tuple(note_ids[:NOTES_BEFORE_PERIOD].to_list())


def _drawn_plans(rng: np.random.Generator) -> list[dict]:
    """Plans beyond the actions' four: per dimension, titles drawn from its vocabulary and units."""
    rows = []  # small hand-kept sheet: one dict per plan is fine here
    for dim, count in PLAN_DIMENSIONS.items():
        titles = [f"{t} - {u}" for t in vocab.PLAN_TITLES[dim] for u in vocab.PLAN_UNITS]
        for title in rng.choice(titles, count, replace=False):
            rows.append({"title": str(title), "dimension": dim, "action": None})
    return rows


def _opening_days(rng: np.random.Generator, n_plans: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Day numbers the drawn plans were opened: a few in late 2024, two after the period, the rest inside;
    with the indices of the plans after and inside the period."""
    n_after = len(PLANS_AFTER_PERIOD)
    order = rng.permutation(n_plans)
    opened = np.empty(n_plans, dtype=np.int64)
    early = order[:PLANS_BEFORE_2025]
    after = order[PLANS_BEFORE_2025 : PLANS_BEFORE_2025 + n_after]
    inside = order[PLANS_BEFORE_2025 + n_after :]
    opened[early] = _spread_dates(rng, len(early), date(2024, 10, 12), date(2024, 12, 29))
    opened[after] = [clock.day_number(d) for d in PLANS_AFTER_PERIOD]
    opened[inside] = _spread_dates(rng, len(inside), PERIOD_START, date(2025, 6, 26))
    return opened, after, inside


def _in_progress(
    rng: np.random.Generator, opened: np.ndarray, after: np.ndarray, inside: np.ndarray, plans_in_progress: int
) -> np.ndarray:
    """The plans after the period and the published number of the period's, mostly the most recent."""
    end = clock.day_number(PERIOD_END)
    in_progress = np.zeros(len(opened), dtype=bool)
    in_progress[after] = True
    # the most recent plans are the ones still in progress (with some randomness)
    keys = rng.random(len(inside)) ** (1.0 / np.exp(-(end - opened[inside]) / 45.0))
    in_progress[inside[np.argsort(-keys, kind="stable")[:plans_in_progress]]] = True
    return in_progress


def _action_plans() -> list[dict]:
    """The four plans behind the improvement actions: opened in winter, done by spring."""
    rows = []
    for k, (dim, title) in enumerate(vocab.ACTION_PLANS):
        opened_on = clock.day_number(date(2025, 1, 12)) + 17 * k
        rows.append(
            {
                "title": title,
                "dimension": dim,
                "opened_on": opened_on,
                "implemented_on": opened_on + 60 + 9 * k,
                "status": "implemented",
                "action": k,
            }
        )
    return rows


def _numbered_plans(rows: list[dict]) -> pl.DataFrame:
    """The plans by opening day and title, numbered CP-001.., with real dates."""
    plans = pl.DataFrame(rows, infer_schema_length=None).sort("opened_on", "title")
    return plans.with_columns(
        pl.concat_str(pl.lit("CP-"), pl.int_range(1, plans.height + 1).cast(pl.String).str.zfill(3)).alias("plan_id"),
        pl.col("opened_on").cast(pl.Date),
        pl.col("implemented_on").cast(pl.Date),
    )


def corrective_plans(
    rng: np.random.Generator, figures: PublishedFigures
) -> tuple[pl.DataFrame, list[str], tuple[str, ...]]:
    """The plans, the plan_ids of the four improvement actions, and those after the period."""
    rows = _drawn_plans(rng)
    n_generated = len(rows)
    n_counted = n_generated - len(PLANS_AFTER_PERIOD) + len(vocab.ACTION_PLANS)
    assert n_counted == figures.plans_total, "PLAN_DIMENSIONS must match plans_total"

    opened, after, inside = _opening_days(rng, n_generated)
    in_progress = _in_progress(rng, opened, after, inside, figures.plans_in_progress)
    took = rng.integers(14, 121, n_generated)
    implemented = np.minimum(opened + took, clock.day_number(PERIOD_END))
    for i, row in enumerate(rows):
        row["opened_on"] = int(opened[i])
        row["implemented_on"] = None if in_progress[i] else int(max(implemented[i], opened[i]))
        row["status"] = "in_progress" if in_progress[i] else "implemented"
    plans = _numbered_plans(rows + _action_plans())
    action_plans = plans.filter(pl.col("action").is_not_null()).sort("action").get_column("plan_id").to_list()
    after_ids = plans.filter(pl.col("opened_on") > PERIOD_END).get_column("plan_id").to_list()
    columns = ("plan_id", "title", "dimension", "status", "opened_on", "implemented_on")
    return plans.select(columns), action_plans, tuple(after_ids)


def e_participations(figures: PublishedFigures) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "title": [p["title_ar"] for p in figures.e_participations],
            "kind": [p["kind"] for p in figures.e_participations],
            "target_group": [p["target_group"] for p in figures.e_participations],
            "channel": [p["channel"] for p in figures.e_participations],
            "month": list(E_PARTICIPATION_MONTHS),
            "url": [p["url"] for p in figures.e_participations],
        }
    )


def improvement_actions(figures: PublishedFigures, plan_ids: list[str]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "action_no": list(range(1, len(figures.improvement_actions) + 1)),
            "title": list(figures.improvement_actions),
            "description": list(vocab.ACTION_DESCRIPTIONS),
            "plan_id": plan_ids,
        }
    )


def write_registers(out: Path, figures: PublishedFigures, plan: BeneficiaryPlan, seed: int) -> RegistersReport:
    rng = np.random.default_rng([seed, STREAM])
    notes, notes_before = feedback_notes(rng, figures, plan)
    plans, action_plan_ids, plans_after = corrective_plans(rng, figures)
    sheets = {
        "feedback_notes": notes,
        "corrective_plans": plans,
        "e_participations": e_participations(figures),
        "improvement_actions": improvement_actions(figures, action_plan_ids),
    }
    path = out / RELATIVE_PATH
    path.parent.mkdir(parents=True, exist_ok=True)
    workbook = xlsxwriter.Workbook(path)
    workbook.set_properties({"title": "سجلات صوت المستفيد - النصف الأول 2025", "created": WORKBOOK_CREATED})
    for name, frame in sheets.items():
        frame.write_excel(workbook=workbook, worksheet=name, autofit=True, dtype_formats={pl.Date: "yyyy-mm-dd"})
        worksheet = workbook.get_worksheet_by_name(name)
        assert worksheet is not None  # write_excel just made it
        worksheet.right_to_left()
    workbook.close()

    in_period = notes.filter(pl.col("received_on").is_between(PERIOD_START, PERIOD_END))
    return RegistersReport(
        rows={name: frame.height for name, frame in sheets.items()},
        notes_outside_period=notes_before,
        plans_outside_period=plans_after,
        note_beneficiary_ids=in_period.get_column("beneficiary_id").drop_nulls().unique(),
    )

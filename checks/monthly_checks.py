"""The quality gate of the monthly staging assets, as Dagster asset checks.

Per source, four checks run on each month of the run:

- `expectations` (blocking): the source's Great Expectations suite on the staged month;
  a month whose staged rows are unchanged since a passed validation reuses that
  outcome and is not validated again (vob/validations.py).
- `files_reconcile` (blocking): every file the month read is accounted for
  (rows read = rows loaded + rows rejected, recounted from the stored rows), and
  no file is invalid as a whole (missing required column, empty, not a contract name).
- `rejected_share` (blocking): the month's rejected rows stay within
  VOB_REJECT_THRESHOLD_PCT (default 1 %) of the rows read.
- `volume_in_band` (warning): the month's volume is within a plausible band of
  the previous months'.

A failed blocking check stops the run before the facts and the publish step:
BI tools keep the last good warehouse.
"""

import statistics
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import dagster as dg
import duckdb

from assets.resources import MONTH_POOL, VobWarehouse
from vob.gx_suites import SuiteOutcome, validate_sources
from vob.landing import COUNT_SOURCES, CRM, EVENT_SOURCES, Source, next_month
from vob.loading import account_month
from vob.months import has_own_records
from vob.periods import month_of
from vob.text import markdown_table
from vob.validations import (
    MonthProfile,
    StoredValidation,
    last_validations,
    month_profiles,
    record_validations,
    reusable,
)
from warehouse.lake import month_scope

VOLUME_BAND = (0.4, 2.5)  # plausible volume: 40 % to 250 % of the median of previous months
HISTORY_MONTHS = 3
SHOWN_REJECTS = 10


@dataclass
class CheckOutcome:
    passed: bool
    summary: str
    problems: list[str] = field(default_factory=list)
    metadata: dict = field(default_factory=dict)


# ---------------------------------------------------------------- the checks (pure over a connection)


def month_files(con: duckdb.DuckDBPyConnection, source: Source, month: date) -> list[str]:
    rows = con.execute(
        "SELECT path FROM meta.month_files WHERE month = $m AND source = $s ORDER BY path",
        {"m": month, "s": source.name},
    ).fetchall()
    return [r[0] for r in rows]


@dataclass
class ValidationPlan:
    """What the gate knows of a source's months before validating: their staged rows'
    count and fingerprint, and the last stored validation of each (vob/validations.py)."""

    source: Source
    profiles: dict[date, MonthProfile]
    stored: dict[date, StoredValidation]

    @property
    def rows(self) -> dict[date, int]:
        return {m: p.rows for m, p in self.profiles.items()}

    @property
    def fingerprints(self) -> dict[date, str]:
        return {m: p.fingerprint(self.source) for m, p in self.profiles.items()}

    @property
    def changed(self) -> list[date]:
        """Months to validate: new or changed rows, or no stored pass."""
        return [m for m, fp in self.fingerprints.items() if not reusable(self.stored.get(m), fp)]


def plan_validation(con, source: Source, months: list[date]) -> ValidationPlan:
    return ValidationPlan(source, month_profiles(con, source, months), last_validations(con, source, months))


@dataclass(frozen=True)
class Validated:
    """What Great Expectations said of a source's changed months."""

    passed: bool
    summary: str
    details: str  # markdown table of the expectations' outcomes
    problems: list[str]


def validated(plan: ValidationPlan, suite: SuiteOutcome) -> Validated:
    """GX's verdict on a source's months, with the rule counts it was given (the month profiles)."""
    rows = sum(plan.rows[m] for m in suite.months)
    broken = [(m, rule, n) for m in suite.months for rule, n in plan.profiles[m].violations if n]
    table = markdown_table(
        ["month", "rule", "staged rows breaking it", "ok"],
        [
            (f"{m:%Y-%m}", rule, f"{n:,}", "✅" if not n else "❌")
            for m in suite.months
            for rule, n in plan.profiles[m].violations
        ],
    )
    months = ", ".join(f"{m:%Y-%m}" for m in suite.months)
    verdicts = ", ".join(f"{o.expectation} {'met' if o.success else 'not met'}" for o in suite.outcomes)
    details = f"{rows:,} rows of {months}; Great Expectations: {verdicts}\n\n{table}"
    problems = [f"{m:%Y-%m}: {n:,} staged rows break the rule {rule!r}" for m, rule, n in broken]
    if suite.failures and not problems:  # GX saw what the counts did not: say what it saw
        problems = [f"{o.expectation}: observed {o.observed_value}" for o in suite.failures]
    met = len(suite.outcomes) - len(suite.failures)
    rules = len({rule for m in suite.months for rule, _ in plan.profiles[m].violations})
    summary = (
        f"{met} of {len(suite.outcomes)} expectations met on {rows:,} rows of {months} "
        f"({rules} rules counted on every row, {len(broken)} broken)"
    )
    return Validated(not problems and not suite.failures, summary, details, problems)


def check_expectations(plan: ValidationPlan, now: Validated | None) -> CheckOutcome:
    """GX's outcome on the changed months (`now`; None when no month changed) and the
    stored passes of the unchanged ones."""
    reused = [plan.stored[m] for m in plan.fingerprints if m not in plan.changed]
    summaries = [now.summary] if now else []
    tables = [now.details] if now else []
    if reused:
        summaries.append(f"{', '.join(f'{v.month:%Y-%m}' for v in reused)} unchanged, not re-validated")
        tables += list(dict.fromkeys(v.details for v in reused))
    metadata: dict[str, dg.MetadataValue] = {"expectations": dg.MetadataValue.md("\n\n".join(tables))}
    if reused:
        metadata["unchanged"] = dg.MetadataValue.text(
            "\n".join(
                f"{v.month:%Y-%m}: unchanged since run {v.run_id} (validated {v.validated_at:%Y-%m-%d %H:%M %Z}), "
                f"not re-validated; then: {v.summary}"
                for v in reused
            )
        )
    problems = now.problems if now else []
    return CheckOutcome(not problems, "; ".join(summaries), problems, metadata)


def check_files_reconcile(con, source: Source, months: list[date]) -> CheckOutcome:
    problems, rows = [], []
    for month in months:
        files = month_files(con, source, month)
        audit = con.execute(
            f"""SELECT f.path, f.rows_read, f.rows_loaded, f.rows_rejected, f.file_error,
                       (SELECT count(*) FROM raw.{source.name} r WHERE r.file = f.path) AS stored,
                       (SELECT count(*) FROM quality.rejected_rows q
                         WHERE q.source = f.source AND q.file = f.path) AS kept
                FROM meta.landing_files f
                WHERE f.source = $s AND f.path IN (SELECT unnest($files)) ORDER BY f.path""",
            {"s": source.name, "files": files},
        ).fetchall()
        missing = sorted(set(files) - {r[0] for r in audit})
        problems += [f"{path}: read by {month:%Y-%m} but never accounted for" for path in missing]
        for path, read, loaded, rejected, error, stored, kept in audit:
            rows.append((f"{month:%Y-%m}", path, read, loaded, rejected, error))
            if error:
                problems.append(f"{path} line 1: file invalid: {error}")
            if read != loaded + rejected or loaded != stored or rejected != kept:
                problems.append(
                    f"{path}: rows read {read} != loaded {loaded} + rejected {rejected} "
                    f"(stored {stored}, rejected rows kept {kept})"
                )
    table = markdown_table(["month", "file", "read", "loaded", "rejected", "file error"], rows)
    summary = f"{len(rows)} file(s) reconciled, {len(problems)} problem(s)"
    return CheckOutcome(not problems, summary, problems, {"files": dg.MetadataValue.md(table)})


def check_rejected_share(con, source: Source, months: list[date], threshold_pct: float) -> CheckOutcome:
    problems, shares = [], {}
    for month in months:
        account = account_month(con, source, month, month_files(con, source, month))
        shares[f"{month:%Y-%m}"] = round(account.rejected_pct, 4)
        if account.rejected_pct > threshold_pct:
            problems.append(
                f"{month:%Y-%m}: {account.rows_rejected:,} of {account.rows_read:,} rows rejected "
                f"({account.rejected_pct:.2f} % > {threshold_pct} %)"
            )
            problems += [f"  {line}" for line in rejected_examples(con, source, month)]
    summary = f"rejected share by month (threshold {threshold_pct} %): {shares}"
    return CheckOutcome(not problems, summary, problems, {"rejected_pct": dg.MetadataValue.json(shares)})


def rejected_examples(con, source: Source, month: date, limit: int = SHOWN_REJECTS) -> list[str]:
    rows = con.execute(
        """SELECT file, line_no, reason, count(*) OVER () FROM quality.rejected_rows
           WHERE source = $s AND file IN (SELECT unnest($files)) ORDER BY file, line_no LIMIT $n""",
        {"s": source.name, "files": month_files(con, source, month), "n": limit},
    ).fetchall()
    return [f"{file} line {line}: {reason}" for file, line, reason, _ in rows]


def month_volume(con, source: Source, month: date) -> int:
    if source.kind == "counts":
        sql = "SELECT coalesce(sum(count), 0) FROM staging.daily_counts WHERE month = $m AND source = $s"
        return con.execute(sql, {"m": month, "s": source.name}).fetchall()[0][0]
    if source.kind == "snapshot":
        sql = "SELECT count(*) FROM staging.crm WHERE month = $m AND file_date = (SELECT max(file_date) FROM staging.crm WHERE month = $m)"
        return con.execute(sql, {"m": month}).fetchall()[0][0]
    return con.execute(f"SELECT count(*) FROM staging.{source.name} WHERE month = $m", {"m": month}).fetchall()[0][0]


def check_volume(con, source: Source, months: list[date], now: datetime | None = None) -> CheckOutcome:
    now = now or datetime.now(UTC)
    problems, notes = [], []
    for month in months:
        if not has_own_records(con, month):  # no rows published for it (vob/months.py): nothing to compare
            notes.append(f"{month:%Y-%m}: no records of its own in any source, not published")
            continue
        volume = month_volume(con, source, month)
        if next_month(month) > now.date():
            notes.append(f"{month:%Y-%m}: {volume:,} (month in progress, not compared)")
            continue
        history = [
            month_volume(con, source, m)
            for (m,) in con.execute(
                "SELECT DISTINCT month FROM meta.month_files WHERE source = $s AND month < $m "
                "ORDER BY month DESC LIMIT $n",
                {"s": source.name, "m": month, "n": HISTORY_MONTHS},
            ).fetchall()
        ]
        history = [h for h in history if h > 0]
        if not history:
            notes.append(f"{month:%Y-%m}: {volume:,} (no earlier month to compare)")
            continue
        median = statistics.median(history)
        low, high = VOLUME_BAND[0] * median, VOLUME_BAND[1] * median
        line = f"{month:%Y-%m}: {volume:,} vs median {median:,.0f} of {len(history)} earlier month(s), band [{low:,.0f}, {high:,.0f}]"
        notes.append(line)
        if not low <= volume <= high:
            problems.append(line)
    return CheckOutcome(not problems, "; ".join(notes), problems)


# ---------------------------------------------------------------- Dagster wiring


CHECKS = (
    (
        "expectations",
        True,
        "Great Expectations on the staged month's profile: no row breaks a rule (ids present and unique, "
        "timestamps inside the month, values in their sets, the landing rules across fields).",
    ),
    ("files_reconcile", True, "Every file read is accounted for: rows read = loaded + rejected; no invalid file."),
    ("rejected_share", True, "Rejected rows within VOB_REJECT_THRESHOLD_PCT of the rows read."),
    ("volume_in_band", False, "Volume within 40 % to 250 % of the median of the previous months (warning)."),
)


def _result(name: str, key: dg.AssetKey, outcome: CheckOutcome, blocking: bool) -> dg.AssetCheckResult:
    metadata = {"summary": dg.MetadataValue.text(outcome.summary), **outcome.metadata}
    if outcome.problems:
        metadata["problems"] = dg.MetadataValue.text("\n".join(outcome.problems[:50]))
    return dg.AssetCheckResult(
        check_name=name,
        asset_key=key,
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR if blocking else dg.AssetCheckSeverity.WARN,
        metadata=metadata,
    )


GATED_SOURCES = (*EVENT_SOURCES, *COUNT_SOURCES, CRM)


def gate_outcomes(vob: VobWarehouse, months: list[date], run_id: str | None) -> dict[str, dict[str, CheckOutcome]]:
    """Every check of every gated source. Great Expectations runs once, through one data
    source, on the months whose staged rows changed since their last passed validation;
    when no month changed it is not even imported."""
    settings = vob.settings()
    # the months and the earlier ones check_volume compares with (read only in lake mode)
    scope = month_scope(*months, history=HISTORY_MONTHS, read_tables=("staging", "meta.month_files"))
    with vob.work_session(scope, run_id) as work:
        plans = {source: plan_validation(work.con, source, months) for source in GATED_SOURCES}
        to_validate = {source: plan.changed for source, plan in plans.items() if plan.changed}
        # GX opens the file itself: no other connection of this process may hold it meanwhile.
        with work.released() as path:
            suites = validate_sources(path, to_validate, settings.duckdb_memory_limit) if to_validate else {}
        outcomes = {}
        con = work.con
        for source, plan in plans.items():
            now = validated(plan, suites[source.name]) if source.name in suites else None
            if now is not None:
                changed = {m: plan.fingerprints[m] for m in plan.changed}
                record_validations(con, source, changed, now.passed, now.summary, now.details, run_id)
            outcomes[source.name] = {
                "expectations": check_expectations(plan, now),
                "files_reconcile": check_files_reconcile(con, source, months),
                "rejected_share": check_rejected_share(con, source, months, settings.reject_threshold_pct),
                "volume_in_band": check_volume(con, source, months),
            }
    return outcomes


@dg.multi_asset_check(
    name="monthly_quality_gate",
    # One step for all sources: it reads the working DuckDB file, so it takes its
    # turn in the writer pool, and one turn costs less than seven.
    pool=MONTH_POOL,
    specs=[
        dg.AssetCheckSpec(name, asset=dg.AssetKey(["staging", source.name]), blocking=blocking, description=text)
        for source in GATED_SOURCES
        for name, blocking, text in CHECKS
    ],
)
def monthly_quality_gate(context: dg.AssetCheckExecutionContext, vob: VobWarehouse):
    months = [month_of(k) for k in context.op_execution_context.partition_keys]
    gate = gate_outcomes(vob, months, context.op_execution_context.run_id)
    for source in GATED_SOURCES:
        key = dg.AssetKey(["staging", source.name])
        outcomes = gate[source.name]
        for name, blocking, _ in CHECKS:
            outcome = outcomes[name]
            if not outcome.passed:
                context.log.warning(f"{key.to_user_string()} {name} failed: " + "; ".join(outcome.problems[:5]))
            yield _result(name, key, outcome, blocking)


monthly_checks = [monthly_quality_gate]

"""What failed in a run, read from its events: the one summary behind `vob run`'s report and the alert."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import dagster as dg
from dagster_shared.error import SerializableErrorInfo  # what a failed step's error is (public: dagster-shared)


@dataclass(frozen=True)
class FailedStep:
    step: str
    error: str  # the framework's message, then each cause down to the user code's own error


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    severity: str
    detail: str | None  # the check's "problems" or "summary" metadata (file, line, reason)


@dataclass
class RunFailures:
    steps: list[FailedStep] = field(default_factory=list)
    checks: list[FailedCheck] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # steps not run: an upstream step or blocking check failed


def error_chain(error: SerializableErrorInfo | None) -> str:
    if error is None:
        return "unknown error"
    message = error.message.strip()
    while error.cause is not None:
        error = error.cause
        message += f" (caused by: {error.message.strip()})"
    return message


def run_failures(events: Iterable[dg.DagsterEvent]) -> RunFailures:
    found = RunFailures()
    for event in events:
        data = event.event_specific_data
        if event.event_type == dg.DagsterEventType.STEP_FAILURE:
            found.steps.append(FailedStep(str(event.step_key), error_chain(event.step_failure_data.error)))
        elif isinstance(data, dg.AssetCheckEvaluation) and not data.passed:
            detail = data.metadata.get("problems") or data.metadata.get("summary")
            found.checks.append(
                FailedCheck(
                    data.asset_key.to_user_string(),
                    data.check_name,
                    data.severity.value if data.severity else "ERROR",
                    None if detail is None else str(detail.value),
                )
            )
        elif event.event_type == dg.DagsterEventType.STEP_SKIPPED:
            found.skipped.append(str(event.step_key))
    return found

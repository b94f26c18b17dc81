"""The one change this project makes to Dagster's own code, applied by `apply_dagster_patch()`, which the
code location calls (pipelines/definitions.py) before it defines anything.

Dagster 1.13's `InstanceConcurrencyContext.interval_to_next_pending_claim_check` returns
`min([0, *waits])`, never more than 0: a step of the in-process executor blocked on a pool slot (the
`vob_warehouse_writer` pool, one writer of the working DuckDB file) re-claims it in a busy loop at 100 %
of a core for as long as another run holds the slot. The fix proposed upstream, dagster-io/dagster#20367
("[concurrency] fix pending claim check sleep intervals"), was closed unmerged. The replacement returns the
intended minimum of the waits, so the step sleeps on Dagster's own back-off (1 s growing to 15 s).

tests/test_dagster_patch.py fails when Dagster's behaviour changes: when Dagster waits on its own (drop this
module), or when the private method or its attributes are renamed (rewrite it).
"""

from __future__ import annotations

import time

from dagster._core.execution.plan.instance_concurrency_context import InstanceConcurrencyContext

UPSTREAM = "https://github.com/dagster-io/dagster/pull/20367"
MIN_CLAIM_WAIT_SECONDS = 0.5  # a blocked step whose back-off is not known yet
DAGSTER_INTERVAL = InstanceConcurrencyContext.interval_to_next_pending_claim_check  # Dagster's own, kept


def interval_to_next_pending_claim_check(self: InstanceConcurrencyContext) -> float:
    """Seconds until the earliest blocked step may re-check for its slot (never negative)."""
    if not self._pending_claims:
        return 0.0
    waits = [ready_at - time.time() for ready_at in self._pending_timeouts.values()]
    return max(0.0, min(waits)) if waits else MIN_CLAIM_WAIT_SECONDS


def apply_dagster_patch() -> None:
    """A step blocked on a pool slot sleeps until its next re-check instead of spinning (see above).
    Idempotent: the code location may be imported more than once in a process."""
    InstanceConcurrencyContext.interval_to_next_pending_claim_check = interval_to_next_pending_claim_check

"""Freshness of the monthly facts: some month of `marts/fct_channel_monthly` and `marts/fct_tickets_monthly`
must have been refreshed within 26 hours (the nightly run is daily, with two hours of slack).

Dagster 1.13's FreshnessPolicy, applied once to the code location's assets (`with_freshness`, called by
pipelines/definitions.py): the daemon evaluates it (every 30 s) and the UI shows each asset's freshness
(*Fresh* / *Overdue*). It replaces the superseded `build_last_update_freshness_checks` and its sensor.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from assets.monthly import fct_channel_monthly, fct_tickets_monthly

FRESHNESS_HOURS = 26
FACTS_FRESHNESS = dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=FRESHNESS_HOURS))
FRESH_FACTS = frozenset({fct_channel_monthly.key, fct_tickets_monthly.key})


def with_freshness(assets: list) -> list:
    """The code location's assets, the facts with their freshness policy (applied here, once)."""
    return [
        asset.map_asset_specs(
            lambda spec: dg.apply_freshness_policy(spec, FACTS_FRESHNESS) if spec.key in FRESH_FACTS else spec
        )
        if isinstance(asset, dg.AssetsDefinition) and set(asset.keys) & FRESH_FACTS
        else asset
        for asset in assets
    ]

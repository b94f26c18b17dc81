"""A snapshot of the code location: asset keys (group, partitions, dependencies, pool, kinds, freshness),
checks, jobs, schedules, sensors and resources, held against tests/snapshots/definitions.json, so that a
change to the graph is a visible diff in review.

After an intended change, write the snapshot anew and commit it with the change:

    UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_definitions_snapshot.py
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from pipelines.definitions import defs

SNAPSHOT = Path(__file__).with_name("snapshots") / "definitions.json"


def partitions(definition: dg.PartitionsDefinition | None) -> dict | None:
    """What a partitions definition is, without the keys that depend on today's date."""
    if definition is None:
        return None
    if isinstance(definition, dg.TimeWindowPartitionsDefinition):
        return {
            "kind": type(definition).__name__,
            "first": definition.get_first_partition_key(),
            "cron": definition.cron_schedule,
            "timezone": definition.timezone,
            "fmt": definition.fmt,
            "end_offset": definition.end_offset,
        }
    return {"kind": type(definition).__name__, "first": definition.get_partition_keys()[0]}


def freshness(node) -> str | None:
    policy = getattr(node, "freshness_policy", None)
    return None if policy is None else repr(policy)


def describe(definitions: dg.Definitions) -> dict:
    repository = definitions.get_repository_def()
    graph = repository.asset_graph
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "partitions": partitions(node.partitions_def),
            "deps": sorted(parent.to_user_string() for parent in node.parent_keys),
            "pools": sorted(node.pools or []),
            "kinds": sorted(node.kinds),
            "freshness": freshness(node),
        }
    checks = sorted(f"{check.asset_key.to_user_string()}:{check.name}" for check in graph.asset_check_keys)
    jobs = {
        job.name: {
            "assets": sorted(key.to_user_string() for key in job.asset_layer.selected_asset_keys),
            "partitions": partitions(job.partitions_def),
        }
        for job in sorted(repository.get_all_jobs(), key=lambda j: j.name)
        if not job.name.startswith("__")
    }
    schedules = {
        schedule.name: {
            "cron": schedule.cron_schedule,
            "timezone": schedule.execution_timezone,
            "job": schedule.job_name,
            "default_status": schedule.default_status.value,
        }
        for schedule in repository.schedule_defs
    }
    sensors = {
        sensor.name: {
            "type": type(sensor).__name__,
            "default_status": sensor.default_status.value,
            "minimum_interval_seconds": sensor.minimum_interval_seconds,
            "jobs": sorted(target.job_name for target in sensor.targets) if sensor.has_jobs else [],
        }
        for sensor in sorted(repository.sensor_defs, key=lambda s: s.name)
    }
    return {
        "assets": assets,
        "checks": checks,
        "jobs": jobs,
        "schedules": schedules,
        "sensors": sensors,
        "resources": sorted(repository.get_top_level_resources()),
    }


def test_the_definitions_are_the_snapshot():
    current = json.dumps(describe(defs), indent=2, ensure_ascii=False, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(current, encoding="utf-8")
    assert SNAPSHOT.read_text(encoding="utf-8") == current, (
        "the code location's graph changed: if intended, run "
        "`UPDATE_SNAPSHOTS=1 .venv/bin/python -m pytest -q tests/test_definitions_snapshot.py` "
        "and commit tests/snapshots/definitions.json with the change"
    )

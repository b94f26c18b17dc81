"""The `bi_dashboard` asset: the Superset dashboard rebuilt from the published warehouse (vob/views/superset.py)."""

import dagster as dg

from assets.publish import published_warehouse
from assets.resources import SupersetDashboard
from vob.base.settings import Settings
from vob.base.text import preview_markdown
from vob.views.superset import (
    DASHBOARD_PATH,
    DASHBOARD_USER,
    DEFAULT_PORT,
    DashboardBuild,
    DashboardError,
    Superset,
    build_dashboard,
)


def dashboard_metadata(build: DashboardBuild, superset: Superset, settings: Settings) -> dict:
    metadata = {
        "dashboard_path": dg.MetadataValue.text(DASHBOARD_PATH),
        "url_when_served": dg.MetadataValue.url(f"http://127.0.0.1:{DEFAULT_PORT}{DASHBOARD_PATH}"),
        "serve": dg.MetadataValue.text("`vob dashboard` serves it on 127.0.0.1:8088"),
        "user": dg.MetadataValue.text(DASHBOARD_USER),
        "password_file": dg.MetadataValue.path(str(superset.password_file)),
        "bundle": dg.MetadataValue.path(str(build.bundle)),
        "warehouse": dg.MetadataValue.path(str(settings.warehouse_path)),
        "superset_home": dg.MetadataValue.path(str(superset.home)),
        "metadata_db_created": dg.MetadataValue.bool(build.prepared),
        "build_seconds": dg.MetadataValue.float(round(build.seconds, 1)),
    }
    if build.screenshot is None:
        metadata["screenshot"] = dg.MetadataValue.text(f"not taken: {build.skipped_screenshot}")
        return metadata
    metadata["charts_in_error"] = dg.MetadataValue.text("\n".join(build.charts_in_error) or "none")
    metadata["screenshot"] = dg.MetadataValue.path(str(build.screenshot))
    image = build.preview.read_bytes() if build.preview else b""
    link = f"Screenshot: `{build.screenshot}`"
    metadata["preview"] = dg.MetadataValue.md(preview_markdown(image, "image/jpeg", "dashboard", link))
    return metadata


@dg.asset(
    group_name="bi",
    deps=[published_warehouse],
    kinds={"superset"},
    pool="superset_metadata",  # one build at a time: Superset's metadata database is one SQLite file
    description="The VoB team's dashboard on Apache Superset (Arabic, right to left), imported from "
    "bi/superset/bundle/ against the published warehouse (read-only), with a screenshot. Needs "
    "Superset's own environment (bi/superset/install); the `dashboard_after_publish` sensor "
    "refreshes it after every publish.",
)
def bi_dashboard(context: dg.AssetExecutionContext, dashboard: SupersetDashboard) -> dg.MaterializeResult:
    settings = dashboard.settings
    superset = Superset(settings.superset_home)
    try:
        build = build_dashboard(settings, superset)
    except DashboardError as err:
        raise dg.Failure(str(err)) from None
    if build.skipped_screenshot:
        context.log.warning(f"dashboard imported, no screenshot: {build.skipped_screenshot}")
    if build.charts_in_error:  # e.g. no half-year published yet: the other charts still serve
        context.log.warning("dashboard charts in error: " + "; ".join(build.charts_in_error))
    context.log.info(f"dashboard imported from {build.bundle} in {build.seconds:.0f} s")
    return dg.MaterializeResult(metadata=dashboard_metadata(build, superset, settings))


dashboard_job = dg.define_asset_job(
    "dashboard",
    selection=dg.AssetSelection.assets(bi_dashboard),
    description="Rebuild the Superset dashboard from the published warehouse, with a screenshot.",
)

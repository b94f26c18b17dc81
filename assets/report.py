"""The half-year report asset: `report/vob_report`, one partition per half-year.

It reads the PUBLISHED warehouse read-only, as a BI tool does (no second
computation), renders the HTML (vob/report.py), prints it to PDF and takes a
preview screenshot with headless Chromium (vob/browser.py), and writes
`<report_dir>/vob_report_<period>.html|.pdf|.png`.
"""

import base64

import dagster as dg

from vob.browser import find_chromium, print_pdf, screenshot
from assets.publish import published_warehouse
from vob.report import NumberFormat, ReportDataError, read_report_data, render_html
from vob.files import share_with_bi, shared_dir
from assets.partitions import half_year_partitions
from assets.resources import VobWarehouse
from warehouse.store import connect

INLINE_PREVIEW_MAX_BYTES = 400_000  # larger thumbnails are only linked by path


@dg.asset(
    key_prefix="report",
    group_name="report",
    partitions_def=half_year_partitions,
    deps=[published_warehouse],
    kinds={"html", "pdf"},
    description="The half-year Voice of the Beneficiary report in Arabic (right-to-left), rendered from "
    "the published warehouse only, as a self-contained HTML file (fonts and charts inline, no network "
    "request) and a PDF. VOB_REPORT_DIGITS=arabic writes Arabic-Indic digits.",
)
def vob_report(context: dg.AssetExecutionContext, vob: VobWarehouse) -> dg.MaterializeResult:
    settings = vob.settings()
    period = context.partition_key
    if not settings.warehouse_path.exists():
        raise dg.Failure(f"no published warehouse at {settings.warehouse_path}: run and publish {period} first")
    con = connect(settings.warehouse_path, read_only=True)
    try:
        data = read_report_data(con, period)
    except ReportDataError as err:
        raise dg.Failure(str(err)) from err
    finally:
        con.close()
    fmt = NumberFormat.from_settings(settings)
    if data.unpublished_tables:
        context.log.warning(
            "the published warehouse lacks the half-year marts "
            + ", ".join(f"marts.{t}" for t in data.unpublished_tables)
            + ": their parts of the report are empty (run the half-year facts, then publish)"
        )

    shared_dir(settings.report_dir, settings)
    stem = settings.report_dir / f"vob_report_{period}"
    html_path, pdf_path = stem.with_suffix(".html"), stem.with_suffix(".pdf")
    preview_path, thumb_path = stem.with_suffix(".png"), stem.parent / f"{stem.name}_thumb.png"
    html_path.write_text(render_html(data, fmt), encoding="utf-8")
    share_with_bi(html_path, settings)  # aggregates, like the warehouse: VOB_WAREHOUSE_MODE, VOB_BI_GROUP
    if find_chromium(settings.chromium) is None:
        # A machine without a browser still gets the HTML report; the PDF and the
        # preview need headless Chromium (README, `.ci/run` installs it).
        context.log.warning(
            f"report {period}: {html_path} written; no PDF or preview: headless Chromium not found "
            "(`apt-get install chromium`, or set VOB_CHROMIUM)"
        )
        return dg.MaterializeResult(metadata={
            "html": dg.MetadataValue.path(str(html_path)),
            "pdf": dg.MetadataValue.text("not rendered: headless Chromium not found"),
            "title": dg.MetadataValue.text(data.title),
            "warehouse": dg.MetadataValue.path(str(settings.warehouse_path)),
        })
    print_pdf(html_path, pdf_path, settings.chromium)
    screenshot(html_path, preview_path, chromium=settings.chromium)
    screenshot(html_path, thumb_path, width=1200, height=1500, scale=0.5, chromium=settings.chromium)
    for path in (pdf_path, preview_path, thumb_path):
        share_with_bi(path, settings)
    context.log.info(f"report {period}: {html_path}, {pdf_path}")

    missing = [m.strftime("%Y-%m") for m in data.months if not any((m, c) in data.contacts for c, _ in data.channels)]
    thumb = thumb_path.read_bytes()
    preview_md = f"Preview: `{preview_path}`"
    if len(thumb) <= INLINE_PREVIEW_MAX_BYTES:
        preview_md = f"![report preview](data:image/png;base64,{base64.b64encode(thumb).decode('ascii')})\n\n" + preview_md
    return dg.MaterializeResult(
        metadata={
            "html": dg.MetadataValue.path(str(html_path)),
            "pdf": dg.MetadataValue.path(str(pdf_path)),
            "preview_png": dg.MetadataValue.path(str(preview_path)),
            "preview": dg.MetadataValue.md(preview_md),
            "title": dg.MetadataValue.text(data.title),
            "digits": dg.MetadataValue.text("arabic" if fmt.arabic_digits else "western"),
            "warehouse": dg.MetadataValue.path(str(settings.warehouse_path)),
            "ticket_snapshots": dg.MetadataValue.text(", ".join(d.isoformat() for d in data.snapshot_dates)),
            "unpublished_tables": dg.MetadataValue.text(", ".join(data.unpublished_tables) or "none"),
            "months_without_contacts": dg.MetadataValue.text(", ".join(missing) or "none"),
            "e_participations": dg.MetadataValue.int(len(data.e_participations)),
            "improvement_actions": dg.MetadataValue.int(len(data.improvement_actions)),
            "html_bytes": dg.MetadataValue.int(html_path.stat().st_size),
            "pdf_bytes": dg.MetadataValue.int(pdf_path.stat().st_size),
        }
    )


report_job = dg.define_asset_job(
    "report",
    selection=dg.AssetSelection.assets(vob_report),  # half-year partitioned, as the asset
    description="Render the half-year report (HTML, PDF, preview) from the published warehouse.",
)

"""The half-year report asset: `report/vob_report`, one partition per half-year.

It reads the PUBLISHED warehouse read-only, as a BI tool does (no second
computation), renders the HTML (vob/views/report.py), prints it to PDF and takes a
preview screenshot with headless Chromium (vob/views/browser.py), and writes
`<report_dir>/vob_report_<period>.html|.pdf|.png`.
"""

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import dagster as dg

from assets.partitions import half_year_partitions
from assets.publish import published_warehouse
from assets.resources import ReportOutput
from vob.base.files import share_with_bi, shared_dir
from vob.base.settings import Settings
from vob.base.text import preview_markdown
from vob.views.browser import find_chromium, print_pdf, screenshot
from vob.views.report import render_html
from vob.views.report_data import ReportData, ReportDataError, read_report_data
from vob.views.report_format import NumberFormat
from warehouse.store import connect


@dataclass(frozen=True)
class ReportFiles:
    """Where a period's report goes: `<report_dir>/vob_report_<period>.html|.pdf|.png` and a thumbnail."""

    html: Path
    pdf: Path
    preview: Path
    thumbnail: Path

    @classmethod
    def of(cls, report_dir: Path, period: str) -> "ReportFiles":
        stem = report_dir / f"vob_report_{period}"
        return cls(
            html=stem.with_suffix(".html"),
            pdf=stem.with_suffix(".pdf"),
            preview=stem.with_suffix(".png"),
            thumbnail=stem.parent / f"{stem.name}_thumb.png",
        )


def read_published_report_data(warehouse_path: Path, period: str) -> ReportData:
    """The period's report data from the published warehouse, opened read-only as a BI tool does."""
    if not warehouse_path.exists():
        raise dg.Failure(f"no published warehouse at {warehouse_path}: run and publish {period} first")
    con = connect(warehouse_path, read_only=True)
    try:
        return read_report_data(con, period)
    except ReportDataError as err:
        raise dg.Failure(str(err)) from err
    finally:
        con.close()


def warn_of_unpublished_marts(context: dg.AssetExecutionContext, data: ReportData) -> None:
    if data.unpublished_tables:
        context.log.warning(
            "the published warehouse lacks the half-year marts "
            + ", ".join(f"marts.{t}" for t in data.unpublished_tables)
            + ": their parts of the report are empty (run the half-year facts, then publish)"
        )


def print_pdf_and_previews(files: ReportFiles, settings: Settings) -> None:
    """The PDF, the full-page preview and its thumbnail, by headless Chromium, shared like the HTML.
    Three browsers at once: each is mostly start-up and waiting (one after another: 4.5 s of the report)."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        renders = [
            pool.submit(print_pdf, files.html, files.pdf, settings.chromium),
            pool.submit(screenshot, files.html, files.preview, chromium=settings.chromium),
            pool.submit(
                screenshot, files.html, files.thumbnail, width=1200, height=1500, scale=0.5, chromium=settings.chromium
            ),
        ]
        for render in renders:
            render.result()  # a BrowserError is raised here, as before
    for path in (files.pdf, files.preview, files.thumbnail):
        share_with_bi(path, settings)


def months_without_contacts(data: ReportData) -> list[str]:
    return [m.strftime("%Y-%m") for m in data.months if not any((m, c) in data.contacts for c, _ in data.channels)]


def months_in_progress(data: ReportData) -> str:
    """'2025-06 (data through 2025-06-14)', and the months of the half-year not published yet."""
    in_progress = [
        f"{s.month:%Y-%m} (data through {s.data_through.isoformat() if s.data_through else 'none'})"
        for s in data.months_in_progress
    ]
    return ", ".join(in_progress + [f"{m:%Y-%m} (not published)" for m in data.months_not_published]) or "none"


def html_only_metadata(files: ReportFiles, data: ReportData, warehouse_path: Path) -> dict:
    return {
        "html": dg.MetadataValue.path(str(files.html)),
        "pdf": dg.MetadataValue.text("not rendered: headless Chromium not found"),
        "title": dg.MetadataValue.text(data.title),
        "warehouse": dg.MetadataValue.path(str(warehouse_path)),
    }


def report_metadata(files: ReportFiles, data: ReportData, fmt: NumberFormat, warehouse_path: Path) -> dict:
    return {
        "html": dg.MetadataValue.path(str(files.html)),
        "pdf": dg.MetadataValue.path(str(files.pdf)),
        "preview_png": dg.MetadataValue.path(str(files.preview)),
        "preview": dg.MetadataValue.md(
            preview_markdown(files.thumbnail.read_bytes(), "image/png", "report preview", f"Preview: `{files.preview}`")
        ),
        "title": dg.MetadataValue.text(data.title),
        "digits": dg.MetadataValue.text("arabic" if fmt.arabic_digits else "western"),
        "warehouse": dg.MetadataValue.path(str(warehouse_path)),
        "ticket_snapshots": dg.MetadataValue.text(", ".join(d.isoformat() for d in data.snapshot_dates)),
        "unpublished_tables": dg.MetadataValue.text(", ".join(data.unpublished_tables) or "none"),
        "months_without_contacts": dg.MetadataValue.text(", ".join(months_without_contacts(data)) or "none"),
        "half_year_complete": dg.MetadataValue.bool(data.half_year_complete),
        "months_in_progress": dg.MetadataValue.text(months_in_progress(data)),
        "e_participations": dg.MetadataValue.int(len(data.e_participations)),
        "improvement_actions": dg.MetadataValue.int(len(data.improvement_actions)),
        "html_bytes": dg.MetadataValue.int(files.html.stat().st_size),
        "pdf_bytes": dg.MetadataValue.int(files.pdf.stat().st_size),
    }


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
def vob_report(context: dg.AssetExecutionContext, report_output: ReportOutput) -> dg.MaterializeResult:
    settings = report_output.settings
    period = context.partition_key
    data = read_published_report_data(settings.warehouse_path, period)
    fmt = NumberFormat.from_settings(settings)
    warn_of_unpublished_marts(context, data)
    if not data.half_year_complete:
        context.log.info(f"report {period}: the half-year is not complete; months: {months_in_progress(data)}")

    shared_dir(settings.report_dir, settings)
    files = ReportFiles.of(settings.report_dir, period)
    files.html.write_text(render_html(data, fmt), encoding="utf-8")
    share_with_bi(files.html, settings)  # aggregates, like the warehouse: VOB_WAREHOUSE_MODE, VOB_BI_GROUP
    if find_chromium(settings.chromium) is None:
        # A machine without a browser still gets the HTML report; the PDF and the
        # preview need headless Chromium (README, `.ci/run` installs it).
        context.log.warning(
            f"report {period}: {files.html} written; no PDF or preview: headless Chromium not found "
            "(`apt-get install chromium`, or set VOB_CHROMIUM)"
        )
        return dg.MaterializeResult(metadata=html_only_metadata(files, data, settings.warehouse_path))
    print_pdf_and_previews(files, settings)
    context.log.info(f"report {period}: {files.html}, {files.pdf}")
    return dg.MaterializeResult(metadata=report_metadata(files, data, fmt, settings.warehouse_path))


report_job = dg.define_asset_job(
    "report",
    selection=dg.AssetSelection.assets(vob_report),  # half-year partitioned, as the asset
    description="Render the half-year report (HTML, PDF, preview) from the published warehouse.",
)

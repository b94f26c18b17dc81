"""The half-year report, from a published warehouse holding the seed's figures, checked in a real
headless browser (Debian's chromium, driven by Playwright) and through the PDF's extracted text."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from report_warehouse import (
    SERVICE_BACKLOG,
    SERVICE_KPIS,
    add_dim_month,
    build_published_warehouse,
    expected_figures,
    load_figures,
)

from vob.base.settings import load_settings
from vob.views.browser import chromium_browser, find_chromium
from vob.views.report import render_html
from vob.views.report_data import ReportDataError, read_report_data
from vob.views.report_format import NumberFormat

PERIOD = "2025-H1"
CHROMIUM = find_chromium(load_settings().chromium)  # VOB_CHROMIUM, else on PATH
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (CI installs it)")
BIDI_CONTROLS = dict.fromkeys(map(ord, "\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"))
FMT = NumberFormat()


def shown_figures(figures: dict) -> list[str]:
    """Every figure of the period, as the report writes it."""
    numbers = [FMT.integer(n) for n in expected_figures(figures)]
    shares = [FMT.percent(Decimal(str(v))) for v in figures["dimension_share_pct"].values()]
    return numbers + shares


def run_report_job(root: Path, warehouse: Path) -> dict:
    """The real `report` job on the published file `warehouse`; its reports go to root/reports."""
    import dagster as dg

    from assets.resources import vob_resources
    from pipelines.definitions import defs

    variables = {
        "VOB_WAREHOUSE": str(warehouse),
        "VOB_LANDING_DIR": str(root / "landing"),
        "VOB_REPORT_DIR": str(root / "reports"),
        "VOB_CHROMIUM": str(CHROMIUM),
    }  # western digits: VOB_REPORT_DIGITS not set
    result = defs.resolve_job_def("report").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=PERIOD, resources=vob_resources(variables)
    )
    materialization = result.asset_materializations_for_node("report__vob_report")[0]
    return {"result": result, "metadata": materialization.metadata, "reports": root / "reports"}


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The real `report` job, run on a published warehouse file built from the seed's figures,
    every month of the half-year complete (marts.dim_month)."""
    root = tmp_path_factory.mktemp("report")
    warehouse = root / "warehouse" / "vob.duckdb"
    figures = build_published_warehouse(warehouse)
    add_dim_month(warehouse)
    if CHROMIUM is None:
        return {"figures": figures, "warehouse": warehouse, "result": None}
    return {"figures": figures, "warehouse": warehouse, **run_report_job(root, warehouse)}


@pytest.fixture(scope="module")
def report_in_progress(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same, with June in progress: its data complete through 14 June (a daily file missing)."""
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (CI installs it)")
    root = tmp_path_factory.mktemp("report_in_progress")
    warehouse = root / "warehouse" / "vob.duckdb"
    figures = build_published_warehouse(warehouse)
    add_dim_month(warehouse, in_progress={"2025-06": date(2025, 6, 14)})
    return {"figures": figures, "warehouse": warehouse, **run_report_job(root, warehouse)}


@pytest.fixture(scope="module")
def browser():
    pytest.importorskip("playwright.sync_api")
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (CI installs it)")
    with chromium_browser(Path(CHROMIUM)) as instance:
        yield instance


def open_page(browser, url: str) -> tuple[object, list[str], list[str]]:
    """Load a page; return it with its console errors and every request other than the page itself."""
    page = browser.new_page(viewport={"width": 1200, "height": 1500})
    errors, requests = [], []
    page.on("console", lambda m: errors.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("requestfailed", lambda r: errors.append(f"request failed: {r.url}"))
    page.on("request", lambda r: requests.append(r.url) if r.url != url else None)
    page.goto(url, wait_until="load")
    page.evaluate("document.fonts.ready.then(() => true)")
    return page, errors, requests


@needs_chromium
def test_the_report_job_writes_html_pdf_and_preview_and_says_where(report):
    assert report["result"].success
    metadata = report["metadata"]
    html = Path(metadata["html"].value)
    pdf = Path(metadata["pdf"].value)
    png = Path(metadata["preview_png"].value)
    assert html == report["reports"] / "vob_report_2025-H1.html"
    assert pdf == report["reports"] / "vob_report_2025-H1.pdf"
    assert pdf.read_bytes().startswith(b"%PDF") and png.read_bytes().startswith(b"\x89PNG")
    assert metadata["preview"].value.startswith("![report preview](data:image/png;base64,")
    assert metadata["title"].value == "تقرير صوت المستفيد – النصف الأول 2025"
    assert metadata["ticket_snapshots"].value == "2025-07-01"
    assert metadata["e_participations"].value == 5 and metadata["improvement_actions"].value == 4


@needs_chromium
def test_the_report_of_a_half_year_in_progress_shows_june_as_in_progress(report_in_progress, browser):
    # (placed before the other browser tests: its job runs before Playwright's browser starts)
    metadata = report_in_progress["metadata"]
    assert metadata["half_year_complete"].value is False
    assert metadata["months_in_progress"].value == "2025-06 (data through 2025-06-14)"
    page, errors, requests = open_page(browser, Path(metadata["html"].value).as_uri())
    try:
        assert errors == [] and requests == []
        headings = page.eval_on_selector_all("table.channels thead th", "ths => ths.map(th => th.innerText)")
        assert len(headings) == 7  # the corner and six months: no July
        june = headings[6].translate(BIDI_CONTROLS)
        assert june.startswith("يونيو") and "قيد الاكتمال حتى 14 يونيو" in june
        assert all("قيد الاكتمال" not in h for h in headings[:6])
        classes = page.eval_on_selector_all(
            "table.channels tbody tr:first-child td", "tds => tds.map(td => td.className)"
        )
        assert ["in-progress" in c for c in classes] == [False] * 5 + [True]
        status = page.inner_text(".half-year-status").translate(BIDI_CONTROLS)
        assert "تقرير مرحلي: النصف الأول 2025 لم يكتمل بعد" in status
        assert "يونيو 2025: قيد الاكتمال، بياناته مكتملة حتى 14 يونيو 2025" in status
        text = page.inner_text("body").translate(BIDI_CONTROLS)
        assert [f for f in shown_figures(report_in_progress["figures"]) if f not in text] == []
    finally:
        page.close()
    pages = pdf_pages(Path(metadata["pdf"].value))
    assert len(pages) == len(SECTION_PAGES)
    assert all(as_extracted("لم يكتمل بعد") in p for p in pages)  # every page's running header says it
    assert as_extracted("14 يونيو 2025") in pages[0]


@needs_chromium
def test_the_page_loads_offline_right_to_left_with_every_published_figure(report, browser):
    html = Path(report["metadata"]["html"].value)
    page, errors, requests = open_page(browser, html.as_uri())
    try:
        assert errors == []
        assert requests == []  # fonts and charts are inline: nothing else is fetched
        assert page.evaluate("document.documentElement.dir") == "rtl"
        assert page.evaluate("document.documentElement.lang") == "ar"
        assert page.evaluate("getComputedStyle(document.body).direction") == "rtl"
        assert page.evaluate("[...document.fonts].every(f => f.status === 'loaded')")
        assert page.evaluate("document.fonts.check('16px \"VoB Arabic\"')")
        text = page.inner_text("body").translate(BIDI_CONTROLS)
        figures = report["figures"]
        missing = [f for f in shown_figures(figures) if f not in text]
        assert missing == []
        assert page.title() == "تقرير صوت المستفيد – النصف الأول 2025"
        assert "تقرير صوت المستفيد – النصف الأول 2025" in text
        for heading in (
            "قنوات التواصل الموحد",
            "الخطط التصحيحية",
            "المشاركات الإلكترونية",
            "الإجراءات المتخذة للتحسين",
            "التذاكر المفتوحة",
            "التذاكر المغلقة",
            "شكرًا لكم",
        ):
            assert heading in text
        for participation in figures["e_participations"]:
            assert participation["title_ar"] in text
        links = page.eval_on_selector_all("td.url a", "links => links.map(a => a.href)")
        assert links == [
            p["url"]
            for p in sorted(
                figures["e_participations"],
                key=lambda p: (
                    ["2025-03", "2025-05", "2025-06", "2025-05", "2025-06"][figures["e_participations"].index(p)],
                    p["title_ar"],
                ),
            )
        ]
        for action in figures["improvement_actions"]:
            assert action in text
        # each month's row of the channels table, in the seed's order (calls .. self-service, tickets)
        rows = page.eval_on_selector_all("table.channels tbody tr", "rows => rows.map(r => r.innerText)")
        january = [re.split(r"\t", r.translate(BIDI_CONTROLS))[1] for r in rows]
        assert january == [FMT.integer(n) for n in figures["channel_monthly"]["2025-01"]]
        assert page.eval_on_selector_all("svg.chart", "charts => charts.length") == 2
        assert page.eval_on_selector_all("svg.chart rect", "bars => bars.length") == 6 * 6 + 5
    finally:
        page.close()


@needs_chromium
def test_the_kpi_page_shows_the_service_figures_of_the_latest_snapshot(report, browser):
    html = Path(report["metadata"]["html"].value)
    page, errors, requests = open_page(browser, html.as_uri())
    try:
        assert errors == [] and requests == []
        section = page.inner_text("section.service").translate(BIDI_CONTROLS)
        backlog_section = page.inner_text("section.backlog").translate(BIDI_CONTROLS)
        assert "مؤشرات الخدمة" in section and "التذاكر المفتوحة حسب العمر" in backlog_section
        assert "وفق لقطة 1 يوليو 2025" in section and "وفق لقطة 1 يوليو 2025" in backlog_section
        rows = page.eval_on_selector_all("table.service tbody tr", "rows => rows.map(r => r.innerText)")
        cells = [re.split(r"\t", r.translate(BIDI_CONTROLS))[1:] for r in rows]
        expected = [
            [FMT.percent(Decimal(SERVICE_KPIS[m][0])) for m in SERVICE_KPIS],
            [FMT.percent(Decimal(SERVICE_KPIS[m][1])) for m in SERVICE_KPIS],
            *[[SERVICE_KPIS[m][i] for m in SERVICE_KPIS] for i in (2, 3, 4, 5)],
        ]
        assert cells == expected  # January first (the rightmost column, read right to left)
        assert cells[0][0] == "4.12%" and cells[1][5] == "85.64%" and cells[3][0] == "4.31"
        # one number of decimals per row: 2 for rates and the rating, 1 for seconds and hours
        assert cells[0][4] == "4.60%" and cells[1][1] == "78.90%" and cells[4][4] == "28.0"
        for row, places in zip(cells, (2, 2, 1, 2, 1, 1)):
            assert {len(c.rstrip("%").partition(".")[2]) for c in row} == {places}, row
        backlog = page.eval_on_selector_all("table.backlog tbody tr td", "cells => cells.map(c => c.innerText)")
        assert [c.translate(BIDI_CONTROLS) for c in backlog] == [FMT.integer(n) for n in SERVICE_BACKLOG.values()]
        assert "888" not in section + backlog_section  # queue rows and the older snapshot stay out
        assert page.eval_on_selector_all("section.service svg.kpi-chart", "charts => charts.length") == 1
        assert page.eval_on_selector_all("section.backlog svg.kpi-chart", "charts => charts.length") == 1
        assert page.eval_on_selector_all("section.service svg circle", "points => points.length") == 12
        # the page is right to left: January's point is right of June's
        xs = page.eval_on_selector_all("section.service svg circle", "c => c.map(e => +e.getAttribute('cx'))")
        assert xs[0] > xs[5]
    finally:
        page.close()


def test_a_warehouse_without_the_service_kpis_says_so_on_the_kpi_page(tmp_path):
    data = _read_without(tmp_path, "fct_ticket_backlog")
    assert data.service is None
    page = render_html(data)
    assert "لم تُنشر مؤشرات الخدمة" in page and "marts.fct_ticket_backlog" in page
    assert "328,816" in page  # the rest of the report is there


@needs_chromium
def test_the_screenshot_is_not_blank(report):
    from PIL import Image, ImageStat

    image = Image.open(report["metadata"]["preview_png"].value).convert("L")
    assert image.size == (1200, 1500)
    stat = ImageStat.Stat(image)
    assert stat.stddev[0] > 20  # a blank or single-colour page has ~0
    assert len(image.getcolors(maxcolors=1 << 16) or []) > 50  # text antialiasing, charts, table rules


@needs_chromium
def test_the_pdf_holds_the_same_figures(report):
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed (CI installs it)")
    pdf = Path(report["metadata"]["pdf"].value)
    text = subprocess.run(
        ["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True
    ).stdout.translate(BIDI_CONTROLS)
    missing = [f for f in shown_figures(report["figures"]) if f not in text]
    assert missing == []
    # the participation links stay clickable in the PDF (link annotations)
    links = set(re.findall(rb"/URI \(([^)]*)\)", pdf.read_bytes()))
    assert links == {p["url"].encode() for p in report["figures"]["e_participations"]}
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "A4" in info


HARAKAT = dict.fromkeys(range(0x064B, 0x0653))  # Arabic short vowels and tanween
# Each printed page in order: its section's heading and a figure that must sit on the same page (None:
# the heading alone), as docs/report.md promises one section a page.
SECTION_PAGES = (
    ("قنوات التواصل الموحد", "328,816"),
    ("حجم التواصل الشهري حسب القناة", "400,000"),  # the chart's top tick
    ("مؤشرات الخدمة", "4.12%"),
    ("التذاكر المفتوحة حسب العمر", "1,234"),
    ("الخطط التصحيحية", "115,534"),
    ("المشاركات الإلكترونية", "eparticipation"),
    ("الإجراءات المتخذة للتحسين", None),
    ("شكرًا لكم", None),
)


def squeezed(text: str) -> str:
    """Text without bidi controls, vowel marks or white space: how words are compared with pdftotext's."""
    return re.sub(r"\s+", "", text.translate(BIDI_CONTROLS).translate(HARAKAT))


def as_extracted(words: str) -> str:
    """`words` as pdftotext gives them back: the font's lam-alef ligature comes out alef first."""
    return squeezed(re.sub("ل([اأإآ])", r"\1ل", words))


def pdf_pages(pdf: Path) -> list[str]:
    """The text of each page of the PDF, squeezed."""
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext (poppler-utils) is not installed (CI installs it)")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout
    count = int(re.search(r"Pages:\s+(\d+)", info).group(1))
    return [
        squeezed(
            subprocess.run(
                ["pdftotext", "-f", str(n), "-l", str(n), str(pdf), "-"], capture_output=True, text=True, check=True
            ).stdout
        )
        for n in range(1, count + 1)
    ]


def page_numbers(page: str) -> list[tuple[int, int]]:
    """The running header's "صفحة n من N" of a page's text."""
    return [(int(n), int(of)) for n, of in re.findall(r"صفحة(\d+)من(\d+)", page)]


@needs_chromium
def test_each_section_starts_its_own_page_under_a_header_numbered_as_the_pdf(report):
    pages = pdf_pages(Path(report["metadata"]["pdf"].value))
    assert len(pages) == len(SECTION_PAGES)  # nothing runs over onto a page of its own
    title = as_extracted("تقرير صوت المستفيد – النصف الأول 2025")
    for number, (heading, figure) in enumerate(SECTION_PAGES, start=1):
        on = [n for n, page in enumerate(pages, start=1) if as_extracted(heading) in page]
        assert on == [number], (heading, on)
        assert figure is None or squeezed(figure) in pages[number - 1], (heading, figure)
        assert page_numbers(pages[number - 1]) == [(number, len(pages))]
        assert title in pages[number - 1]  # the running header, on every page
        assert as_extracted("لم يكتمل بعد") not in pages[number - 1]  # every month complete


def test_a_section_running_over_gets_the_header_and_the_next_number(tmp_path):
    """A register longer than a page: the pages it runs onto carry the header and count in the numbers."""
    if CHROMIUM is None:
        pytest.skip("Debian chromium is not installed (CI installs it)")
    from vob.views.browser import print_pdf

    data = _read_without(tmp_path, None)
    data.improvement_actions = [{**data.improvement_actions[0], "action_no": n} for n in range(1, 41)]
    html = tmp_path / "long.html"
    html.write_text(render_html(data), encoding="utf-8")
    pages = pdf_pages(print_pdf(html, tmp_path / "long.pdf", Path(CHROMIUM)))
    assert len(pages) > len(SECTION_PAGES)
    assert [page_numbers(p) for p in pages] == [[(n, len(pages))] for n in range(1, len(pages) + 1)]
    assert as_extracted("شكرًا لكم") in pages[-1]


@needs_chromium
def test_tickets_are_those_of_the_latest_snapshot_and_other_periods_stay_out(report):
    text = Path(report["metadata"]["html"].value).read_text(encoding="utf-8")
    for other in ("999,991", "999,992", "999,993", "777,777"):  # older snapshot; 2024-12; 2024-H2
        assert other not in text


@needs_chromium
def test_a_request_or_console_error_would_be_caught(browser, tmp_path):
    """The offline check is not vacuous: a page asking for a remote image is flagged."""
    page_path = tmp_path / "leaky.html"
    page_path.write_text(
        '<!DOCTYPE html><html dir="rtl"><body><img src="http://192.0.2.1/x.png">'
        "<script>console.error('boom')</script></body></html>"
    )
    page, errors, requests = open_page(browser, page_path.as_uri())
    page.close()
    assert requests == ["http://192.0.2.1/x.png"]
    assert any("boom" in e for e in errors)


def _read_without(tmp_path: Path, table: str | None):
    """The report's data from the seed warehouse, less one table (or none)."""
    warehouse = tmp_path / "vob.duckdb"
    build_published_warehouse(warehouse)
    if table:
        con = duckdb.connect(str(warehouse))
        con.execute(f"DROP TABLE marts.{table}")
        con.close()
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return read_report_data(con, PERIOD)
    finally:
        con.close()


@needs_chromium
def test_the_arabic_digits_page_renders_them(browser, tmp_path):
    data = _read_without(tmp_path, None)
    page_path = tmp_path / "arabic.html"
    page_path.write_text(render_html(data, NumberFormat(arabic_digits=True)), encoding="utf-8")
    page, errors, requests = open_page(browser, page_path.as_uri())
    try:
        text = page.inner_text("body").translate(BIDI_CONTROLS)
        assert errors == [] and requests == []
        assert "٣٢٨٬٨١٦" in text and "١١٥٬٥٣٤" in text and "٥٤٫٨٠٪" in text and "٢٠٢٥" in text
        assert not re.search(r"[0-9]{3},[0-9]{3}", text)  # no Western-digit figure left
    finally:
        page.close()


def test_arabic_indic_digits_are_an_option(tmp_path):
    data = _read_without(tmp_path, None)
    arabic = render_html(data, NumberFormat.from_settings(load_settings({"VOB_REPORT_DIGITS": "arabic"})))
    western = render_html(data, NumberFormat.from_settings(load_settings({})))
    assert "٣٢٨٬٨١٦" in arabic and "٥٤٫٨٠٪" in arabic and "328,816" not in arabic
    assert "328,816" in western and "54.80%" in western and "٣٢٨" not in western
    # percentages keep the 2 decimals WAREHOUSE.md gives them, so a column lines up (54.80% above 24.74%)
    assert NumberFormat().percent(Decimal("2.06")) == "2.06%" and NumberFormat().percent(Decimal("54.8")) == "54.80%"
    with pytest.raises(ValueError, match="VOB_REPORT_DIGITS"):
        load_settings({"VOB_REPORT_DIGITS": "roman"})


def test_a_warehouse_without_the_monthly_facts_is_refused_by_name(tmp_path):
    with pytest.raises(ReportDataError, match=r"marts\.fct_tickets_monthly"):
        _read_without(tmp_path, "fct_tickets_monthly")


def test_a_warehouse_without_a_half_year_mart_says_so_on_the_page(tmp_path):
    data = _read_without(tmp_path, "fct_vob_half_year")
    assert data.unpublished_tables == ["fct_vob_half_year"] and data.half_year is None
    page = render_html(data)
    assert "marts.fct_vob_half_year" in page and "115,534" not in page
    assert "328,816" in page and "54.80%" in page  # what is published is still shown


def test_register_text_is_escaped_not_markup(tmp_path):
    """Titles and links come from a hand-kept workbook: the templates escape them (select_autoescape)."""
    data = _read_without(tmp_path, None)
    data.improvement_actions[0]["title"] = "<script>alert(1)</script> & co"
    data.e_participations[0]["url"] = 'https://example.org/?a=1&b="x"'
    page = render_html(data)
    assert "<script" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in page
    assert 'href="https://example.org/?a=1&amp;b=&#34;x&#34;"' in page


def test_the_report_job_is_defined_over_half_years():
    from assets.partitions import half_year_partitions
    from pipelines.definitions import defs

    job = defs.resolve_job_def("report")
    assert job.partitions_def == half_year_partitions
    assert {k.to_user_string() for k in job.asset_layer.executable_asset_keys} == {"report/vob_report"}


def test_the_figures_copy_matches_the_seed():
    seed = Path(__file__).resolve().parents[2] / "shared" / "seed" / "published_figures.json"
    if not seed.exists():
        pytest.skip("../shared is not beside this clone")
    assert load_figures() == __import__("json").loads(seed.read_text(encoding="utf-8"))


# --- months in progress (marts.dim_month) ---------------------------------------------------------


def _read_with_months(tmp_path: Path, **dim_month) -> object:
    """The report's data from the seed warehouse with marts.dim_month (see add_dim_month)."""
    warehouse = tmp_path / "vob.duckdb"
    build_published_warehouse(warehouse)
    add_dim_month(warehouse, **dim_month)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        return read_report_data(con, PERIOD)
    finally:
        con.close()


def test_a_warehouse_without_dim_month_counts_every_month_complete(tmp_path):
    data = _read_without(tmp_path, None)  # published before marts.dim_month existed
    assert data.half_year_complete and data.months_in_progress == []
    page = render_html(data)
    assert "قيد الاكتمال" not in page and "لم يكتمل" not in page


def test_complete_months_read_as_complete_and_july_stays_out(tmp_path):
    data = _read_with_months(tmp_path)  # July is in progress, but not a month of 2025-H1
    assert data.half_year_complete and data.months_in_progress == []
    page = render_html(data)
    assert "قيد الاكتمال" not in page and "لم يكتمل" not in page and "يوليو 2025:" not in page


def test_a_month_in_progress_is_marked_with_its_date_and_the_half_year_says_it_is_not_complete(tmp_path):
    data = _read_with_months(tmp_path, in_progress={"2025-06": date(2025, 6, 14)})
    june = data.status_of(date(2025, 6, 1))
    assert june.in_progress and june.data_through == date(2025, 6, 14)
    assert data.status_of(date(2025, 5, 1)).complete and not data.half_year_complete
    page = render_html(data)
    assert page.count("قيد الاكتمال حتى 14 يونيو") == 2  # June's column in the channels and KPI tables
    assert "تقرير مرحلي: النصف الأول" in page and "لم يكتمل بعد" in page
    assert "قيد الاكتمال، بياناته مكتملة حتى" in page
    assert "(قيد الاكتمال)" in page  # under June in the charts
    assert 'counter(page) " من " counter(pages)' in page and "لم يكتمل بعد" in page.split("@page")[-1]


def test_a_month_without_a_day_in_and_one_not_published_say_so(tmp_path):
    data = _read_with_months(tmp_path, in_progress={"2025-06": date(2025, 5, 31)}, unpublished=("2025-05",))
    assert [s.month for s in data.months_in_progress] == [date(2025, 6, 1)]
    assert data.months_not_published == [date(2025, 5, 1)] and not data.half_year_complete
    page = render_html(data)
    assert "قيد الاكتمال، لا يوم مكتمل بعد" in page and "لم يكتمل منه يوم بعد" in page
    assert "لم يُنشر بعد" in page and "قيد الاكتمال حتى" not in page

"""The report job after the real monthly pipeline: what the monthly assets publish is what the report shows."""

from __future__ import annotations

import re
from datetime import date

import dagster as dg
import pytest
from conftest import run_job, vob_resources
from landing_files import call, write_calls

from vob.views.browser import find_chromium

PERIOD = "2025-H1"


@pytest.mark.skipif(find_chromium() is None, reason="Debian chromium is not installed (CI installs it)")
def test_the_report_reads_what_the_monthly_pipeline_published(vob_env):
    """End to end on the real assets: monthly facts of March, published, then the report job."""
    from pipelines.definitions import defs

    write_calls(vob_env.landing_dir, date(2025, 3, 10), [call(f"C-{i}", "2025-03-10T10:00:00+03:00") for i in range(7)])
    run_job("2025-03")
    result = defs.resolve_job_def("report").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(), partition_key=PERIOD, resources=vob_resources()
    )
    assert result.success
    html = (vob_env.report_dir / "vob_report_2025-H1.html").read_text(encoding="utf-8")
    assert (vob_env.report_dir / "vob_report_2025-H1.pdf").exists()
    calls_row = re.search(r"<tr><th>الاتصال \(المكالمات\)</th>(.*?)</tr>", html).group(1)
    # months never run have no rows (WAREHOUSE.md) and show a dash; March shows its 7 calls
    assert re.findall(r'<span class="num">([^<]*)</span>', calls_row) == ["—", "—", "7", "—", "—", "—"]

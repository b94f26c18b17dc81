"""Headless Chromium (Debian's `chromium`) for the report's PDF and preview image.

Every call starts a fresh browser with a throwaway profile and the flags that
keep it off the network (no component updates, no background requests): on
this closed network its background connections would otherwise fail or hang.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
# what keeps the browser off the network (and runnable as root in a container), for every way it is started
OFFLINE_FLAGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
)
CHROMIUM_FLAGS = (
    "--headless",
    *OFFLINE_FLAGS,
    "--disable-sync",
    "--disable-extensions",
    "--hide-scrollbars",
    "--mute-audio",
)
TIMEOUT_SECONDS = 120


class BrowserError(RuntimeError):
    """Chromium is missing or failed; the message says what to do."""


def find_chromium(configured: Path | None = None) -> str | None:
    """The browser: `configured` (VOB_CHROMIUM, Settings.chromium) if given, else the first of
    CHROMIUM_NAMES on PATH; None when there is none."""
    if configured:
        return str(configured) if Path(configured).exists() else None
    return next((path for path in map(shutil.which, CHROMIUM_NAMES) if path), None)


def _run(args: list[str], output: Path, chromium: Path | None) -> None:
    executable = find_chromium(chromium)
    if executable is None:
        raise BrowserError(
            "headless Chromium is needed for the PDF and the preview but was not found: "
            "`apt-get install chromium` (Debian), or set VOB_CHROMIUM to its path"
        )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="vob-chromium-") as profile:
        try:
            done = subprocess.run(
                [executable, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                capture_output=True,
                text=True,
                timeout=TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired as err:
            raise BrowserError(f"chromium did not finish within {TIMEOUT_SECONDS} s writing {output}") from err
    if done.returncode != 0 or not output.exists() or output.stat().st_size == 0:
        tail = "\n".join((done.stderr or "").strip().splitlines()[-8:])
        raise BrowserError(f"chromium failed writing {output} (exit {done.returncode}):\n{tail}")


def print_pdf(html_path: Path, pdf_path: Path, chromium: Path | None = None) -> Path:
    """The page printed as the browser prints it (CSS @page: A4 landscape), without header or footer.
    `chromium`: the browser's path (Settings.chromium), else the one on PATH."""
    _run(["--no-pdf-header-footer", f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()], pdf_path, chromium)
    return pdf_path


def screenshot(
    html_path: Path,
    png_path: Path,
    width: int = 1200,
    height: int = 1500,
    scale: float = 1.0,
    chromium: Path | None = None,
) -> Path:
    """A PNG of the top of the page as shown in a `width` x `height` window; `scale` < 1 gives a thumbnail."""
    _run(
        [
            f"--screenshot={png_path}",
            f"--window-size={width},{height}",
            f"--force-device-scale-factor={scale}",
            html_path.resolve().as_uri(),
        ],
        png_path,
        chromium,
    )
    return png_path


@contextmanager
def chromium_browser(chromium: Path | None = None) -> Iterator[Browser]:
    """The same chromium driven by Playwright (the dashboard's screenshot, the report's browser tests),
    with the flags that keep it off the network. Playwright is imported here: only these need it."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=find_chromium(chromium), args=list(OFFLINE_FLAGS))
        try:
            yield browser
        finally:
            browser.close()

"""The system Chromium the dashboard tests drive (Playwright, never `playwright install`)."""

from __future__ import annotations

from tests.conftest import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = REPO / "tests" / "artifacts" / "screenshots"

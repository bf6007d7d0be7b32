"""A live server, Debian's Chromium driven by Playwright, and axe-core checks.

Its `browser` and `live_server` fixtures are registered for every test
module by `tests/conftest.py` (`pytest_plugins`).
"""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

ROOT = Path(__file__).resolve().parents[2]
# Screenshots go to an ignored folder; README images are refreshed on purpose.
ARTIFACTS = ROOT / "test-artifacts"
AXE = ROOT / "tests" / "vendor" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "has_touch": True,
    "is_mobile": True,
    "device_scale_factor": 2,
}


class Served:
    """The app served on localhost from a thread, until `stop()`."""

    def __init__(self, app, port: int = 0):
        self.server = make_server("127.0.0.1", port, app, threaded=True)
        self.port = self.server.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and free the port (a new `Served` may take it)."""
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def live_server(app):
    served = Served(app)
    yield served.url
    served.stop()


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), "Debian's chromium is required (make test installs it)"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def axe_violations(page) -> list[str]:
    """Run axe-core on the page as it is now; one line per violation and element."""
    # Evaluated, not added as a <script>: the page's CSP rightly refuses inline scripts.
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(AXE.read_text(encoding="utf-8") + "\n;0")
    results = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']}: {v['help']} at {node['target']}"
        for v in results["violations"]
        for node in v["nodes"]
    ]


def assert_accessible(page) -> None:
    """No axe-core violation in the page's current state, in light and in dark mode."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        problems = axe_violations(page)
        assert not problems, f"{scheme} mode: " + "; ".join(problems)
    page.emulate_media(color_scheme="light")

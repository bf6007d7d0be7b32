"""The dashboard in a real Chromium: charts draw, the heatmap toggles, flags are reviewed by key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Flag
from app.services.training import import_record
from tests.conftest import data_url, migrated_app, page_png
from tests.utils.browser import browser, live_server  # noqa: F401
from tests.utils.flags import store_flag

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
BUNDLED_RUN = ROOT / "models" / "default" / "run.json"
# Screenshots go to an ignored folder; README images are refreshed on purpose.
DASHBOARD_SHOT = ROOT / "test-artifacts" / "dashboard.png"
PASSWORD = "review them all"

CANVAS_INK = """(id) => {
  const c = document.getElementById(id);
  const data = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let ink = 0;
  for (let i = 3; i < data.length; i += 4) if (data[i] > 0) ink++;
  return ink;
}"""


@pytest.fixture
def app(tmp_path):
    return migrated_app(tmp_path, ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD))


def test_run_page_draws_its_charts(app, live_server, browser):  # noqa: F811
    record = json.loads(BUNDLED_RUN.read_text())
    with app.app_context():
        run, _ = import_record(record)
        run_id = run.id
    # Reduced motion turns the charts' animation off: the picture shows them drawn.
    page = browser.new_page(viewport={"width": 1280, "height": 900}, reduced_motion="reduce")
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/dashboard/runs/{run_id}")
    page.wait_for_function("() => window.Chart !== undefined")
    for canvas in ("chart-loss", "chart-accuracy", "chart-baselines", "chart-labels"):
        page.wait_for_function(f"() => ({CANVAS_INK})('{canvas}') > 500")
    # The heatmap shows counts, then row rates at the toggle's press.
    cell = page.locator("#confusion-table td.heat").first
    count = cell.text_content().strip()
    assert count == str(record["metrics"]["confusion_matrix"][0][0])
    page.locator("#confusion-toggle").click()
    assert page.locator("#confusion-toggle").get_attribute("aria-pressed") == "true"
    assert cell.text_content().strip().endswith("%")
    page.locator("#confusion-toggle").click()
    assert cell.text_content().strip() == count
    page.evaluate("window.scrollTo(0, 0)")
    DASHBOARD_SHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(DASHBOARD_SHOT), full_page=False)
    assert DASHBOARD_SHOT.stat().st_size > 20_000
    assert not errors, errors

    # The index lists it as the run of the active model.
    page.goto(f"{live_server}/dashboard")
    assert page.locator(f"#run-row-{run_id} .badge-active").count() == 1


def test_flags_reviewed_with_the_keyboard(app, live_server, browser, mnist_sample):  # noqa: F811
    images, labels = mnist_sample
    client = app.test_client()
    for i in range(3):
        reply = client.post("/api/predict", json={"image": data_url(page_png(images[i]))})
        pid = reply.get_json()["prediction_id"]
        store_flag(app, pid, int(labels[i]))
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/dashboard/flags")
    # People's drawings are the admin's: the flags page asks to sign in first.
    assert "/login" in page.url and page.locator(".flag-card").count() == 0
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/flags")
    cards = page.locator(".flag-card")
    assert cards.count() == 3
    ids = [int(cards.nth(i).get_attribute("data-flag-id")) for i in range(3)]
    cards.nth(0).focus()
    page.keyboard.press("c")
    page.wait_for_function(f"() => document.getElementById('flag-{ids[0]}').classList.contains('status-confirmed')")
    page.keyboard.press("j")
    page.keyboard.press("7")
    page.wait_for_function(f"() => document.querySelector('#flag-{ids[1]} .flag-label').textContent === '7'")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("d")
    page.wait_for_function(f"() => document.getElementById('flag-{ids[2]}').classList.contains('status-dismissed')")
    with app.app_context():
        rows = {f.id: (f.status, f.label) for f in db.session.query(Flag)}
    assert rows[ids[0]][0] == "confirmed"
    assert rows[ids[1]] == ("confirmed", 7)
    assert rows[ids[2]][0] == "dismissed"
    assert not errors, errors

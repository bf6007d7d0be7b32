"""The dashboard in a real Chromium: charts draw and read where it matters, the heatmap toggles,
flags are reviewed by key, promotion asks first, and every page works on a phone, in light and
dark mode, with no axe-core violation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Flag, ModelVersion
from app.services.training import import_record
from tests.conftest import data_url, migrated_app, page_png
from tests.test_admin_actions import GATE_REASON, rejected_candidate
from tests.utils.browser import PHONE, assert_accessible, browser, live_server  # noqa: F401
from tests.utils.flags import store_flag

pytestmark = pytest.mark.browser
ROOT = Path(__file__).resolve().parent.parent
BUNDLED_RUN = ROOT / "models" / "default" / "run.json"
# Screenshots go to an ignored folder; README images are refreshed on purpose.
DASHBOARD_SHOT = ROOT / "test-artifacts" / "dashboard.png"
PASSWORD = "review them all"

AXIS = """(id) => {
  const chart = Chart.getChart(document.getElementById(id));
  const y = chart.scales.y;
  return {type: y.type, min: y.min, max: y.max, animation: chart.options.animation};
}"""
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
    # Loss on a log axis; accuracy zoomed to where the curves are, never past 100%;
    # the baselines from near the lowest bar, not from 0%. Reduced motion: no animation.
    loss, accuracy, bars = (axis(page, c) for c in ("chart-loss", "chart-accuracy", "chart-baselines"))
    assert loss["type"] == "logarithmic" and loss["animation"] is False
    assert accuracy["type"] == "linear" and accuracy["max"] <= 1.0 and accuracy["min"] >= 0.9
    lowest = min(b["accuracy"] for b in record["baselines"])
    assert 0.5 < bars["min"] < lowest and bars["max"] <= 1.0
    # The toggles give the full range and a linear loss axis, and back.
    toggle(page, "chart-accuracy")
    assert (axis(page, "chart-accuracy")["min"], axis(page, "chart-accuracy")["max"]) == (0, 1)
    toggle(page, "chart-loss")
    assert axis(page, "chart-loss")["type"] == "linear"
    toggle(page, "chart-loss")
    assert axis(page, "chart-loss")["type"] == "logarithmic"
    # Pretty names on the chart, as in the table.
    names = page.evaluate("() => Chart.getChart(document.getElementById('chart-baselines')).data.labels")
    assert "SVM (RBF kernel)" in names and "svm_rbf" not in names
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

    assert_accessible(page)

    # The index lists it as the run of the active model.
    page.goto(f"{live_server}/dashboard")
    assert page.locator(f"#run-row-{run_id} .badge-active").count() == 1
    assert_accessible(page)


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
    assert_accessible(page)
    assert not errors, errors


def axis(page, canvas_id: str) -> dict:
    """The y axis of a chart as Chart.js drew it."""
    return page.evaluate(AXIS, canvas_id)


def toggle(page, canvas_id: str) -> None:
    button = page.locator(f"figure:has(#{canvas_id}) .chart-toggle")
    pressed = button.get_attribute("aria-pressed")
    button.click()
    assert button.get_attribute("aria-pressed") != pressed


def sign_in(page, base: str, next_path: str = "/dashboard") -> None:
    page.goto(f"{base}/login?next={next_path}")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{next_path}")


def one_epoch_record(record: dict, accuracy: float) -> dict:
    """The bundled run's record cut to one epoch, as a new run with its own model version."""
    record = json.loads(json.dumps(record))
    first = dict(record["history"][0], accuracy=accuracy, val_accuracy=accuracy - 0.002)
    record.update(name="one epoch", history=[first], kfold=None)
    record["artifacts"] = dict(record["artifacts"], version="cnn-one-epoch")
    return record


def test_one_epoch_accuracy_axis_stays_within_100_percent(app, live_server, browser):  # noqa: F811
    record = one_epoch_record(json.loads(BUNDLED_RUN.read_text()), 0.995)
    with app.app_context():
        run_id = import_record(record)[0].id
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(f"{live_server}/dashboard/runs/{run_id}")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-accuracy'))")
    accuracy = axis(page, "chart-accuracy")
    assert accuracy["max"] <= 1.0 and 0.95 <= accuracy["min"] < 0.993
    # Animated when motion is welcome.
    assert axis(page, "chart-loss")["animation"] is not False


def test_charts_read_in_dark_mode(app, live_server, browser):  # noqa: F811
    with app.app_context():
        run_id = import_record(json.loads(BUNDLED_RUN.read_text()))[0].id
    page = browser.new_page(viewport={"width": 1100, "height": 800}, color_scheme="dark",
                            reduced_motion="reduce")
    page.goto(f"{live_server}/dashboard/runs/{run_id}")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('chart-loss'))")
    colours = page.evaluate("""() => {
      const css = getComputedStyle(document.documentElement);
      const chart = Chart.getChart(document.getElementById('chart-reliability'));
      return {text: Chart.defaults.color, ink: css.getPropertyValue('--ink').trim(),
              grid: Chart.defaults.borderColor, line: css.getPropertyValue('--line').trim(),
              diagonal: chart.data.datasets[2].borderColor};
    }""")
    assert colours["text"] == colours["ink"] == "#e8eaed"  # light text on dark paper
    assert colours["grid"] == colours["line"]
    assert colours["diagonal"].lower() != "#000000"  # the black series turns light
    assert_accessible(page)


def test_promote_asks_for_a_reason_in_the_browser(app, live_server, browser, seeded, tmp_path):  # noqa: F811
    name = rejected_candidate(app, tmp_path, seeded)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server)
    page.locator(f'[id="version-{name}"]').get_by_role("link", name="Promote").click()
    page.wait_for_url(f"**/dashboard/models/{name}/activate")
    warning = page.locator("#gate-warning")
    assert "The gate rejected this: MNIST 99.37% against 99.52%" in warning.inner_text()
    assert_accessible(page)
    # Nothing is sent without a reason and the acknowledgement (the browser asks for them).
    page.locator("#confirm-activate").click()
    assert page.url.endswith(f"/dashboard/models/{name}/activate")
    assert page.evaluate("() => document.getElementById('reason').validity.valueMissing")
    page.locator("#reason").fill("the outline style reads right now")
    page.locator("#confirm-activate").click()
    assert page.url.endswith("/activate")
    assert page.evaluate("() => document.getElementById('override-gate').validity.valueMissing")
    with app.app_context():
        assert db.session.query(ModelVersion).filter_by(version=name).one().status == "candidate"
    page.locator("#override-gate").check()
    page.locator("#confirm-activate").click()
    page.wait_for_url("**/dashboard")
    assert f"Promoted {name}" in page.locator("main").inner_text()
    assert "the outline style reads right now" in page.locator("#active-activation").inner_text()
    with app.app_context():
        v = db.session.query(ModelVersion).filter_by(version=name).one()
        assert (v.status, v.activation_reason) == ("active", "the outline style reads right now")
        assert v.reason == GATE_REASON
    assert_accessible(page)
    # The model page tells the story; the bundled version is now one to roll back to.
    page.goto(f"{live_server}/dashboard/models/{name}")
    assert "the outline style reads right now" in page.locator("#model-activation-line").inner_text()
    assert_accessible(page)
    page.goto(f"{live_server}/dashboard/models/{seeded}/activate")
    assert page.locator("h1").inner_text().startswith("Roll back to")
    assert_accessible(page)
    assert not errors, errors


NO_PAGE_SCROLL = """() => {
  const width = document.documentElement.clientWidth;
  const wide = [];
  for (const el of document.querySelectorAll('body *')) {
    if (el.closest('.table-wrap')) continue;  // scrolls inside its wrapper, with a cue
    const box = el.getBoundingClientRect();
    if (box.width && (box.right > width + 1 || box.left < -1)) wide.push(el.tagName + '#' + el.id + '.' + el.className);
  }
  return {scroll: document.documentElement.scrollWidth - width, wide: wide.slice(0, 5)};
}"""
SMALL_TARGETS = """(selector) => Array.from(document.querySelectorAll(selector))
  .filter(el => el.offsetParent !== null)
  .map(el => el.getBoundingClientRect())
  .filter(box => box.width < 44 || box.height < 44).length"""


def test_the_dashboard_on_a_phone(app, live_server, browser, seeded, tmp_path):  # noqa: F811
    record = json.loads(BUNDLED_RUN.read_text())
    name = rejected_candidate(app, tmp_path, seeded)
    with app.app_context():
        bundled_run = db.session.query(ModelVersion).filter_by(version=seeded).one().run_id
        other = import_record(one_epoch_record(record, 0.98))[0].id
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server)
    pages = ["/dashboard", f"/dashboard/runs/{bundled_run}", f"/dashboard/compare?runs={bundled_run},{other}",
             "/dashboard/flags", "/dashboard/retrain", f"/dashboard/models/{name}",
             f"/dashboard/models/{name}/activate", "/dashboard/runs/9999"]
    for path in pages:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)  # charts and scroll hints settle
        layout = page.evaluate(NO_PAGE_SCROLL)
        assert layout == {"scroll": 0, "wide": []}, (path, layout)
        assert page.evaluate(SMALL_TARGETS, "main button, main a.btn, .pick-target, .toc a, "
                                            "table.data a, .sort-button") == 0, path
        assert_accessible(page)
    assert page.locator("#error-message").is_visible()  # the last one: a run that is not there

    # The long run page starts with a section index whose links lead to their sections.
    page.goto(f"{live_server}/dashboard/runs/{bundled_run}")
    toc = page.locator("#toc")
    assert toc.bounding_box()["y"] < 2 * PHONE["viewport"]["height"]
    assert toc.locator("a").count() >= 10
    toc.get_by_role("link", name="Baselines").click()
    page.wait_for_function("() => Math.abs(document.getElementById('baselines').getBoundingClientRect().top) < 40")
    # A wide table says it scrolls, and its caption stays inside the visible width.
    wrap = page.locator("#baselines .table-wrap")
    assert page.evaluate("(w) => w.scrollWidth > w.clientWidth", wrap.element_handle())
    page.locator("#baselines summary").click()
    hint = page.locator("#baselines .scroll-hint")
    hint.wait_for(state="visible")
    assert "Scroll sideways" in hint.inner_text()
    caption = page.locator("#baselines-caption").bounding_box()
    visible = wrap.bounding_box()
    assert caption["x"] + caption["width"] <= visible["x"] + visible["width"] + 1

    # The comparison: the second run is on screen or its table says it scrolls.
    page.goto(f"{live_server}/dashboard/compare?runs={bundled_run},{other}")
    page.wait_for_timeout(300)
    second = page.locator("#compare-table thead th").nth(2).bounding_box()
    on_screen = second["x"] + second["width"] <= PHONE["viewport"]["width"]
    assert on_screen or page.locator("#metrics-title ~ .scroll-hint").is_visible()
    page.screenshot(path=str(ROOT / "test-artifacts" / "dashboard-compare-phone.png"), full_page=True)
    assert not errors, errors

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
from tests.utils.admin import GATE_REASON, rejected_candidate
from tests.utils.apps import migrated_app
from tests.utils.browser import PHONE, assert_accessible
from tests.utils.flags import store_flag
from tests.utils.images import data_url, page_png
from tests.utils.many_flags import store_many_flags

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
LABEL_READS = """([card, text]) =>
  document.querySelector(`#${card} .flag-label`).textContent === text"""
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


def test_run_page_draws_its_charts(app, live_server, browser):
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
    loss, accuracy, bars = (
        axis(page, c) for c in ("chart-loss", "chart-accuracy", "chart-baselines")
    )
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
    names = page.evaluate(
        "() => Chart.getChart(document.getElementById('chart-baselines')).data.labels"
    )
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


def test_flags_reviewed_with_the_keyboard(app, live_server, browser, mnist_sample):
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
    page.wait_for_function(
        f"() => document.getElementById('flag-{ids[0]}').classList.contains('status-confirmed')"
    )
    page.keyboard.press("j")
    page.keyboard.press("7")
    page.wait_for_function(
        f"() => document.querySelector('#flag-{ids[1]} .flag-label').textContent === '7'"
    )
    page.keyboard.press("ArrowRight")
    page.keyboard.press("d")
    page.wait_for_function(
        f"() => document.getElementById('flag-{ids[2]}').classList.contains('status-dismissed')"
    )
    with app.app_context():
        rows = {f.id: (f.status, f.label) for f in db.session.query(Flag)}
    assert rows[ids[0]][0] == "confirmed"
    assert rows[ids[1]] == ("confirmed", 7)
    assert rows[ids[2]][0] == "dismissed"
    # N: the drawing is no digit at all.
    page.keyboard.press("n")
    page.wait_for_function(LABEL_READS, arg=[f"flag-{ids[2]}", "not a digit"])
    card = page.locator(f"#flag-{ids[2]}")
    assert "corrected to not a digit, confirmed" in card.get_attribute("aria-label")
    assert page.locator(f"#relabel-{ids[2]}").input_value() == "none"
    with app.app_context():
        assert db.session.get(Flag, ids[2]).label == 10
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


def test_one_epoch_accuracy_axis_stays_within_100_percent(app, live_server, browser):
    record = one_epoch_record(json.loads(BUNDLED_RUN.read_text()), 0.995)
    with app.app_context():
        run_id = import_record(record)[0].id
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    page.goto(f"{live_server}/dashboard/runs/{run_id}")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-accuracy'))"
    )
    accuracy = axis(page, "chart-accuracy")
    assert accuracy["max"] <= 1.0 and 0.95 <= accuracy["min"] < 0.993
    # Animated when motion is welcome.
    assert axis(page, "chart-loss")["animation"] is not False


def test_charts_read_in_dark_mode(app, live_server, browser):
    with app.app_context():
        run_id = import_record(json.loads(BUNDLED_RUN.read_text()))[0].id
    page = browser.new_page(
        viewport={"width": 1100, "height": 800}, color_scheme="dark", reduced_motion="reduce"
    )
    page.goto(f"{live_server}/dashboard/runs/{run_id}")
    page.wait_for_function(
        "() => window.Chart && Chart.getChart(document.getElementById('chart-loss'))"
    )
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


def test_promote_asks_for_a_reason_in_the_browser(app, live_server, browser, seeded, tmp_path):
    name = rejected_candidate(app, tmp_path, seeded)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server)
    page.locator(f'[id="version-{name}"]').get_by_role("link", name="Promote").click()
    page.wait_for_url(f"**/dashboard/models/{name}/activate")
    warning = page.locator("#gate-warning")
    assert warning.inner_text().startswith("⚠ The gate rejected this: MNIST")
    assert "99.37% against 99.52%" in warning.inner_text()
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
    assert (
        "the outline style reads right now" in page.locator("#model-activation-line").inner_text()
    )
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
  .filter(el => { const box = el.getBoundingClientRect(); return box.width < 44 || box.height < 44; })
  .map(el => `${el.tagName}#${el.id}.${el.className} ${Math.round(el.getBoundingClientRect().width)}x${Math.round(el.getBoundingClientRect().height)}`)"""
# Every control a finger aims at on the dashboard pages (a checkbox's target is its label).
CONTROLS = (
    "main button, main select, main a.btn, main summary, .pick-target, .toc a, "
    "table.data a, .sort-button, .topbar a, .topbar button"
)


def test_the_dashboard_on_a_phone(app, live_server, browser, seeded, tmp_path):
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
    pages = [
        "/dashboard",
        f"/dashboard/runs/{bundled_run}",
        f"/dashboard/compare?runs={bundled_run},{other}",
        "/dashboard/flags",
        "/dashboard/retrain",
        f"/dashboard/models/{name}",
        f"/dashboard/models/{name}/activate",
        "/dashboard/runs/9999",
    ]
    for path in pages:
        page.goto(f"{live_server}{path}")
        page.wait_for_load_state("load")
        page.wait_for_timeout(300)  # charts and scroll hints settle
        layout = page.evaluate(NO_PAGE_SCROLL)
        assert layout == {"scroll": 0, "wide": []}, (path, layout)
        assert page.evaluate(SMALL_TARGETS, CONTROLS) == [], path
        assert_accessible(page)
    assert page.locator("#error-message").is_visible()  # the last one: a run that is not there

    # The long run page starts with a section index whose links lead to their sections.
    page.goto(f"{live_server}/dashboard/runs/{bundled_run}")
    toc = page.locator("#toc")
    assert toc.bounding_box()["y"] < 2 * PHONE["viewport"]["height"]
    assert toc.locator("a").count() >= 10
    toc.get_by_role("link", name="Baselines").click()
    page.wait_for_function(
        "() => Math.abs(document.getElementById('baselines').getBoundingClientRect().top) < 40"
    )
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
    page.screenshot(
        path=str(ROOT / "test-artifacts" / "dashboard-compare-phone.png"), full_page=True
    )
    assert not errors, errors


TOP_BAR = """() => {
  const bar = document.querySelector('.topbar').getBoundingClientRect();
  const controls = Array.from(document.querySelectorAll('.topbar a, .topbar button')).map(el => {
    const box = el.getBoundingClientRect();
    const hit = document.elementFromPoint(box.x + box.width / 2, box.y + box.height / 2);
    return {text: el.textContent.trim(), top: box.top, bottom: box.bottom, left: box.left,
            right: box.right, width: box.width, height: box.height,
            tappable: el === hit || el.contains(hit)};
  });
  return {height: bar.height, width: document.documentElement.clientWidth, controls};
}"""


def assert_one_row(page, names: list[str]) -> None:
    """The top bar is one row, and each of its links and buttons is whole, on screen, tappable."""
    bar = page.evaluate(TOP_BAR)
    assert bar["height"] < 64, bar
    assert [c["text"] for c in bar["controls"]] == names
    for control in bar["controls"]:
        assert control["tappable"], control
        assert control["left"] >= 0 and control["right"] <= bar["width"], control
        assert control["bottom"] <= bar["height"], control
        assert control["width"] >= 44 and control["height"] >= 44, control


def test_the_top_bar_is_one_row_on_a_phone(app, live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server)
    top = page.locator(".topbar")
    for path in ("/", "/dashboard", "/dashboard/flags", "/dashboard/retrain"):
        page.goto(f"{live_server}{path}")
        assert_one_row(page, ["DigitPad", "Dashboard", "Flags", "Sign out"])
        for role, name in (
            ("link", "DigitPad"),
            ("link", "Dashboard"),
            ("link", "Flags"),
            ("button", "Sign out"),
        ):
            assert top.get_by_role(role, name=name, exact=True).is_visible(), name
        state = page.locator("#admin-state")  # says "admin" on the bar; all of it to a reader
        assert state.is_visible() and state.text_content() == "Signed in as admin"
        assert_accessible(page)
    page.screenshot(
        path=str(ROOT / "test-artifacts" / "topbar-phone.png"),
        clip={"x": 0, "y": 0, "width": 360, "height": 120},
    )
    # Each link leads where it says.
    for name, url in (
        ("Dashboard", f"{live_server}/dashboard"),
        ("DigitPad", f"{live_server}/"),
        ("Flags", f"{live_server}/dashboard/flags"),
    ):
        top.get_by_role("link", name=name, exact=True).tap()
        page.wait_for_url(url)
        assert (
            top.get_by_role("link", name=name, exact=True).get_attribute("aria-current") == "page"
        )
    top.get_by_role("button", name="Sign out").tap()
    page.get_by_text("You are signed out").wait_for()
    assert_one_row(page, ["DigitPad", "Dashboard", "Flags", "Sign in"])
    assert_accessible(page)
    top.get_by_role("link", name="Sign in").tap()
    page.wait_for_url("**/login**")
    assert not errors, errors


def test_the_flags_page_on_a_phone_pages_and_fits_fingers(app, live_server, browser):
    # 230 flags, oldest first: every fifth "not a digit", every fourth dismissed.
    specs = [
        (10 if i % 5 == 0 else i % 10, "dismissed" if i % 4 == 0 else "open") for i in range(230)
    ]
    ids = store_many_flags(app, specs)
    open_ids = [i for i, (_, status) in zip(ids, specs) if status == "open"]
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    sign_in(page, live_server, "/dashboard/flags")
    assert page.locator(".flag-card").count() == 50
    assert "1–50 of 230 flags" in page.locator("#flag-count").inner_text()
    # The filter's selects and button, the exports, every card's controls: 44 px or more.
    for selector in ("#filter-digit", "#filter-status"):
        assert page.locator(selector).bounding_box()["height"] >= 44, selector
    assert page.evaluate(SMALL_TARGETS, CONTROLS + ", .flag-card select, .pager a") == []
    assert page.evaluate(NO_PAGE_SCROLL) == {"scroll": 0, "wide": []}

    page.get_by_label("Status", exact=True).select_option("open")
    page.get_by_role("button", name="Filter").tap()
    page.wait_for_url("**status=open")
    assert_accessible(page)
    page.screenshot(path=str(ROOT / "test-artifacts" / "flags-phone.png"))
    pager = page.locator("#flag-pager")
    pager.scroll_into_view_if_needed()
    assert page.evaluate(SMALL_TARGETS, ".pager a") == []
    page.screenshot(path=str(ROOT / "test-artifacts" / "flags-phone-pager.png"))
    # Oldest: the last page of open flags, the filter kept, the oldest open flag at its end.
    pager.get_by_role("link", name="Oldest").tap()
    page.wait_for_url("**page=*")
    assert "status=open" in page.url
    assert page.get_by_label("Status", exact=True).input_value() == "open"
    cards = page.locator(".flag-card")
    assert int(cards.last.get_attribute("data-flag-id")) == open_ids[0]
    assert f"of {len(open_ids)} flags that match" in page.locator("#flag-count").inner_text()
    assert page.locator(".flag-card.status-dismissed").count() == 0
    # Newer leads back a page, still filtered.
    page.locator("#flag-pager").get_by_role("link", name="Newer").tap()
    page.wait_for_url("**page=*")
    assert (
        "status=open" in page.url
        and page.get_by_label("Status", exact=True).input_value() == "open"
    )

    # A drawing that is no digit: the card says so, and the relabel select offers it.
    labels = dict(zip(ids, (label for label, _ in specs)))
    third_page = open_ids[::-1][100:150]
    none_id = next(i for i in third_page if labels[i] == 10)
    digit_id = next(i for i in third_page if labels[i] != 10)  # relabelled with its select
    page.goto(f"{live_server}/dashboard/flags?status=open&page=3")
    page.locator(f"#flag-{none_id}").scroll_into_view_if_needed()
    assert page.locator(f"#flag-{none_id} .flag-label").inner_text() == "not a digit"
    card = page.locator(f"#flag-{digit_id}")
    card.get_by_label(f"Right digit for flag {digit_id}").select_option("none")
    card.get_by_role("button", name="Relabel").tap()
    page.wait_for_function(LABEL_READS, arg=[f"flag-{digit_id}", "not a digit"])
    assert card.locator(".flag-status-badge").inner_text() == "confirmed"
    assert "corrected to not a digit" in page.locator("#review-status").inner_text()
    with app.app_context():
        assert db.session.get(Flag, digit_id).label == 10
    assert page.evaluate(NO_PAGE_SCROLL) == {"scroll": 0, "wide": []}
    card.screenshot(path=str(ROOT / "test-artifacts" / "flags-phone-card.png"))
    feedback = page.locator("#feedback-confusion tbody tr").last  # the drawings that are no digit
    assert feedback.locator("th").text_content() == "corrected not a digit"
    feedback.scroll_into_view_if_needed()
    page.screenshot(path=str(ROOT / "test-artifacts" / "flags-phone-feedback.png"))
    assert_accessible(page)
    # The "not a digit" filter, from the select.
    page.get_by_label("Corrected to", exact=True).select_option("none")
    page.get_by_role("button", name="Filter").tap()
    page.wait_for_url("**digit=none**")
    labels = page.locator(".flag-card .flag-label").all_inner_texts()
    assert labels and set(labels) == {"not a digit"}
    assert not errors, errors


def test_a_running_run_updates_in_place_and_reloads_when_it_ends(app, live_server, browser):
    from app.models import TrainingRun, utcnow

    with app.app_context():
        run = TrainingRun(name="live one", status="running", total_epochs=3, owner="elsewhere:1")
        run.started_at = run.heartbeat_at = utcnow()
        db.session.add(run)
        db.session.commit()
        run_id = run.id

    def update(**values):
        with app.app_context():
            row = db.session.get(TrainingRun, run_id)
            for key, value in values.items():
                setattr(row, key, value)
            db.session.commit()

    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/dashboard")
    row = page.locator(f"#run-row-{run_id}")
    assert "running" in row.locator(".badge").inner_text()
    update(epoch=2, phase="training")
    # The page polls the progress JSON and rewrites the row without a reload.
    row.get_by_text("epoch 2/3").wait_for(timeout=15_000)
    assert row.locator('[data-field="phase"]').inner_text() == "training"
    update(status="succeeded", finished_at=utcnow(), phase=None)
    # Its end, as the server says it (`live` false), reloads the page with the finished row.
    page.wait_for_function(
        f"() => document.querySelector('#run-row-{run_id} .badge')"
        ".textContent.includes('succeeded')",
        timeout=15_000,
    )
    assert page.locator(f"#run-row-{run_id} .live").count() == 0
    assert errors == []


def test_a_flagged_drawing_and_a_confident_mistake_show_why(app, live_server, browser, seeded):
    client = app.test_client()
    seven = {
        "strokes": [[[70, 60], [210, 60], [130, 240]], [[100, 150], [200, 150]]],
        "width": 280,
        "height": 280,
    }
    pid = client.post("/api/predict", json=seven).get_json()["prediction_id"]
    store_flag(app, pid, 1)
    page = browser.new_page(viewport={"width": 1100, "height": 800})
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{live_server}/login?next=/dashboard/flags")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard/flags")
    page.get_by_role("button", name="Why 7?").click()
    said = page.locator(".why-said").first
    page.wait_for_function("() => document.querySelector('.why-said').textContent.includes('7')")
    assert "made it look like a 7" in said.inner_text()
    overlay = page.locator("canvas.why-overlay")
    assert overlay.count() == 1 and "made it look like a 7" in overlay.get_attribute("aria-label")
    assert_accessible(page)
    # The run's most confident mistakes, explained by the run's own model.
    with app.app_context():
        from app.models import TrainingRun

        run_id = db.session.query(TrainingRun).filter_by(model_version=seeded).one().id
    page.goto(f"{live_server}/dashboard/runs/{run_id}#mistakes")
    page.locator("#mistakes button[data-why-url]").first.click()
    page.wait_for_selector("#mistakes canvas.why-overlay")
    assert "made it look like" in page.inner_text("#mistake-why-0")
    assert errors == []

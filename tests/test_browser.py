"""A real Chromium, driven by Playwright, draws on the pad like a person."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Flag, Prediction
from tests.utils.browser import ARTIFACTS, browser, live_server  # noqa: F401

pytestmark = pytest.mark.browser
SCREENSHOT = ARTIFACTS / "screenshot.png"


def draw(page, strokes):
    """Drag the mouse along each stroke (points in 0..1 of the canvas)."""
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.6, 0.5), (0.45, 0.85)]]
ONE = [[(0.5, 0.15), (0.5, 0.85)]]


def test_draw_predict_and_flag(app, live_server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 760}, device_scale_factor=2)
    errors = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(live_server + "/")
    pad = page.get_by_role("img", name="Drawing pad")
    assert pad.is_visible()
    assert page.locator("#result").is_hidden()
    assert page.locator("#pad-hint").is_visible()

    draw(page, SEVEN)
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "7"
    bars = page.locator("#bars li")
    assert bars.count() == 10
    probs = [float(bars.nth(i).get_attribute("data-probability")) for i in range(10)]
    assert sum(probs) == pytest.approx(1.0, abs=1e-3)
    assert max(probs) == probs[7]
    assert page.locator("#bars li.top .bar-label").text_content() == "7"
    width = page.locator("#bars li.top .bar-fill").evaluate("e => e.getBoundingClientRect().width")
    assert width > 50
    assert "sure" in page.locator("#confidence").text_content()
    assert page.locator("#preprocessed").evaluate("img => img.naturalWidth") == 28
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))

    page.get_by_role("button", name="It was 1").click()
    page.get_by_text("Saved: it was a 1").wait_for()
    with app.app_context():
        flags = db.session.query(Flag).all()
        assert [(f.label, f.prediction.digit) for f in flags] == [(1, 7)]
    assert errors == []


def test_undo_clear_and_keys(app, live_server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    page.goto(live_server + "/")
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    page.keyboard.press("Escape")
    assert page.locator("#result").is_hidden()
    assert page.locator("#pad-hint").is_visible()
    # Draw a stroke, undo it with Ctrl+Z: back to the empty state.
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    page.keyboard.press("Control+z")
    page.locator("#result").wait_for(state="hidden")
    assert page.locator("#empty-state").is_visible()
    # Keys 0-9 flag the shown prediction.
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    page.keyboard.press("4")
    page.get_by_text("Saved: it was a 4").wait_for()
    with app.app_context():
        assert db.session.query(Flag).one().label == 4
        assert db.session.query(Prediction).count() >= 3


def test_phone_layout(live_server, browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, has_touch=True,
                                  is_mobile=True, device_scale_factor=3)
    page = context.new_page()
    page.goto(live_server + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    assert page.locator("#pad").evaluate("e => getComputedStyle(e).touchAction") == "none"
    box = page.locator("#pad").bounding_box()
    assert box["width"] >= 280
    # The canvas backing store follows the device pixel ratio (sharp on high-DPI).
    assert page.locator("#pad").evaluate("c => c.width") >= 3 * box["width"] - 2
    # A finger drawing: pointer events of type touch.
    page.locator("#pad").evaluate("""c => {
        const r = c.getBoundingClientRect();
        const at = (t, x, y) => c.dispatchEvent(new PointerEvent(t, {pointerId: 7,
            pointerType: 'touch', isPrimary: true, bubbles: true, cancelable: true,
            clientX: r.left + x * r.width, clientY: r.top + y * r.height, button: 0}));
        at('pointerdown', 0.5, 0.15);
        for (let i = 1; i <= 20; i++) at('pointermove', 0.5, 0.15 + i * 0.035);
        at('pointerup', 0.5, 0.85);
    }""")
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    for d in range(10):
        assert page.get_by_role("button", name=f"It was {d}").is_visible()
    context.close()

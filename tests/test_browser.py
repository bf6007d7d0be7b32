"""A real Chromium, driven by Playwright, draws on the pad like a person: mouse, finger, photo."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image
from werkzeug.security import generate_password_hash

from app.extensions import db
from app.models import Flag, Prediction
from tests.utils.apps import migrated_app
from tests.utils.browser import ARTIFACTS, PHONE, Served, assert_accessible
from tests.utils.models import soft_model
from tests.utils.strokes import (
    DOT,
    FOUR_OR_NINE,
    LETTER_A,
    ONE,
    SEVEN,
    SEVEN_CROSSED,
    SIX,
    TWO,
    ZERO,
    draw,
    finger,
    number,
)
from trainer.calibration import NOT_A_DIGIT

pytestmark = pytest.mark.browser
SCREENSHOT = ARTIFACTS / "screenshot.png"
PASSWORD = "draw them all"


DESKTOP = {"viewport": {"width": 1280, "height": 800}}


INK_BOX = """() => {
  const c = document.getElementById('pad');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let x0 = c.width, x1 = -1;
  for (let y = 0; y < c.height; y += 2) for (let x = 0; x < c.width; x += 2) {
    const i = (y * c.width + x) * 4;
    if (d[i] < 128) { x0 = Math.min(x0, x); x1 = Math.max(x1, x); }
  }
  return [x0 / c.width, x1 / c.width];
}"""


def watch(page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return errors


def answers(page) -> int:
    return page.evaluate("() => performance.getEntriesByName('pad:lift-to-answer').length")


def stroke_by_stroke(page, strokes, pen=None):
    """Strokes, each waiting for its answer: the page ends showing the whole drawing's.

    (Drawn at once, an answer still on its way when the next stroke lifts is
    never shown: only the newest drawing's is.) `pen`: the mouse unless `finger`.
    """
    for stroke in strokes:
        before = answers(page)
        if pen is finger:
            finger(page, stroke)
        else:
            draw(page, [stroke])
        page.wait_for_function(
            f"() => performance.getEntriesByName('pad:lift-to-answer').length > {before}"
        )


def predict_replies(page) -> list:
    """The /api/predict replies the page receives, in order (read their JSON once they are in)."""
    replies: list = []
    page.on("response", lambda r: replies.append(r) if r.url.endswith("/api/predict") else None)
    return replies


def soft_app(tmp_path):
    """The bundled network with a much softer calibration: what it reads it is seldom sure of."""
    return migrated_app(tmp_path, MODEL_DIR=str(soft_model(tmp_path)))


def short_controls(page) -> list[str]:
    """The controls on screen less than 44 px tall (those in a closed fold are not on screen)."""
    return page.evaluate("""() => [...document.querySelectorAll(
            'main button, main summary, main .button, .mode-switch span')]
        .filter(e => e.getClientRects().length && e.getBoundingClientRect().height < 44)
        .map(e => (e.id || e.textContent.trim()) + ': ' + e.getBoundingClientRect().height)""")


def in_viewport(page, selector: str) -> bool:
    return page.locator(selector).evaluate("""e => {
        const r = e.getBoundingClientRect();
        return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth;
    }""")


def listed_digits(page) -> list[int]:
    """Every digit the answer lists: its bars, and the line naming the negligible ones."""
    bars = page.locator(".bar").evaluate_all("bars => bars.map(b => Number(b.dataset.digit))")
    faint = page.locator("#faint-digits").text_content().split(":")[-1]
    return bars + [int(c) for c in faint if c.isdigit()]


def test_draw_predict_and_flag(app, live_server, browser):
    page = browser.new_page(viewport={"width": 1100, "height": 760}, device_scale_factor=2)
    errors = watch(page)
    page.goto(live_server + "/")
    assert page.get_by_role("img", name="Drawing pad").is_visible()
    assert page.locator("#result").is_hidden()
    assert page.locator("#pad-hint").is_visible()
    assert_accessible(page)

    draw(page, SEVEN)
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "7"
    assert page.locator("#verdict").text_content().startswith("Sure")
    # The top few are shown, most likely first; the rest are folded away.
    top = page.locator("#top-bars li")
    assert 1 <= top.count() <= 3 and top.first.get_attribute("data-digit") == "7"
    assert top.first.locator(".bar-fill").evaluate("e => e.getBoundingClientRect().width") > 50
    assert page.locator("#bars").is_hidden()
    assert page.locator("#preprocessed").evaluate("img => img.naturalWidth") == 28
    # The answer's own button cannot be chosen, and every key is shown.
    assert page.get_by_role("button", name="7 is the answer").is_disabled()
    keys = page.locator(".flag-keys")
    assert keys.is_visible() and "0" in keys.text_content()
    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT))
    page.get_by_text("Other digits").click()
    # Below the fold: the other digits' bars, or the line naming those under 0.1%.
    assert page.locator("#bars li").first.is_visible() or page.locator("#faint-digits").is_visible()
    # Each digit is listed once: a bar above, a bar below the fold, or among the negligible.
    listed = listed_digits(page)
    assert sorted(listed) == list(range(10)), listed
    probs = [
        float(p)
        for p in page.locator(".bar").evaluate_all("bars => bars.map(b => b.dataset.probability)")
    ]
    assert sum(probs) == pytest.approx(1.0, abs=5e-3) and max(probs) == probs[0]
    assert_accessible(page)

    page.get_by_role("button", name="It was 8").click()
    page.get_by_text("Saved: it was an 8. Thank you!").wait_for()
    assert page.get_by_role("button", name="It was 8").get_attribute("aria-pressed") == "true"
    assert page.locator("#digit").text_content() == "8"  # the headline is the person's now
    with app.app_context():
        flags = db.session.query(Flag).all()
        assert [(f.label, f.prediction.digit) for f in flags] == [(8, 7)]
    # Undo takes the flag back.
    page.get_by_role("button", name="Undo the correction").click()
    page.get_by_text("Flag taken back.").wait_for()
    assert page.get_by_role("button", name="It was 8").get_attribute("aria-pressed") == "false"
    assert page.locator("#digit").text_content() == "7"
    with app.app_context():
        assert db.session.query(Flag).count() == 0
    assert errors == []


def test_strokes_of_one_drawing_are_one_prediction(app, live_server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    page.goto(live_server + "/")
    draw(page, FOUR_OR_NINE[:1])
    page.locator("#result").wait_for(state="visible")
    first = page.evaluate("() => performance.getEntriesByName('pad:lift-to-answer').length")
    draw(page, FOUR_OR_NINE[1:])
    page.wait_for_function(
        f"() => performance.getEntriesByName('pad:lift-to-answer').length > {first}"
    )
    with app.app_context():
        assert db.session.query(Prediction).count() == 1


def test_unsure_answers_offer_the_alternatives(app, live_server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    page.goto(live_server + "/")
    stroke_by_stroke(page, FOUR_OR_NINE)
    verdict = page.locator("#verdict").text_content()
    digit = page.locator("#digit").text_content()
    assert verdict.startswith("Not sure: " + digit) and verdict.endswith("?"), verdict
    alternative = page.locator("#alternatives button").first
    other = int(alternative.get_attribute("data-digit"))
    assert str(other) in verdict and other != int(digit)
    alternative.click()
    page.get_by_text("Saved: it was").wait_for()
    with app.app_context():
        assert db.session.query(Flag).one().label == other


def test_a_dot_is_not_a_digit_and_offers_no_flag(app, live_server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    page.goto(live_server + "/")
    draw(page, DOT)
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#verdict").text_content() == "That doesn't look like a digit."
    assert page.locator("#digit").text_content() == "?"
    assert page.get_by_role("button", name="It was 3").is_hidden()
    page.keyboard.press("3")  # keys do nothing while there are no flag buttons
    page.wait_for_timeout(300)
    with app.app_context():
        assert db.session.query(Flag).count() == 0
    assert_accessible(page)
    # Someone who did draw a digit can still say which.
    page.get_by_role("button", name="It was a digit: say which").click()
    page.get_by_role("button", name="It was 3").click()
    page.get_by_text("Saved: it was a 3").wait_for()
    with app.app_context():
        assert db.session.query(Flag).one().label == 3


def test_undo_clear_and_keys(app, live_server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    page.goto(live_server + "/")
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    # Pressing the answer's own key files nothing, and says why.
    page.keyboard.press("1")
    page.get_by_text("1 is the answer already").wait_for()
    with app.app_context():
        assert db.session.query(Flag).count() == 0
    # Clear, then Undo brings the drawing back.
    page.keyboard.press("Escape")
    assert page.locator("#result").is_hidden()
    assert page.locator("#pad-hint").is_visible()
    assert "Undo brings it back" in page.locator("#pad-status").text_content()
    page.get_by_role("button", name="Undo").click()
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    assert page.locator("#pad-hint").is_hidden()
    # Undo of the only stroke: back to the empty state.
    page.keyboard.press("Control+z")
    page.locator("#result").wait_for(state="hidden")
    assert page.locator("#empty-state").is_visible()
    # Keys 0-9 flag the shown answer.
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    page.keyboard.press("4")
    page.get_by_text("Saved: it was a 4").wait_for()
    with app.app_context():
        assert db.session.query(Flag).one().label == 4
    # N: not a digit at all.
    page.keyboard.press("n")
    page.get_by_text("Saved: not a digit").wait_for()
    with app.app_context():
        assert db.session.query(Flag).one().label == NOT_A_DIGIT


@pytest.mark.parametrize(
    "viewport",
    [{"width": 360, "height": 740}, {"width": 740, "height": 360}],
    ids=["portrait", "landscape"],
)
def test_phone_shows_pad_answer_and_flag_buttons_together(live_server, browser, viewport):
    context = browser.new_context(**{**PHONE, "viewport": viewport, "device_scale_factor": 3})
    page = context.new_page()
    errors = watch(page)
    page.goto(live_server + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"]
    assert page.locator("#pad").evaluate("e => getComputedStyle(e).touchAction") == "none"
    box = page.locator("#pad").bounding_box()
    assert box["width"] >= 200 and in_viewport(page, "#pad")
    # The canvas backing store follows the device pixel ratio (sharp on high-DPI).
    assert page.locator("#pad").evaluate("c => c.width") >= 3 * box["width"] - 2
    finger(page, [(0.5, 0.15), (0.5, 0.85)])
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    assert page.evaluate("scrollY") == 0
    for selector in ("#pad", "#digit", "#verdict", "#top-bars", "#flag-title"):
        assert in_viewport(page, selector), selector
    for d in range(10):
        assert in_viewport(page, f'#flag-buttons button[data-digit="{d}"]'), d
    for button in page.locator("#flag-buttons button, .pad-tools .button, .pad-tools button").all():
        size = button.bounding_box()
        assert size["height"] >= 44 and size["width"] >= 44
    page.screenshot(path=str(ARTIFACTS / f"phone-{viewport['width']}x{viewport['height']}.png"))
    assert errors == []
    context.close()


def test_a_correction_on_a_phone_shows_in_the_headline_and_stays_undoable(
    app, live_server, browser
):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch(page)
    page.clock.install()  # the page's timers run on a clock the test moves on
    page.goto(live_server + "/")
    finger(page, ONE[0])
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    assert page.locator("#verdict").text_content().startswith("Sure")
    page.get_by_role("button", name="It was 0").tap()
    page.get_by_text("Saved: it was a 0. Thank you!").wait_for()
    # The confirmation and its Undo are on screen without scrolling, and the
    # headline now says what the person said, not what the model did.
    assert page.evaluate("scrollY") == 0
    for selector in ("#digit", "#verdict", "#flag-message", "#flag-undo"):
        assert in_viewport(page, selector), selector
    assert page.locator("#digit").text_content() == "0"
    verdict = page.locator("#verdict").text_content()
    assert "Corrected by you" in verdict and "sure" not in verdict.lower(), verdict
    assert (
        page.locator("#pad").get_attribute("aria-label") == "Drawing pad: reads 0, corrected by you"
    )
    assert short_controls(page) == []
    page.screenshot(path=str(ARTIFACTS / "phone-corrected.png"))
    assert_accessible(page)
    # No timer takes Undo away: half a minute later it is still there, still on screen.
    page.clock.fast_forward("00:30")
    undo = page.get_by_role("button", name="Undo the correction")
    assert undo.is_visible() and in_viewport(page, "#flag-undo")
    undo.tap()
    page.get_by_text("Flag taken back.").wait_for()
    # The model's answer is back in the headline.
    assert page.locator("#digit").text_content() == "1"
    assert page.locator("#verdict").text_content().startswith("Sure")
    assert page.get_by_role("button", name="It was 0").get_attribute("aria-pressed") == "false"
    with app.app_context():
        assert db.session.query(Flag).count() == 0
    # Undo goes with the drawing: cleared, and brought back, it offers none.
    page.get_by_role("button", name="It was 7").tap()
    page.get_by_text("Saved: it was a 7. Thank you!").wait_for()
    page.locator("#clear").tap()
    assert undo.is_hidden() and page.locator("#result").is_hidden()
    page.locator("#undo").tap()
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    assert undo.is_hidden() and page.locator("#flag-message").text_content() == ""
    with app.app_context():
        assert [f.label for f in db.session.query(Flag)] == [7]
    assert errors == []
    context.close()


def test_an_unsure_answer_on_a_phone_keeps_every_digit_button_on_screen(tmp_path, browser):
    served = Served(soft_app(tmp_path))
    try:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        errors = watch(page)
        replies = predict_replies(page)
        page.goto(served.url + "/")
        stroke_by_stroke(page, FOUR_OR_NINE, finger)
        reply = replies[-1].json()
        assert reply["verdict"] == "unsure" and len(reply["alternatives"]) >= 3, reply
        verdict = page.locator("#verdict").text_content()
        assert verdict.startswith(f"Not sure: {reply['digit']}, "), verdict
        assert verdict.endswith("?"), verdict
        if len(reply["alternatives"]) > 4:  # a long list names the likeliest, then "another digit"
            assert verdict.endswith("or another digit?"), verdict
        # "Sure" is the server's word: nowhere on the page for an unsure answer.
        assert "Sure" not in page.locator("#result").inner_text()
        offered = [
            int(d)
            for d in page.locator("#alternatives button").evaluate_all(
                "buttons => buttons.map(b => b.dataset.digit)"
            )
        ]
        likely = [d for d in reply["alternatives"] if d != reply["digit"]]
        assert offered and offered == likely[: len(offered)] and len(offered) <= 3
        assert page.evaluate("scrollY") == 0
        for selector in ["#digit", "#verdict", "#alternatives", "#flag-title"] + [
            f'#flag-buttons button[data-digit="{d}"]' for d in range(10)
        ]:
            assert in_viewport(page, selector), selector
        assert short_controls(page) == []
        page.screenshot(path=str(ARTIFACTS / "phone-unsure.png"))
        assert_accessible(page)
        # One of the likely digits taken: the headline shows it, the confirmation is on screen.
        page.locator("#alternatives button").first.tap()
        article = "an" if offered[0] == 8 else "a"
        page.get_by_text(f"Saved: it was {article} {offered[0]}. Thank you!").wait_for()
        assert page.locator("#digit").text_content() == str(offered[0])
        assert page.locator("#alternatives button").count() == 0
        assert in_viewport(page, "#flag-undo") and in_viewport(page, "#flag-message")
        assert errors == []
        context.close()
    finally:
        served.stop()


def test_a_refusal_shows_no_digit_bars_unless_the_fold_is_opened(live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    replies = predict_replies(page)
    page.goto(live_server + "/")
    stroke_by_stroke(page, LETTER_A, finger)
    assert replies[-1].json()["verdict"] == "not_a_digit"
    assert page.locator("#verdict").text_content() == "That doesn't look like a digit."
    assert page.locator("#digit").text_content() == "?"
    # No bar on screen, not even a muted one: the closest digits are folded away.
    assert page.locator(".bar:visible").count() == 0
    fold = page.locator("#all-bars")
    assert fold.is_visible() and fold.evaluate("d => d.open") is False
    assert page.locator("#all-bars summary").text_content() == "Closest digits"
    assert page.locator("#flag-buttons").is_hidden()
    assert short_controls(page) == []
    assert_accessible(page)
    page.locator("#all-bars summary").tap()
    bars = page.locator("#all-bars .bar")
    bars.first.wait_for(state="visible")
    assert 1 <= bars.count() <= 3 and page.locator(".bar.top").count() == 0
    # Muted: plain weight, and not the answer's accent colour.
    assert int(bars.first.evaluate("b => getComputedStyle(b).fontWeight")) < 600
    accent = page.evaluate("""() => {
        const probe = document.createElement('i');
        probe.style.color = 'var(--accent)';
        document.body.append(probe);
        const colour = getComputedStyle(probe).color;
        probe.remove();
        return colour;
    }""")
    fill = bars.first.locator(".bar-fill").evaluate("e => getComputedStyle(e).backgroundColor")
    assert fill != accent
    assert_accessible(page)
    # A person who did draw a digit says which; "not a digit" is no correction of a refusal.
    page.get_by_role("button", name="It was a digit: say which").tap()
    assert page.get_by_role("button", name="It was 4").is_visible()
    assert page.locator(".flag-none").is_hidden()
    assert short_controls(page) == []
    context.close()


def test_a_near_certain_answer_shows_no_false_ties(live_server, browser):
    page = browser.new_page(**DESKTOP, reduced_motion="reduce")
    replies = predict_replies(page)
    page.goto(live_server + "/")
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    probabilities = replies[-1].json()["probabilities"]
    assert max(probabilities) > 0.9995 and sorted(probabilities)[-2] < 0.0005, probabilities
    assert page.locator("#verdict").text_content() == "Sure: >99.9%"
    # Only the answer is drawn: no row of "0.0%" under it.
    assert page.locator("#top-bars .bar-value").all_text_contents() == [">99.9%"]
    page.get_by_text("Other digits").click()
    faint = page.locator("#faint-digits")
    assert faint.is_visible() and "under 0.1%" in faint.text_content()
    shown = page.locator("#result").inner_text()
    assert "0.0%" not in shown and "100.0%" not in shown
    assert sorted(listed_digits(page)) == list(range(10))
    # Reduced motion: the bars do not animate.
    assert (
        page.locator(".bar-fill").first.evaluate("e => getComputedStyle(e).transitionDuration")
        == "0s"
    )
    assert_accessible(page)


def test_not_a_digit_is_a_correction_that_reaches_the_database(app, live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(live_server + "/")
    finger(page, SEVEN[0])
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "7"
    none = page.get_by_role("button", name="It was not a digit")
    assert none.is_visible() and in_viewport(page, ".flag-none")
    assert none.bounding_box()["height"] >= 44
    none.tap()
    page.get_by_text("Saved: not a digit. Thank you!").wait_for()
    assert none.get_attribute("aria-pressed") == "true"
    assert page.locator("#digit").text_content() == "?"
    assert page.locator("#verdict").text_content().startswith("Corrected by you: not a digit")
    assert in_viewport(page, "#flag-undo")
    with app.app_context():
        flag = db.session.query(Flag).one()
        assert flag.label == NOT_A_DIGIT
        assert flag.prediction.digit == 7 and flag.prediction.verdict != "not_a_digit"
    assert_accessible(page)
    context.close()


def test_keyboard_hints_only_where_there_is_a_keyboard(live_server, browser):
    page = browser.new_page(**DESKTOP)
    page.goto(live_server + "/")
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    hints = page.locator(".keyboard-hint")
    assert hints.count() == 2 and all(h.is_visible() for h in hints.all())
    assert "Esc" in page.locator(".pad-keys").text_content()
    assert "0" in page.locator(".flag-keys").text_content()
    page.close()
    # Touch only, a phone or a tablet as wide as that desktop: no keys named.
    for options in (PHONE, {**PHONE, **DESKTOP}):
        context = browser.new_context(**options)
        page = context.new_page()
        page.goto(live_server + "/")
        finger(page, ONE[0])
        page.locator("#result").wait_for(state="visible")
        assert page.locator("#flag-buttons").is_visible()
        hints = page.locator(".keyboard-hint")
        assert hints.count() == 2 and not any(h.is_visible() for h in hints.all()), options
        context.close()


def test_the_drawing_rescales_when_the_phone_turns(live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(live_server + "/")
    finger(page, [(0.3, 0.5), (0.7, 0.5)])
    page.locator("#result").wait_for(state="visible")
    before = page.evaluate(INK_BOX)
    width = page.locator("#pad").bounding_box()["width"]
    page.set_viewport_size({"width": 740, "height": 360})
    page.wait_for_function(
        f"() => Math.abs(document.getElementById('pad').getBoundingClientRect().width - {width}) > 10"
    )
    page.wait_for_timeout(100)
    after = page.evaluate(INK_BOX)
    # The same stroke, at the same place relative to the smaller pad.
    assert after == pytest.approx(before, abs=0.02)
    assert in_viewport(page, "#pad")
    context.close()


def test_touch_taps_on_clear_act_at_once(live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(live_server + "/")
    finger(page, [(0.5, 0.15), (0.5, 0.85)])
    page.locator("#result").wait_for(state="visible")
    # A finger lifted on Clear (no click follows, as after a quick flick).
    page.locator("#clear").evaluate("""b => {
        const r = b.getBoundingClientRect();
        for (const t of ['pointerdown', 'pointerup']) b.dispatchEvent(new PointerEvent(t, {
            pointerId: 9, pointerType: 'touch', isPrimary: true, bubbles: true,
            clientX: r.left + 5, clientY: r.top + 5}));
    }""")
    assert page.locator("#result").is_hidden() and page.locator("#pad-hint").is_visible()
    context.close()


def test_a_photo_of_a_digit_is_read(app, live_server, browser, mnist_sample, tmp_path):
    images, labels = mnist_sample
    index = next(i for i in range(len(labels)) if labels[i] == 3)
    # Dark ink on white paper, the way a camera sees a digit on a page.
    paper = Image.fromarray(np.uint8(255 - images[index] * 255)).resize((600, 600))
    buffer = io.BytesIO()
    paper.convert("RGB").save(buffer, "JPEG", quality=90)
    photo = tmp_path / "digit.jpg"
    photo.write_bytes(buffer.getvalue())
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(live_server + "/")
    assert page.locator("#photo-input").get_attribute("capture") is not None
    assert page.locator("#photo-input").get_attribute("accept") == "image/*"
    page.locator("#upload-input").set_input_files(str(photo))
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "3"
    assert page.locator("#preprocessed").evaluate("img => img.naturalWidth") == 28
    assert page.locator("#pad-hint").is_hidden()
    with app.app_context():
        row = db.session.query(Prediction).one()
        assert row.drawing_type == "image/png" and row.digit == 3
    context.close()


def test_a_stopped_server_is_explained_and_recovery_is_automatic(tmp_path, browser):
    app = migrated_app(tmp_path)
    served = Served(app)
    page = browser.new_page(viewport={"width": 900, "height": 800})
    errors = watch(page)
    page.goto(served.url + "/")
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    served.stop()
    page.get_by_role("button", name="Clear").click()
    draw(page, SEVEN)
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    assert "cannot be reached" in problem.text_content()
    assert "Failed to fetch" not in page.content()
    assert page.get_by_role("button", name="Try again").is_visible()
    assert_accessible(page)
    # The server comes back on the same address: the page retries on its own.
    served = Served(app, served.port)
    try:
        page.locator("#result").wait_for(state="visible", timeout=20000)
        assert page.locator("#digit").text_content() == "7"
        assert problem.is_hidden()
    finally:
        served.stop()
    assert all("Failed to fetch" in e or "ERR_CONNECTION_REFUSED" in e for e in errors), errors


def test_offline_is_detected(live_server, browser):
    context = browser.new_context(viewport={"width": 900, "height": 800})
    page = context.new_page()
    page.goto(live_server + "/")
    context.set_offline(True)
    draw(page, ONE)
    page.locator("#problem-title", has_text="You are offline.").wait_for()
    context.set_offline(False)
    page.locator("#result").wait_for(state="visible", timeout=10000)
    assert page.locator("#digit").text_content() == "1"
    context.close()


def test_signing_in_shows_the_signed_in_state_everywhere(tmp_path, browser):
    app = migrated_app(tmp_path, ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD))
    served = Served(app)
    base = served.url
    try:
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.goto(base + "/login")
        field = page.get_by_label("Password")
        # 16 px text: phones do not zoom into the field.
        assert field.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
        assert_accessible(page)
        field.fill("not it")
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("That password is not right").wait_for()
        assert field.get_attribute("aria-invalid") == "true"
        assert_accessible(page)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.get_by_text("You are signed in as the admin").wait_for()
        for path in ("/", "/dashboard/", "/dashboard/flags"):
            page.goto(base + path)
            state = page.locator("#admin-state")
            assert state.is_visible() and state.text_content().strip() == "Signed in as admin"
            colour, background = state.evaluate(
                "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
            )
            assert colour != background
            assert page.locator(".topbar").get_by_role("button", name="Sign out").is_visible()
        assert_accessible(page)
        page.locator(".topbar").get_by_role("button", name="Sign out").click()
        page.get_by_text("You are signed out").wait_for()
        assert page.locator("#admin-state").count() == 0
        assert page.get_by_role("link", name="Sign in").is_visible()
        context.close()
    finally:
        served.stop()


def test_dark_mode_follows_the_system(live_server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 800}, color_scheme="dark")
    page.goto(live_server + "/")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgb(244, 246, 248)"
    # The pad follows: dark paper, light ink.
    paper = page.locator("#pad").evaluate(
        "c => Array.from(c.getContext('2d').getImageData(5, 5, 1, 1).data.slice(0, 3))"
    )
    assert sum(paper) < 200
    draw(page, ONE)
    page.locator("#result").wait_for(state="visible")
    assert page.locator("#digit").text_content() == "1"
    assert_accessible(page)


def test_number_mode_reads_2026_and_flags_one_digit(app, live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors = watch(page)
    page.goto(live_server + "/")
    page.get_by_role("radio", name="Number").check()
    assert page.locator("#pad-title").text_content() == "Write a number"
    box = page.locator("#pad").bounding_box()
    assert box["width"] > 2 * box["height"]  # a wide strip
    draw(page, number(TWO, ZERO, TWO, SIX))
    page.wait_for_function("() => document.getElementById('number-text').textContent === '2026'")
    cards = page.locator("#number-digits .digit-card")
    assert cards.count() == 4
    assert [cards.nth(i).locator(".card-digit").text_content() for i in range(4)] == list("2026")
    # A box around each digit, drawn on the pad in the accent colour.
    boxes = page.evaluate("""() => {
        const c = document.getElementById('pad'), k = c.width / c.getBoundingClientRect().width;
        const d = c.getContext('2d').getImageData(0, Math.round(c.height * 0.5), c.width, 1).data;
        let runs = 0, inside = false;
        for (let x = 0; x < c.width; x++) {
            const i = x * 4, blue = d[i + 2] > 150 && d[i] < 120;
            if (blue && !inside) runs++;
            inside = blue;
        }
        return runs;
    }""")
    assert boxes >= 8  # each box's left and right edges cross the middle row
    page.screenshot(path=str(ARTIFACTS / "number.png"))
    assert_accessible(page)
    # Tap the third digit's card: the buttons now correct it alone.
    cards.nth(2).click()
    assert "Digit 3, read as 2" in page.locator("#flag-title").text_content()
    page.get_by_role("button", name="It was 7").click()
    page.get_by_text("Saved: it was a 7").wait_for()
    assert "corrected" in cards.nth(2).get_attribute("class")
    assert page.locator("#number-text").text_content() == "2076"
    # Undo the 6: the number is read again, and the corrected digit is still shown corrected.
    page.get_by_role("button", name="Undo", exact=True).click()
    page.wait_for_function("() => document.getElementById('number-text').textContent === '207'")
    assert "corrected" in cards.nth(2).get_attribute("class")
    assert "corrected" not in cards.nth(1).get_attribute("class")
    with app.app_context():
        flag = db.session.query(Flag).one()
        assert flag.label == 7 and flag.prediction.digit == 2
        assert flag.prediction.number_id is not None
        digits = db.session.query(Prediction).filter_by(number_id=flag.prediction.number_id)
        assert sorted(p.digit for p in digits) == [0, 2, 2]
    # The mode is remembered.
    page.reload()
    assert page.locator('input[name="mode"][value="number"]').is_checked()
    assert errors == []


def test_number_mode_on_a_phone_uses_the_full_width(live_server, browser):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.goto(live_server + "/")
    page.get_by_role("radio", name="Number").check()
    box = page.locator("#pad").bounding_box()
    assert box["width"] >= 320 and in_viewport(page, "#pad")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def test_a_corrected_digit_changes_the_number_and_copy_copies_it(app, live_server, browser):
    context = browser.new_context(**PHONE)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
    page = context.new_page()
    errors = watch(page)
    page.goto(live_server + "/")
    page.get_by_role("radio", name="Number").check()
    # 20.26: a point on the line between the 0 and the second 2 (drawn first, on an empty strip).
    draw(page, [[(0.495, 0.78), (0.497, 0.78)]] + number(TWO, ZERO, TWO, SIX))
    page.wait_for_function("() => document.getElementById('number-text').textContent === '20.26'")
    cards = page.locator("#number-digits .digit-card")
    cards.nth(2).tap()
    page.get_by_role("button", name="It was 1").tap()
    page.get_by_text("Saved: it was a 1. Thank you!").wait_for()
    # The number shows the correction, separator kept; its card says who changed it.
    assert page.locator("#number-text").text_content() == "20.16"
    card = cards.nth(2)
    assert card.locator(".card-digit").text_content() == "1"
    assert "corrected" in card.text_content() and "sure" not in card.text_content()
    assert "Digit 3 corrected by you" in page.locator("#number-verdict").text_content()
    for selector in ("#number-text", "#copy-number", "#flag-message", "#flag-undo"):
        assert in_viewport(page, selector), selector
    page.get_by_role("button", name="Copy").tap()
    page.locator("#copy-status", has_text="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == "20.16"
    assert short_controls(page) == []
    page.screenshot(path=str(ARTIFACTS / "phone-number-corrected.png"))
    assert_accessible(page)
    # Undo of the correction: the number as read, and the old "Copied" no longer stands.
    page.get_by_role("button", name="Undo the correction").tap()
    page.wait_for_function("() => document.getElementById('number-text').textContent === '20.26'")
    assert page.locator("#copy-status").is_hidden()
    assert "corrected" not in card.get_attribute("class")
    page.get_by_role("button", name="Copy").tap()
    page.locator("#copy-status", has_text="Copied").wait_for()
    assert page.evaluate("() => navigator.clipboard.readText()") == "20.26"
    with app.app_context():
        assert db.session.query(Flag).count() == 0
    assert errors == []
    context.close()


def test_a_lost_reply_is_retried_without_storing_the_drawing_twice(app, live_server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 800})
    lost: list[str] = []

    def lose_the_first_reply(route):
        if lost:
            return route.continue_()
        route.fetch()  # the server reads and stores the drawing...
        lost.append(route.request.headers.get("idempotency-key", ""))
        route.abort("connectionreset")  # ...and its reply never arrives

    page.route("**/api/predict", lose_the_first_reply)
    page.goto(live_server + "/")
    draw(page, SEVEN)
    page.locator("#result").wait_for(state="visible", timeout=20000)  # the pad retried by itself
    assert page.locator("#digit").text_content() == "7"
    assert lost and lost[0]
    with app.app_context():
        rows = db.session.query(Prediction).all()
        assert len(rows) == 1 and rows[0].request_key == lost[0]


def test_a_refused_number_says_why_in_plain_words(live_server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(live_server + "/")
    page.get_by_role("radio", name="Number").check()
    draw(page, [[(0.04 + i * 0.087, 0.25), (0.04 + i * 0.087, 0.75)] for i in range(11)])
    problem = page.locator("#problem")
    problem.wait_for(state="visible")
    assert "could not be read" in problem.text_content()
    assert "at most 10" in problem.text_content()
    assert page.locator("#empty-state").is_hidden()


def test_a_photo_of_a_number_in_digit_mode_offers_number_mode(
    app, live_server, browser, mnist_sample, tmp_path
):
    from tests.utils import paper

    images, labels = mnist_sample
    picks = [int(np.flatnonzero(labels == d)[4]) for d in (3, 8)]
    made = paper.page(
        [images[i] for i in picks],
        [3, 8],
        np.random.default_rng(2),
        background="ruled",
        pen="blue",
        tilt=2.0,
        separators=False,
    )
    photo = tmp_path / "number.png"
    photo.write_bytes(made.png)
    context = browser.new_context(**PHONE)
    page = context.new_page()
    errors = watch(page)
    page.goto(live_server + "/")
    page.locator("#upload-input").set_input_files(str(photo))
    page.locator("#result").wait_for(state="visible")
    offer = page.locator("#number-offer")
    offer.wait_for(state="visible")
    assert "38" in offer.text_content()
    # The answer arrived: the pad no longer says it is reading.
    assert "Reading the picture" not in page.locator("#pad-status").text_content()
    assert_accessible(page)
    page.get_by_role("button", name="Read it as a number").click()
    page.wait_for_function("() => document.getElementById('number-text').textContent === '38'")
    assert page.locator('input[name="mode"][value="number"]').is_checked()
    assert page.locator("#pad-hint").is_hidden()
    with app.app_context():  # the offer stored nothing; the number was read and stored once
        assert db.session.query(Prediction).filter(Prediction.number_id.isnot(None)).count() == 2
    assert errors == []
    context.close()


BLUE_IN = """([x0, y0, x1, y1]) => {
  const c = document.getElementById('pad');
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
  let blue = 0;
  for (let y = Math.round(y0 * c.height); y < y1 * c.height; y++)
    for (let x = Math.round(x0 * c.width); x < x1 * c.width; x++) {
      const i = (y * c.width + x) * 4;
      if (d[i + 2] > 120 && d[i + 2] > d[i] + 60) blue++;
    }
  return blue;
}"""


def test_inside_the_network_on_a_phone_shows_every_stage_and_why(live_server, browser):
    page = browser.new_page(**PHONE)
    page.goto(live_server + "/")
    page.get_by_role("radio", name="Number").check()
    for stroke in number(SEVEN_CROSSED, ONE):
        finger(page, stroke)
    page.wait_for_function("() => document.querySelectorAll('#number-digits button').length === 2")
    assert page.inner_text("#number-text") == "71"
    assert page.locator("#inside").evaluate("d => !d.open")  # folded: nothing asked for
    page.locator("#number-digits button").first.click()  # the 7
    page.locator("#inside summary").click()
    page.wait_for_selector("#inside-sentence")
    sentence = page.inner_text("#inside-sentence")
    assert "7" in sentence and "at the top" in sentence
    titles = page.locator(".inside-stage h3").all_inner_texts()
    assert titles[0] == "Input" and "Stage 1: convolution 1" in titles
    assert "Stage 3: convolution 1" in titles and "Dense layer" in titles
    assert page.locator(".inside-map").count() == 7 * 8
    assert page.locator(".inside-scores tbody tr").count() == 11
    # The 7's bar is drawn in the answer's colour on the pad; the 1 beside it is not
    # (counted against the pad with the overlay off: the digits' boxes are blue too).
    bar, one = [0.1, 0.2, 0.27, 0.32], [0.31, 0.1, 0.5, 0.9]
    with_overlay = page.evaluate(BLUE_IN, bar), page.evaluate(BLUE_IN, one)
    page.click("#inside-overlay")  # off: the drawing as drawn
    assert page.get_attribute("#inside-overlay", "aria-pressed") == "false"
    without = page.evaluate(BLUE_IN, bar), page.evaluate(BLUE_IN, one)
    assert with_overlay[0] - without[0] > 20 and with_overlay[1] == without[1]
    page.locator("#inside-all").scroll_into_view_if_needed()
    page.locator("#inside-all").click()
    page.wait_for_function("() => document.querySelectorAll('.inside-map').length === 416")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360
    assert_accessible(page)

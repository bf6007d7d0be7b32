"""The served model knows when a drawing is not a digit, and when it is unsure."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from app.config import Config
from app.extensions import db
from app.models import Prediction, TrainingRun
from tests.utils.apps import migrated_app
from tests.utils.models import model_copy, soft_model
from trainer.calibration import (
    DEFAULT_RULE,
    LIKELY_MASS,
    MAX_DIGITS_REFUSED,
    SURE_CANDIDATES,
    SURE_PRECISION,
    VerdictRule,
    choose_rule,
)

PAD = {"width": 400, "height": 400, "line_width": 25}
SEVEN = [[[110, 90], [290, 90], [240, 170], [190, 260], [160, 330]]]


def predict(client, strokes):
    reply = client.post("/api/predict", json={"strokes": strokes, **PAD})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_a_clear_seven_is_sure(app, client):
    body = predict(client, SEVEN)
    assert (body["digit"], body["verdict"]) == (7, "sure")
    assert "alternatives" not in body
    assert body["not_a_digit_probability"] < 0.1
    with app.app_context():
        assert db.session.get(Prediction, body["prediction_id"]).verdict == "sure"


@pytest.mark.parametrize(
    "what, strokes",
    [
        ("a tap", [[[200, 200]]]),
        ("two taps", [[[120, 200]], [[260, 210]]]),
        ("a horizontal line", [[[80, 200], [320, 205]]]),
        ("a letter A", [[[110, 330], [200, 70], [290, 330]], [[150, 230], [250, 230]]]),
        ("a triangle", [[[200, 80], [320, 310], [80, 310], [200, 80]]]),
        ("a letter M", [[[90, 320], [110, 90], [200, 250], [290, 90], [310, 320]]]),
    ],
)
def test_drawings_that_are_no_digit_are_refused(app, client, what, strokes):
    body = predict(client, strokes)
    assert body["verdict"] == "not_a_digit", (what, body["digit"], body["confidence"])
    assert body["not_a_digit_probability"] >= 0.5
    with app.app_context():
        assert db.session.get(Prediction, body["prediction_id"]).verdict == "not_a_digit"


def test_an_unsure_answer_names_the_likely_digits(tmp_path):
    # The bundled network with a much softer calibration: the same 7 is now
    # only probably a 7, and the reply says which digits it might be.
    app = migrated_app(tmp_path, MODEL_DIR=str(soft_model(tmp_path)))
    body = predict(app.test_client(), SEVEN)
    assert body["verdict"] == "unsure" and body["digit"] == 7
    assert body["confidence"] < 0.75
    assert body["alternatives"][0] == 7 and len(body["alternatives"]) >= 2
    probabilities = body["probabilities"]
    held = [probabilities[d] for d in body["alternatives"]]
    assert held == sorted(held, reverse=True)
    # The likeliest digits that together hold 95% of the probability, and no more.
    assert sum(held) >= LIKELY_MASS - 1e-6
    assert sum(held[:-1]) < LIKELY_MASS
    with app.app_context():
        assert db.session.get(Prediction, body["prediction_id"]).verdict == "unsure"


def test_the_models_own_rule_decides_what_is_sure(tmp_path):
    # The same drawing and network: a rule whose sure threshold is above the
    # answer's probability makes it unsure, one below makes it sure.
    (tmp_path / "a").mkdir()
    base = predict(migrated_app(tmp_path / "a").test_client(), SEVEN)
    assert base["verdict"] == "sure"
    for sure_at, said in (
        (min(1.0, base["confidence"] + 1e-4), "unsure"),
        (base["confidence"] - 1e-3, "sure"),
    ):
        rule = json.loads((Path(Config.MODEL_DIR) / "model.json").read_text())["verdict_rule"]
        copy = model_copy(tmp_path / f"rule-{said}", verdict_rule={**rule, "sure_at": sure_at})
        (tmp_path / said).mkdir()
        body = predict(migrated_app(tmp_path / said, MODEL_DIR=str(copy)).test_client(), SEVEN)
        assert body["verdict"] == said, (sure_at, body)


def test_the_bundled_rule_was_chosen_on_held_out_writers():
    meta = json.loads((Path(Config.MODEL_DIR) / "model.json").read_text())
    rule = VerdictRule.from_json(meta["verdict_rule"])
    assert rule is not DEFAULT_RULE
    assert "online:uji" in rule.chosen_on and "online:pendigits" in rule.chosen_on
    assert rule.sure_right >= SURE_PRECISION
    assert rule.digits_refused <= MAX_DIGITS_REFUSED


def test_choose_rule_meets_the_precision_on_every_set():
    rng = np.random.default_rng(3)
    sets = {}
    for name, noise in (("clean", 0.02), ("messy", 0.3)):
        labels = rng.integers(0, 10, 4000)
        logits = rng.normal(0, 1, (4000, 11))
        logits[np.arange(4000), labels] += 4 + 8 * rng.random(4000)
        # Mistakes, fairly confident ones in the messy set.
        flip = rng.random(4000) < noise
        logits[flip, (labels[flip] + 1) % 10] += 6 + 6 * rng.random(flip.sum())
        p = np.exp(logits - logits.max(1, keepdims=True))
        sets[name] = (p / p.sum(1, keepdims=True), labels)
    rule = choose_rule(sets)
    for probs, labels in sets.values():
        sure = (probs[:, :10].max(1) >= rule.sure_at) & (probs[:, 10] < rule.reject_at)
        assert (probs[sure, :10].argmax(1) == labels[sure]).mean() >= SURE_PRECISION
        assert (probs[:, 10] >= rule.reject_at).mean() <= MAX_DIGITS_REFUSED
    # The lowest threshold that does: one step lower fails on some set.
    lower = SURE_CANDIDATES[rule.sure_at > SURE_CANDIDATES]
    if len(lower):
        worst = min(
            (probs[m, :10].argmax(1) == labels[m]).mean()
            for probs, labels in sets.values()
            for m in [(probs[:, :10].max(1) >= lower[-1]) & (probs[:, 10] < rule.reject_at)]
        )
        assert worst < SURE_PRECISION


def _ellipse(cx, cy, rx, ry, n=40):
    return [
        [cx + rx * math.cos(t), cy + ry * math.sin(t)]
        for t in np.linspace(-math.pi / 2, 1.5 * math.pi, n)
    ]


@pytest.mark.parametrize("share", [0.08, 0.12, 0.15, 0.2])
def test_a_tall_narrow_zero_is_a_zero(client, share):
    # One stroke, a share of a 360 px pad wide and nearly its height: once
    # fitted into 20 pixels its hole closed and it read as "1, sure".
    body = client.post(
        "/api/predict",
        json={
            "strokes": [_ellipse(180, 250, 360 * share / 2, 180)],
            "width": 360,
            "height": 500,
            "line_width": 22,
        },
    ).get_json()
    assert (body["digit"], body["verdict"]) == (0, "sure"), body


def test_a_straight_one_is_never_widened_into_a_zero(client):
    for stroke in (
        [[180, 70], [180, 430]],
        [[200, 70], [160, 430]],
        [[150, 140], [190, 70], [190, 430]],
    ):
        body = client.post(
            "/api/predict",
            json={"strokes": [stroke], "width": 360, "height": 500, "line_width": 22},
        ).get_json()
        assert body["digit"] == 1, (stroke, body)


QUESTION_HOOK = [
    [180 + 70 * math.cos(t), 170 - 70 * math.sin(t)] for t in np.linspace(math.pi, -math.pi / 2, 30)
] + [[180, 300]]


@pytest.mark.parametrize(
    "what, strokes",
    [
        ("with its dot", [QUESTION_HOOK, [[180, 380], [181, 381]]]),
        ("without its dot", [QUESTION_HOOK]),
    ],
)
def test_a_question_mark_is_never_sure(client, what, strokes):
    body = client.post(
        "/api/predict", json={"strokes": strokes, "width": 360, "height": 500, "line_width": 22}
    ).get_json()
    assert body["verdict"] != "sure", (what, body)


def test_the_run_page_shows_the_rule_it_chose(app, client, seeded):
    meta = json.loads((Path(Config.MODEL_DIR) / "model.json").read_text())
    rule = meta["verdict_rule"]
    with app.app_context():
        run_id = db.session.query(TrainingRun).one().id
    app.config["FLAGS_PUBLIC"] = True
    page = client.get(f"/dashboard/runs/{run_id}").get_data(as_text=True)
    section = page.split('id="verdict-rule"')[1].split("</section>")[0]
    assert f"{rule['sure_at']:.2%}" in section and f"{rule['coverage']:.1%}" in section
    assert "held-out writers" in section and "UJI Pen Characters" in section
    assert 'href="#verdict-rule"' in page  # in the page's section index

"""The served model knows when a drawing is not a digit, and when it is unsure."""

from __future__ import annotations

import json
import shutil

import pytest

from app.config import Config
from app.extensions import db
from app.models import Prediction
from tests.conftest import migrated_app

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


@pytest.mark.parametrize("what, strokes", [
    ("a tap", [[[200, 200]]]),
    ("two taps", [[[120, 200]], [[260, 210]]]),
    ("a horizontal line", [[[80, 200], [320, 205]]]),
    ("a letter A", [[[110, 330], [200, 70], [290, 330]], [[150, 230], [250, 230]]]),
    ("a triangle", [[[200, 80], [320, 310], [80, 310], [200, 80]]]),
    ("a letter M", [[[90, 320], [110, 90], [200, 250], [290, 90], [310, 320]]]),
])
def test_drawings_that_are_no_digit_are_refused(app, client, what, strokes):
    body = predict(client, strokes)
    assert body["verdict"] == "not_a_digit", (what, body["digit"], body["confidence"])
    assert body["not_a_digit_probability"] >= 0.5
    with app.app_context():
        assert db.session.get(Prediction, body["prediction_id"]).verdict == "not_a_digit"


def test_an_unsure_answer_names_the_likely_digits(tmp_path):
    # The bundled network with a much softer calibration: the same 7 is now
    # only probably a 7, and the reply says which digits it might be.
    copy = tmp_path / "soft-model"
    shutil.copytree(Config.MODEL_DIR, copy)
    meta = json.loads((copy / "model.json").read_text())
    meta["temperature"] = 6.0
    (copy / "model.json").write_text(json.dumps(meta))
    app = migrated_app(tmp_path, MODEL_DIR=str(copy))
    body = predict(app.test_client(), SEVEN)
    assert body["verdict"] == "unsure" and body["digit"] == 7
    assert body["confidence"] < 0.75
    assert body["alternatives"][0] == 7 and 2 <= len(body["alternatives"]) <= 3
    probabilities = body["probabilities"]
    assert [probabilities[d] for d in body["alternatives"]] == sorted(
        (probabilities[d] for d in body["alternatives"]), reverse=True)
    with app.app_context():
        assert db.session.get(Prediction, body["prediction_id"]).verdict == "unsure"

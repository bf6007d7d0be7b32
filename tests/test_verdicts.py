"""The served model knows when a drawing is not a digit, and when it is unsure."""

from __future__ import annotations

import pytest

from app.extensions import db
from app.models import Prediction

PAD = {"width": 400, "height": 400, "line_width": 25}


def predict(client, strokes):
    reply = client.post("/api/predict", json={"strokes": strokes, **PAD})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_a_clear_seven_is_sure(app, client):
    body = predict(client, [[[110, 90], [290, 90], [240, 170], [190, 260], [160, 330]]])
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


def test_confidence_is_calibrated_not_always_certain(client):
    # A 1 and a 7 share a long stroke: a short hook on top leaves room for doubt,
    # and the answer says so, with the likely digits in order.
    body = predict(client, [[[170, 120], [230, 80], [230, 330]]])
    assert body["digit"] in (1, 7)
    if body["verdict"] == "unsure":
        assert body["alternatives"][0] == body["digit"] and len(body["alternatives"]) >= 2
        assert set(body["alternatives"]) <= set(range(10))
    assert body["confidence"] < 0.9999

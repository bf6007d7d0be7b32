"""POST /api/read: a number read digit by digit, each digit a prediction linked to its number."""

from __future__ import annotations

import base64
import io
import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from PIL import Image

from app.extensions import db
from app.models import Flag, Number, Prediction
from tests.utils.flags import store_flag

pytestmark = pytest.mark.databases("sqlite", "postgresql")

CANVAS = {"width": 900, "height": 280, "line_width": 16}


def one(x):
    return [[[x + 14, 72], [x + 24, 60], [x + 24, 220]]]


def seven(x):
    return [[[x, 60], [x + 100, 60], [x + 35, 220]], [[x + 30, 140], [x + 85, 140]]]


def zero(x):
    t = -np.pi / 2 + np.linspace(0, 2 * np.pi, 40)
    return [[[float(x + 50 + 50 * np.cos(a)), float(140 + 80 * np.sin(a))] for a in t]]


def two(x):
    return [
        [
            [x + 5, 100],
            [x + 30, 63],
            [x + 70, 60],
            [x + 95, 95],
            [x + 85, 140],
            [x, 220],
            [x + 100, 220],
        ]
    ]


def body(strokes, **extra) -> dict:
    return {"strokes": strokes, **CANVAS, **extra}


SEVENTY_ONE = one(100) + seven(220) + one(400)  # "171"


def count(model) -> int:
    return db.session.query(model).count()


def png_data_url(image: Image.Image) -> str:
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def number_picture(mnist_sample, digits: str, size: int = 40) -> Image.Image:
    """MNIST digits side by side with clear gaps, dark on white."""
    images, labels = mnist_sample
    crops = []
    for d in digits:
        ink = Image.fromarray(np.uint8(images[int(np.flatnonzero(labels == int(d))[0])] * 255))
        ink = ink.crop(ink.getbbox())
        crops.append(
            np.asarray(ink.resize((max(1, round(ink.width * size / ink.height)), size)), np.float32)
            / 255
        )
    page = np.zeros((size + 30, sum(c.shape[1] + 14 for c in crops) + 30), np.float32)
    x = 20
    for crop in crops:
        page[15 : 15 + size, x : x + crop.shape[1]] = crop
        x += crop.shape[1] + 14
    return Image.fromarray(np.uint8(255 - page * 255))


# ------------------------------------------------------------------ the contract
def test_a_number_is_read_left_to_right_digit_by_digit(app, client):
    reply = client.post("/api/read", json=body(SEVENTY_ONE))
    assert reply.status_code == 200
    answer = reply.get_json()
    assert set(answer) == {
        "text",
        "written",
        "number_id",
        "digits",
        "separators",
        "model_version",
        "size",
    }
    assert answer["text"] == answer["written"] == "171" and answer["size"] == [900, 280]
    assert answer["separators"] == []
    assert isinstance(answer["number_id"], int)
    always = {
        "digit",
        "confidence",
        "probabilities",
        "verdict",
        "box",
        "prediction_id",
        "preprocessed",
    }
    for digit, said in zip(answer["digits"], "171"):
        assert always <= set(digit) <= always | {"alternatives", "not_a_digit_probability"}
        assert digit["digit"] == int(said) and digit["verdict"] == "sure"
        assert sum(digit["probabilities"]) == pytest.approx(1.0, abs=1e-3)
        assert digit["confidence"] == max(digit["probabilities"])
        seen = Image.open(io.BytesIO(base64.b64decode(digit["preprocessed"].split(",", 1)[1])))
        assert seen.size == (28, 28)
    boxes = [d["box"] for d in answer["digits"]]
    assert boxes[0] == pytest.approx([106, 52, 132, 228], abs=1)  # canvas pixels, pen included
    assert all(a[2] < b[0] for a, b in zip(boxes, boxes[1:]))
    assert len({d["prediction_id"] for d in answer["digits"]}) == 3


def test_each_digit_is_stored_as_its_own_prediction_linked_to_its_number(app, client):
    answer = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    with app.app_context():
        number = db.session.get(Number, answer["number_id"])
        assert number.text == "171" and number.model_version == answer["model_version"]
        assert [p.id for p in number.digits] == [d["prediction_id"] for d in answer["digits"]]
        assert [p.number_position for p in number.digits] == [0, 1, 2]
        seven_row = number.digits[1]
        assert seven_row.digit == 7 and seven_row.author == number.author is not None
        drawn = json.loads(seven_row.drawing)  # its own strokes, as a digit drawn alone
        assert seven_row.drawing_type == "application/vnd.digitpad.strokes+json"
        assert len(drawn["strokes"]) == 2 and drawn["line_width"] == 16
        assert min(drawn["width"], drawn["height"]) == 280
        seen = np.asarray(Image.open(io.BytesIO(seven_row.input_png)))
        assert seen.shape == (28, 28) and seen.max() > 200
        assert count(Prediction) == 3


def test_store_false_stores_nothing(app, client):
    answer = client.post("/api/read", json=body(SEVENTY_ONE, store=False)).get_json()
    assert answer["text"] == "171" and answer["number_id"] is None
    assert [d["prediction_id"] for d in answer["digits"]] == [None] * 3
    with app.app_context():
        assert count(Number) == 0 and count(Prediction) == 0


def test_a_picture_as_upload_or_data_url(app, client, mnist_sample):
    picture = number_picture(mnist_sample, "2026")
    by_url = client.post("/api/read", json={"image": png_data_url(picture)}).get_json()
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    upload = client.post(
        "/api/read",
        data={"image": (io.BytesIO(buffer.getvalue()), "n.png")},
        content_type="multipart/form-data",
    ).get_json()
    assert by_url["text"] == upload["text"] == "2026"
    assert by_url["size"] == list(picture.size)
    assert [d["box"] for d in by_url["digits"]] == [d["box"] for d in upload["digits"]]
    with app.app_context():
        row = db.session.get(Prediction, by_url["digits"][0]["prediction_id"])
        x0, y0, x1, y1 = by_url["digits"][0]["box"]
        assert row.drawing_type == "image/png"
        assert Image.open(io.BytesIO(row.drawing)).size == (x1 - x0, y1 - y0)  # its own ink only


def test_a_mark_that_is_no_digit_reads_as_a_question_mark(client):
    square = [[[260, 70], [420, 70], [420, 210], [260, 210], [260, 70]]]
    answer = client.post("/api/read", json=body(one(100) + square)).get_json()
    assert [d["verdict"] for d in answer["digits"]] == ["sure", "not_a_digit"]
    assert answer["text"] == "1?"


# ------------------------------------------------------------------ replaces
def test_each_stroke_updates_the_same_number(app, client):
    first = client.post("/api/read", json=body(one(100) + seven(220)[:1])).get_json()
    second = client.post(
        "/api/read", json=body(one(100) + seven(220), replaces=first["number_id"])
    ).get_json()
    third = client.post("/api/read", json=body(SEVENTY_ONE, replaces=first["number_id"])).get_json()
    assert first["number_id"] == second["number_id"] == third["number_id"]
    assert second["text"] == "17" and third["text"] == "171"
    ids = [d["prediction_id"] for d in third["digits"]]
    assert ids[:2] == [d["prediction_id"] for d in second["digits"]]  # unchanged digits keep theirs
    with app.app_context():
        assert count(Number) == 1 and count(Prediction) == 3
        assert db.session.get(Number, first["number_id"]).text == "171"
        assert db.session.get(Prediction, ids[1]).digit == 7


def test_fewer_digits_after_a_stroke_drop_the_extra_rows(app, client):
    first = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    again = client.post("/api/read", json=body(one(100), replaces=first["number_id"])).get_json()
    assert again["text"] == "1" and again["number_id"] == first["number_id"]
    with app.app_context():
        assert count(Prediction) == 1
        assert (
            db.session.get(Number, first["number_id"]).digits[0].id
            == again["digits"][0]["prediction_id"]
        )


def test_replacing_keeps_flagged_digits(app, client):
    first = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    seven_id = first["digits"][1]["prediction_id"]
    assert client.post(f"/api/predictions/{seven_id}/flag", json={"label": 1}).status_code == 201
    # The last 1 becomes a 2; then the 7 is erased too.
    changed = client.post(
        "/api/read", json=body(one(100) + seven(220) + two(400), replaces=first["number_id"])
    ).get_json()
    assert changed["text"] == "172"
    assert changed["digits"][1]["prediction_id"] == seven_id  # the same drawing, kept as flagged
    assert changed["digits"][1]["flag"] == 1  # and the reply says so
    assert "flag" not in changed["digits"][0]
    shorter = client.post("/api/read", json=body(one(100), replaces=first["number_id"])).get_json()
    assert shorter["number_id"] == first["number_id"]
    with app.app_context():
        kept = db.session.get(Prediction, seven_id)
        assert kept is not None and kept.flag.label == 1 and kept.digit == 7
        assert kept.number_id == first["number_id"]
        assert count(Prediction) == 2  # the 1, and the flagged 7


def test_replaces_of_someone_elses_reading_makes_a_new_one(app, client):
    theirs = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    stranger = app.test_client()
    mine = stranger.post("/api/read", json=body(one(100), replaces=theirs["number_id"])).get_json()
    assert mine["number_id"] != theirs["number_id"]
    with app.app_context():
        assert db.session.get(Number, theirs["number_id"]).text == "171"
        assert count(Prediction) == 4


def test_replaces_of_an_unknown_reading_makes_a_new_one(app, client):
    reply = client.post("/api/read", json=body(one(100), replaces=12345))
    assert reply.status_code == 200 and reply.get_json()["number_id"] != 12345


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.parametrize("replaces", ["1", True, -3, 0, 1.5, 2**64])
def test_replaces_must_be_a_number_id(app, client, replaces):
    reply = client.post("/api/read", json=body(one(100), replaces=replaces))
    assert reply.status_code == 400
    assert "replaces" in reply.get_json()["error"]
    with app.app_context():
        assert count(Number) == 0


def test_a_digit_of_a_number_is_not_replaced_through_predict(app, client):
    answer = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    digit_id = answer["digits"][0]["prediction_id"]
    single = client.post("/api/predict", json={**body(seven(220)), "replaces": digit_id}).get_json()
    assert single["prediction_id"] != digit_id
    with app.app_context():
        assert db.session.get(Prediction, digit_id).digit == 1


# ------------------------------------------------------------------ flags, retention, exports
def test_a_digit_of_a_number_is_flagged_through_the_flag_endpoint(app, client):
    answer = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    seven_id = answer["digits"][1]["prediction_id"]
    reply = client.post(f"/api/predictions/{seven_id}/flag", json={"label": 4})
    assert reply.status_code == 201 and reply.get_json()["label"] == 4
    assert client.post(f"/api/predictions/{seven_id}/flag", json={"label": 7}).status_code == 422
    stranger = app.test_client()
    assert stranger.post(f"/api/predictions/{seven_id}/flag", json={"label": 4}).status_code == 403
    with app.app_context():
        flags = db.session.query(Flag).all()
        assert [(f.prediction_id, f.label) for f in flags] == [(seven_id, 4)]


def test_retention_purges_unflagged_digits_and_keeps_confirmed_ones(app, client):
    from app.services.retention import PURGED, purge

    answer = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    ids = [d["prediction_id"] for d in answer["digits"]]
    store_flag(app, ids[1], 1, status="confirmed")
    with app.app_context():
        assert purge(30, now=datetime.now(UTC) + timedelta(days=31)) == 2
        rows = [db.session.get(Prediction, i) for i in ids]
        assert [r.drawing_type == PURGED for r in rows] == [True, False, True]
        assert rows[1].input_png and rows[1].drawing
        number = db.session.get(Number, answer["number_id"])
        assert number.text == "171" and len(number.digits) == 3  # what was read stays


def test_exports_and_retraining_data_take_digits_of_numbers(app, client):
    from app.services import review, training

    answer = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    seven_id = answer["digits"][1]["prediction_id"]
    store_flag(app, seven_id, 4, status="confirmed")
    with app.app_context():
        header, *rows = review.export_csv().strip().splitlines()
        assert header.startswith("label,") and len(rows) == 1 and rows[0].split(",")[0] == "4"
        pixels = np.array(rows[0].split(",")[1:], np.uint8).reshape(28, 28)
        stored = np.asarray(Image.open(io.BytesIO(db.session.get(Prediction, seven_id).input_png)))
        assert np.array_equal(pixels, stored)
        drawn = Image.open(io.BytesIO(review.drawing_png(db.session.get(Prediction, seven_id))))
        assert min(drawn.size) > 0
        data = training.feedback_dataset()
        assert len(data.train) + len(data.test) == 1


def test_deleting_a_number_keeps_its_digits(app, client):
    answer = client.post("/api/read", json=body(SEVENTY_ONE)).get_json()
    with app.app_context():
        db.session.execute(db.delete(Number))
        db.session.commit()
        db.session.expire_all()
        rows = db.session.query(Prediction).all()
        assert len(rows) == 3 and {r.number_id for r in rows} == {None}
    assert answer["number_id"] is not None


# ------------------------------------------------------------------ errors
def blank_png(size=(200, 80)) -> str:
    return png_data_url(Image.new("L", size, 255))


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.parametrize(
    "kwargs,status,fragment",
    [
        ({"json": {"strokes": [], **CANVAS}}, 422, "empty"),
        ({"json": {"image": blank_png()}}, 422, "empty"),
        ({"json": {"strokes": [[[1, 2]]], "width": 5000, "height": 100}}, 413, "4096"),
        ({"json": {"image": blank_png((5000, 10))}}, 413, "4096"),
        ({"data": b"x" * (3 * 1024 * 1024), "content_type": "application/json"}, 413, "larger"),
        ({"json": {"strokes": "abc", **CANVAS}}, 400, "list"),
        ({"json": {"strokes": [[[1, "NaN"]]], **CANVAS}}, 400, "numbers"),
        ({"json": {"strokes": [[[5000, 10]]], **CANVAS}}, 400, "canvas"),
        ({"json": {"image": "data:image/png;base64,!!notbase64"}}, 400, "base64"),
        ({"json": {"strokes": [[[1, 2]]], **CANVAS, "store": "yes"}}, 400, "store"),
        ({"json": {"something": 1}}, 400, "image"),
        ({"json": [1, 2]}, 400, "JSON object"),
        ({"data": "not json", "content_type": "application/json"}, 400, "JSON"),
        ({"data": {"file": (b"x", "a.png")}, "content_type": "multipart/form-data"}, 400, "image"),
    ],
)
def test_bad_input_is_a_clear_json_error(app, client, kwargs, status, fragment):
    if isinstance(kwargs.get("data"), dict):  # a fresh upload for each run of the case
        kwargs = {
            **kwargs,
            "data": {k: (io.BytesIO(v[0]), v[1]) for k, v in kwargs["data"].items()},
        }
    reply = client.post("/api/read", **kwargs)
    assert reply.status_code == status
    assert fragment.lower() in reply.get_json()["error"].lower()
    with app.app_context():
        assert count(Number) == 0 and count(Prediction) == 0


def test_more_than_ten_digits_is_422(app, client):
    eleven = [line for i in range(11) for line in one(20 + 78 * i)]
    reply = client.post(
        "/api/read", json={"strokes": eleven, "width": 900, "height": 280, "line_width": 12}
    )
    assert reply.status_code == 422
    error = reply.get_json()["error"]
    assert "11 digits" in error and "at most 10" in error
    ten = client.post(
        "/api/read", json={"strokes": eleven[:10], "width": 900, "height": 280, "line_width": 12}
    )
    assert ten.status_code == 200 and ten.get_json()["text"] == "1" * 10
    with app.app_context():
        assert count(Number) == 1


@pytest.mark.databases("sqlite")
def test_read_counts_against_the_api_rate_limit(tmp_path):
    from tests.utils.apps import migrated_app

    app = migrated_app(tmp_path, API_RATE_LIMIT="2 per minute")
    client = app.test_client()
    codes = [
        client.post("/api/read", json=body(one(100), store=False)).status_code for _ in range(3)
    ]
    assert codes == [200, 200, 429]


def test_a_failed_store_leaves_no_number_and_no_digit(app, client, monkeypatch):
    """A database error while storing rolls back and answers 503 JSON: no half number."""
    from sqlalchemy.exc import OperationalError

    real_flush = db.session.flush

    def failing_flush(*args, **kwargs):
        real_flush(*args, **kwargs)  # the rows are written, then the disk "fails"
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(db.session, "flush", failing_flush)
    reply = client.post("/api/read", json=body(SEVENTY_ONE))
    monkeypatch.setattr(db.session, "flush", real_flush)
    assert reply.status_code == 503
    assert reply.get_json()["error"].startswith("the database is busy; nothing was stored")
    with app.app_context():
        assert count(Number) == 0 and count(Prediction) == 0


@pytest.mark.databases("sqlite")
def test_random_scribbles_are_read_or_refused_never_an_error(client):
    rng = np.random.default_rng(5)
    for _ in range(40):
        strokes = [
            (rng.uniform([0, 0], [900, 280], (int(rng.integers(1, 30)), 2))).tolist()
            for _ in range(int(rng.integers(1, 25)))
        ]
        reply = client.post("/api/read", json=body(strokes, store=False))
        assert reply.status_code in (200, 422), reply.get_json()
        if reply.status_code == 200:
            answer = reply.get_json()
            assert 1 <= len(answer["digits"]) == len(answer["text"]) <= 10
            for x0, y0, x1, y1 in (d["box"] for d in answer["digits"]):
                assert 0 <= x0 < x1 <= 900 and 0 <= y0 < y1 <= 280
        else:
            assert "digits" in reply.get_json()["error"]

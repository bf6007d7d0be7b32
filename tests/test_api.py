"""The JSON API: predictions are stored, flags saved, and bad input refused."""

from __future__ import annotations

import base64
import io
import json
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from app.extensions import db
from app.models import Flag, Prediction
from tests.utils.images import data_url, page_png

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def count(model) -> int:
    return db.session.query(model).count()


def test_predict_png_data_url_is_stored(app, client, mnist_sample):
    images, labels = mnist_sample
    reply = client.post("/api/predict", json={"image": data_url(page_png(images[4]))})
    assert reply.status_code == 200
    body = reply.get_json()
    always = {
        "prediction_id",
        "digit",
        "confidence",
        "probabilities",
        "verdict",
        "model_version",
        "preprocessed",
    }
    assert always <= set(body) <= always | {"alternatives", "not_a_digit_probability"}
    assert body["digit"] == labels[4] and body["verdict"] == "sure"
    assert len(body["probabilities"]) == 10
    assert sum(body["probabilities"]) == pytest.approx(1.0, abs=1e-3)
    assert body["confidence"] == max(body["probabilities"])
    seen = Image.open(io.BytesIO(base64.b64decode(body["preprocessed"].split(",", 1)[1])))
    assert seen.size == (28, 28)
    with app.app_context():
        row = db.session.get(Prediction, body["prediction_id"])
        assert row.digit == body["digit"]
        assert row.drawing_type == "image/png"
        stored = np.asarray(Image.open(io.BytesIO(row.drawing)))
        assert np.array_equal(stored, np.asarray(Image.open(io.BytesIO(page_png(images[4])))))
        assert row.probabilities == body["probabilities"]
        assert row.model_version == body["model_version"]
        assert row.verdict == "sure"
        assert Image.open(io.BytesIO(row.input_png)).size == (28, 28)


def test_predict_bare_base64_jpeg_and_webp(client, mnist_sample):
    images, labels = mnist_sample
    for fmt in ("JPEG", "WEBP"):
        buffer = io.BytesIO()
        Image.open(io.BytesIO(page_png(images[1]))).convert("RGB").save(buffer, fmt, quality=90)
        reply = client.post(
            "/api/predict", json={"image": base64.b64encode(buffer.getvalue()).decode()}
        )
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json()["digit"] == labels[1]


def test_predict_multipart_upload(client, mnist_sample):
    images, labels = mnist_sample
    reply = client.post(
        "/api/predict",
        data={"image": (io.BytesIO(page_png(images[2])), "digit.png")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 200
    assert reply.get_json()["digit"] == labels[2]


def test_predict_strokes(client):
    # A "7": a bar across the top, then a diagonal down.
    strokes = [[[60, 50], [120, 50], [200, 50]], [[200, 50], [160, 130], [120, 230]]]
    reply = client.post("/api/predict", json={"strokes": strokes, "width": 280, "height": 280})
    assert reply.status_code == 200
    assert reply.get_json()["digit"] == 7


def test_store_false_predicts_without_storing(app, client, mnist_sample):
    images, _ = mnist_sample
    reply = client.post(
        "/api/predict", json={"image": data_url(page_png(images[4])), "store": False}
    )
    assert reply.status_code == 200
    assert reply.get_json()["prediction_id"] is None
    with app.app_context():
        assert count(Prediction) == 0


def test_flag_stores_and_replaces_the_label(app, client, mnist_sample):
    images, _ = mnist_sample
    answer = client.post("/api/predict", json={"image": data_url(page_png(images[4]))}).get_json()
    pid, said = answer["prediction_id"], answer["digit"]
    first, second = [d for d in range(10) if d != said][:2]
    reply = client.post(f"/api/predictions/{pid}/flag", json={"label": first})
    assert reply.status_code == 201
    assert reply.get_json()["label"] == first
    reply = client.post(f"/api/predictions/{pid}/flag", json={"label": second})
    assert reply.status_code == 201
    with app.app_context():
        assert count(Flag) == 1
        assert db.session.get(Prediction, pid).flag.label == second


def test_a_flag_may_not_repeat_the_answer(app, client, mnist_sample):
    images, _ = mnist_sample
    answer = client.post("/api/predict", json={"image": data_url(page_png(images[4]))}).get_json()
    reply = client.post(
        f"/api/predictions/{answer['prediction_id']}/flag", json={"label": answer["digit"]}
    )
    assert reply.status_code == 422
    assert f"already answered {answer['digit']}" in reply.get_json()["error"]
    with app.app_context():
        assert count(Flag) == 0


def test_an_open_flag_can_be_taken_back_by_its_author_only(app, client, mnist_sample):
    images, _ = mnist_sample
    answer = client.post("/api/predict", json={"image": data_url(page_png(images[4]))}).get_json()
    pid = answer["prediction_id"]
    wrong = next(d for d in range(10) if d != answer["digit"])
    assert client.post(f"/api/predictions/{pid}/flag", json={"label": wrong}).status_code == 201
    stranger = app.test_client()
    assert stranger.delete(f"/api/predictions/{pid}/flag").status_code == 403
    reply = client.delete(f"/api/predictions/{pid}/flag")
    assert reply.status_code == 200 and reply.get_json()["flag"] is None
    with app.app_context():
        assert count(Flag) == 0
    again = client.delete(f"/api/predictions/{pid}/flag")
    assert again.status_code == 404 and "no flag" in again.get_json()["error"]
    assert client.post(f"/api/predictions/{pid}/flag", json={"label": wrong}).status_code == 201
    with app.app_context():
        db.session.query(Flag).one().status = "confirmed"
        db.session.commit()
    assert client.delete(f"/api/predictions/{pid}/flag").status_code == 409
    with app.app_context():
        assert count(Flag) == 1


def test_a_drawing_called_no_digit_may_be_flagged_with_any_digit(app, client):
    dot = {"strokes": [[[140, 140]]], "width": 280, "height": 280, "line_width": 18}
    answer = client.post("/api/predict", json=dot).get_json()
    assert answer["verdict"] == "not_a_digit"
    reply = client.post(
        f"/api/predictions/{answer['prediction_id']}/flag", json={"label": answer["digit"]}
    )
    assert reply.status_code == 201


def test_each_stroke_of_one_drawing_updates_one_prediction(app, client):
    seven = [[[60, 60], [220, 60]], [[220, 60], [120, 240]]]
    body = {"strokes": seven[:1], "width": 280, "height": 280, "line_width": 18}
    first = client.post("/api/predict", json=body).get_json()["prediction_id"]
    body.update(strokes=seven, replaces=first)
    second = client.post("/api/predict", json=body).get_json()
    assert second["prediction_id"] == first
    with app.app_context():
        assert count(Prediction) == 1
        row = db.session.get(Prediction, first)
        assert row.digit == second["digit"]
        assert len(json.loads(row.drawing)["strokes"]) == 2


def test_replaces_never_touches_someone_elses_or_a_flagged_prediction(app, client):
    body = {
        "strokes": [[[60, 60], [220, 60]], [[220, 60], [120, 240]]],
        "width": 280,
        "height": 280,
        "line_width": 18,
    }
    theirs = client.post("/api/predict", json=body).get_json()
    stranger = app.test_client()
    mine = stranger.post("/api/predict", json={**body, "replaces": theirs["prediction_id"]})
    assert mine.get_json()["prediction_id"] != theirs["prediction_id"]
    wrong = next(d for d in range(10) if d != theirs["digit"])
    client.post(f"/api/predictions/{theirs['prediction_id']}/flag", json={"label": wrong})
    again = client.post("/api/predict", json={**body, "replaces": theirs["prediction_id"]})
    assert again.get_json()["prediction_id"] != theirs["prediction_id"]
    with app.app_context():
        assert count(Prediction) == 3
        assert db.session.get(Prediction, theirs["prediction_id"]).flag.label == wrong


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.parametrize("replaces", ["1", True, -3, 0, 1.5, 2**64])
def test_replaces_must_be_a_prediction_id(client, replaces):
    body = {"strokes": [[[60, 60], [220, 60]]], "width": 280, "height": 280, "replaces": replaces}
    reply = client.post("/api/predict", json=body)
    assert reply.status_code == 400
    assert "replaces" in reply.get_json()["error"]


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.parametrize("label", [10, -1, "33", 3.0, None, True, "None", "nothing"])
def test_flag_rejects_bad_labels(app, client, mnist_sample, label):
    images, _ = mnist_sample
    pid = client.post("/api/predict", json={"image": data_url(page_png(images[4]))}).get_json()[
        "prediction_id"
    ]
    reply = client.post(f"/api/predictions/{pid}/flag", json={"label": label})
    assert reply.status_code == 400
    assert "label" in reply.get_json()["error"]
    with app.app_context():
        assert count(Flag) == 0


def test_flag_unknown_prediction_is_404(client):
    reply = client.post("/api/predictions/999/flag", json={"label": 1})
    assert reply.status_code == 404
    assert "999" in reply.get_json()["error"]


def test_health(client):
    reply = client.get("/api/health")
    assert reply.status_code == 200
    body = reply.get_json()
    assert body["database"] == "ok"
    assert body["model_version"]


def test_health_reports_a_missing_model(tmp_path):
    from app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": "sqlite://",
            "MODEL_DIR": str(tmp_path / "nowhere"),
        }
    )
    reply = app.test_client().get("/api/health")
    assert reply.status_code == 503
    assert reply.get_json()["model_version"] is None


def blank_png(size=(100, 100), color=255) -> bytes:
    buffer = io.BytesIO()
    Image.new("L", size, color).save(buffer, "PNG")
    return buffer.getvalue()


def bomb_png(width: int, height: int) -> bytes:
    """A tiny PNG file that claims a huge picture."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1000)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")
    )


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.parametrize(
    "kwargs,status,fragment",
    [
        ({"json": {"image": data_url(blank_png())}}, 422, "empty"),
        ({"json": {"strokes": [], "width": 100, "height": 100}}, 422, "empty"),
        ({"json": {"image": data_url(blank_png((5000, 10)))}}, 413, "4096"),
        ({"json": {"image": base64.b64encode(bomb_png(30000, 30000)).decode()}}, 413, "4096"),
        ({"json": {"image": "data:image/png;base64,!!notbase64"}}, 400, "base64"),
        ({"json": {"image": base64.b64encode(b"hello, not an image").decode()}}, 400, "decoded"),
        ({"json": {"image": 12}}, 400, "image"),
        ({"json": {"strokes": [[[1, "NaN"]]], "width": 100, "height": 100}}, 400, "numbers"),
        (
            {
                "data": '{"strokes": [[[1, NaN]]], "width": 100, "height": 100}',
                "content_type": "application/json",
            },
            400,
            "finite",
        ),
        (
            {
                "data": '{"strokes": [[[1, Infinity]]], "width": 100, "height": 100}',
                "content_type": "application/json",
            },
            400,
            "finite",
        ),
        ({"json": {"strokes": [[[1, 2]]], "width": "wide", "height": 100}}, 400, "width"),
        (
            {"json": {"strokes": [[[i, i] for i in range(20001)]], "width": 100, "height": 100}},
            400,
            "too many",
        ),
        ({"json": {"strokes": "abc", "width": 100, "height": 100}}, 400, "list"),
        ({"json": {"image": data_url(blank_png()), "store": "yes"}}, 400, "store"),
        ({"json": {"something": 1}}, 400, "image"),
        ({"json": [1, 2]}, 400, "JSON object"),
        ({"data": "not json", "content_type": "application/json"}, 400, "JSON"),
        ({"data": {"file": (b"x", "a.png")}, "content_type": "multipart/form-data"}, 400, "image"),
        ({"data": b"x" * (3 * 1024 * 1024), "content_type": "application/json"}, 413, "larger"),
    ],
)
def test_bad_input_is_a_clear_json_error(app, client, kwargs, status, fragment):
    if isinstance(kwargs.get("data"), dict):  # a fresh upload for each run of the case
        kwargs = {
            **kwargs,
            "data": {k: (io.BytesIO(v[0]), v[1]) for k, v in kwargs["data"].items()},
        }
    reply = client.post("/api/predict", **kwargs)
    assert reply.status_code == status
    assert fragment.lower() in reply.get_json()["error"].lower()
    with app.app_context():
        assert count(Prediction) == 0


def test_unknown_api_route_is_json_404(client):
    reply = client.get("/api/nothing-here")
    assert reply.status_code == 404
    assert reply.get_json() == {"error": "not found"}


def test_wrong_method_is_json_405(client):
    reply = client.get("/api/predict")
    assert reply.status_code == 405
    assert "error" in reply.get_json()


def test_failed_store_leaves_no_row(app, client, mnist_sample, monkeypatch):
    """A database error while storing rolls back and answers 503 JSON, no half row."""
    from sqlalchemy.exc import OperationalError

    images, _ = mnist_sample
    real_flush = db.session.flush

    def failing_flush(*args, **kwargs):
        real_flush(*args, **kwargs)  # the row is written, then the disk "fails"
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(db.session, "flush", failing_flush)
    reply = client.post("/api/predict", json={"image": data_url(page_png(images[4]))})
    monkeypatch.setattr(db.session, "flush", real_flush)
    assert reply.status_code == 503
    assert reply.get_json()["error"].startswith("the database is busy; nothing was stored")
    with app.app_context():
        assert count(Prediction) == 0


def test_index_page(client):
    reply = client.get("/")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert 'aria-label="Drawing pad"' in html
    assert "<script>" not in html  # scripts come from static/ only
    assert reply.headers["Content-Security-Policy"].startswith("default-src 'self'")

"""What a client can make the server keep, and for how long: the audit's reproducers.

Strokes are stored as the pad can show them, a client's daily storage is
capped, retention also ends dismissed and unreviewed flags, a retried request
stores nothing twice, and a digit read off a wide number stays exportable.
"""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime, timedelta

import numpy as np

from app.extensions import db
from app.models import Flag, Number, Prediction
from app.services.retention import PURGED, purge
from tests.utils.flags import store_flag

DRAWN_7 = {
    "strokes": [[[60, 50], [200, 50], [120, 230]]],
    "width": 280,
    "height": 280,
    "line_width": 18,
}


def test_stored_strokes_are_rounded_thinned_and_kept_on_the_canvas(app, client):
    rng = np.random.default_rng(0)
    # 19,000 points along a 7, a few hundredths of a pixel apart, at full float precision.
    t = np.sort(rng.random(19_000))
    xs = (
        60
        + 140 * np.minimum(t * 2, 1)
        - 80 * np.maximum(t * 2 - 1, 0)
        + rng.normal(0, 0.01, t.size)
    )
    ys = 50 + 180 * np.maximum(t * 2 - 1, 0) + rng.normal(0, 0.01, t.size)
    stroke = np.stack([xs, ys], 1).tolist() + [[118.0, 330.0]]  # the pen slid off the pad
    body = {"strokes": [stroke], "width": 280, "height": 280, "line_width": 18}
    sent = len(json.dumps(body))
    reply = client.post("/api/predict", json=body)
    assert reply.status_code == 200 and reply.get_json()["digit"] == 7
    with app.app_context():
        row = db.session.get(Prediction, reply.get_json()["prediction_id"])
        kept = json.loads(row.drawing)["strokes"][0]
    assert len(row.drawing) < sent / 50
    assert all(p == [round(p[0], 1), round(p[1], 1)] for p in kept)
    assert all(abs(a[0] - b[0]) + abs(a[1] - b[1]) >= 1 for a, b in zip(kept[:-2], kept[1:-1]))
    assert kept[-1] == [118.0, 280.0]  # off the pad, kept at its edge


def test_a_clients_daily_storage_is_capped(tmp_path):
    from tests.utils.apps import migrated_app

    app = migrated_app(tmp_path, STORAGE_QUOTA_BYTES=2_000)
    client = app.test_client()
    codes = [client.post("/api/predict", json=DRAWN_7).status_code for _ in range(12)]
    assert codes[0] == 200 and codes[-1] == 429
    refused = client.post("/api/predict", json=DRAWN_7)
    assert "daily quota" in refused.get_json()["error"]
    assert '"store": false' in refused.get_json()["error"]
    assert 3600 < int(refused.headers["Retry-After"]) <= 86400  # tomorrow, not in a moment
    assert client.post("/api/predict", json={**DRAWN_7, "store": False}).status_code == 200
    assert client.post("/api/read", json=DRAWN_7).status_code == 429
    with app.app_context():
        assert db.session.query(Prediction).count() == codes.count(200)
    other = client.post("/api/predict", json=DRAWN_7, environ_base={"REMOTE_ADDR": "10.4.4.4"})
    assert other.status_code == 200


def test_retention_ends_dismissed_and_unreviewed_flags_but_keeps_confirmed_ones(app, client):
    ids = [client.post("/api/predict", json=DRAWN_7).get_json()["prediction_id"] for _ in range(4)]
    for pid, status in zip(ids, ("open", "dismissed", "confirmed")):
        store_flag(app, pid, 1, status)
    later = datetime.now(UTC) + timedelta(days=91)
    with app.app_context():
        # Changing an open flag's digit does not renew it.
        db.session.get(Prediction, ids[0]).flag.label = 4
        db.session.commit()
        assert purge(90, now=later) == 3
        rows = [db.session.get(Prediction, pid) for pid in ids]
        assert [r.drawing_type == PURGED for r in rows] == [True, True, False, True]
        assert [f.status for f in db.session.query(Flag)] == ["confirmed"]
        assert purge(90, now=datetime.now(UTC)) == 0  # nothing younger goes


def test_a_retried_request_stores_nothing_twice(app, client):
    key = {"Idempotency-Key": "page1-digit-1-3"}
    first = client.post("/api/predict", json=DRAWN_7, headers=key).get_json()
    again = client.post("/api/predict", json=DRAWN_7, headers=key).get_json()
    assert first["prediction_id"] == again["prediction_id"] and again["digit"] == first["digit"]
    other = client.post(
        "/api/predict", json=DRAWN_7, headers={"Idempotency-Key": "page1-digit-1-4"}
    )
    assert other.get_json()["prediction_id"] != first["prediction_id"]
    # Another browser's key is its own.
    stranger = app.test_client().post("/api/predict", json=DRAWN_7, headers=key).get_json()
    assert stranger["prediction_id"] not in (
        first["prediction_id"],
        other.get_json()["prediction_id"],
    )
    number = {
        "strokes": [[[40, 20], [40, 120]], [[120, 20], [180, 20], [140, 120]]],
        "width": 300,
        "height": 140,
        "line_width": 10,
    }
    read_key = {"Idempotency-Key": "page1-number-2-1"}
    a = client.post("/api/read", json=number, headers=read_key).get_json()
    b = client.post("/api/read", json=number, headers=read_key).get_json()
    assert a["number_id"] == b["number_id"]
    assert [d["prediction_id"] for d in a["digits"]] == [d["prediction_id"] for d in b["digits"]]
    with app.app_context():
        assert db.session.query(Prediction).count() == 3 + len(a["digits"])
        assert db.session.query(Number).count() == 1
    bad = client.post("/api/predict", json=DRAWN_7, headers={"Idempotency-Key": "no spaces"})
    assert bad.status_code == 400 and "Idempotency-Key" in bad.get_json()["error"]


def test_a_digit_read_off_a_very_wide_reading_stays_exportable(app, client):
    # The audit's: points far past both edges of a 4096-wide pad, stored as a digit.
    body = {
        "strokes": [[[-2000, 10], [6000, 90]], [[100, 10], [100, 90]]],
        "width": 4096,
        "height": 100,
        "line_width": 4,
    }
    answer = client.post("/api/read", json=body)
    assert answer.status_code == 200
    for digit in answer.get_json()["digits"]:
        store_flag(app, digit["prediction_id"], 1, "confirmed")
        with app.app_context():
            drawn = json.loads(db.session.get(Prediction, digit["prediction_id"]).drawing)
        assert max(drawn["width"], drawn["height"]) <= 4096
    app.config["FLAGS_PUBLIC"] = True
    first = answer.get_json()["digits"][0]["prediction_id"]
    assert client.get(f"/dashboard/predictions/{first}/drawing.png").status_code == 200
    exported = client.get("/dashboard/flags/export.zip")
    assert exported.status_code == 200
    assert any(
        n.endswith("drawing.png") for n in zipfile.ZipFile(io.BytesIO(exported.data)).namelist()
    )


def test_a_form_of_too_many_parts_says_so(client):
    boundary = "b0undary"
    parts = "".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nx\r\n'
        for i in range(1200)
    )
    reply = client.post(
        "/api/predict",
        data=parts + f"--{boundary}--\r\n",
        content_type=f"multipart/form-data; boundary={boundary}",
    )
    assert reply.status_code == 413 and "parts" in reply.get_json()["error"]


def test_unflagging_anothers_drawing_is_403_whether_or_not_it_is_flagged(app, client):
    plain = client.post("/api/predict", json=DRAWN_7).get_json()["prediction_id"]
    flagged = client.post("/api/predict", json=DRAWN_7).get_json()["prediction_id"]
    assert client.post(f"/api/predictions/{flagged}/flag", json={"label": 1}).status_code == 201
    stranger = app.test_client()
    replies = [stranger.delete(f"/api/predictions/{pid}/flag") for pid in (plain, flagged)]
    assert [r.status_code for r in replies] == [403, 403]
    assert replies[0].get_json() == replies[1].get_json()
    assert client.delete(f"/api/predictions/{plain}/flag").status_code == 404  # mine: no flag


def test_comparing_runs_past_64_bits_is_404_not_500(client):
    reply = client.get("/dashboard/compare?runs=1,99999999999999999999")
    assert reply.status_code == 404

"""Reproducers of attacks and faults: each one answers a clear 4xx, never a 500 or a hang."""

from __future__ import annotations

import io
import stat
from datetime import UTC

import numpy as np
import pytest
from PIL import Image
from werkzeug.security import generate_password_hash

from app import create_app, instance_secret_key
from app.extensions import db
from app.models import TrainingRun
from tests.utils.admin import PASSWORD, csrf
from tests.utils.images import data_url, page_png
from tests.utils.meter import MAX_CANVAS_SIDE, metered


def test_far_off_canvas_points_are_refused_before_drawing(client):
    # 193 bytes that used to hold a worker for 30 s: a one-pixel pen over 1e9 pixels.
    body = {
        "strokes": [[[1e9, 1e9], [-1e9, 5], [1e9, 1e9], [-1e9, 5], [1e9, 1e9]]],
        "width": 280,
        "height": 280,
        "line_width": 1,
    }
    with metered() as meter:
        reply = client.post("/api/predict", json=body)
    assert reply.status_code == 400 and "canvas" in reply.get_json()["error"]
    assert meter.canvases == []  # refused before anything was drawn


def test_worst_case_strokes_on_the_canvas_stay_cheap(client):
    rng = np.random.default_rng(0)
    points = rng.uniform(-100, 4096 + 100, (20_000, 2)).round(1).tolist()
    body = {"strokes": [points], "width": 4096, "height": 4096, "line_width": 1}
    with metered() as meter:
        reply = client.post("/api/predict", json={**body, "store": False})
    assert reply.status_code == 200
    # A 4096 px canvas with a one-pixel pen is drawn once, at 400 px.
    assert meter.canvases == [(MAX_CANVAS_SIDE, MAX_CANVAS_SIDE)]


@pytest.mark.parametrize(
    "body",
    [
        {"strokes": [[[10**400, 5]]], "width": 280, "height": 280},
        {"strokes": [[[5, 5]]], "width": 10**400, "height": 280},
        {"strokes": [[[5, 5]]], "width": 280, "height": 280, "line_width": -(10**309)},
    ],
)
def test_integers_beyond_any_float_are_a_400(client, body):
    reply = client.post("/api/predict", json=body)
    assert reply.status_code == 400 and "finite" in reply.get_json()["error"]


@pytest.mark.parametrize("path", ["/api/predict", "/api/predictions/1/flag"])
def test_deeply_nested_json_is_a_400(client, path):
    body = "[" * 5000 + "]" * 5000
    reply = client.post(path, data=body, content_type="application/json")
    assert reply.status_code == 400
    assert reply.is_json and reply.get_json()["error"]


@pytest.mark.parametrize(
    "path",
    ["/api/predictions/9223372036854775808/flag", "/api/predictions/99999999999999999999999/flag"],
)
def test_ids_past_64_bits_are_404(client, path):
    reply = client.post(path, json={"label": 1})
    assert reply.status_code == 404 and reply.is_json
    assert client.get("/dashboard/runs/18446744073709551616").status_code == 404


@pytest.mark.parametrize(
    "hostile",
    [
        "/dashboard\r\nSet-Cookie: a=b",
        "//evil.example/",
        "https://evil.example/",
        "/\\evil.example",
    ],
)
def test_login_never_follows_a_hostile_next(client, app, hostile):
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash(PASSWORD)
    token = csrf(client.get("/login").get_data(as_text=True))
    reply = client.post("/login", data={"csrf_token": token, "password": PASSWORD, "next": hostile})
    # Signed in (the password was right), and sent to the dashboard, not to where `next` says.
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/dashboard"
    assert "Set-Cookie: a=b" not in str(reply.headers)
    assert client.get("/dashboard/flags").status_code == 200


def test_security_headers_on_every_page(client):
    for path in ("/", "/dashboard/", "/login", "/api/health"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp and "form-action 'self'" in csp, path
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["Referrer-Policy"] == "same-origin"
        assert "Strict-Transport-Security" not in headers


def test_hsts_when_cookies_are_secure(tmp_path):
    from tests.utils.apps import migrated_app

    app = migrated_app(tmp_path, SESSION_COOKIE_SECURE=True)
    assert "max-age" in app.test_client().get("/").headers["Strict-Transport-Security"]


def test_an_install_makes_its_own_secret_key(tmp_path, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    key = instance_secret_key(tmp_path / "instance")
    path = tmp_path / "instance" / "secret_key"
    assert len(key) == 64 and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert instance_secret_key(tmp_path / "instance") == key  # kept across restarts
    assert instance_secret_key(tmp_path / "other") != key  # no two installs share one
    app = create_app({"TESTING": True, "SECRET_KEY": None, "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["SECRET_KEY"] and app.config["SECRET_KEY"] != "dev-only-change-me"


def test_imported_run_cannot_serve_files_outside_the_model_folders(app, client):
    with app.app_context():
        run = TrainingRun(
            name="evil",
            status="succeeded",
            kind="cnn",
            artifacts={"version": "x", "dir": "/etc", "files": {"passwd": {}}},
        )
        db.session.add(run)
        db.session.commit()
        run_id = run.id
    assert client.get(f"/dashboard/runs/{run_id}/artifacts/passwd").status_code == 404
    relative = {"version": "y", "dir": "models/../../../../etc", "files": {"passwd": {}}}
    with app.app_context():
        db.session.get(TrainingRun, run_id).artifacts = relative
        db.session.commit()
    assert client.get(f"/dashboard/runs/{run_id}/artifacts/passwd").status_code == 404
    assert client.get(f"/dashboard/runs/{run_id}").status_code == 200


def test_phone_photos_are_read_upright(client, mnist_sample):
    images, labels = mnist_sample
    upright = Image.open(io.BytesIO(page_png(images[7])))
    # Stored turned a quarter, with EXIF orientation 6 saying "turn me back".
    sideways = upright.convert("RGB").rotate(90, expand=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    sideways.save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    reply = client.post("/api/predict", json={"image": data_url(buffer.getvalue()), "store": False})
    assert reply.status_code == 200
    assert reply.get_json()["digit"] == labels[7]


@pytest.mark.parametrize(
    "target, expected",
    [
        ("/dashboard/flags?status=open", "/dashboard/flags?status=open"),
        ("https://evil.example/", "/home"),
        ("//evil.example/", "/home"),
        ("/\\evil.example", "/home"),
        ("/ok\r\nSet-Cookie: a=b", "/home"),
        (None, "/home"),
        (["/list"], "/home"),
    ],
)
def test_redirect_targets_stay_on_this_site(target, expected):
    from app.auth.access import same_site_path

    assert same_site_path(target, "/home") == expected


def test_a_padded_picture_is_stored_small(app, client, mnist_sample):
    import zlib

    images, labels = mnist_sample
    page = Image.open(io.BytesIO(page_png(images[3]))).resize((1400, 1400))
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    png = buffer.getvalue()
    # A private ancillary chunk of random bytes pads it to about 2 MB.
    padding = np.random.default_rng(0).bytes(1_900_000 - len(png))
    chunk = (
        len(padding).to_bytes(4, "big")
        + b"prVt"
        + padding
        + zlib.crc32(b"prVt" + padding).to_bytes(4, "big")
    )
    padded = png[:-12] + chunk + png[-12:]
    assert len(padded) > 1_800_000
    # The multipart body built by hand: the test client would spool it to a file.
    body = (
        b'--b0undary\r\nContent-Disposition: form-data; name="image"; filename="big.png"'
        b"\r\nContent-Type: image/png\r\n\r\n" + padded + b"\r\n--b0undary--\r\n"
    )
    reply = client.post(
        "/api/predict", data=body, content_type="multipart/form-data; boundary=b0undary"
    )
    assert reply.status_code == 200 and reply.get_json()["digit"] == labels[3]
    with app.app_context():
        from app.models import Prediction

        row = db.session.get(Prediction, reply.get_json()["prediction_id"])
        assert len(row.drawing) < 40_000 and row.drawing_type == "image/png"
        assert max(Image.open(io.BytesIO(row.drawing)).size) <= 512


def test_a_huge_picture_is_decoded_in_bounded_memory(client):
    import tracemalloc

    from trainer.preprocessing import preprocess_bytes

    page = Image.new("L", (4096, 4096), 255)
    page.paste(0, (1800, 1500, 2300, 2600))
    buffer = io.BytesIO()
    page.save(buffer, "JPEG")
    tracemalloc.start()
    preprocess_bytes(buffer.getvalue())  # a phone photo's size: decoded at a reduced scale
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 60 * 1024 * 1024
    # A lossless picture that large cannot be decoded small: refused before decoding.
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    reply = client.post("/api/predict", json={"image": data_url(buffer.getvalue())})
    assert reply.status_code == 413 and "megapixels" in reply.get_json()["error"]


def test_the_api_is_rate_limited_per_client(tmp_path):
    from tests.utils.apps import migrated_app

    app = migrated_app(tmp_path, API_RATE_LIMIT="3 per minute")
    client = app.test_client()
    body = {"strokes": [[[10, 10], [200, 250]]], "width": 280, "height": 280, "store": False}
    assert [client.post("/api/predict", json=body).status_code for _ in range(3)] == [200] * 3
    limited = client.post("/api/predict", json=body)
    assert limited.status_code == 429 and "too many requests" in limited.get_json()["error"]
    assert int(limited.headers["Retry-After"]) > 0
    # Another client is not limited; health is never limited.
    other = client.post("/api/predict", json=body, environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert other.status_code == 200
    assert client.get("/api/health").status_code == 200


def test_forwarded_addresses_count_only_behind_a_trusted_proxy(tmp_path):
    from tests.utils.apps import migrated_app

    body = {"strokes": [[[10, 10], [200, 250]]], "width": 280, "height": 280, "store": False}
    for proxies, expected in ((0, 429), (1, 200)):
        (tmp_path / str(proxies)).mkdir()
        app = migrated_app(
            tmp_path / str(proxies), API_RATE_LIMIT="1 per minute", TRUSTED_PROXIES=proxies
        )
        client = app.test_client()
        client.post("/api/predict", json=body, headers={"X-Forwarded-For": "10.0.0.1"})
        again = client.post("/api/predict", json=body, headers={"X-Forwarded-For": "10.0.0.2"})
        assert again.status_code == expected, proxies


def test_limits_can_be_turned_off(tmp_path):
    from tests.utils.apps import migrated_app

    app = migrated_app(tmp_path, API_RATE_LIMIT="1 per minute", RATELIMIT_ENABLED=False)
    client = app.test_client()
    body = {"strokes": [[[10, 10], [200, 250]]], "width": 280, "height": 280, "store": False}
    assert all(client.post("/api/predict", json=body).status_code == 200 for _ in range(3))


def test_sign_in_is_throttled_and_failures_are_logged(tmp_path):
    import logging

    from werkzeug.security import generate_password_hash

    from tests.utils.apps import migrated_app

    app = migrated_app(
        tmp_path,
        LOGIN_RATE_LIMIT="3 per minute",
        WTF_CSRF_ENABLED=False,
        ADMIN_PASSWORD_HASH=generate_password_hash("right"),
    )
    client = app.test_client()
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    app.logger.addHandler(handler)
    try:
        codes = [client.post("/login", data={"password": "wrong"}).status_code for _ in range(4)]
    finally:
        app.logger.removeHandler(handler)
    assert codes == [401, 401, 401, 429]
    assert sum("failed admin sign-in" in r.getMessage() for r in records) == 3
    assert client.get("/login").status_code == 200  # the form itself stays reachable


def test_retention_forgets_old_unflagged_drawings_only(app, client, runner):
    from datetime import datetime, timedelta

    from app.models import Flag, Prediction

    body = {"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280}
    ids = [client.post("/api/predict", json=body).get_json()["prediction_id"] for _ in range(3)]
    assert client.post(f"/api/predictions/{ids[1]}/flag", json={"label": 1}).status_code == 201
    with app.app_context():
        old = datetime.now(UTC) - timedelta(days=100)
        for pid in ids[:2]:
            db.session.get(Prediction, pid).created_at = old
        db.session.commit()
    result = runner.invoke(args=["purge", "--days", "90"])
    assert result.exit_code == 0 and "purged the drawings of 1 " in result.output
    with app.app_context():
        purged, flagged, recent = (db.session.get(Prediction, pid) for pid in ids)
        assert purged.drawing == b"" and purged.input_png == b"" and purged.model_version
        assert flagged.drawing and flagged.flag is not None and recent.drawing
        assert db.session.query(Flag).count() == 1
    app.config["FLAGS_PUBLIC"] = True
    assert client.get(f"/dashboard/predictions/{ids[0]}/drawing.png").status_code == 404
    assert client.get(f"/dashboard/predictions/{ids[0]}/input.png").status_code == 404
    assert runner.invoke(args=["purge", "--days", "90"]).output.startswith(
        "purged the drawings of 0 "
    )


def test_a_read_only_database_says_so_and_the_worker_recovers(app, client):
    from sqlalchemy import text

    body = {"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280}
    with app.app_context():
        # The pooled connection turns read-only, as after a permissions incident.
        db.session.execute(text("PRAGMA query_only = ON"))
        db.session.commit()
    health = client.get("/api/health")
    assert (
        health.status_code == 503 and health.get_json()["database"] == "the database is read-only"
    )
    with app.app_context():
        db.session.execute(text("PRAGMA query_only = ON"))
        db.session.commit()
    failed = client.post("/api/predict", json=body)
    assert failed.status_code == 503
    assert failed.get_json()["error"].startswith("the database is read-only; nothing was stored")
    # The broken connection was discarded: the next request gets a fresh one.
    assert client.post("/api/predict", json=body).status_code == 200
    assert client.get("/api/health").get_json()["database"] == "ok"


def test_a_read_only_incident_in_a_fresh_worker_clears_at_once(tmp_path):
    # A worker that (re)started during the incident opened all its connections
    # read-only; SQLite shares one WAL index per process, so they used to keep
    # failing after the permissions came back.
    import json
    import os
    import shutil
    import subprocess
    import sys

    from tests.utils.apps import ROOT

    prefix = []
    if os.geteuid() == 0:  # file modes do not bind root with CAP_DAC_OVERRIDE
        assert shutil.which("setpriv"), "setpriv (util-linux) is needed to drop it"
        prefix = ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    out = subprocess.run(
        [*prefix, sys.executable, "-m", "tests.read_only_incident", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen["during"] and set(seen["during"]) == {503}
    assert seen["errors"] == ["the database is read-only; nothing was stored, try again shortly"]
    assert len(seen["after"]) > 20 and set(seen["after"]) == {200}


def test_health_proves_a_write(app, client):
    from app.models import HealthProbe

    assert client.get("/api/health").get_json()["database"] == "ok"
    with app.app_context():
        first = db.session.get(HealthProbe, 1).checked_at
    client.get("/api/health")
    with app.app_context():
        assert db.session.query(HealthProbe).count() == 1
        assert db.session.get(HealthProbe, 1).checked_at >= first


def test_only_the_drawer_may_flag_and_never_after_review(app, client):
    from app.models import Flag

    body = {"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280}
    pid = client.post("/api/predict", json=body).get_json()["prediction_id"]
    stranger = app.test_client()
    refused = stranger.post(f"/api/predictions/{pid}/flag", json={"label": 1})
    assert refused.status_code == 403 and "only the person" in refused.get_json()["error"]
    assert client.post(f"/api/predictions/{pid}/flag", json={"label": 1}).status_code == 201
    assert client.post(f"/api/predictions/{pid}/flag", json={"label": 2}).status_code == 201
    with app.app_context():
        flag = db.session.query(Flag).one()
        assert flag.label == 2
        flag.status = "confirmed"
        db.session.commit()
    late = client.post(f"/api/predictions/{pid}/flag", json={"label": 4})
    assert late.status_code == 409 and "reviewed" in late.get_json()["error"]
    with app.app_context():
        flag = db.session.query(Flag).one()
        assert (flag.status, flag.label) == ("confirmed", 2)
    unstored = client.post("/api/predict", json={**body, "store": False}).get_json()
    assert unstored["prediction_id"] is None


def test_drawings_are_the_admins_unless_made_public(app, client):
    body = {"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280}
    pid = client.post("/api/predict", json=body).get_json()["prediction_id"]
    for path in (
        "/dashboard/flags",
        f"/dashboard/predictions/{pid}/drawing.png",
        f"/dashboard/predictions/{pid}/input.png",
        "/dashboard/flags/export.csv",
        "/dashboard/flags/export.zip",
    ):
        reply = client.get(path)
        assert reply.status_code == 302 and "/login" in reply.headers["Location"], path
        assert client.get(path, headers={"Accept": "application/json"}).status_code == 401
    app.config["FLAGS_PUBLIC"] = True
    assert client.get(f"/dashboard/predictions/{pid}/drawing.png").status_code == 200
    assert client.get("/dashboard/flags").status_code == 200


def test_the_drawing_page_says_drawings_are_stored(client):
    page = client.get("/").get_data(as_text=True)
    assert "drawings are stored to improve the model" in page.lower()
    assert "deleted after 90 days" in page

"""The database goes away mid-use: every request says so with a 503, none answers 500,
and the app recovers by itself when the server is back.

A PostgreSQL server of this test's own (the session's shared one stays up),
stopped and started again while the app holds pooled connections to it.
"""

from __future__ import annotations

import pytest
from sqlalchemy import event
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import Number, Prediction
from tests.utils.admin import sign_in
from tests.utils.apps import PostgresServer, migrated_app

DRAWN_7 = {
    "strokes": [[[60, 50], [200, 50], [120, 230]]],
    "width": 280,
    "height": 280,
    "line_width": 18,
}
NUMBER = {
    "strokes": [[[40, 20], [40, 120]], [[120, 20], [180, 20], [140, 120]]],
    "width": 300,
    "height": 140,
    "line_width": 10,
}


@pytest.fixture
def own_postgres():
    server = PostgresServer()
    yield server
    server.stop()


@pytest.mark.postgresql
def test_postgresql_stopped_mid_use_answers_503_everywhere_and_recovers(own_postgres, tmp_path):
    name = own_postgres.create_database()
    app = migrated_app(tmp_path, own_postgres.url(name), RATELIMIT_ENABLED=False)
    client = app.test_client()
    drawn = client.post("/api/predict", json=DRAWN_7).get_json()
    flagged = client.post("/api/predict", json=DRAWN_7).get_json()["prediction_id"]
    assert client.post(f"/api/predictions/{flagged}/flag", json={"label": 1}).status_code == 201
    admin = app.test_client()
    token = sign_in(app, admin)

    own_postgres.pause()
    json_calls = [
        ("post", "/api/predict", {"json": DRAWN_7}),
        ("post", "/api/predict", {"json": {**DRAWN_7, "replaces": drawn["prediction_id"]}}),
        ("post", "/api/read", {"json": NUMBER}),
        ("post", f"/api/predictions/{drawn['prediction_id']}/flag", {"json": {"label": 1}}),
        ("delete", f"/api/predictions/{flagged}/flag", {}),
        ("get", "/api/health", {}),
    ]
    for method, path, kwargs in json_calls:
        reply = getattr(client, method)(path, **kwargs)
        assert reply.status_code == 503, (method, path, reply.status_code)
        assert "database" in reply.get_json()["error" if path != "/api/health" else "database"]
    # Nothing to store: the model in memory still answers.
    assert client.post("/api/predict", json={**DRAWN_7, "store": False}).status_code == 200
    for path in (
        "/dashboard/",
        "/dashboard/runs/1",
        "/dashboard/flags",
        "/dashboard/retrain",
        "/dashboard/flags/export.zip",
        "/dashboard/compare?runs=1,2",
    ):
        for who in (client, admin) if "flags" not in path and "retrain" not in path else (admin,):
            page = who.get(path)
            assert page.status_code == 503 and b"database" in page.data, (path, page.status_code)
    assert client.get("/login").status_code == 200
    refused = admin.post(
        "/dashboard/flags/1/review", data={"csrf_token": token, "action": "confirm"}
    )
    assert refused.status_code == 503 and b"database" in refused.data

    own_postgres.start()
    again = client.post("/api/predict", json=DRAWN_7)
    assert again.status_code == 200 and again.get_json()["prediction_id"] > flagged
    assert client.delete(f"/api/predictions/{flagged}/flag").status_code == 200
    assert client.get("/dashboard/").status_code == 200


def test_a_committed_write_is_answered_even_if_the_connection_dies_after(app, client, monkeypatch):
    """The reply is built from what was read before the commit, never reloaded after it."""
    with app.app_context():
        engine = db.engine
    original = Session.commit

    def dead(*args, **kwargs):
        raise OperationalError("SELECT", {}, Exception("server closed the connection"))

    def commit_then_lose_the_connection(session):
        original(session)
        event.listen(engine, "before_cursor_execute", dead)

    def post(path: str, body: dict):
        monkeypatch.setattr(Session, "commit", commit_then_lose_the_connection)
        try:
            return client.post(path, json=body)
        finally:
            if event.contains(engine, "before_cursor_execute", dead):
                event.remove(engine, "before_cursor_execute", dead)
            monkeypatch.undo()

    drawn, number = post("/api/predict", DRAWN_7), post("/api/read", NUMBER)
    assert [drawn.status_code, number.status_code] == [200, 200]
    stored = drawn.get_json()["prediction_id"]
    with app.app_context():
        assert db.session.get(Prediction, stored) is not None
        assert db.session.get(Number, number.get_json()["number_id"]) is not None
    flagged = post(f"/api/predictions/{stored}/flag", {"label": 1})
    assert flagged.status_code == 201 and flagged.get_json()["status"] == "open"

"""Flag review: the admin login, CSRF, review actions, exports and feedback confusion."""

from __future__ import annotations

import io
import re
import zipfile

import numpy as np
import pytest
from PIL import Image
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Flag
from tests.conftest import data_url, migrated_app, page_png
from tests.utils.flags import store_flag
from trainer.datasets import read_csv_digits

pytestmark = pytest.mark.databases("sqlite", "postgresql")

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path, database_url):
    return migrated_app(tmp_path, database_url, ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD))


def csrf_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client) -> str:
    token = csrf_token(client)
    reply = client.post("/login", data={"csrf_token": token, "password": PASSWORD, "next": "/dashboard/flags"})
    assert reply.status_code == 302 and reply.headers["Location"].endswith("/dashboard/flags")
    return csrf_token(client, "/dashboard/flags")


@pytest.fixture
def flagged(client, mnist_sample):
    """Six flagged drawings: images 0-5 of the sample, each flagged with its true label."""
    images, labels = mnist_sample
    ids = []
    for i in range(6):
        reply = client.post("/api/predict", json={"image": data_url(page_png(images[i]))})
        pid = reply.get_json()["prediction_id"]
        store_flag(client.application, pid, int(labels[i]))
        ids.append(pid)
    return ids, labels[:6]


def flag_row(app, flag_id):
    with app.app_context():
        flag = db.session.get(Flag, flag_id)
        return flag.status, flag.label


def test_session_cookie_is_httponly_and_samesite_lax(client):
    token = csrf_token(client)
    reply = client.post("/login", data={"csrf_token": token, "password": PASSWORD})
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_wrong_password_is_refused(client):
    token = csrf_token(client)
    reply = client.post("/login", data={"csrf_token": token, "password": "nope"})
    assert reply.status_code == 401 and "That password is not right" in reply.get_data(as_text=True)
    assert "admin" not in client.get("/dashboard/flags").get_data(as_text=True).split("<main>")[0]


def test_login_never_redirects_off_site(client):
    token = csrf_token(client)
    reply = client.post("/login", data={"csrf_token": token, "password": PASSWORD,
                                        "next": "//evil.example/x"})
    assert reply.headers["Location"] == "/dashboard"


def test_review_needs_the_admin(app, client, flagged):
    ids, _ = flagged
    token = csrf_token(client)
    reply = client.post(f"/dashboard/flags/{ids[0]}/review", json={"action": "confirm"},
                        headers={"X-CSRFToken": token})
    assert reply.status_code == 401 and "sign in" in reply.get_json()["error"]
    form = client.post(f"/dashboard/flags/{ids[0]}/review",
                       data={"csrf_token": token, "action": "confirm"})
    assert form.status_code == 302 and "/login" in form.headers["Location"]
    assert flag_row(app, ids[0])[0] == "open"
    hidden = client.get("/dashboard/flags")  # people's drawings are the admin's
    assert hidden.status_code == 302 and "/login" in hidden.headers["Location"]
    app.config["FLAGS_PUBLIC"] = True  # a classroom demo shows them, still read-only
    page = client.get("/dashboard/flags").get_data(as_text=True)
    assert "Sign in as the admin" in page and 'name="action"' not in page


def test_review_without_csrf_token_is_refused(app, client, flagged):
    ids, _ = flagged
    sign_in(client)
    reply = client.post(f"/dashboard/flags/{ids[0]}/review", json={"action": "confirm"})
    assert reply.status_code == 400 and "CSRF" in reply.get_json()["error"]
    assert flag_row(app, ids[0])[0] == "open"


def test_review_actions_change_the_database(app, client, flagged):
    ids, labels = flagged
    token = sign_in(client)
    headers = {"X-CSRFToken": token}
    url = "/dashboard/flags/{}/review".format
    reply = client.post(url(ids[0]), json={"action": "confirm"}, headers=headers)
    assert reply.status_code == 200 and reply.get_json()["status"] == "confirmed"
    assert flag_row(app, ids[0]) == ("confirmed", labels[0])
    new_label = (int(labels[1]) + 3) % 10
    assert client.post(url(ids[1]), json={"action": "relabel", "label": new_label},
                       headers=headers).get_json()["label"] == new_label
    assert flag_row(app, ids[1]) == ("confirmed", new_label)
    assert client.post(url(ids[2]), json={"action": "dismiss"}, headers=headers).status_code == 200
    assert flag_row(app, ids[2])[0] == "dismissed"
    # A plain form (no script) does the same and comes back to the grid.
    form = client.post(url(ids[3]), data={"csrf_token": token, "action": "dismiss",
                                          "back": "/dashboard/flags?status=open"})
    assert form.status_code == 302 and form.headers["Location"] == "/dashboard/flags?status=open"
    assert flag_row(app, ids[3])[0] == "dismissed"
    # Bad input: 400 with a message, unknown flag 404; nothing changes.
    for body in ({"action": "relabel", "label": 12}, {"action": "relabel", "label": "x"},
                 {"action": "relabel", "label": True}, {"action": "explode"}):
        bad = client.post(url(ids[4]), json=body, headers=headers)
        assert bad.status_code == 400 and bad.get_json()["error"]
    assert flag_row(app, ids[4]) == ("open", labels[4])
    assert client.post(url(99999), json={"action": "confirm"}, headers=headers).status_code == 404

    # The grid filters by status and digit.
    confirmed = client.get("/dashboard/flags?status=confirmed").get_data(as_text=True)
    assert set(re.findall(r'data-flag-id="(\d+)"', confirmed)) == {str(ids[0]), str(ids[1])}
    digit = client.get(f"/dashboard/flags?digit={new_label}&status=all").get_data(as_text=True)
    assert str(ids[1]) in re.findall(r'data-flag-id="(\d+)"', digit)
    assert client.get("/dashboard/flags?digit=12").status_code == 400
    assert client.get("/dashboard/flags?status=lost").status_code == 400


def test_feedback_confusion_counts_predicted_against_corrected(app, client, flagged):
    ids, labels = flagged
    sign_in(client)
    with app.app_context():
        flags = db.session.query(Flag).all()
        expected = np.zeros((10, 10), int)
        for f in flags:
            expected[f.label, f.prediction.digit] += 1
    page = client.get("/dashboard/flags").get_data(as_text=True)
    table = page[page.index('id="feedback-confusion"'):]
    counts = [int(c) for c in re.findall(r'<td class="heat[^"]*"[^>]*data-count="(\d+)"', table)[:100]]
    assert np.array_equal(np.array(counts).reshape(10, 10), expected)
    assert f"{len(ids)} corrections" in table


def test_exports_round_trip_through_the_csv_loader(app, client, flagged, tmp_path):
    ids, labels = flagged
    token = sign_in(client)
    for flag_id in ids[:4]:
        client.post(f"/dashboard/flags/{flag_id}/review", json={"action": "confirm"},
                    headers={"X-CSRFToken": token})
    reply = client.get("/dashboard/flags/export.csv")
    assert reply.status_code == 200 and reply.mimetype == "text/csv"
    path = tmp_path / "flags.csv"
    path.write_bytes(reply.data)
    images, read_labels = read_csv_digits(path)
    assert read_labels.tolist() == [int(x) for x in labels[:4]]
    with app.app_context():
        for image, flag_id in zip(images, ids[:4]):
            flag = db.session.get(Flag, flag_id)
            seen = np.asarray(Image.open(io.BytesIO(flag.prediction.input_png)), np.float32) / 255
            assert np.abs(image - seen).max() < 1e-6
    archive = zipfile.ZipFile(io.BytesIO(client.get("/dashboard/flags/export.zip").data))
    names = archive.namelist()
    assert len(names) == 8 and f"{labels[0]}/flag-1-28x28.png" in names
    assert Image.open(archive.open(names[0])).size in ((28, 28), (280, 280))


def test_drawings_are_served_as_png(client, flagged):
    ids, _ = flagged
    sign_in(client)
    for path in (f"/dashboard/predictions/{ids[0]}/drawing.png", f"/dashboard/predictions/{ids[0]}/input.png"):
        reply = client.get(path)
        assert reply.status_code == 200 and reply.data[:4] == b"\x89PNG"
    assert client.get("/dashboard/predictions/999/drawing.png").status_code == 404


def test_hash_password_command(runner):
    result = runner.invoke(args=["hash-password", "--password", "long enough pw"])
    assert result.exit_code == 0
    assert check_password_hash(result.output.strip(), "long enough pw")
    assert runner.invoke(args=["hash-password", "--password", "short"]).exit_code != 0


def test_no_admin_configured_means_no_login(tmp_path):
    app = migrated_app(tmp_path, ADMIN_PASSWORD_HASH=None)
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    assert "No admin password is set" in page and "flask hash-password" in page


def test_sign_out_voids_every_copy_of_the_admin_cookie(app, client):
    token = sign_in(client)
    copied = app.test_client()
    for cookie in client._cookies.values():
        copied.set_cookie(cookie.key, cookie.value, domain=cookie.domain, path=cookie.path)
    assert copied.get("/dashboard/flags").status_code == 200  # the stolen copy works...
    assert client.post("/logout", data={"csrf_token": token}).status_code == 302
    refused = copied.get("/dashboard/flags")
    assert refused.status_code == 302 and "/login" in refused.headers["Location"]  # ...until sign-out


def test_a_password_change_signs_the_admin_out(app, client):
    sign_in(client)
    assert client.get("/dashboard/flags").status_code == 200
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash("a new one")
    assert client.get("/dashboard/flags").status_code == 302

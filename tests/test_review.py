"""Flag review: the admin login, CSRF, review actions, exports and feedback confusion."""

from __future__ import annotations

import html
import io
import re
import zipfile

import numpy as np
import pytest
from PIL import Image
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import db
from app.models import Flag
from tests.utils.apps import migrated_app
from tests.utils.flags import store_flag
from tests.utils.images import data_url, page_png
from tests.utils.many_flags import store_many_flags
from trainer.datasets import read_csv_digits

pytestmark = pytest.mark.databases("sqlite", "postgresql")

PASSWORD = "correct horse battery"


@pytest.fixture
def app(tmp_path, database_url):
    return migrated_app(
        tmp_path, database_url, ADMIN_PASSWORD_HASH=generate_password_hash(PASSWORD)
    )


def csrf_token(client, path="/login") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(client) -> str:
    token = csrf_token(client)
    reply = client.post(
        "/login", data={"csrf_token": token, "password": PASSWORD, "next": "/dashboard/flags"}
    )
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


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
def test_session_cookie_is_httponly_and_samesite_lax(client):
    token = csrf_token(client)
    reply = client.post("/login", data={"csrf_token": token, "password": PASSWORD})
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
def test_wrong_password_is_refused(client):
    token = csrf_token(client)
    reply = client.post("/login", data={"csrf_token": token, "password": "nope"})
    assert reply.status_code == 401 and "That password is not right" in reply.get_data(as_text=True)
    assert "admin" not in client.get("/dashboard/flags").get_data(as_text=True).split("<main>")[0]


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
def test_login_never_redirects_off_site(client):
    token = csrf_token(client)
    reply = client.post(
        "/login", data={"csrf_token": token, "password": PASSWORD, "next": "//evil.example/x"}
    )
    assert reply.headers["Location"] == "/dashboard"


def test_review_needs_the_admin(app, client, flagged):
    ids, _ = flagged
    token = csrf_token(client)
    reply = client.post(
        f"/dashboard/flags/{ids[0]}/review",
        json={"action": "confirm"},
        headers={"X-CSRFToken": token},
    )
    assert reply.status_code == 401 and "sign in" in reply.get_json()["error"]
    form = client.post(
        f"/dashboard/flags/{ids[0]}/review", data={"csrf_token": token, "action": "confirm"}
    )
    assert form.status_code == 302 and "/login" in form.headers["Location"]
    assert flag_row(app, ids[0])[0] == "open"
    hidden = client.get("/dashboard/flags")  # people's drawings are the admin's
    assert hidden.status_code == 302 and "/login" in hidden.headers["Location"]
    app.config["FLAGS_PUBLIC"] = True  # a classroom demo shows them, still read-only
    page = client.get("/dashboard/flags").get_data(as_text=True)
    assert "Sign in as the admin" in page and 'name="action"' not in page


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
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
    assert (
        client.post(
            url(ids[1]), json={"action": "relabel", "label": new_label}, headers=headers
        ).get_json()["label"]
        == new_label
    )
    assert flag_row(app, ids[1]) == ("confirmed", new_label)
    assert client.post(url(ids[2]), json={"action": "dismiss"}, headers=headers).status_code == 200
    assert flag_row(app, ids[2])[0] == "dismissed"
    # A plain form (no script) does the same and comes back to the grid.
    form = client.post(
        url(ids[3]),
        data={"csrf_token": token, "action": "dismiss", "back": "/dashboard/flags?status=open"},
    )
    assert form.status_code == 302 and form.headers["Location"] == "/dashboard/flags?status=open"
    assert flag_row(app, ids[3])[0] == "dismissed"
    # Bad input: 400 with a message, unknown flag 404; nothing changes.
    for body in (
        {"action": "relabel", "label": 12},
        {"action": "relabel", "label": "x"},
        {"action": "relabel", "label": True},
        {"action": "explode"},
    ):
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
    table = page[page.index('id="feedback-confusion"') :]
    counts = [
        int(c) for c in re.findall(r'<td class="heat[^"]*"[^>]*data-count="(\d+)"', table)[:100]
    ]
    assert np.array_equal(np.array(counts).reshape(10, 10), expected)
    assert f"{len(ids)} corrections" in table


def test_exports_round_trip_through_the_csv_loader(app, client, flagged, tmp_path):
    ids, labels = flagged
    token = sign_in(client)
    for flag_id in ids[:4]:
        client.post(
            f"/dashboard/flags/{flag_id}/review",
            json={"action": "confirm"},
            headers={"X-CSRFToken": token},
        )
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
    for path in (
        f"/dashboard/predictions/{ids[0]}/drawing.png",
        f"/dashboard/predictions/{ids[0]}/input.png",
    ):
        reply = client.get(path)
        assert reply.status_code == 200 and reply.data[:4] == b"\x89PNG"
    assert client.get("/dashboard/predictions/999/drawing.png").status_code == 404


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
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
    assert (
        refused.status_code == 302 and "/login" in refused.headers["Location"]
    )  # ...until sign-out


def test_a_password_change_signs_the_admin_out(app, client):
    sign_in(client)
    assert client.get("/dashboard/flags").status_code == 200
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash("a new one")
    assert client.get("/dashboard/flags").status_code == 302


# ------------------------------------------------------------------ paging and "not a digit"
def grid_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'data-flag-id="(\d+)"', page)]


def page_link(page: str, which: str) -> str | None:
    """The href of a pager link (newest, newer, older, oldest), or None when it is not there."""
    found = re.search(rf'<a class="btn" href="([^"]+)" id="page-{which}"', page)
    return html.unescape(found.group(1)) if found else None


def walk_older(client, url: str) -> tuple[list[int], list[str]]:
    """Every flag from `url` on, following the Older links; the ids and the pages' URLs."""
    ids, urls = [], []
    while url:
        reply = client.get(url)
        assert reply.status_code == 200, url
        page = reply.get_data(as_text=True)
        ids += grid_ids(page)
        urls.append(url)
        url = page_link(page, "older")
        assert len(urls) < 20  # never a loop
    return ids, urls


# 230 flags, oldest first: every second one "not a digit", every third dismissed.
MANY = [(10 if i % 2 == 0 else i % 10, "dismissed" if i % 3 == 0 else "open") for i in range(230)]


def test_the_grid_pages_through_every_flag(app, client):
    ids = store_many_flags(app, MANY)
    sign_in(client)
    newest_first = ids[::-1]
    first = client.get("/dashboard/flags").get_data(as_text=True)
    assert grid_ids(first) == newest_first[:50]
    assert "1–50 of 230 flags, newest first (page 1 of 5)." in first
    assert 'id="page-where">Page 1 of 5<' in first
    assert page_link(first, "newer") is None and page_link(first, "newest") is None
    # Older, page after page, reaches the oldest flag, each flag shown once.
    seen, urls = walk_older(client, "/dashboard/flags")
    assert seen == newest_first and len(urls) == 5
    assert urls[1:] == [f"/dashboard/flags?page={n}" for n in range(2, 6)]
    # Oldest goes straight to the last page; from there Newer and Newest lead back.
    last = client.get(page_link(first, "oldest")).get_data(as_text=True)
    assert grid_ids(last) == newest_first[200:] and grid_ids(last)[-1] == ids[0]
    assert "201–230 of 230 flags" in last and page_link(last, "older") is None
    assert page_link(last, "newer") == "/dashboard/flags?page=4"
    assert page_link(last, "newest") == "/dashboard/flags"
    # A review from a later page comes back to that page.
    assert 'name="back" value="/dashboard/flags?page=5"' in last


def test_paging_keeps_the_filter(app, client):
    ids = store_many_flags(app, MANY)
    sign_in(client)
    expected = [i for i, (label, status) in zip(ids, MANY) if status == "open"][::-1]
    seen, urls = walk_older(client, "/dashboard/flags?status=open")
    assert seen == expected and len(urls) == -(-len(expected) // 50) > 1
    assert all("status=open" in url for url in urls)
    last = client.get(urls[-1]).get_data(as_text=True)
    assert '<option value="open" selected>' in last  # the filter still reads "open"
    assert f"of {len(expected)} flags that match" in last
    # Both filters together: "not a digit" and open, over two pages.
    expected = [i for i, (label, status) in zip(ids, MANY) if label == 10 and status == "open"][
        ::-1
    ]
    seen, urls = walk_older(client, "/dashboard/flags?digit=none&status=open")
    assert seen == expected and len(urls) == 2
    assert all("digit=none" in url and "status=open" in url for url in urls[1:])
    page = client.get(urls[-1]).get_data(as_text=True)
    assert '<option value="none" selected>not a digit</option>' in page
    assert page.count("corrected to not a digit, open") == len(expected) - 50


def test_a_bad_page_number_is_a_400_and_one_past_the_end_shows_the_last(app, client):
    ids = store_many_flags(app, MANY[:60])
    sign_in(client)
    for bad in ("0", "-1", "abc", "1.5", "2e3", "\u0663", " 2"):
        reply = client.get("/dashboard/flags", query_string={"page": bad})
        assert reply.status_code == 400, bad
        assert "page must be a positive whole number" in reply.get_data(as_text=True)
    beyond = client.get("/dashboard/flags?page=99999999999999999999&status=all")
    assert beyond.status_code == 200
    page = beyond.get_data(as_text=True)
    assert grid_ids(page) == ids[:10][::-1] and "Page 2 of 2" in page
    assert client.get("/dashboard/flags?page=").status_code == 200  # an empty field: page 1
    empty = client.get("/dashboard/flags?status=confirmed&page=3")
    assert empty.status_code == 200 and 'id="no-flags"' in empty.get_data(as_text=True)


def test_a_flag_that_is_no_digit_reads_so_everywhere_on_the_page(app, client):
    none_id, four_id = store_many_flags(app, [(10, "open"), (4, "open")])
    token = sign_in(client)
    page = client.get("/dashboard/flags").get_data(as_text=True)
    card = re.search(rf'<li class="flag-card[^"]*" id="flag-{none_id}".*?</li>', page, re.S).group(
        0
    )
    assert "corrected to not a digit, open" in card
    assert re.search(
        r'<strong class="flag-label is-none" title="corrected">not a digit</strong>', card
    )
    assert '<option value="none" selected>not a digit</option>' in card  # the relabel select
    assert ">10<" not in card and "corrected to 10" not in card
    filtered = client.get("/dashboard/flags?digit=none").get_data(as_text=True)
    assert grid_ids(filtered) == [none_id]
    # The feedback table: ten columns of answers, and a row for "not a digit".
    table = page[page.index('id="feedback-confusion"') :]
    table = table[: table.index("</table>")]
    assert (
        len(re.findall(r'<th scope="col"><span class="visually-hidden">predicted </span>', table))
        == 10
    )
    assert '<span class="visually-hidden">corrected </span>not a digit</th>' in table
    # Relabelling to "not a digit" and back, by script and by form.
    url = f"/dashboard/flags/{four_id}/review"
    reply = client.post(
        url, json={"action": "relabel", "label": "none"}, headers={"X-CSRFToken": token}
    )
    assert reply.get_json() | {"predicted": None} == {
        "id": four_id,
        "status": "confirmed",
        "label": "none",
        "label_words": "not a digit",
        "predicted": None,
    }
    assert flag_row(app, four_id) == ("confirmed", 10)
    client.post(url, data={"csrf_token": token, "action": "relabel", "label": "7"})
    assert flag_row(app, four_id) == ("confirmed", 7)
    reply = client.post(url, json={"action": "relabel", "label": 7}, headers={"X-CSRFToken": token})
    assert (reply.get_json()["label"], reply.get_json()["label_words"]) == (7, "7")

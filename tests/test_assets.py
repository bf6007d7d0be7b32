"""Static files: versioned URLs, a year of caching, compressed replies."""

from __future__ import annotations

import gzip
import json
import re

import brotli
import pytest
from backports import zstd
from flask import url_for

BROWSER = {"Accept-Encoding": "gzip, deflate, br, zstd"}


def static_urls(html: str) -> list[str]:
    return re.findall(r'(?:src|href)="(/static/[^"]+)"', html)


def test_pages_link_versioned_static_files(client):
    urls = static_urls(client.get("/").get_data(as_text=True))
    assert any("pad/main.js" in u for u in urls) and any("app.css" in u for u in urls)
    for url in urls:
        assert re.search(r"\?v=[0-9a-f]{12}$", url), url


def test_a_versioned_file_is_cached_for_a_year_and_compressed(app, client):
    with app.test_request_context():
        url = url_for("static", filename="vendor/chartjs/chart.umd.js")
    reply = client.get(url, headers=BROWSER)
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert reply.headers["Content-Encoding"] in ("zstd", "br")
    assert "Accept-Encoding" in reply.headers["Vary"]
    plain = client.get(url, headers={"Accept-Encoding": "identity"})
    assert len(reply.data) < len(plain.data) / 2
    # Old browsers that speak only gzip get gzip, and the same bytes back.
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert gzip.decompress(zipped.data) == plain.data
    # A revalidation answers 304 without the body.
    again = client.get(url, headers={**BROWSER, "If-None-Match": reply.headers["ETag"]})
    assert again.status_code == 304 and not again.data


@pytest.mark.parametrize("query", ["", "?v=0123456789ab"])
def test_a_file_without_its_current_version_is_revalidated(client, query):
    reply = client.get("/static/css/app.css" + query, headers=BROWSER)
    assert reply.status_code == 200
    assert "no-cache" in reply.headers["Cache-Control"]
    assert "immutable" not in reply.headers["Cache-Control"]


def test_a_changed_file_gets_a_new_url(app, tmp_path):
    from app.assets import Fingerprints

    (tmp_path / "a.css").write_text("body { color: red }")
    fingerprint = Fingerprints(str(tmp_path))
    before = fingerprint("a.css")
    (tmp_path / "a.css").write_text("body { color: blue; }")
    assert fingerprint("a.css") != before
    assert fingerprint("../secret") is None and fingerprint("missing.css") is None


def test_pages_and_json_are_compressed(client):
    page = client.get("/", headers=BROWSER)
    assert page.headers.get("Content-Encoding") in ("zstd", "br")
    body = {
        "strokes": [[[60, 60], [220, 60], [120, 240]]],
        "width": 280,
        "height": 280,
        "store": False,
    }
    reply = client.post("/api/predict", json=body, headers=BROWSER)
    assert reply.status_code == 200
    assert reply.headers.get("Content-Encoding") in ("zstd", "br")
    assert json.loads(decode(reply))["digit"] == 7


def decode(reply) -> bytes:
    if reply.headers["Content-Encoding"] == "br":
        return brotli.decompress(reply.data)
    return zstd.decompress(reply.data)


@pytest.mark.parametrize("entry", ["js/pad/main.js", "js/dashboard/main.js"])
def test_every_module_a_page_imports_is_served_as_javascript(client, entry):
    """ES modules without a build step: each import is a file here, served as JavaScript."""
    seen, todo = set(), [entry]
    while todo:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        reply = client.get("/static/" + path, headers=BROWSER)
        assert reply.status_code == 200, path
        assert reply.mimetype in ("text/javascript", "application/javascript"), path
        # Imported without a version: revalidated, so a changed module is never stale.
        assert "no-cache" in reply.headers["Cache-Control"], path
        source = client.get("/static/" + path).get_data(as_text=True)
        folder = path.rsplit("/", 1)[0]
        for name in re.findall(r'^import [^;]*? from "\./([\w.]+)";', source, re.M | re.S):
            todo.append(f"{folder}/{name}")
    assert len(seen) >= 7, seen

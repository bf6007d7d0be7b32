"""Property-based fuzzing: whatever arrives, the reply is clean (JSON for the API), 2xx or 4xx, cheap (canvases and pictures within their bounds).

The JSON bodies of /api/predict, /api/read and flags; pictures (every format,
size and mode, intact or damaged) as uploads and data URLs; multipart forms
of any shape; the dashboard's query strings and paths.
"""

from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from tests.utils.apps import migrated_app
from tests.utils.meter import Meter, metered

# `make test-fast` (the edit loop) tries a fifth of the examples; `make test` all of them.
FAST = os.environ.get("DIGITPAD_TESTS") == "fast"


def examples(n: int) -> int:
    return max(40, n // 5) if FAST else n


# Numbers as an attacker sends them: huge, tiny, negative, fractional, special.
numbers = st.one_of(
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-50, max_value=600),
)
anything = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5)
    ),
    max_leaves=30,
)
points = st.lists(st.one_of(st.tuples(numbers, numbers).map(list), anything), max_size=30)
strokes_body = st.fixed_dictionaries(
    {"strokes": st.one_of(st.lists(points, max_size=6), anything)},
    optional={
        "width": st.one_of(numbers, anything),
        "height": st.one_of(numbers, anything),
        "line_width": st.one_of(numbers, anything),
        "store": anything,
        "image": st.one_of(st.text(max_size=60), anything),
    },
)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory):
    app = migrated_app(tmp_path_factory.mktemp("fuzz"), RATELIMIT_ENABLED=False)
    client = app.test_client()
    reply = client.post(
        "/api/predict",
        json={"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280},
    )
    assert reply.status_code == 200
    return client, reply.get_json()["prediction_id"]


@pytest.fixture(scope="module")
def meter():
    with metered() as meter:
        yield meter


def _clean(reply, meter: Meter, success=(200,)) -> None:
    """2xx or 4xx, never 5xx; JSON with an error for the API; only bounded work done."""
    meter.assert_cheap()
    assert reply.status_code in success or 400 <= reply.status_code < 500, reply.status_code
    if reply.request.path.startswith("/api/"):
        assert reply.is_json and isinstance(reply.get_json(), dict)
        if reply.status_code >= 400:
            assert reply.get_json()["error"]


@pytest.mark.parametrize("path", ["/api/predict", "/api/read"])
@settings(max_examples=examples(1000), deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(strokes_body, anything))
def test_every_json_body_is_answered_cleanly(fuzz_client, meter, path, body):
    client, _ = fuzz_client
    meter.reset()
    try:
        data = json.dumps(body)
    except (ValueError, OverflowError):
        data = str(body)
    reply = client.post(path, data=data, content_type="application/json")
    _clean(reply, meter)
    if reply.status_code == 200 and path == "/api/predict":
        assert 0 <= reply.get_json()["digit"] <= 9
    elif reply.status_code == 200:
        assert len(reply.get_json()["digits"]) <= 10


@settings(max_examples=examples(800), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(st.fixed_dictionaries({"label": anything}), anything),
    target=st.one_of(st.just(None), st.integers(min_value=-5, max_value=2**70)),
)
def test_flag_answers_every_body_cleanly(fuzz_client, meter, body, target):
    client, prediction_id = fuzz_client
    meter.reset()
    path_id = prediction_id if target is None else target
    reply = client.post(
        f"/api/predictions/{path_id}/flag", data=json.dumps(body), content_type="application/json"
    )
    if path_id < 0:  # not a route at all
        assert reply.status_code == 404
        return
    _clean(reply, meter, success=(201,))  # a valid label on this browser's own drawing


@st.composite
def pictures(draw) -> bytes:
    """A picture of any format, size and mode: noise, blocks, lines, dots; maybe damaged."""
    height, width = draw(st.integers(1, 320)), draw(st.integers(1, 320))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kind = draw(st.sampled_from(["noise", "sparse", "blocks", "dots", "blank"]))
    page = np.zeros((height, width), np.uint8)
    if kind == "noise":
        page = np.uint8(rng.random((height, width)) < draw(st.floats(0, 1))) * 255
    elif kind == "sparse":
        page = np.uint8(rng.random((height, width)) < 0.02) * 255
    elif kind == "blocks":
        for _ in range(draw(st.integers(1, 12))):
            y, x = rng.integers(0, height), rng.integers(0, width)
            page[y : y + rng.integers(1, 60), x : x + rng.integers(1, 60)] = 255
    elif kind == "dots":
        step = draw(st.integers(2, 6))
        page[1::step, 1::step] = 255
    if draw(st.booleans()):
        page = 255 - page
    mode = draw(st.sampled_from(["L", "RGB", "RGBA", "P", "1", "I;16"]))
    image = (
        Image.fromarray(page)
        .convert(mode if mode != "I;16" else "I")
        .convert(mode if mode != "I;16" else "I;16")
    )
    fmt = draw(st.sampled_from(["PNG", "JPEG", "GIF", "BMP", "WEBP"]))
    if fmt == "JPEG" and mode not in ("L", "RGB"):
        image = image.convert("RGB")
    buffer = io.BytesIO()
    try:
        image.save(buffer, fmt)
    except (OSError, ValueError, KeyError):
        image.convert("RGB").save(buffer, "PNG")
    data = buffer.getvalue()
    damage = draw(st.sampled_from(["none", "none", "truncate", "flip"]))
    if damage == "truncate":
        data = data[: draw(st.integers(0, len(data)))]
    elif damage == "flip" and data:
        at = draw(st.integers(0, len(data) - 1))
        data = data[:at] + bytes([data[at] ^ 0xFF]) + data[at + 1 :]
    return data


@settings(max_examples=examples(200), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    picture=pictures(), path=st.sampled_from(["/api/predict", "/api/read"]), as_upload=st.booleans()
)
def test_every_picture_is_answered_cleanly(fuzz_client, meter, picture, path, as_upload):
    client, _ = fuzz_client
    meter.reset()
    if as_upload:
        reply = client.post(
            path,
            data={"image": (io.BytesIO(picture), "p"), "store": "false"},
            content_type="multipart/form-data",
        )
    else:
        url = "data:image/png;base64," + base64.b64encode(picture).decode()
        reply = client.post(path, json={"image": url, "store": False})
    _clean(reply, meter)


field_names = st.one_of(st.sampled_from(["image", "store", "strokes"]), st.text(max_size=12))


@settings(max_examples=examples(200), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    parts=st.lists(st.tuples(field_names, st.booleans(), st.binary(max_size=300)), max_size=40),
    boundary=st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=1, max_size=30),
    path=st.sampled_from(["/api/predict", "/api/read"]),
)
def test_every_multipart_form_is_answered_cleanly(fuzz_client, meter, parts, boundary, path):
    client, _ = fuzz_client
    body = b""
    for name, is_file, content in parts:
        filename = '; filename="f.png"' if is_file else ""
        body += (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{filename}\r\n\r\n'
            ).encode("utf-8", "replace")
            + content
            + b"\r\n"
        )
    body += f"--{boundary}--\r\n".encode()
    meter.reset()
    reply = client.post(path, data=body, content_type=f"multipart/form-data; boundary={boundary}")
    _clean(reply, meter)


query_values = st.one_of(
    st.text(max_size=30),
    st.integers(-10, 2**80).map(str),
    st.lists(st.integers(-3, 2**70).map(str), max_size=6).map(",".join),
)


@settings(max_examples=examples(300), deadline=None, suppress_health_check=list(HealthCheck))
@given(
    path=st.sampled_from(
        [
            "/dashboard/",
            "/dashboard/compare",
            "/dashboard/flags",
            "/dashboard/retrain",
            "/dashboard/runs/1",
            "/dashboard/runs/1/progress",
            "/dashboard/flags/export.csv",
        ]
    ),
    query=st.dictionaries(
        st.sampled_from(["runs", "digit", "status", "page", "q", "sort"]), query_values, max_size=4
    ),
    tail=st.one_of(
        st.just(""),
        st.text(
            st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="?#%"),
            max_size=20,
        ),
    ),
)
def test_the_dashboard_answers_every_query_cleanly(fuzz_client, meter, path, query, tail):
    client, _ = fuzz_client
    meter.reset()
    reply = client.get(path + tail, query_string=query)
    _clean(reply, meter, success=(200, 301, 302, 303, 308))

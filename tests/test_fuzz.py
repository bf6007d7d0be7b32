"""Property-based fuzzing of the JSON API: whatever arrives, the reply is JSON, 200 or 4xx, fast."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import migrated_app

# Numbers as an attacker sends them: huge, tiny, negative, fractional, special.
numbers = st.one_of(
    st.integers(min_value=-(10 ** 400), max_value=10 ** 400),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-50, max_value=600),
)
anything = st.recursive(
    st.none() | st.booleans() | numbers | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5)
    | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)
points = st.lists(st.one_of(st.tuples(numbers, numbers).map(list), anything), max_size=30)
strokes_body = st.fixed_dictionaries(
    {"strokes": st.one_of(st.lists(points, max_size=6), anything)},
    optional={"width": st.one_of(numbers, anything), "height": st.one_of(numbers, anything),
              "line_width": st.one_of(numbers, anything), "store": anything,
              "image": st.one_of(st.text(max_size=60), anything)},
)


@pytest.fixture(scope="module")
def fuzz_client(tmp_path_factory):
    app = migrated_app(tmp_path_factory.mktemp("fuzz"), RATELIMIT_ENABLED=False)
    client = app.test_client()
    reply = client.post("/api/predict", json={"strokes": [[[60, 50], [200, 50], [120, 230]]],
                                              "width": 280, "height": 280})
    assert reply.status_code == 200
    return client, reply.get_json()["prediction_id"]


def _check(reply, started: float, success: int = 200) -> None:
    assert time.perf_counter() - started < 1.0
    assert reply.status_code == success or 400 <= reply.status_code < 500, reply.status_code
    assert reply.is_json and isinstance(reply.get_json(), dict)
    if reply.status_code >= 400:
        assert reply.get_json()["error"]


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(strokes_body, anything))
def test_predict_answers_every_body_cleanly(fuzz_client, body):
    client, _ = fuzz_client
    started = time.perf_counter()
    try:
        data = json.dumps(body)
    except (ValueError, OverflowError):
        data = str(body)
    reply = client.post("/api/predict", data=data, content_type="application/json")
    _check(reply, started)
    if reply.status_code == 200:
        assert 0 <= reply.get_json()["digit"] <= 9


@settings(max_examples=800, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=st.one_of(st.fixed_dictionaries({"label": anything}), anything),
       target=st.one_of(st.just(None), st.integers(min_value=-5, max_value=2 ** 70)))
def test_flag_answers_every_body_cleanly(fuzz_client, body, target):
    client, prediction_id = fuzz_client
    started = time.perf_counter()
    path_id = prediction_id if target is None else target
    reply = client.post(f"/api/predictions/{path_id}/flag", data=json.dumps(body),
                        content_type="application/json")
    if path_id < 0:  # not a route at all
        assert reply.status_code == 404
        return
    _check(reply, started, success=201)  # a valid label on this browser's own drawing

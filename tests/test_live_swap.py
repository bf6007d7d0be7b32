"""Live swap under gunicorn: every worker serves a promoted version within seconds, no request fails."""

from __future__ import annotations

import threading
import time

import pytest

from app.services import registry
from tests.utils.apps import migrated_app
from tests.utils.images import data_url, page_png
from tests.utils.models import model_copy
from tests.utils.servers import CHECK_SECONDS, post_json, start_gunicorn


@pytest.fixture
def served(tmp_path, mnist_sample):
    """Gunicorn with two workers on a fresh database, and a second version ready to promote."""
    app = migrated_app(tmp_path)
    other = model_copy(tmp_path / "other", version="cnn-other")
    with app.app_context():
        first = registry.register_bundled().version
        registry.register(other)
    proc, base = start_gunicorn(app)
    try:
        yield app, base, first, "cnn-other"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_promotion_reaches_every_worker_without_a_failed_request(served, mnist_sample):
    app, base, first, other = served
    images, _ = mnist_sample
    body = {"image": data_url(page_png(images[0])), "store": False}
    replies: list[tuple[float, int, str]] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            status, reply = post_json(base + "/api/predict", body)
            replies.append((time.monotonic(), status, reply.get("model_version", "")))

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    try:
        time.sleep(1)
        switches = []
        for version in (other, first):
            with app.app_context():
                registry.promote(version, "test: live swap")
            switches.append((time.monotonic(), version))
            time.sleep(CHECK_SECONDS * 4 + 1)
    finally:
        stop.set()
        for t in threads:
            t.join()

    assert replies and all(status == 200 for _, status, _ in replies)
    for (at, version), (until, _) in zip(switches, switches[1:] + [(replies[-1][0] + 1, None)]):
        after = [v for t, _, v in replies if at + CHECK_SECONDS + 0.5 < t < until]
        assert len(after) > 10
        assert set(after) == {version}, f"workers still served {set(after) - {version}}"

"""The served model: the last good one on failure, health that tells, files from the database."""

from __future__ import annotations

import hashlib
import shutil
import time

import pytest

from app.extensions import db
from app.models import ModelFile, ModelVersion
from app.services import registry, serving
from tests.utils.apps import migrated_app
from tests.utils.images import data_url, page_png
from tests.utils.models import model_copy
from tests.utils.servers import CHECK_SECONDS, post_json, start_gunicorn

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def corrupt(folder) -> None:
    data = bytearray((folder / "model.tflite").read_bytes())
    data[5000:5100] = b"\0" * 100
    (folder / "model.tflite").write_bytes(bytes(data))


def activate(app, name: str) -> None:
    """Make a version active behind the registry's back (as a damaged disk would look)."""
    with app.app_context():
        for v in db.session.query(ModelVersion):
            v.status = "active" if v.version == name else "retired"
        db.session.commit()


def predict_version(client, mnist_sample) -> str:
    images, _ = mnist_sample
    reply = client.post(
        "/api/predict", json={"image": data_url(page_png(images[0])), "store": False}
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["model_version"]


def test_a_corrupt_active_model_keeps_the_last_good_one_and_health_says_so(
    app, client, seeded, tmp_path, mnist_sample
):
    broken = model_copy(tmp_path / "broken", version="cnn-broken")
    with app.app_context():
        registry.register(broken)
    assert client.get("/api/health").get_json()["model"]["serving_active"] is True
    assert predict_version(client, mnist_sample) == seeded
    corrupt(broken)  # after registration: the disk went bad
    with app.app_context():
        db.session.query(ModelFile).filter(
            ModelFile.version_id == registry.get_version("cnn-broken").id
        ).delete()
        db.session.commit()
    activate(app, "cnn-broken")
    assert predict_version(client, mnist_sample) == seeded
    health = client.get("/api/health")
    body = health.get_json()
    assert health.status_code == 200 and body["status"] == "degraded"
    assert body["model"]["active_version"] == "cnn-broken"
    assert body["model"]["served_version"] == seeded and body["model"]["serving_active"] is False
    assert "checksum" in body["model"]["problem"]


def test_a_fresh_worker_that_cannot_load_the_active_model_serves_the_bundled_one(
    app, seeded, tmp_path, mnist_sample, database_url
):
    broken = model_copy(tmp_path / "broken", version="cnn-broken")
    with app.app_context():
        registry.register(broken)
        db.session.query(ModelFile).delete()
        db.session.commit()
    corrupt(broken)
    activate(app, "cnn-broken")
    fresh = migrated_app(tmp_path / "other-host", database_url, MODEL_CHECK_SECONDS=0)
    client = fresh.test_client()
    assert predict_version(client, mnist_sample) == seeded  # never None
    body = client.get("/api/health").get_json()
    assert body["model"]["served_version"] == seeded and body["status"] == "degraded"
    assert body["model"]["files"].startswith("unusable")


def test_a_version_missing_on_this_host_is_served_from_the_database(
    app, client, seeded, tmp_path, mnist_sample
):
    other = model_copy(tmp_path / "trained-elsewhere", version="cnn-other")
    with app.app_context():
        version = registry.register(other)
        stored = {
            f.name: f.sha256 for f in db.session.query(ModelFile).filter_by(version_id=version.id)
        }
    assert {"model.json", "model.tflite"} <= set(stored)
    shutil.rmtree(other)  # the folder only ever existed on the worker's host
    with app.app_context():
        registry.promote("cnn-other", "test")
    assert predict_version(client, mnist_sample) == "cnn-other"
    cached = tmp_path / "model-cache" / "cnn-other" / "model.tflite"
    assert hashlib.sha256(cached.read_bytes()).hexdigest() == stored["model.tflite"]
    assert client.get("/api/health").get_json()["model"]["files"] == "ok"


def test_a_corrupt_local_copy_is_served_from_the_database_and_health_says_so(
    app, client, seeded, tmp_path, mnist_sample, caplog
):
    other = model_copy(tmp_path / "mine", version="cnn-mine")
    with app.app_context():
        registry.register(other)
        registry.promote("cnn-mine", "test")
    assert predict_version(client, mnist_sample) == "cnn-mine"
    corrupt(other)
    caplog.set_level("WARNING")
    with app.app_context():
        serving._state()["version"] = None  # look again now, as a restarted worker would
    assert predict_version(client, mnist_sample) == "cnn-mine"  # the database's copy
    assert any("do not match their recorded checksums" in r.getMessage() for r in caplog.records)
    body = client.get("/api/health").get_json()
    assert body["status"] == "degraded" and body["model"]["files"].startswith("corrupt")


@pytest.mark.databases("postgresql")
def test_two_web_hosts_on_one_postgresql_both_see_a_promotion(app, seeded, tmp_path, mnist_sample):
    other = model_copy(tmp_path / "trained-on-the-worker", version="cnn-other")
    with app.app_context():
        registry.register(other)
    shutil.rmtree(other)
    hosts = [
        start_gunicorn(
            app,
            WEB_CONCURRENCY="1",
            MODEL_CACHE_DIR=str(tmp_path / f"cache-{i}"),
            INSTANCE_PATH=str(tmp_path / f"host-{i}"),
        )
        for i in (1, 2)
    ]
    images, _ = mnist_sample
    body = {"image": data_url(page_png(images[0])), "store": False}
    try:
        for _, base in hosts:
            assert post_json(base + "/api/predict", body)[1]["model_version"] == seeded
        with app.app_context():
            registry.promote("cnn-other", "test: two hosts")
        promoted = time.monotonic()
        seen = {}
        while len(seen) < 2 and time.monotonic() - promoted < 15:
            for _, base in hosts:
                if (
                    base not in seen
                    and post_json(base + "/api/predict", body)[1]["model_version"] == "cnn-other"
                ):
                    seen[base] = time.monotonic() - promoted
            time.sleep(0.05)
        # Within the check interval, plus loading the files and the interpreter on a busy machine.
        assert len(seen) == 2 and max(seen.values()) < CHECK_SECONDS + 2.5, seen
        for i in (1, 2):
            assert (tmp_path / f"cache-{i}" / "cnn-other" / "model.tflite").is_file()
    finally:
        for proc, _ in hosts:
            proc.terminate()
            proc.wait(timeout=30)

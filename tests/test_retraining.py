"""The feedback loop on tiny data: flag, retrain, gate, promote, serve live, roll back."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from markupsafe import escape

from app.extensions import db
from app.models import Flag, FlagUse, ModelVersion, TrainingRun, utcnow
from app.services import registry, serving
from tests.utils.apps import ROOT, subprocess_env
from tests.utils.datasets import write_csv
from tests.utils.flags import store_flag
from tests.utils.images import data_url, page_png

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def flag_and_confirm(app, client, images, labels, n=30):
    for i in range(n):
        reply = client.post("/api/predict", json={"image": data_url(page_png(images[i]))})
        pid = reply.get_json()["prediction_id"]
        store_flag(app, pid, int(labels[i]))
    with app.app_context():
        for flag in db.session.query(Flag):
            flag.status = "confirmed"
        db.session.commit()


def served_version(client, images):
    return client.post(
        "/api/predict", json={"image": data_url(page_png(images[0])), "store": False}
    ).get_json()["model_version"]


def _suite(mnist, flags, uji=0.99):
    parts = {"mnist": {"right": mnist}, "online:uji": {"right": uji}}
    if flags is not None:
        parts["flags"] = {"right": flags}
    return {"suite": 1, "parts": parts}


def test_gate_rules():
    active = _suite(0.9950, 0.60)
    assert registry.passes_gate(_suite(0.9941, 0.70), active)[0]
    ok, reason = registry.passes_gate(_suite(0.9930, 0.90), active)
    assert not ok and "MNIST test: 99.30% against the active model's 99.50%" in reason
    assert "(0.20 points lower)" in reason
    # Every part of the suite counts, not MNIST alone.
    ok, reason = registry.passes_gate(_suite(0.9990, 0.90, uji=0.97), active)
    assert not ok and "held-out writers (Spain)" in reason and "2.00 points lower" in reason
    ok, reason = registry.passes_gate(_suite(0.9990, 0.60), active)
    assert not ok and "not above" in reason
    assert not registry.passes_gate(_suite(0.999, None), _suite(0.99, None))[0]


@pytest.mark.training
def test_full_loop(app, client, runner, seeded, mnist_sample, tmp_path):
    images, labels = mnist_sample
    csv_path = write_csv(tmp_path / "base.csv", images[100:400], labels[100:400])
    assert (
        "no confirmed flags"
        in runner.invoke(args=["retrain", "--base", "csv", "--csv", str(csv_path)]).output
    )
    flag_and_confirm(app, client, images, labels)
    app.config["RETRAIN_NEGATIVES"] = 200  # enough to keep refusing, quick to draw
    result = runner.invoke(
        args=["retrain", "--base", "csv", "--csv", str(csv_path), "--epochs", "1"]
    )
    assert result.exit_code == 0, result.output
    assert "gate:" in result.output
    with app.app_context():
        run = db.session.query(TrainingRun).filter_by(kind="retrain").one()
        assert run.status == "succeeded"
        gate = run.metrics["gate"]
        for who in ("candidate", "active"):  # both on the whole yardstick, held-out flags too
            parts = gate[who]["parts"]
            assert set(parts) >= {
                "mnist",
                "online:uji",
                "online:pendigits",
                "negatives:letters",
                "flags",
            }
            assert parts["mnist"]["samples"] == 10_000
            assert all(0 <= p["right"] <= 1 for p in parts.values())
        assert gate["active_version"] == seeded and gate["holdout_flags"] > 0
        candidate = db.session.query(ModelVersion).filter_by(run_id=run.id).one()
        assert candidate.version == run.model_version
        assert candidate.status == ("active" if gate["promoted"] else "candidate")
        assert gate["reason"] in candidate.reason
        used = db.session.query(FlagUse).filter_by(run_id=run.id).count()
        confirmed = db.session.query(Flag).count()
        assert 0 < used < confirmed  # the held-out flags are never trained on
        new_version = candidate.version
    # The flags page says how each confirmed flag served: trained on (by which run) or held out.
    app.config["FLAGS_PUBLIC"] = True  # read without signing in
    page = client.get("/dashboard/flags?status=confirmed").get_data(as_text=True)
    assert page.count('data-use="trained"') == used and f">run {run.id}</a>" in page
    assert page.count('data-use="held out"') == confirmed - used
    # The run page sets the candidate beside the active model, as the gate judged them.
    page = client.get(f"/dashboard/runs/{run.id}").get_data(as_text=True)
    verdict = "Promoted" if gate["promoted"] else "Kept as a candidate"
    assert f"<strong>{verdict}:</strong> {escape(gate['reason'])}" in page
    for key in ("mnist", "online:uji", "flags"):
        row = page.split(f'id="gate-{key.replace(":", "-")}"')[1].split("</tr>")[0]
        assert f"{gate['active']['parts'][key]['right']:.2%}" in row
        assert f"{gate['candidate']['parts'][key]['right']:.2%}" in row

    # Promote (whatever the gate said), the API serves it at once; roll back.
    with app.app_context():
        gate_reason = registry.get_version(new_version).reason
    refused = runner.invoke(args=["models", "promote", new_version])
    assert refused.exit_code != 0 and "--reason" in refused.output  # a reason is required
    promoted = runner.invoke(
        args=[
            "models",
            "promote",
            new_version,
            "--override-gate",
            "--reason",
            "try it on the live traffic",
        ]
    )
    assert promoted.exit_code == 0, promoted.output
    with app.app_context():
        v = registry.get_version(new_version)
        assert v.reason == gate_reason  # the gate's verdict stays as it was
        assert v.gate_passed is gate["promoted"]
        if gate["promoted"]:  # active already: the gate's activation stands
            assert (v.activation, v.activated_by, v.activation_reason) == (
                "gate",
                "the gate",
                gate["reason"],
            )
        else:
            assert (v.activation, v.activation_reason) == ("promote", "try it on the live traffic")
            assert "(flask models)" in v.activated_by
    assert served_version(client, images) == new_version
    from app.services import serving

    with app.app_context():  # the version no longer served is let go
        paths = {v.version: v.path for v in db.session.query(ModelVersion)}
    assert (
        paths[new_version] in serving.loaded_dirs() and paths[seeded] not in serving.loaded_dirs()
    )
    stored = client.post("/api/predict", json={"image": data_url(page_png(images[1]))}).get_json()
    assert stored["model_version"] == new_version
    back = ["models", "rollback", seeded, "-r", "the flags were wrong"]
    rolled = runner.invoke(args=back)
    if rolled.exit_code != 0:  # the candidate beat it somewhere: the gate's rule holds here too
        assert "worse than the active model" in rolled.output, rolled.output
        rolled = runner.invoke(args=[*back, "--override-gate"])
    assert rolled.exit_code == 0, rolled.output
    assert served_version(client, images) == seeded
    listing = runner.invoke(args=["models", "list"]).output
    assert f"* {seeded}" in listing and new_version in listing
    assert "rollback" in listing and "the flags were wrong" in listing

    # A second training is refused while one is queued.
    assert (
        "queued run"
        in runner.invoke(
            args=["retrain", "--queue", "--base", "csv", "--csv", str(csv_path)]
        ).output
    )
    busy = runner.invoke(args=["retrain", "--base", "csv", "--csv", str(csv_path)])
    assert busy.exit_code != 0 and "one training at a time" in busy.output


def test_corrupt_model_is_refused_and_the_previous_keeps_serving(
    app, client, runner, seeded, mnist_sample, tmp_path
):
    images, _ = mnist_sample
    broken = tmp_path / "broken"
    shutil.copytree(ROOT / "models" / "default", broken)
    meta = (broken / "model.json").read_text().replace(seeded, "cnn-broken")
    (broken / "model.json").write_text(meta)
    data = bytearray((broken / "model.tflite").read_bytes())
    data[5000:5100] = b"\0" * 100
    (broken / "model.tflite").write_bytes(bytes(data))
    with app.app_context():
        registry.register(broken)
    refused = runner.invoke(args=["models", "promote", "cnn-broken", "-r", "test"])
    assert refused.exit_code != 0 and "does not match its recorded checksum" in refused.output
    assert served_version(client, images) == seeded
    # Files corrupted after promotion: the worker logs it and keeps the last good model.
    with app.app_context():
        for v in db.session.query(ModelVersion):
            v.status = "active" if v.version == "cnn-broken" else "retired"
        db.session.commit()
    assert served_version(client, images) == seeded


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.training
def test_killed_training_leaves_the_active_model(
    app, client, runner, seeded, mnist_sample, tmp_path
):
    images, labels = mnist_sample
    csv_path = write_csv(tmp_path / "base.csv", images[100:400], labels[100:400])
    flag_and_confirm(app, client, images, labels, n=10)
    app.config.update(JOB_HEARTBEAT_SECONDS=0.5, JOB_HEARTBEAT_TIMEOUT=3)
    env = subprocess_env(
        app, JOB_HEARTBEAT_SECONDS="0.5", JOB_HEARTBEAT_TIMEOUT="3", RETRAIN_NEGATIVES="200"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "flask",
            "retrain",
            "--base",
            "csv",
            "--csv",
            str(csv_path),
            "--epochs",
            "50",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with app.app_context():
                run = db.session.query(TrainingRun).filter_by(kind="retrain").first()
                if run and run.epoch >= 1:
                    break
                db.session.remove()
            time.sleep(0.5)
        else:
            pytest.fail("the training never started")
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # A worker starting now leaves the run alone: its heartbeat is still fresh.
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    with app.app_context():
        assert db.session.query(TrainingRun).filter_by(kind="retrain").one().status == "running"
    # Later, the heartbeat has stopped for longer than the timeout (time moved on in the row).
    with app.app_context():
        run = db.session.query(TrainingRun).filter_by(kind="retrain").one()
        run.heartbeat_at = utcnow() - timedelta(seconds=app.config["JOB_HEARTBEAT_TIMEOUT"] + 1)
        db.session.commit()
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    with app.app_context():
        run = db.session.query(TrainingRun).filter_by(kind="retrain").one()
        assert run.status == "failed" and "interrupted" in run.error
        assert serving.active_version().version == seeded
        assert db.session.query(ModelVersion).count() == 1
    assert served_version(client, images) == seeded
    assert not list(Path(app.config["CANDIDATES_DIR"]).glob("cnn-*"))


def test_dashboard_retrain_and_activate_need_the_admin(app, client, runner, seeded, mnist_sample):
    import re

    from werkzeug.security import generate_password_hash

    images, labels = mnist_sample
    flag_and_confirm(app, client, images, labels, n=12)
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash("admin password")
    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)
    ).group(1)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    assert client.post("/dashboard/retrain", headers=headers).status_code == 401
    client.post("/login", data={"csrf_token": token, "password": "admin password"})
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Retrain with" in page and seeded in page
    trainable = re.search(r"Retrain with (\d+) confirmed flags", page).group(1)
    assert f"{trainable} not trained on yet" in page
    # Signing in starts a new session, with a new CSRF token.
    headers["X-CSRFToken"] = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    queued = client.post("/dashboard/retrain", headers=headers)
    assert queued.status_code == 202
    again = client.post("/dashboard/retrain", headers=headers)
    assert again.status_code == 409 and "one training at a time" in again.get_json()["error"]
    with app.app_context():
        run = db.session.get(TrainingRun, queued.get_json()["run_id"])
        assert run.status == "queued" and run.kind == "retrain"
    unknown = client.post("/dashboard/models/nope/activate", headers=headers, json={"reason": "x"})
    assert unknown.status_code == 404 and "no model version" in unknown.get_json()["error"]
    active = client.post(
        f"/dashboard/models/{seeded}/activate", headers=headers, json={"reason": "again"}
    )
    assert active.status_code == 409 and "already the active version" in active.get_json()["error"]

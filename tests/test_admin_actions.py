"""The admin's actions on the dashboard: promote and roll back with a reason, retrain, CLI models."""

from __future__ import annotations

import json
import re
import shutil
from datetime import timedelta

import pytest
from markupsafe import escape

from app.extensions import db
from app.models import Flag, ModelVersion, Prediction, TrainingRun, Worker, utcnow
from app.services import jobs, registry, serving
from tests.utils.admin import GATE_REASON, rejected_candidate, sign_in
from tests.utils.apps import ROOT
from tests.utils.datasets import write_csv

pytestmark = pytest.mark.databases("sqlite", "postgresql")
GATE_HTML = str(escape(GATE_REASON))


def version(app, name: str) -> ModelVersion:
    with app.app_context():
        return db.session.query(ModelVersion).filter_by(version=name).one()


def add_flags(app, **statuses: int) -> None:
    """Flags with these statuses (open=3, confirmed=2, ...) on stored predictions."""
    with app.app_context():
        for status, n in statuses.items():
            for _ in range(n):
                prediction = Prediction(
                    drawing=b"{}",
                    drawing_type="strokes",
                    input_png=b"png",
                    digit=3,
                    confidence=0.9,
                    probabilities_json=json.dumps([0.1] * 10),
                    model_version="v",
                )
                db.session.add(prediction)
                db.session.flush()
                db.session.add(Flag(prediction_id=prediction.id, label=8, status=status))
        db.session.commit()


# ------------------------------------------------------------------ promote and roll back
def test_promote_asks_first_and_keeps_the_reason_beside_the_gates(app, client, seeded, tmp_path):
    name = rejected_candidate(app, tmp_path, seeded)
    # Only the admin: the confirmation page asks to sign in, the action refuses.
    assert "/login" in client.get(f"/dashboard/models/{name}/activate").headers["Location"]
    token = sign_in(app, client)

    index = client.get("/dashboard").get_data(as_text=True)
    row = re.search(rf'<tr id="version-{name}".*?</tr>', index, re.S).group(0)
    assert "gate rejected" in row and f'href="/dashboard/models/{name}/activate"' in row
    assert "<form" not in row  # no one-click promotion

    page = client.get(f"/dashboard/models/{name}/activate")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    warning = re.search(
        r'<section class="notice notice-danger" id="gate-warning".*?</section>', html, re.S
    ).group(0)
    assert "The gate rejected this: MNIST test 99.37% against 99.52%" in warning
    assert re.search(r'<textarea id="reason" name="reason"[^>]*required', html)
    assert re.search(
        r'<input type="checkbox" id="override-gate" name="override_gate"[^>]*required', html
    )
    assert f"<code>{seeded}</code>, active now, is retired" in html

    # No reason: the same page again with a 400 and the message; nothing changes.
    refused = client.post(
        f"/dashboard/models/{name}/activate",
        data={"csrf_token": token, "reason": "   ", "override_gate": "1"},
    )
    assert refused.status_code == 400
    assert "a reason is required" in refused.get_data(as_text=True)
    assert 'id="gate-warning"' in refused.get_data(as_text=True)
    # A reason, but the gate's rejection not acknowledged: refused too.
    refused = client.post(
        f"/dashboard/models/{name}/activate",
        data={"csrf_token": token, "reason": "the flags read right"},
    )
    assert refused.status_code == 400 and "go live anyway" in refused.get_data(as_text=True)
    assert "the flags read right" in refused.get_data(as_text=True)  # the reason is kept
    assert version(app, name).status == "candidate"

    done = client.post(
        f"/dashboard/models/{name}/activate",
        data={
            "csrf_token": token,
            "reason": "the outline style reads right now",
            "override_gate": "1",
        },
    )
    assert done.status_code == 303 and done.headers["Location"].endswith("/dashboard")
    v = version(app, name)
    assert (v.status, v.activation, v.activated_by) == (
        "active",
        "promote",
        "the admin (dashboard)",
    )
    assert v.activation_reason == "the outline style reads right now"
    assert v.reason == GATE_REASON and v.gate_passed is False  # the gate's verdict, untouched
    assert v.activated_at is not None
    with app.app_context():
        assert serving.active_version().version == name
    index = client.get("/dashboard").get_data(as_text=True)
    assert "Promoted" in index and "the outline style reads right now" in index
    activation = re.search(r'<dd id="active-activation">.*?</dd>', index, re.S).group(0)
    assert (
        "the admin (dashboard)" in activation and "the outline style reads right now" in activation
    )
    model_page = client.get(f"/dashboard/models/{name}").get_data(as_text=True)
    assert "the outline style reads right now" in model_page and GATE_HTML in model_page
    run_page = client.get(f"/dashboard/runs/{v.run_id}").get_data(as_text=True)
    section = re.search(
        r'<section aria-labelledby="model-version-title".*?</section>', run_page, re.S
    ).group(0)
    assert "the outline style reads right now" in section and GATE_HTML in section

    # Rolling back to the bundled model asks the same way, and says it is a roll back.
    page = client.get(f"/dashboard/models/{seeded}/activate").get_data(as_text=True)
    assert f"Roll back to <code>{seeded}</code>?" in page and 'id="gate-warning"' not in page
    done = client.post(
        f"/dashboard/models/{seeded}/activate",
        data={"csrf_token": token, "reason": "too many sevens read as ones"},
    )
    assert done.status_code == 303
    back, previous = version(app, seeded), version(app, name)
    assert (back.status, back.activation) == ("active", "rollback")
    assert back.activation_reason == "too many sevens read as ones"
    assert back.reason == "bundled with DigitPad"
    # The retired version keeps the record of its own promotion.
    assert previous.status == "retired"
    assert previous.activation_reason == "the outline style reads right now"


def test_activate_errors_are_clear_4xx(app, client, seeded, tmp_path):
    name = rejected_candidate(app, tmp_path, seeded)
    token = sign_in(app, client)
    headers = {"X-CSRFToken": token, "Accept": "application/json"}
    reply = client.post(f"/dashboard/models/{name}/activate", headers=headers, json={})
    assert reply.status_code == 400 and "a reason is required" in reply.get_json()["error"]
    reply = client.post(
        f"/dashboard/models/{name}/activate",
        headers=headers,
        json={"reason": "x" * (registry.MAX_REASON + 1), "override_gate": True},
    )
    assert reply.status_code == 400 and "too long" in reply.get_json()["error"]
    reply = client.post("/dashboard/models/nope/activate", headers=headers, json={"reason": "x"})
    assert reply.status_code == 404
    assert client.get("/dashboard/models/nope/activate").status_code == 404
    assert client.get("/dashboard/models/nope").status_code == 404
    reply = client.post(
        f"/dashboard/models/{seeded}/activate", data={"csrf_token": token, "reason": "again"}
    )
    assert reply.status_code == 409 and "already the active version" in reply.get_data(as_text=True)
    reply = client.post(
        f"/dashboard/models/{name}/activate",
        headers=headers,
        json={"reason": "by script", "override_gate": True},
    )
    assert reply.status_code == 200
    assert reply.get_json() == {
        "version": name,
        "status": "active",
        "activation": "promote",
        "reason": "by script",
    }
    # Without a CSRF token the form is refused, not served.
    client.post("/logout", data={"csrf_token": token})
    assert client.post(
        f"/dashboard/models/{seeded}/activate", json={"reason": "x"}
    ).status_code in (400, 401)


def test_models_cli_asks_for_a_reason_and_the_gates_override(app, runner, seeded, tmp_path):
    name = rejected_candidate(app, tmp_path, seeded)
    refused = runner.invoke(args=["models", "promote", name, "--reason", "try it"])
    assert refused.exit_code == 1 and "the gate rejected" in refused.output
    assert version(app, name).status == "candidate"
    done = runner.invoke(args=["models", "promote", name, "-r", "try it", "--override-gate"])
    assert done.exit_code == 0, done.output
    v = version(app, name)
    assert (v.status, v.activation, v.activation_reason) == ("active", "promote", "try it")
    assert v.activated_by.endswith("(flask models)") and v.reason == GATE_REASON
    listing = runner.invoke(args=["models", "list"]).output
    assert "gate REJECTED" in listing and "try it" in listing


def test_the_gate_records_its_verdict_and_its_own_promotion(app, seeded, tmp_path):
    folder = tmp_path / "passed"
    shutil.copytree(ROOT / "models" / "default", folder)
    meta = json.loads((folder / "model.json").read_text())
    meta["version"] = "cnn-passed-1"
    (folder / "model.json").write_text(json.dumps(meta))
    with app.app_context():
        v = registry.register(folder, reason="promoted by the gate: MNIST fine", gate_passed=True)
        registry.promote(v.version, "MNIST fine", by="the gate", action="gate")
        v = registry.get_version("cnn-passed-1")
        assert (v.status, v.activation, v.activated_by) == ("active", "gate", "the gate")
        assert v.reason == "promoted by the gate: MNIST fine" and v.gate_passed is True


# ------------------------------------------------------------------ retraining
def test_retrain_page_says_what_waits_and_whether_a_worker_runs(app, client, seeded):
    add_flags(app, open=7)
    assert "/login" in client.get("/dashboard/retrain").headers["Location"]
    token = sign_in(app, client)
    html = client.get("/dashboard/retrain").get_data(as_text=True)
    assert re.search(r'id="retrain-pending"><strong>7</strong> flags await review', html)
    assert 'href="/dashboard/flags?status=open"' in html
    assert re.search(
        r'<button type="submit" class="btn btn-primary" id="retrain-button" disabled', html
    )
    assert "Retrain with 0 confirmed flags" in html
    assert (
        "No worker is running: start one with <code>flask worker</code> (make run starts one)"
        in html
    )
    index = client.get("/dashboard").get_data(as_text=True)
    assert "7</strong> flags await review" in index and "No worker is running" in index

    # Pressing it anyway (an old page): the page again, a 400 saying why, never a 500.
    refused = client.post("/dashboard/retrain", data={"csrf_token": token})
    assert refused.status_code == 400
    text = refused.get_data(as_text=True)
    assert "no confirmed flags to learn from yet: 7 flags await review" in text
    assert 'id="retrain-error"' in text
    with app.app_context():
        assert db.session.query(TrainingRun).count() == 1  # the bundled run only

    # A worker alive: the page says so, and not that none runs.
    with app.app_context():
        jobs.worker_seen("trainer-host:4242", ("cnn", "baselines", "retrain"), 2.0)
    html = client.get("/dashboard/retrain").get_data(as_text=True)
    assert "A worker is running: <code>trainer-host:4242</code>" in html
    assert "No worker is running" not in html
    # Its heartbeat stopped a while ago: none is running, and when it was last seen.
    with app.app_context():
        row = db.session.get(Worker, "trainer-host:4242")
        row.last_seen = utcnow() - timedelta(minutes=10)
        db.session.commit()
    html = client.get("/dashboard/retrain").get_data(as_text=True)
    assert "No worker is running" in html and "last seen: <code>trainer-host:4242</code>" in html


def test_a_queued_retraining_says_no_worker_runs_until_one_does(app, client, seeded):
    add_flags(app, confirmed=10, open=2)
    token = sign_in(app, client)
    html = client.get("/dashboard/retrain").get_data(as_text=True)
    trainable = int(re.search(r'id="retrain-trainable"><strong>(\d+)</strong>', html).group(1))
    assert 0 < trainable < 10  # one flag in five is held out
    assert f"Retrain with {trainable} confirmed flags" in html
    assert not re.search(r'id="retrain-button" disabled', html)

    queued = client.post("/dashboard/retrain", data={"csrf_token": token})
    assert queued.status_code == 303
    run_page = client.get(queued.headers["Location"]).get_data(as_text=True)
    assert "No worker is running: start one with <code>flask worker</code>" in run_page
    run_id = int(queued.headers["Location"].rsplit("/", 1)[1])
    progress = client.get(f"/dashboard/runs/{run_id}/progress").get_json()
    assert progress["status"] == "queued" and progress["waiting"] == jobs.NO_WORKER
    with app.app_context():
        jobs.worker_seen("trainer-host:1", ("retrain",), 2.0)
    progress = client.get(f"/dashboard/runs/{run_id}/progress").get_json()
    assert progress["waiting"] == "waiting for the worker to start it"
    assert "No worker is running" not in client.get(f"/dashboard/runs/{run_id}").get_data(
        as_text=True
    )
    # A second one while it waits: 409 on the page, with the reason.
    again = client.post("/dashboard/retrain", data={"csrf_token": token})
    assert again.status_code == 409 and "one training at a time" in again.get_data(as_text=True)


# ------------------------------------------------------------------ trained from the CLI
@pytest.mark.training
def test_a_cli_trained_candidate_is_promotable_from_the_dashboard(
    app, client, runner, seeded, mnist_sample, tmp_path
):
    images, labels = mnist_sample
    csv_path = write_csv(tmp_path / "tiny.csv", images[:300], labels[:300])
    result = runner.invoke(
        args=[
            "train",
            "--profile",
            "quick",
            "--dataset",
            "csv",
            "--csv",
            str(csv_path),
            "--epochs",
            "1",
            "--polish-epochs",
            "0",
            "--min-steps",
            "0",
            "--no-baselines",
            "--name",
            "cli tiny",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        run = db.session.query(TrainingRun).filter_by(name="cli tiny").one()
        v = db.session.query(ModelVersion).filter_by(version=run.model_version).one()
        assert (v.run_id, v.status, v.gate_passed) == (run.id, "candidate", None)
        assert "not judged by the gate" in v.reason
        name = v.version
    token = sign_in(app, client)
    index = client.get("/dashboard").get_data(as_text=True)
    assert f'href="/dashboard/models/{name}/activate"' in index
    run_page = client.get(f"/dashboard/runs/{run.id}").get_data(as_text=True)
    assert f'id="run-activate" href="/dashboard/models/{name}/activate"' in run_page
    # Never judged by the gate, but one epoch on 300 digits is far worse than the
    # active model on the yardstick: the page says so and asks for the override.
    confirm = client.get(f"/dashboard/models/{name}/activate").get_data(as_text=True)
    assert 'id="gate-warning"' not in confirm and 'id="activate-worse"' in confirm
    assert 'name="override_gate"' in confirm
    refused = client.post(
        f"/dashboard/models/{name}/activate",
        data={"csrf_token": token, "reason": "a quick model to try"},
    )
    assert refused.status_code == 400 and "worse than the active model" in refused.get_data(
        as_text=True
    )
    done = client.post(
        f"/dashboard/models/{name}/activate",
        data={"csrf_token": token, "reason": "a quick model to try", "override_gate": "1"},
    )
    assert done.status_code == 303
    with app.app_context():
        assert serving.active_version().version == name
        assert serving.active_version().activation_reason == "a quick model to try"

    # A run trained before runs registered their models is registered when promoted.
    with app.app_context():
        db.session.delete(db.session.query(ModelVersion).filter_by(version=name).one())
        db.session.commit()
        registry.register_bundled()
        bundled = db.session.query(ModelVersion).filter_by(version=seeded).one()
        bundled.status = "active"
        db.session.commit()
    assert client.get(f"/dashboard/models/{name}/activate").status_code == 200
    with app.app_context():
        assert db.session.query(ModelVersion).filter_by(version=name).one().run_id == run.id


def test_model_page_shows_the_gate_and_the_activation(app, client, seeded, tmp_path):
    name = rejected_candidate(app, tmp_path, seeded)
    html = client.get(f"/dashboard/models/{name}").get_data(as_text=True)
    assert "<strong>Rejected:</strong> " + GATE_HTML in html
    assert "99.37%" in html and "99.52%" in html  # the gate's table
    assert "Never active." in html and 'id="model-activate"' not in html  # not the admin
    sign_in(app, client)
    html = client.get(f"/dashboard/models/{name}").get_data(as_text=True)
    assert f'id="model-activate" href="/dashboard/models/{name}/activate"' in html
    html = client.get(f"/dashboard/models/{seeded}").get_data(as_text=True)
    assert "Active since it was installed" in html and 'id="model-activate"' not in html


# ------------------------------------------------------------------ one yardstick
@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.training
def test_a_uci_trained_candidate_is_judged_on_the_yardstick(app, client, runner, seeded):
    # Trained and tested on the UCI digits only: its own test split says 90%+,
    # which is no MNIST figure. It shows none until it is measured on MNIST,
    # and then it is refused for being worse than the active model.
    result = runner.invoke(
        args=[
            "train",
            "--profile",
            "quick",
            "--dataset",
            "uci-digits",
            "--no-baselines",
            "--epochs",
            "2",
            "--min-steps",
            "0",
            "--name",
            "uci only",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        run = db.session.query(TrainingRun).filter_by(name="uci only").one()
        v = db.session.query(ModelVersion).filter_by(version=run.model_version).one()
        name, own = v.version, run.test_accuracy
        measured = v.yardstick["parts"]
        assert set(measured) >= {"mnist", "online:uji", "online:pendigits", "negatives:letters"}
        mnist = measured["mnist"]["right"]
        assert measured["mnist"]["samples"] == 10_000 and mnist != own
        v.yardstick = None  # as if it had never been measured
        db.session.commit()
    token = sign_in(app, client)
    row = _version_row(client.get("/dashboard").get_data(as_text=True), name)
    assert "not measured" in row and f"{own:.2%}" not in row
    page = client.get(f"/dashboard/models/{name}").get_data(as_text=True)
    assert 'id="model-yardstick-missing"' in page
    assert 'uci-digits test split <span class="unit">(its own data)</span>' in page.replace(
        "Uci-digits", "uci-digits"
    )
    assert "MNIST test" not in page

    # Asked to promote it, the dashboard measures it first and says where it is worse.
    confirm = client.get(f"/dashboard/models/{name}/activate").get_data(as_text=True)
    assert 'id="activate-worse"' in confirm and 'name="override_gate"' in confirm
    assert f"{mnist:.2%}" in confirm
    refused = client.post(
        f"/dashboard/models/{name}/activate",
        json={"reason": "try it"},
        headers={"X-CSRFToken": token, "Accept": "application/json"},
    )
    assert refused.status_code == 400
    message = refused.get_json()["error"]
    assert "worse than the active model" in message and "MNIST test" in message
    assert "points lower" in message
    with app.app_context():
        assert serving.active_version().version == seeded
        v = db.session.query(ModelVersion).filter_by(version=name).one()
        assert v.yardstick["parts"]["mnist"]["right"] == mnist  # stored when measured
    row = _version_row(client.get("/dashboard").get_data(as_text=True), name)
    assert f"{mnist:.2%}" in row

    # The CLI refuses it too, and says why; the override makes it live.
    refused = runner.invoke(args=["models", "promote", name, "--reason", "try it"])
    assert refused.exit_code != 0 and "MNIST test" in refused.output
    done = runner.invoke(args=["models", "promote", name, "--reason", "try it", "--override-gate"])
    assert done.exit_code == 0, done.output
    with app.app_context():
        assert serving.active_version().version == name


def _version_row(html: str, name: str) -> str:
    start = html.index(f'<tr id="version-{name}"')
    return html[start : html.index("</tr>", start)]

"""Signing a test client in as the admin; a candidate for the admin to judge."""

from __future__ import annotations

import json
import re
import shutil

from werkzeug.security import generate_password_hash

from tests.utils.apps import ROOT

PASSWORD = "a long admin passphrase"


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(app, client, password: str = PASSWORD) -> str:
    """Configure the admin's password, sign the client in; the CSRF token of its session."""
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash(password)
    token = csrf(client.get("/login").get_data(as_text=True))
    reply = client.post("/login", data={"csrf_token": token, "password": password})
    assert reply.status_code in (302, 303), reply.status_code
    return csrf(client.get("/dashboard/").get_data(as_text=True))


GATE_REASON = (
    "kept a candidate: MNIST test accuracy 99.37% is more than 0.1 points below "
    "the active model's 99.52%"
)


def rejected_candidate(app, tmp_path, active: str, name: str = "cnn-rejected-1") -> str:
    """A copy of the bundled model registered as a candidate the gate kept back."""
    folder = tmp_path / name
    shutil.copytree(ROOT / "models" / "default", folder)
    meta = json.loads((folder / "model.json").read_text())
    meta.update(version=name, test_accuracy=0.9937)
    (folder / "model.json").write_text(json.dumps(meta))
    from app.extensions import db
    from app.models import TrainingRun
    from app.services import registry

    with app.app_context():
        run = TrainingRun(
            name="retrain with 12 flags (fine-tune)",
            status="succeeded",
            kind="retrain",
            model_version=name,
            metrics={
                "gate": {
                    "candidate": {"mnist": 0.9937, "holdout": 0.80},
                    "active": {"mnist": 0.9952, "holdout": 0.70},
                    "active_version": active,
                    "holdout_flags": 3,
                    "test_split": "mnist",
                    "promoted": False,
                    "reason": GATE_REASON.removeprefix("kept a candidate: "),
                }
            },
        )
        db.session.add(run)
        db.session.commit()
        registry.register(
            folder, run.id, holdout_accuracy=0.80, reason=GATE_REASON, gate_passed=False
        )
    return name

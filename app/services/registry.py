"""Model versions: register, gate, promote, roll back; which one is active.

The database says which version is active. Every worker checks it every few
seconds (`MODEL_CHECK_SECONDS`) and swaps its interpreter when it changed,
without a restart; a version whose files are missing or corrupt is refused at
load with a log line and the previous one keeps serving.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db
from app.models import ModelVersion, utcnow
from app.services.predictor import ModelUnavailable, Predictor, get_predictor, release

# A candidate may lose at most this much MNIST test accuracy (0.1 points)...
MAX_MNIST_DROP = 0.001


class RegistryError(ValueError):
    """A version that cannot be promoted or does not exist (HTTP 400/404)."""


def active_version() -> ModelVersion | None:
    return db.session.scalar(select(ModelVersion).where(ModelVersion.status == "active"))


def active_dir() -> str:
    """The folder of the active version (the bundled model until one is registered)."""
    active = active_version()
    return active.path if active else current_app.config["MODEL_DIR"]


def get_version(name: str) -> ModelVersion | None:
    return db.session.scalar(select(ModelVersion).where(ModelVersion.version == name))


def list_versions() -> list[ModelVersion]:
    return list(db.session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def register(path: str | Path, run_id: int | None = None, status: str = "candidate",
             holdout_accuracy: float | None = None, reason: str | None = None) -> ModelVersion:
    """Record the model folder at `path` (its model.json names the version)."""
    meta = json.loads((Path(path) / "model.json").read_text())
    existing = get_version(meta["version"])
    if existing:
        return existing
    version = ModelVersion(
        version=meta["version"], path=str(path), status=status, run_id=run_id,
        files=meta.get("files", {}), test_accuracy=meta.get("test_accuracy"),
        holdout_accuracy=holdout_accuracy, reason=reason,
        activated_at=utcnow() if status == "active" else None,
    )
    db.session.add(version)
    db.session.commit()
    return version


def register_bundled(run_id: int | None = None) -> ModelVersion:
    """The bundled model is the first active version of a fresh install."""
    path = current_app.config["MODEL_DIR"]
    meta = json.loads((Path(path) / "model.json").read_text())
    existing = get_version(meta["version"])
    if existing:
        return existing
    status = "candidate" if active_version() else "active"
    return register(path, run_id, status, reason="bundled with DigitPad")


def gate(candidate: dict, active: dict) -> tuple[bool, str]:
    """Promote only if MNIST drops at most 0.1 points and held-out flags improve."""
    c_mnist, a_mnist = candidate.get("mnist"), active.get("mnist")
    c_flags, a_flags = candidate.get("holdout"), active.get("holdout")
    if c_mnist is None or a_mnist is None:
        return False, "no MNIST test accuracy to compare"
    if c_mnist < a_mnist - MAX_MNIST_DROP - 1e-12:
        return False, (f"MNIST test accuracy {c_mnist:.2%} is more than 0.1 points below "
                       f"the active model's {a_mnist:.2%}")
    if c_flags is None or a_flags is None:
        return False, "no held-out flags to measure on"
    if c_flags <= a_flags:
        return False, (f"held-out flags accuracy {c_flags:.2%} is not above the active "
                       f"model's {a_flags:.2%}")
    return True, (f"MNIST {c_mnist:.2%} (active {a_mnist:.2%}); held-out flags "
                  f"{c_flags:.2%} (active {a_flags:.2%})")


def promote(name: str, reason: str) -> ModelVersion:
    """Make a version active (also how a rollback is done); its files must load."""
    version = get_version(name)
    if version is None:
        raise RegistryError(f"no model version {name!r}")
    try:
        Predictor(version.path)  # refuse missing or corrupt files before anyone serves them
    except ModelUnavailable as exc:
        raise RegistryError(f"version {name} cannot be served: {exc}") from exc
    if version.status == "active":
        return version
    for other in db.session.scalars(select(ModelVersion).where(ModelVersion.status == "active")):
        other.status = "retired"
    version.status, version.activated_at, version.reason = "active", utcnow(), reason
    db.session.commit()
    current_app.logger.info("model %s is now active: %s", name, reason)
    return version


# ---------------------------------------------------------------- serving side


def _state() -> dict:
    return current_app.extensions.setdefault("digitpad_model", {"checked": 0.0, "dir": None})


def serving_predictor() -> Predictor:
    """The interpreter for the active version, re-checked every MODEL_CHECK_SECONDS."""
    state = _state()
    now = time.monotonic()
    if state["dir"] is None or now - state["checked"] >= current_app.config["MODEL_CHECK_SECONDS"]:
        state["checked"] = now
        try:
            active = active_version()
            wanted = active.path if active else current_app.config["MODEL_DIR"]
        except SQLAlchemyError as exc:
            db.session.rollback()
            current_app.logger.error("cannot read the active model version: %s", exc)
            wanted = state["dir"] or current_app.config["MODEL_DIR"]
        if wanted != state["dir"]:
            try:
                get_predictor(wanted)
                previous, state["dir"] = state["dir"], wanted
                if previous is not None:
                    current_app.logger.info("switched model: %s -> %s", previous, wanted)
                    release(previous)
            except ModelUnavailable as exc:
                current_app.logger.error("refused model in %s: %s; still serving %s",
                                         wanted, exc, state["dir"])
                if state["dir"] is None:
                    raise
    return get_predictor(state["dir"])

"""Model versions: register, gate, promote, roll back.

A version is a folder of model files, recorded in `model_versions` with a
copy of its served files in `model_files` (so every web host can load it).
Exactly one version is active; `app.services.serving` serves it.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask import current_app
from sqlalchemy import select, update

from app.errors import AppError
from app.extensions import db
from app.models import Activation, ModelVersion, RunStatus, TrainingRun, VersionStatus, utcnow
from app.services import serving, yardstick
from app.services.predictor import ModelUnavailable
from trainer.yardstick import worse_parts

# An admin's reason for promoting or rolling back is a sentence or two.
MAX_REASON = 1000


class RegistryError(AppError):
    """A version that cannot be promoted (HTTP 400) or does not exist (404)."""


def get_version(name: str) -> ModelVersion | None:
    return db.session.scalar(select(ModelVersion).where(ModelVersion.version == name))


def list_versions() -> list[ModelVersion]:
    return list(db.session.scalars(select(ModelVersion).order_by(ModelVersion.id.desc())))


def register(
    path: str | Path,
    run_id: int | None = None,
    status: str = VersionStatus.CANDIDATE,
    holdout_accuracy: float | None = None,
    reason: str | None = None,
    gate_passed: bool | None = None,
) -> ModelVersion:
    """Record the model folder at `path` (its model.json names the version)."""
    meta = json.loads((Path(path) / "model.json").read_text())
    existing = get_version(meta["version"])
    if existing:
        return existing
    active = status == VersionStatus.ACTIVE
    version = ModelVersion(
        version=meta["version"],
        path=str(path),
        status=status,
        run_id=run_id,
        files=meta.get("files", {}),
        test_accuracy=meta.get("test_accuracy"),
        holdout_accuracy=holdout_accuracy,
        reason=reason,
        gate_passed=gate_passed,
        activated_at=utcnow() if active else None,
        activation=Activation.INSTALL if active else None,
        activated_by="a fresh install" if active else None,
        yardstick=yardstick.from_model_json(path),
    )
    db.session.add(version)
    db.session.flush()
    serving.store_files(version)
    db.session.commit()
    return version


def register_run(run: TrainingRun) -> ModelVersion | None:
    """The version a run's exported model is, registered as a candidate if it is not yet.

    Every trained model becomes a version this way, whoever trained it (the
    CLI, the worker): only versions can be promoted. None if the run exported
    nothing or its folder is gone.
    """
    if not run.model_version:
        return None
    existing = get_version(run.model_version)
    if existing is not None:
        return existing
    folder = (run.artifacts or {}).get("dir")
    if not folder or not (Path(folder) / "model.json").is_file():
        return None
    return register(folder, run.id, reason=f"trained by run {run.id}; not judged by the gate")


def find_version(name: str) -> ModelVersion | None:
    """A version by name, registering one that a run exported before runs registered models."""
    version = get_version(name)
    if version is not None:
        return version
    run = db.session.scalar(
        select(TrainingRun)
        .where(TrainingRun.model_version == name, TrainingRun.status == RunStatus.SUCCEEDED)
        .order_by(TrainingRun.id.desc())
        .limit(1)
    )
    return register_run(run) if run is not None else None


def register_bundled(run_id: int | None = None) -> ModelVersion:
    """The bundled model is the first active version of a fresh install."""
    path = current_app.config["MODEL_DIR"]
    meta = json.loads((Path(path) / "model.json").read_text())
    existing = get_version(meta["version"])
    if existing:
        return existing
    status = VersionStatus.CANDIDATE if serving.active_version() else VersionStatus.ACTIVE
    return register(path, run_id, status, reason="bundled with DigitPad")


def passes_gate(candidate: dict, active: dict) -> tuple[bool, str]:
    """Promote only if no part of the suite drops more than the margin and held-out flags improve.

    Both are measurements of the whole suite (`yardstick.with_flags`).
    """
    worse = worse_parts(candidate, active, yardstick.MAX_DROP)
    if worse:
        return False, "worse than the active model on " + "; ".join(worse)
    c_flags, a_flags = (yardstick.headline(candidate, "flags"), yardstick.headline(active, "flags"))
    if c_flags is None or a_flags is None:
        return False, "no held-out flags to measure on"
    if c_flags <= a_flags:
        return False, (
            f"held-out flags {c_flags:.2%} right is not above the active model's {a_flags:.2%}"
        )
    c_mnist, a_mnist = (yardstick.headline(candidate, "mnist"), yardstick.headline(active, "mnist"))
    mnist = (
        f"MNIST test {c_mnist:.2%} (active {a_mnist:.2%}); "
        if c_mnist is not None and a_mnist is not None
        else ""
    )
    return True, (
        f"{mnist}held-out flags {c_flags:.2%} (active {a_flags:.2%}); no part of "
        f"the suite more than {yardstick.MAX_DROP * 100:.1f} points lower"
    )


def activation_kind(version: ModelVersion) -> str:
    """What making this version active would be: a roll back if it was active before."""
    return Activation.ROLLBACK if version.activated_at is not None else Activation.PROMOTE


def promote(
    name: str,
    reason: str,
    *,
    by: str = "the admin",
    gate_override: bool = False,
    action: str | None = None,
) -> ModelVersion:
    """Make a version active (also how a roll back is done); its files must load.

    `reason` is why, in the words of whoever does it (required); `by` who.
    It is stored beside the gate's own verdict, which stays as it was. A
    version the gate rejected, or one worse than the active model on any part
    of the suite (`app.services.yardstick`, measured now if it never was),
    is promoted only with `gate_override`; the refusal says where and by how much.
    `action` is `gate` when the gate promotes; else promote or roll back,
    as the version's history says.
    """
    reason = (reason or "").strip()
    version = get_version(name)
    if version is None:
        raise RegistryError(f"no model version {name!r}", 404)
    if not reason:
        raise RegistryError("say why: a reason is required to change the served model")
    if len(reason) > MAX_REASON:
        raise RegistryError(
            f"the reason is too long ({len(reason)} characters; at most {MAX_REASON})"
        )
    if version.status == VersionStatus.ACTIVE:
        return version  # nothing changes, and its activation keeps its reason
    if version.gate_passed is False and action != Activation.GATE and not gate_override:
        raise RegistryError(
            f"the gate rejected {name} ({version.reason}); confirm that it should go live anyway"
        )
    active = serving.active_version()
    if active is not None and action != Activation.GATE and not gate_override:
        _, _, worse = yardstick.compare_versions(version, active)
        if worse:
            raise RegistryError(
                f"{name} is worse than the active model {active.version} on "
                + "; ".join(worse)
                + ": confirm that it should go live anyway"
            )
    try:
        serving.can_serve(version)  # refuse missing or corrupt files before anyone serves them
    except ModelUnavailable as exc:
        raise RegistryError(f"version {name} cannot be served: {exc}") from exc
    action = action or activation_kind(version)
    if action not in tuple(Activation):
        raise ValueError(f"unknown activation {action!r}")
    # The old version is retired before the new one is marked: the database
    # holds at most one active row at any moment (its one_active_version index).
    db.session.execute(
        update(ModelVersion)
        .where(ModelVersion.status == VersionStatus.ACTIVE)
        .values(status=VersionStatus.RETIRED)
        .execution_options(synchronize_session="fetch")
    )
    version.status, version.activated_at = VersionStatus.ACTIVE, utcnow()
    version.activation, version.activated_by, version.activation_reason = action, by[:120], reason
    db.session.commit()
    current_app.logger.info("model %s is now active (%s by %s): %s", name, action, by, reason)
    return version

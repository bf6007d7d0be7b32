"""Retraining on confirmed flags: what to train, and the gate that judges the candidate.

A retraining is a job like any other (`app.services.jobs`): the dashboard
queues it for `flask worker`, `flask retrain` runs it in the foreground. The
candidate and the active model are both measured on the one fixed suite
(`app.services.yardstick`: MNIST test, held-out writers, drawings that are no
digit, held-out flags), through LiteRT as they would be served, and the gate
decides whether the candidate goes live.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from flask import current_app
from sqlalchemy import func, select

from app.errors import AppError
from app.extensions import db
from app.models import Activation, Flag, FlagStatus, FlagUse, TrainingRun
from app.services import registry, serving, training, yardstick
from app.services.database import persist
from trainer.datasets import Dataset
from trainer.experiment import RunSpec
from trainer.train import TrainConfig

# Fine-tuning the active model: two epochs of the low learning-rate, light
# augmentation phase; batch norm learns along and its statistics are then
# measured exactly on the training images. (On the bundled ensemble, frozen
# batch norm cost 0.46 points of MNIST and flags repeated 20 times 0.19; this
# costs about 0.05. See tests/benchmarks/retrain.py.)
FINETUNE = TrainConfig(epochs=0, polish_epochs=2, val_split=0.0, augment=True)
FEEDBACK_WEIGHT = RunSpec.feedback_weight


def training_flags() -> list[Flag]:
    """Confirmed flags that may be trained on (the held-out ones never are)."""
    flags = db.session.scalars(
        select(Flag).where(Flag.status == FlagStatus.CONFIRMED).order_by(Flag.id)
    )
    return [f for f in flags if not training.is_holdout(f.id)]


def flag_training(flag_list: list[Flag]) -> dict[int, tuple[str, list[int]]]:
    """How each confirmed flag serves retraining: held out, trained on (by which runs), waiting."""
    ids = [f.id for f in flag_list if f.status == FlagStatus.CONFIRMED]
    runs: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(
            select(FlagUse.flag_id, FlagUse.run_id)
            .where(FlagUse.flag_id.in_(ids))
            .order_by(FlagUse.run_id)
        )
        for flag_id, run_id in rows:
            runs[flag_id].append(run_id)
    return {
        i: ("held out" if training.is_holdout(i) else "trained" if runs[i] else "waiting", runs[i])
        for i in ids
    }


def untrained_count(flag_list: list[Flag]) -> int:
    """How many of these confirmed flags wait for their first retraining."""
    return sum(use == "waiting" for use, _ in flag_training(flag_list).values())


@dataclass(frozen=True)
class Waiting:
    """What a retraining would learn from now, and what still waits for the admin's review."""

    trainable: int  # confirmed flags a retraining trains on (the held-out ones never are)
    new: int  # of those, the ones no run has trained on yet
    held_out: int  # confirmed flags kept to test the candidate
    pending_review: int  # open flags nobody has confirmed or dismissed yet

    @property
    def refusal(self) -> str | None:
        """Why a retraining now would be pointless, or None."""
        if self.trainable:
            return None
        why = "no confirmed flags to learn from yet"
        if self.held_out:
            why += (
                f" (the {self.held_out} confirmed so far are held out to test the "
                "candidate; one flag in five is)"
            )
        if self.pending_review:
            return (
                f"{why}: {self.pending_review} flag{'s' if self.pending_review != 1 else ''}"
                " await review; confirm the right ones on the Flags page first"
            )
        return f"{why}: flags come from people correcting the drawing page's answers"


def waiting() -> Waiting:
    confirmed = list(db.session.scalars(select(Flag).where(Flag.status == FlagStatus.CONFIRMED)))
    trainable = [f for f in confirmed if not training.is_holdout(f.id)]
    pending = (
        db.session.scalar(select(func.count(Flag.id)).where(Flag.status == FlagStatus.OPEN)) or 0
    )
    return Waiting(
        trainable=len(trainable),
        new=untrained_count(trainable),
        held_out=len(confirmed) - len(trainable),
        pending_review=pending,
    )


def retrain_spec(
    from_scratch: bool = False,
    base: str = "mnist",
    csv_path: str | None = None,
    data_dir: str | None = None,
    epochs: int | None = None,
    feedback_weight: int = FEEDBACK_WEIGHT,
) -> tuple[RunSpec, dict]:
    """A retraining's spec and the job's extra parameters; refused with no flags to learn from."""
    n_flags = len(training_flags())
    if n_flags == 0:
        raise AppError(waiting().refusal or "no confirmed flags to learn from yet")
    config = TrainConfig() if from_scratch else FINETUNE
    if epochs is not None:  # fine-tuning has only the light phase
        if from_scratch:
            config = replace(config, epochs=epochs)
        else:
            config = replace(config, polish_epochs=epochs)
    spec = RunSpec(
        name=f"retrain with {n_flags} flags ({'from scratch' if from_scratch else 'fine-tune'})",
        datasets=[base, "feedback"],
        profile="scratch" if from_scratch else "finetune",
        config=config,
        baselines=False,
        feedback_weight=feedback_weight,
        data_dir=data_dir,
        csv_path=csv_path,
    )
    return spec, {"from_scratch": from_scratch}


@dataclass(frozen=True)
class Plan:
    """What a retraining trains and what its candidate is judged against."""

    spec: RunSpec
    active_path: str
    active_version: str
    flag_ids: tuple[int, ...]


def plan(run: TrainingRun, spec: RunSpec) -> Plan:
    """Fine-tune the active model (unless from scratch) on the flags confirmed now."""
    active = serving.active_version() or registry.register_bundled()
    changes: dict = {}
    if not run.params.get("from_scratch"):
        changes["config"] = replace(spec.config, init_from=str(Path(active.path) / "model.keras"))
    if _classes(active.path) > 10 and "negatives" not in spec.datasets:
        # The active model also refuses drawings that are no digit: keep showing
        # it some, or learning the flags would teach it to forget that.
        changes["datasets"] = [*spec.datasets, "negatives"]
        changes["negatives"] = current_app.config["RETRAIN_NEGATIVES"]
    return Plan(
        replace(spec, **changes), active.path, active.version, tuple(f.id for f in training_flags())
    )


def settle(run: TrainingRun, plan: Plan, record: dict, data: Dataset, echo=None) -> dict:
    """Measure the candidate beside the active model, register it, promote it if the gate says so.

    The verdict is stored on the run as `metrics["gate"]` and returned.
    """
    persist(lambda: setattr(run, "phase", "measuring both models on the yardstick"))
    candidate = registry.register(record["artifacts"]["dir"], run.id)
    active = registry.get_version(plan.active_version) or registry.register_bundled()
    mine, theirs, _ = yardstick.compare_versions(candidate, active)
    promoted, reason = registry.passes_gate(mine, theirs)
    verdict = {
        "candidate": mine,
        "active": theirs,
        "active_version": plan.active_version,
        "holdout_flags": int(mine["parts"].get("flags", {}).get("samples", 0)),
        "promoted": promoted,
        "reason": reason,
    }

    def record_verdict() -> None:
        run.metrics = {**run.metrics, "gate": verdict}
        candidate.holdout_accuracy = yardstick.headline(mine, "flags")
        candidate.reason = ("promoted by the gate: " if promoted else "kept a candidate: ") + reason
        candidate.gate_passed = promoted
        for flag_id in plan.flag_ids:
            if db.session.get(FlagUse, (flag_id, run.id)) is None:
                db.session.add(FlagUse(flag_id=flag_id, run_id=run.id))

    persist(record_verdict, "gate's verdict")
    if promoted:
        registry.promote(candidate.version, reason, by="the gate", action=Activation.GATE)
    if echo:
        echo(f"gate: {'promoted' if promoted else 'kept as candidate'}: {reason}")
    return verdict


def _classes(model_dir: str) -> int:
    """How many classes a model folder's network has (10 when model.json does not say)."""
    try:
        return int(json.loads((Path(model_dir) / "model.json").read_text()).get("classes", 10))
    except (OSError, ValueError, TypeError):
        return 10

"""Retraining on confirmed flags: queue, execute (in a worker), evaluate, gate, promote.

A request only queues a run; `flask worker` (started by `make run`) or
`flask retrain` executes it. One training at a time. The candidate and the
active model are both measured on the base test split and on the held-out
flags, through LiteRT as they would be served, and the gate decides.
"""

from __future__ import annotations

import json
from dataclasses import fields, replace
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from flask import current_app
from sqlalchemy import select, update

from app.extensions import db
from app.models import Flag, FlagUse, TrainingRun
from app.services import registry, training
from app.services.predictor import Predictor
from trainer.datasets import Dataset, Split
from trainer.experiment import RunSpec
from trainer.train import TrainConfig

# Fine-tuning the active model: two epochs of the low learning-rate, light
# augmentation phase, with the batch-norm statistics kept as learnt on MNIST.
# (Heavy augmentation at 3e-4 cost 0.12-0.20 points of MNIST; moving batch
# norm cost 0.16; this costs about 0.04. See tests/benchmarks/retrain.py.)
FINETUNE = TrainConfig(epochs=0, polish_epochs=2, val_split=0.0, augment=True,
                       freeze_batchnorm=True)
FEEDBACK_WEIGHT = 20
# Drawings that are no digit mixed into a retraining of a model that refuses them.
RETRAIN_NEGATIVES = 2000


class RetrainError(RuntimeError):
    """Retraining cannot start (HTTP 409 when busy, 400 otherwise)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def busy_run() -> TrainingRun | None:
    return db.session.scalar(select(TrainingRun).where(
        TrainingRun.status.in_(("queued", "running"))).order_by(TrainingRun.id))


def training_flags() -> list[Flag]:
    """Confirmed flags that may be trained on (the held-out ones never are)."""
    flags = db.session.scalars(select(Flag).where(Flag.status == "confirmed").order_by(Flag.id))
    return [f for f in flags if not training.is_holdout(f.id)]


def flag_training(flag_list: list[Flag]) -> dict[int, tuple[str, list[int]]]:
    """How each confirmed flag serves retraining: held out, trained on (by which runs), waiting."""
    ids = [f.id for f in flag_list if f.status == "confirmed"]
    runs: dict[int, list[int]] = {i: [] for i in ids}
    if ids:
        rows = db.session.execute(select(FlagUse.flag_id, FlagUse.run_id)
                                  .where(FlagUse.flag_id.in_(ids)).order_by(FlagUse.run_id))
        for flag_id, run_id in rows:
            runs[flag_id].append(run_id)
    return {i: ("held out" if training.is_holdout(i) else "trained" if runs[i] else "waiting",
                runs[i]) for i in ids}


def untrained_count(flag_list: list[Flag]) -> int:
    """How many of these confirmed flags wait for their first retraining."""
    return sum(use == "waiting" for use, _ in flag_training(flag_list).values())


def queue_retrain(from_scratch: bool = False, base: str = "mnist", csv_path: str | None = None,
                  data_dir: str | None = None, epochs: int | None = None,
                  feedback_weight: int = FEEDBACK_WEIGHT) -> TrainingRun:
    """Queue a retraining run; refused while another training is queued or running."""
    running = busy_run()
    if running:
        raise RetrainError(f"training run {running.id} is {running.status}; one training at a "
                           "time", 409)
    n_flags = len(training_flags())
    if n_flags == 0:
        raise RetrainError("no confirmed flags to learn from yet")
    config = TrainConfig() if from_scratch else FINETUNE
    if epochs is not None:  # fine-tuning has only the light phase
        config = replace(config, **{"epochs" if from_scratch else "polish_epochs": epochs})
    spec = RunSpec(
        name=f"retrain with {n_flags} flags ({'from scratch' if from_scratch else 'fine-tune'})",
        datasets=[base, "feedback"], profile="scratch" if from_scratch else "finetune",
        config=config, baselines=False, feedback_weight=feedback_weight,
        data_dir=data_dir, csv_path=csv_path,
    )
    run = training.create_run(spec)
    run.kind = "retrain"
    run.params = {**run.params, "from_scratch": from_scratch, "datasets": spec.datasets,
                  "data_dir": data_dir, "csv_path": csv_path}
    db.session.commit()
    return run


def spec_from_run(run: TrainingRun) -> RunSpec:
    params = dict(run.params)
    config = TrainConfig(**{f.name: params[f.name] for f in fields(TrainConfig) if f.name in params})
    return RunSpec(
        name=run.name, datasets=params.get("datasets") or run.dataset.split("+"),
        profile=run.profile, config=config, kfold=params.get("kfold") or 0,
        train_cnn=params.get("train_cnn", True), baselines=params.get("baselines", False),
        baseline_sample=params.get("baseline_sample") or 2000,
        feedback_weight=params.get("feedback_weight") or FEEDBACK_WEIGHT,
        data_dir=params.get("data_dir"), csv_path=params.get("csv_path"),
    )


def claim(run_id: int) -> bool:
    """Move a queued run to running; False if another process took it first."""
    result = db.session.execute(update(TrainingRun).where(
        TrainingRun.id == run_id, TrainingRun.status == "queued").values(status="running"))
    db.session.commit()
    return result.rowcount == 1


def accuracy(model_dir: str, split: Split) -> float | None:
    """Accuracy of the served form (.tflite through LiteRT) of a model on a split."""
    if len(split) == 0:
        return None
    predictor = Predictor(model_dir)
    predicted = np.array([int(np.argmax(predictor.probabilities(im)[:10]))
                          for im in split.images])
    return float((predicted == split.labels).mean())


def execute(run: TrainingRun, echo=None) -> TrainingRun:
    """Execute a queued retraining run (the worker and `flask retrain` both call this)."""
    spec = spec_from_run(run)
    active = registry.active_version() or registry.register_bundled()
    active_path, active_name = active.path, active.version
    if not run.params.get("from_scratch"):
        spec.config.init_from = str(Path(active_path) / "model.keras")
    if _classes(active_path) > 10 and "negatives" not in spec.datasets:
        # The active model also refuses drawings that are no digit: keep showing
        # it some, or learning the flags would teach it to forget that.
        spec.datasets.append("negatives")
        spec.negatives = RETRAIN_NEGATIVES
    used = [f.id for f in training_flags()]

    def finish(record: dict, data: Dataset) -> None:
        holdout = training.feedback_dataset().test
        candidate_dir = record["artifacts"]["dir"]
        scores = {
            "candidate": {"mnist": accuracy(candidate_dir, data.test),
                          "holdout": accuracy(candidate_dir, holdout)},
            "active": {"mnist": accuracy(active_path, data.test),
                       "holdout": accuracy(active_path, holdout)},
        }
        promoted, reason = registry.gate(scores["candidate"], scores["active"])
        record["metrics"]["gate"] = {
            **scores, "active_version": active_name, "holdout_flags": int(len(holdout)),
            "test_split": data.name, "promoted": promoted, "reason": reason,
        }
        version = registry.register(candidate_dir, run.id,
                                    holdout_accuracy=scores["candidate"]["holdout"],
                                    reason=("promoted by the gate: " if promoted else
                                            "kept a candidate: ") + reason)
        for flag_id in used:
            if db.session.get(FlagUse, (flag_id, run.id)) is None:
                db.session.add(FlagUse(flag_id=flag_id, run_id=run.id))
        db.session.commit()
        if promoted:
            registry.promote(version.version, version.reason)
        if echo:
            echo(f"gate: {'promoted' if promoted else 'kept as candidate'}: {reason}")

    run.started_at = datetime.now(timezone.utc)
    return training.execute_run(run, spec, echo, finish=finish)


def _classes(model_dir: str) -> int:
    """How many classes a model folder's network has (10 when model.json does not say)."""
    try:
        return int(json.loads((Path(model_dir) / "model.json").read_text()).get("classes", 10))
    except (OSError, ValueError, TypeError):
        return 10


def fail_interrupted() -> int:
    """Runs left 'running' by a process that died are failed; the active model is untouched."""
    stale = db.session.scalars(select(TrainingRun).where(TrainingRun.status == "running")).all()
    for run in stale:
        run.status, run.phase = "failed", None
        run.error = "interrupted: the training process stopped before the run finished"
        run.finished_at = datetime.now(timezone.utc)
    db.session.commit()
    if stale:
        current_app.logger.warning("marked %d interrupted run(s) failed", len(stale))
    return len(stale)


def next_queued() -> TrainingRun | None:
    return db.session.scalar(select(TrainingRun).where(TrainingRun.status == "queued")
                             .order_by(TrainingRun.id))

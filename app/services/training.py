"""Training runs in the database: describe, train with live progress, finish, import, export.

The machine learning lives in `trainer.experiment`; this module only moves its
progress and its record into the database. Which process runs a training, and
when, is `app.services.jobs`'s business.
"""

from __future__ import annotations

import json
import math
import zlib
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select

from app.extensions import db
from app.models import (
    BaselineResult,
    Flag,
    FlagStatus,
    RunEpoch,
    RunKind,
    RunStatus,
    TrainingRun,
)
from app.services.database import persist
from app.services.review import input_pixels
from trainer.datasets import Dataset, Split
from trainer.experiment import Reporter, RunSpec
from trainer.train import epochs_for

Echo = Callable[[str], None]
# One flag in five is held out of training to measure what retraining taught;
# the choice depends only on the flag's id, so it never reshuffles.
HOLDOUT_EVERY = 5


def is_holdout(flag_id: int) -> bool:
    return zlib.crc32(str(flag_id).encode()) % HOLDOUT_EVERY == 0


def default_name(spec: RunSpec) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    return f"{spec.profile}-{'+'.join(spec.datasets)}-{stamp}"


def total_epochs(spec: RunSpec, train_size: int | None = None) -> int:
    """Epochs the run will take (known exactly once the data's size is known)."""
    if not spec.train_cnn:
        return 0
    cfg = spec.config
    epochs = cfg.epochs
    if train_size is not None:
        steps = math.ceil(train_size * (1 - cfg.val_split) / cfg.batch_size)
        epochs = epochs_for(cfg, steps)
    return (epochs + cfg.polish_epochs) * max(1, cfg.ensemble) * (1 + spec.kfold)


def new_run(spec: RunSpec, kind: str, extra: dict | None = None) -> TrainingRun:
    """A row describing a job (not yet stored, its status left to `jobs`); `params`
    hold the spec's stored form, which `spec_of` reads back."""
    params = {**spec.stored(), **(extra or {})}
    return TrainingRun(
        name=spec.name or default_name(spec),
        profile=spec.profile,
        kind=kind,
        dataset="+".join(spec.datasets),
        params=params,
        seed=spec.config.seed,
        total_epochs=total_epochs(spec),
    )


def spec_of(run: TrainingRun) -> RunSpec:
    """The run's spec, read back from its stored parameters (queued and foreground alike)."""
    stored = {"datasets": run.dataset.split("+"), "profile": run.profile, **(run.params or {})}
    return RunSpec.from_stored(run.name, stored)


def version_name(run: TrainingRun) -> str:
    """The name of the model version a run exports (fixed once it started)."""
    started = run.started_at or datetime.now(UTC)
    return f"cnn-{run.id}-{started:%Y%m%d-%H%M%S}"


def feedback_dataset(statuses: tuple[str, ...] = (FlagStatus.CONFIRMED,)) -> Dataset:
    """The flagged drawings (28x28 inputs) with their corrected labels.

    Held-out flags (see `is_holdout`) form the test split.
    """
    flags = db.session.scalars(
        select(Flag).where(Flag.status.in_(statuses)).order_by(Flag.id)
    ).all()
    parts: dict[bool, tuple[list, list]] = {False: ([], []), True: ([], [])}
    for flag in flags:
        image = input_pixels(flag).astype(np.float32) / 255.0
        images, labels = parts[is_holdout(flag.id)]
        images.append(image)
        labels.append(flag.label)

    def split(held_out: bool) -> Split:
        images, labels = parts[held_out]
        return Split(
            np.asarray(images, np.float32).reshape(-1, 28, 28), np.asarray(labels, np.int64)
        )

    return Dataset("feedback", split(False), split(True))


class DatabaseReporter(Reporter):
    """Writes a run's progress into its row as it happens (pages poll it)."""

    def __init__(self, run: TrainingRun, echo: Echo | None = None, spec: RunSpec | None = None):
        self.run = run
        self.echo = echo or (lambda line: None)
        self.spec = spec

    def phase(self, text: str) -> None:
        persist(lambda: setattr(self.run, "phase", text))
        self.echo(f"[{text}]")

    def data(self, info: dict) -> None:
        run = self.run

        def apply():
            run.datasets = info["datasets"]
            run.train_size, run.test_size = info["train_size"], info["test_size"]
            run.label_distribution = info["label_distribution"]
            run.versions = info["versions"]
            if self.spec is not None:  # short datasets take more epochs (min_steps)
                run.total_epochs = total_epochs(self.spec, run.train_size)

        persist(apply)
        sources = ", ".join(
            f"{d['name']} ({d['train']} train, {d['test']} test"
            + (f", weight {d['weight']}" if d.get("weight", 1) != 1 else "")
            + ")"
            for d in run.datasets
        )
        self.echo(f"run {run.id} '{run.name}': {sources}")

    def epoch(self, row: dict) -> None:
        run = self.run

        def apply():
            db.session.add(
                RunEpoch(
                    run=run,
                    **{
                        k: row[k]
                        for k in (
                            "fold",
                            "epoch",
                            "loss",
                            "accuracy",
                            "val_loss",
                            "val_accuracy",
                            "lr",
                            "seconds",
                        )
                    },
                )
            )
            run.epoch = len([e for e in run.epochs])
            run.eta_seconds = (run.total_epochs - run.epoch) * row["seconds"]

        persist(apply)
        fold = f"fold {row['fold']} " if row.get("fold") else ""
        val = (
            f"  val_loss {row['val_loss']:.4f}  val_acc {row['val_accuracy']:.4f}"
            if row.get("val_loss") is not None
            else ""
        )
        self.echo(
            f"{fold}epoch {row['epoch']:>2} [{run.epoch}/{run.total_epochs}]  "
            f"loss {row['loss']:.4f}  acc {row['accuracy']:.4f}{val}  "
            f"lr {row['lr']:.1e}  {row['seconds']:.0f}s  ~{run.eta_seconds:.0f}s left"
        )

    def baseline(self, result: dict) -> None:
        persist(lambda: db.session.add(BaselineResult(run=self.run, **_baseline_fields(result))))
        self.echo(
            f"baseline {result['name']:<20} accuracy {result['accuracy']:.4f}  "
            f"macro F1 {result['macro_f1']:.4f}  fit {result['fit_seconds']:.1f}s  "
            f"predict {result['predict_ms_per_image']:.3f} ms/image "
            f"({result['train_samples']} training images)"
        )


BASELINE_KEYS = (
    "name",
    "accuracy",
    "macro_f1",
    "fit_seconds",
    "predict_ms_per_image",
    "train_samples",
    "test_samples",
    "params",
)


def _baseline_fields(result: dict) -> dict:
    return {k: result[k] for k in BASELINE_KEYS}


def run_experiment(
    run: TrainingRun, spec: RunSpec, out_dir: Path | None, echo: Echo | None = None
) -> tuple[dict, Dataset]:
    """Load the data and run the experiment, with progress on the row; store its record.

    A CNN's model goes to `out_dir` as a candidate. The run's status is left
    to whoever executes it (`jobs.execute`).
    """
    from trainer import experiment

    persist(lambda: setattr(run, "phase", "loading data"))
    if out_dir is not None:
        spec = replace(spec, out_dir=str(out_dir), version=Path(out_dir).name)
    feedback = feedback_dataset() if "feedback" in spec.datasets else None
    data = experiment.load_data(spec, feedback)
    record = experiment.conduct(spec, data, DatabaseReporter(run, echo, spec))
    persist(lambda: apply_record(run, record), "run record")
    return record, data


def apply_record(run: TrainingRun, record: dict) -> None:
    """Copy a run record's results onto the row (epochs and baselines are rows of their own)."""
    for key in ("datasets", "train_size", "test_size", "label_distribution", "versions", "seed"):
        if key in record:
            setattr(run, key, record[key])
    if "params" in record:  # what the job stored to rebuild its spec stays
        run.params = {**(run.params or {}), **record["params"]}
    run.layers = record.get("layers", [])
    run.param_count = record.get("param_count")
    metrics = record.get("metrics") or {}
    run.metrics = {k: v for k, v in metrics.items()}
    run.test_accuracy = metrics.get("accuracy")
    run.test_loss = metrics.get("loss")
    run.macro_f1 = (metrics.get("macro") or {}).get("f1")
    run.kfold = record.get("kfold")
    run.mistakes = record.get("mistakes", [])
    artifacts = record.get("artifacts")
    run.artifacts = artifacts
    run.model_version = artifacts["version"] if artifacts else None


def run_record(run: TrainingRun) -> dict:
    """Everything stored about a run, as the JSON that `import_record` reads back."""
    return {
        "name": run.name,
        "status": run.status,
        "error": run.error,
        "profile": run.profile,
        "kind": run.kind,
        "dataset": run.dataset,
        "datasets": run.datasets,
        "started_at": _iso(run.started_at),
        "finished_at": _iso(run.finished_at),
        "duration_seconds": run.duration_seconds,
        "train_size": run.train_size,
        "test_size": run.test_size,
        "params": run.params,
        "seed": run.seed,
        "versions": run.versions,
        "layers": run.layers,
        "param_count": run.param_count,
        "label_distribution": run.label_distribution,
        "metrics": run.metrics,
        "kfold": run.kfold,
        "mistakes": run.mistakes,
        "artifacts": run.artifacts,
        "history": [
            {
                k: getattr(e, k)
                for k in (
                    "fold",
                    "epoch",
                    "loss",
                    "accuracy",
                    "val_loss",
                    "val_accuracy",
                    "lr",
                    "seconds",
                )
            }
            for e in run.epochs
        ],
        "baselines": [{k: getattr(b, k) for k in BASELINE_KEYS} for b in run.baselines],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def import_record(record: dict) -> tuple[TrainingRun, bool]:
    """Store a run record (e.g. the bundled model's run.json); (run, created).

    A record whose model version is already stored is not imported twice.
    """
    version = (record.get("artifacts") or {}).get("version")
    if version:
        existing = db.session.scalar(
            select(TrainingRun).where(TrainingRun.model_version == version)
        )
        if existing:
            return existing, False
    run = TrainingRun(
        name=record["name"],
        status=record.get("status", RunStatus.SUCCEEDED),
        error=record.get("error"),
        profile=record.get("profile", "full"),
        kind=record.get("kind", RunKind.CNN),
        dataset=record.get("dataset") or "+".join(d["name"] for d in record.get("datasets", [])),
        started_at=_parse(record.get("started_at")),
        finished_at=_parse(record.get("finished_at")),
        duration_seconds=record.get("duration_seconds"),
    )
    apply_record(run, record)
    history = record.get("history", [])
    run.total_epochs = run.epoch = len(history)
    for row in history:
        run.epochs.append(
            RunEpoch(
                **{
                    k: row.get(k)
                    for k in (
                        "fold",
                        "epoch",
                        "loss",
                        "accuracy",
                        "val_loss",
                        "val_accuracy",
                        "lr",
                        "seconds",
                    )
                }
            )
        )
    for result in record.get("baselines", []):
        run.baselines.append(BaselineResult(**_baseline_fields(result)))
    db.session.add(run)
    db.session.commit()
    return run, True


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def import_file(path: Path) -> tuple[TrainingRun, bool]:
    return import_record(json.loads(Path(path).read_text()))

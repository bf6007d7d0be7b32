"""Training runs as the pages show them: the list, a run's history, progress and figures."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import defer, selectinload

from app.errors import NotFound
from app.extensions import db
from app.models import BUSY_STATUSES, RunEpoch, TrainingRun
from app.services.dashboard.heatmap import heatmap

EPOCH_KEYS = ("fold", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")


def list_runs() -> list[TrainingRun]:
    """Every run, newest first, without the bulky columns the list never shows.

    Baselines come along in one query: whether a run is suspect depends on them.
    """
    return list(
        db.session.scalars(
            select(TrainingRun)
            .options(
                selectinload(TrainingRun.baselines),
                defer(TrainingRun.mistakes),
                defer(TrainingRun.metrics),
                defer(TrainingRun.layers),
                defer(TrainingRun.versions),
                defer(TrainingRun.kfold),
            )
            .order_by(TrainingRun.created_at.desc(), TrainingRun.id.desc())
        )
    )


def get_run(run_id: int) -> TrainingRun:
    run = db.session.get(TrainingRun, run_id)
    if run is None:
        raise NotFound(f"There is no training run with id {run_id}.")
    return run


def run_date(run: TrainingRun) -> datetime | None:
    """When the run ended, else began, else was created (UTC)."""
    value = run.finished_at or run.started_at or run.created_at
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def is_live(run: TrainingRun) -> bool:
    """Queued or running: its page polls for progress."""
    return run.status in BUSY_STATUSES


def epoch_row(epoch: RunEpoch) -> dict:
    return {key: getattr(epoch, key) for key in EPOCH_KEYS}


def history(run: TrainingRun) -> list[dict]:
    """The main run's epochs (k-fold copies left out), in order."""
    return [epoch_row(e) for e in run.main_epochs]


def progress(run: TrainingRun) -> dict:
    """What a page polls while a run goes on: status, phase, epoch, eta, epochs so far.

    `live`: whether to keep polling; `waiting`: for a queued run, what it
    waits for (a worker to be started, say).
    """
    from app.services import jobs

    return {
        "id": run.id,
        "status": run.status,
        "live": is_live(run),
        "phase": run.phase,
        "epoch": run.epoch,
        "total_epochs": run.total_epochs,
        "eta_seconds": run.eta_seconds,
        "error": run.error,
        "waiting": jobs.waiting_message(run),
        "epochs": [epoch_row(e) for e in run.epochs],
    }


def run_summary(run: TrainingRun) -> dict:
    """The headline numbers of a run (None where not recorded)."""
    metrics = run.metrics or {}
    return {
        "accuracy": run.test_accuracy,
        "loss": run.test_loss,
        "macro_f1": run.macro_f1,
        "roc_auc": (metrics.get("macro") or {}).get("roc_auc"),
        "samples": metrics.get("samples") or run.test_size,
    }


def confusion(run: TrainingRun) -> dict | None:
    """The run's confusion matrix (rows true, columns predicted) as heatmap cells."""
    matrix = (run.metrics or {}).get("confusion_matrix")
    return heatmap(matrix) if matrix else None


def baseline_rows(run: TrainingRun) -> list[dict]:
    """The CNN (when it was trained) and every baseline, on the same test split."""
    if not run.baselines:
        return []
    rows = []
    if run.test_accuracy is not None:
        rows.append(
            {
                "name": "CNN (this run)",
                "is_cnn": True,
                "accuracy": run.test_accuracy,
                "macro_f1": run.macro_f1,
                "fit_seconds": None,
                "predict_ms_per_image": None,
                "train_samples": run.train_size,
                "test_samples": run.test_size,
            }
        )
    for b in run.baselines:
        rows.append(
            {
                "name": b.label,
                "is_cnn": False,
                "accuracy": b.accuracy,
                "macro_f1": b.macro_f1,
                "fit_seconds": b.fit_seconds,
                "predict_ms_per_image": b.predict_ms_per_image,
                "train_samples": b.train_samples,
                "test_samples": b.test_samples,
            }
        )
    return rows

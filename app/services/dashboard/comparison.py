"""Runs side by side: their curves and a row per metric with each run's difference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from app.errors import NotFound
from app.extensions import db
from app.models import TrainingRun
from app.services.dashboard.runs import history

# One colour per run on the comparison charts (the Okabe-Ito palette has eight).
MAX_COMPARE = 8


def runs_by_ids(ids: list[int]) -> list[TrainingRun]:
    found = {
        run.id: run
        for run in db.session.scalars(select(TrainingRun).where(TrainingRun.id.in_(ids)))
    }
    missing = [str(i) for i in ids if i not in found]
    if missing:
        if len(missing) == 1:
            raise NotFound(f"There is no training run with id {missing[0]}.")
        raise NotFound(f"There are no training runs with ids {', '.join(missing)}.")
    return [found[i] for i in ids]


def compare_curves(runs: list[TrainingRun]) -> list[dict]:
    """Per run: epochs with validation accuracy and loss (training values if it had none)."""
    curves = []
    for run in runs:
        rows = history(run)
        validated = any(row["val_accuracy"] is not None for row in rows)
        prefix = "val_" if validated else ""
        curves.append(
            {
                "id": run.id,
                "name": run.name,
                "source": "validation" if validated else "training",
                "epochs": [row["epoch"] for row in rows],
                "accuracy": [row[prefix + "accuracy"] for row in rows],
                "loss": [row[prefix + "loss"] for row in rows],
            }
        )
    return curves


@dataclass(frozen=True)
class Metric:
    label: str
    kind: str  # how the page formats it: pct, decimal, auc, seconds, count, text
    better: str | None  # "higher", "lower" or None (neither is better)
    value: Callable[[TrainingRun], Any]


COMPARED = (
    Metric("Test accuracy", "pct", "higher", lambda r: r.test_accuracy),
    Metric("Test loss", "decimal", "lower", lambda r: r.test_loss),
    Metric("Macro F1", "decimal", "higher", lambda r: r.macro_f1),
    Metric(
        "Macro ROC AUC",
        "auc",
        "higher",
        lambda r: ((r.metrics or {}).get("macro") or {}).get("roc_auc"),
    ),
    Metric("Duration", "seconds", "lower", lambda r: r.duration_seconds),
    Metric("Parameters", "count", None, lambda r: r.param_count),
    Metric("Epochs", "count", None, lambda r: len(r.main_epochs)),
    Metric("Dataset", "text", None, lambda r: r.dataset),
)
KFOLD_METRIC = Metric(
    "k-fold accuracy (mean)", "pct", "higher", lambda r: (r.kfold or {}).get("mean")
)


def comparison(runs: list[TrainingRun]) -> list[dict]:
    """One row per metric: each run's value and its difference from the first run's."""
    metrics = list(COMPARED)
    if any(run.kfold for run in runs):
        metrics.insert(1, KFOLD_METRIC)
    rows = []
    for metric in metrics:
        values = [metric.value(run) for run in runs]
        reference = values[0]
        cells = []
        for index, value in enumerate(values):
            cell: dict[str, Any] = {"value": value, "diff": None, "verdict": None}
            if index and value is not None and reference is not None:
                if metric.kind == "text":
                    cell["verdict"] = "same" if value == reference else "different"
                else:
                    diff = value - reference
                    cell["diff"] = diff
                    cell["verdict"] = _verdict(diff, metric.better)
            cells.append(cell)
        rows.append(
            {"label": metric.label, "kind": metric.kind, "better": metric.better, "cells": cells}
        )
    return rows


def _verdict(diff: float, better: str | None) -> str | None:
    if better is None:
        return None
    if abs(diff) < 1e-12:
        return "same"
    return "better" if (diff > 0) == (better == "higher") else "worse"

"""Read-only queries behind the dashboard: the served model, usage, training runs.

Nothing here writes to the database. The pages format what these functions
return; the numbers are the stored ones, never recomputed from scratch.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import defer, selectinload

from app.errors import AppError, NotFound
from app.extensions import db
from app.models import Flag, ModelVersion, Prediction, RunEpoch, TrainingRun, as_utc

LIVE_STATUSES = ("queued", "running")
# Shades of the confusion heatmap, white (0) to full blue (HEAT_LEVELS).
HEAT_LEVELS = 10
# One colour per run on the comparison charts (the Okabe-Ito palette has eight).
MAX_COMPARE = 8
EPOCH_KEYS = ("fold", "epoch", "loss", "accuracy", "val_loss", "val_accuracy", "lr", "seconds")


class DashboardError(AppError):
    """A request the dashboard cannot answer: a message for people and an HTTP status."""


# ------------------------------------------------------------------ served model
def active_model() -> dict:
    """The active version as `model_versions` records it: version, test accuracy, since when.

    Before any version is registered, the bundled model's `model.json`. A
    `problem` says when the active version's files cannot be served.
    """
    from flask import current_app

    from app.services import serving

    version = serving.active_version()
    if version is None:
        return model_json(current_app.config["MODEL_DIR"])
    info: dict[str, Any] = {
        "version": version.version,
        "test_accuracy": version.test_accuracy,
        "created": as_utc(version.activated_at or version.created_at),
        "path": version.path,
        "problem": None,
    }
    health = serving.health()
    if health["files"] != "ok" or not health["serving_active"]:
        info["problem"] = health.get("problem") or f"Its files: {health['files']}."
    return info


def model_json(model_dir: str | Path) -> dict:
    """A model folder's `model.json`: version, test accuracy, creation time.

    Never raises: a missing or unreadable file gives `version` None and a
    `problem` that the page shows instead.
    """
    path = Path(model_dir) / "model.json"
    info: dict[str, Any] = {
        "version": None,
        "test_accuracy": None,
        "created": None,
        "path": str(path),
        "problem": None,
    }
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        info["problem"] = f"No model.json in {path.parent}."
        return info
    except (OSError, ValueError) as exc:
        info["problem"] = f"{path} cannot be read: {exc}"
        return info
    if not isinstance(meta, dict):
        info["problem"] = f"{path} does not describe a model."
        return info
    accuracy = meta.get("test_accuracy")
    info.update(
        version=str(meta["version"]) if meta.get("version") else None,
        test_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
        created=_parse_time(meta.get("created")),
    )
    if info["version"] is None:
        info["problem"] = f"{path} names no model version."
    return info


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# ------------------------------------------------------------------ usage
def key_figures(now: datetime | None = None) -> dict:
    """Predictions today (UTC) and in total, open flags, and the share flagged."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    # Stored times are UTC wall-clock values without a zone.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    total = db.session.scalar(select(func.count(Prediction.id))) or 0
    today = (
        db.session.scalar(
            select(func.count(Prediction.id)).where(Prediction.created_at >= midnight)
        )
        or 0
    )
    flagged = db.session.scalar(select(func.count(Flag.id))) or 0
    open_flags = db.session.scalar(select(func.count(Flag.id)).where(Flag.status == "open")) or 0
    return {
        "predictions_today": today,
        "predictions_total": total,
        "open_flags": open_flags,
        "flagged": flagged,
        "flagged_share": flagged / total if total else None,
    }


# ------------------------------------------------------------------ runs
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


def run_with_version(version: str | None) -> TrainingRun | None:
    """The run that produced a model version (the served one, typically)."""
    if not version:
        return None
    return db.session.scalar(
        select(TrainingRun)
        .where(TrainingRun.model_version == version)
        .order_by(TrainingRun.id.desc())
        .limit(1)
    )


def run_date(run: TrainingRun) -> datetime | None:
    """When the run ended, else began, else was created (UTC)."""
    value = run.finished_at or run.started_at or run.created_at
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value


def is_live(run: TrainingRun) -> bool:
    return run.status in LIVE_STATUSES


def epoch_row(epoch: RunEpoch) -> dict:
    return {key: getattr(epoch, key) for key in EPOCH_KEYS}


def history(run: TrainingRun) -> list[dict]:
    """The main run's epochs (k-fold copies left out), in order."""
    return [epoch_row(e) for e in run.main_epochs]


def progress(run: TrainingRun) -> dict:
    """What a page polls while a run goes on: status, phase, epoch, eta, epochs so far.

    `waiting`: for a queued run, what it waits for (a worker to be started, say).
    """
    from app.services import jobs

    return {
        "id": run.id,
        "status": run.status,
        "phase": run.phase,
        "epoch": run.epoch,
        "total_epochs": run.total_epochs,
        "eta_seconds": run.eta_seconds,
        "error": run.error,
        "waiting": jobs.waiting_message(run),
        "epochs": [epoch_row(e) for e in run.epochs],
    }


def summary(run: TrainingRun) -> dict:
    """The headline numbers of a run (None where not recorded)."""
    metrics = run.metrics or {}
    return {
        "accuracy": run.test_accuracy,
        "loss": run.test_loss,
        "macro_f1": run.macro_f1,
        "roc_auc": (metrics.get("macro") or {}).get("roc_auc"),
        "samples": metrics.get("samples") or run.test_size,
    }


def gate(run: TrainingRun) -> dict | None:
    """A retraining's candidate against the model that was active, as the gate judged them."""
    from app.services import yardstick

    recorded = (run.metrics or {}).get("gate")
    if not recorded:
        return None
    candidate, active = recorded.get("candidate") or {}, recorded.get("active") or {}
    drop = f"at most {yardstick.MAX_DROP * 100:g} points lower"
    if "parts" in candidate:  # measured on the yardstick
        rows = [
            {
                "key": row["name"],
                "label": row["label"],
                "active": row["against"],
                "candidate": row["right"],
                "diff": row["diff"],
                "rule": "higher" if row["name"] == "flags" else drop,
            }
            for row in yardstick.rows(candidate, active)
        ]
    else:  # judged before the yardstick: the base test split and the flags
        rows = []
        split = recorded.get("test_split", "mnist")
        for key, label, rule in (
            ("mnist", "MNIST test" if split == "mnist" else f"{split} test split", drop),
            ("holdout", f"held-out flags ({recorded.get('holdout_flags', 0)})", "higher"),
        ):
            a, c = active.get(key), candidate.get(key)
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "rule": rule,
                    "active": a,
                    "candidate": c,
                    "diff": None if a is None or c is None else c - a,
                }
            )
    return {
        "promoted": bool(recorded.get("promoted")),
        "reason": recorded.get("reason", ""),
        "active_version": recorded.get("active_version"),
        "rows": rows,
    }


def gate_summary(gate_view: dict | None) -> str | None:
    """The gate's figures in one line: "MNIST 99.37% against 99.52%; held-out flags ..."."""
    if not gate_view:
        return None
    parts = []
    for row in gate_view["rows"]:
        if (
            row["key"] in ("mnist", "flags", "holdout")
            and row["candidate"] is not None
            and row["active"] is not None
        ):
            parts.append(f"{row['label']} {row['candidate']:.2%} against {row['active']:.2%}")
    return "; ".join(parts) or None


# ------------------------------------------------------------------ model versions
def version_info(version: ModelVersion, compare: bool = False) -> dict:
    """What the model and confirmation pages say about a version beside its own columns.

    `action`: what activating it would be (promote, or roll back to a version
    that was active before); `replaces`: the version active now; the gate's
    view of it (from its run); whether its run is suspect; the version on the
    yardstick (`compare`: beside the active version, held-out flags measured
    now, with the parts where it is worse).
    """
    from app.services import registry, serving, yardstick

    run = version.run
    gate_view = gate(run) if run is not None else None
    active = serving.active_version()
    replaces = active if active is not None and active.id != version.id else None
    worse: list[str] = []
    if compare and replaces is not None:
        mine, theirs, worse = yardstick.compare_versions(version, replaces)
        rows = yardstick.rows(mine, theirs)
    else:
        rows = yardstick.rows(yardstick.known(version))
    return {
        "action": registry.activation_kind(version),
        "replaces": replaces,
        "gate": gate_view,
        "gate_summary": gate_summary(gate_view),
        "gate_rejected": version.gate_passed is False,
        "suspect": run.suspect if run is not None else None,
        "yardstick": rows,
        "worse": worse,
        "own_test": f"{run.dataset} test split" if run is not None else "its own test split",
    }


def versions_with_runs() -> list[ModelVersion]:
    """Every version, newest first, with its run and the run's baselines (for the suspect rule)."""
    return list(
        db.session.scalars(
            select(ModelVersion)
            .options(selectinload(ModelVersion.run).selectinload(TrainingRun.baselines))
            .order_by(ModelVersion.id.desc())
        )
    )


# ------------------------------------------------------------------ retraining
def retrain_status() -> dict:
    """What a retraining would learn from, what awaits review, and who would run it."""
    from app.services import jobs, retraining

    return {
        "waiting": retraining.waiting(),
        "busy": jobs.busy(),
        "workers": jobs.live_workers("retrain"),
        "worker_problem": jobs.worker_problem("retrain"),
        "last_seen": jobs.last_seen_worker(),
        "last_retrain": db.session.scalar(
            select(TrainingRun)
            .where(TrainingRun.kind == "retrain")
            .order_by(TrainingRun.id.desc())
            .limit(1)
        ),
    }


def confusion(run: TrainingRun) -> dict | None:
    """The run's confusion matrix (rows true, columns predicted) as heatmap cells."""
    matrix = (run.metrics or {}).get("confusion_matrix")
    return heatmap(matrix) if matrix else None


def heatmap(
    matrix: list[list[int]], rows_are: str = "true", columns_are: str = "predicted"
) -> dict:
    """A count matrix as heatmap cells.

    Shades follow a logarithmic scale so that a handful of mistakes stays
    visible beside a diagonal of a thousand; any non-zero cell gets at least
    the lightest shade. Rates are per row (row-normalised).
    """
    totals = [sum(row) for row in matrix]
    rates = [
        [count / total if total else 0.0 for count in row] for row, total in zip(matrix, totals)
    ]
    peak_count = max((count for row in matrix for count in row), default=0)
    peak_rate = max((rate for row in rates for rate in row), default=0.0)
    rows = []
    for true, (row, rate_row) in enumerate(zip(matrix, rates)):
        cells = [
            {
                "true": true,
                "predicted": predicted,
                "count": count,
                "rate": rate,
                "level_count": _heat_level(count, peak_count, 1.0),
                "level_rate": _heat_level(rate, peak_rate, 1000.0),
                "diagonal": true == predicted,
                "title": f"{rows_are} {true}, {columns_are} {predicted}: {count} ({rate:.1%})",
            }
            for predicted, (count, rate) in enumerate(zip(row, rate_row))
        ]
        rows.append({"true": true, "total": totals[true], "cells": cells})
    return {"labels": list(range(len(matrix))), "rows": rows, "total": sum(totals)}


def _heat_level(value: float, peak: float, scale: float) -> int:
    if value <= 0 or peak <= 0:
        return 0
    level = round(HEAT_LEVELS * math.log1p(value * scale) / math.log1p(peak * scale))
    return min(HEAT_LEVELS, max(1, level))


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


def artifacts(run: TrainingRun, base: str | Path, roots: list[Path]) -> dict | None:
    """The run's exported files with their checksums, and whether each is still there."""
    info = run.artifacts
    if not info:
        return None
    directory = _artifact_dir(info, base, roots)
    files = []
    for name, meta in sorted((info.get("files") or {}).items()):
        meta = meta if isinstance(meta, dict) else {}
        path = directory / name if directory else None
        files.append(
            {
                "name": name,
                "sha256": meta.get("sha256"),
                "bytes": meta.get("bytes"),
                "exists": bool(path and path.is_file()),
            }
        )
    return {"version": info.get("version"), "dir": info.get("dir"), "files": files}


def artifact_location(run: TrainingRun, filename: str, base: str | Path, roots: list[Path]) -> Path:
    """The folder holding `filename`, only if the run lists it and it is still there.

    Only folders inside `roots` (the model folders) count, whatever a run
    record (perhaps imported from elsewhere) says.
    """
    info = run.artifacts or {}
    directory = _artifact_dir(info, base, roots)
    if directory is None or filename not in (info.get("files") or {}):
        raise NotFound(f"Run {run.id} has no artifact named {filename!r}.")
    if not (directory / filename).is_file():
        raise NotFound(f"{filename} of run {run.id} is no longer in {directory}.")
    return directory


def _artifact_dir(info: dict, base: str | Path, roots: list[Path]) -> Path | None:
    raw = info.get("dir")
    if not raw or not isinstance(raw, str):
        return None
    directory = Path(raw)
    directory = (directory if directory.is_absolute() else Path(base) / directory).resolve()
    if not any(directory == root or root in directory.parents for root in roots):
        return None
    return directory


# ------------------------------------------------------------------ comparison
def parse_run_ids(values: list[str]) -> list[int]:
    """Run ids from `?runs=1,2,3` (or `?runs=1&runs=2`): distinct, in the order given."""
    parts = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not parts:
        raise DashboardError(
            "Choose at least two runs to compare, for example /dashboard/compare?runs=1,2."
        )
    ids: list[int] = []
    for part in parts:
        if not (part.isascii() and part.isdigit()):
            raise DashboardError(f"Run ids are whole numbers; {part[:40]!r} is not one.")
        digits = part.lstrip("0") or "0"  # int() of thousands of digits is refused
        number = int(digits) if len(digits) <= 19 else 2**63
        if number >= 2**63:  # past any database id
            raise DashboardError(f"There is no run {part[:40]}.", 404)
        if number not in ids:
            ids.append(number)
    if len(ids) < 2:
        raise DashboardError("Choose at least two different runs to compare.")
    if len(ids) > MAX_COMPARE:
        raise DashboardError(f"Compare at most {MAX_COMPARE} runs at a time.")
    return ids


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

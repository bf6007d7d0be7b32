"""Model versions as the model pages show them, and what a retraining would start from."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.extensions import db
from app.models import ModelVersion, RunKind, TrainingRun
from app.services.dashboard.gates import gate_summary, gate_view


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
    view = gate_view(run) if run is not None else None
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
        "gate": view,
        "gate_summary": gate_summary(view),
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
            .where(TrainingRun.kind == RunKind.RETRAIN)
            .order_by(TrainingRun.id.desc())
            .limit(1)
        ),
    }

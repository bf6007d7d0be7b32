"""Training jobs: one path for every training, whoever starts it.

A job is a `TrainingRun` row with a kind (`cnn`, `baselines`, `retrain`) and
a status. The CLI, the dashboard and the worker all go through here:

- `submit(spec, kind)` queues a job for `flask worker`; `start(spec, kind)`
  claims a new one for this process at once (the CLI's foreground runs);
- `claim_next(kinds)` is how a worker takes the oldest queued job of the kinds
  it runs, atomically (`FOR UPDATE SKIP LOCKED` on PostgreSQL; a conditional
  update that only one process can win everywhere);
- `execute(run)` runs a claimed job to the end, beating its heartbeat, and
  records success or failure;
- `reap_stale()` fails a running job only once its heartbeat has stopped (a
  killed process), never because another process started.

One training at a time holds for every kind and entry point: the database has
a unique index over the queued and running rows, so a second is refused
(`JobBusy`, HTTP 409) even when two processes ask at the same instant.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterable

from flask import current_app
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from app.errors import AppError
from app.extensions import db
from app.models import BUSY_STATUSES, RUN_KINDS, TrainingRun, as_utc, utcnow
from app.services import training
from app.services.database import StorageError
from trainer.experiment import RunSpec

Echo = Callable[[str], None]
INTERRUPTED = "interrupted: the training process stopped before the run finished"


class JobBusy(AppError):
    """Another training is queued or running."""

    status = 409


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------ state
def busy() -> TrainingRun | None:
    """The queued or running job, if any."""
    return db.session.scalar(select(TrainingRun).where(TrainingRun.status.in_(BUSY_STATUSES))
                             .order_by(TrainingRun.id))


def is_stale(run: TrainingRun) -> bool:
    """A running job whose owner has not said it is alive for too long."""
    if run.status != "running":
        return False
    timeout = timedelta(seconds=current_app.config["JOB_HEARTBEAT_TIMEOUT"])
    beat = as_utc(run.heartbeat_at) or as_utc(run.started_at) or as_utc(run.created_at)
    return beat is None or utcnow() - beat > timeout


def reap_stale() -> int:
    """Fail running jobs whose heartbeat stopped; return how many."""
    running = db.session.scalars(select(TrainingRun).where(TrainingRun.status == "running")).all()
    stale = [run for run in running if is_stale(run)]
    for run in stale:
        run.status, run.phase, run.error = "failed", None, INTERRUPTED
        run.finished_at = utcnow()
    if stale:
        db.session.commit()
        current_app.logger.warning("failed %d job(s) whose heartbeat stopped: %s", len(stale),
                                   ", ".join(str(r.id) for r in stale))
    return len(stale)


# ------------------------------------------------------------------ creating
def _new_run(spec: RunSpec, kind: str, status: str, extra: dict | None) -> TrainingRun:
    if kind not in RUN_KINDS:
        raise ValueError(f"unknown job kind {kind!r}")
    reap_stale()
    running = busy()
    if running is not None:
        raise JobBusy(f"training run {running.id} is {running.status}; one training at a time")
    run = training.new_run(spec, kind, extra)
    run.status = status
    if status == "running":
        run.owner, run.started_at = owner_name(), utcnow()
        run.heartbeat_at = run.started_at
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # another process queued or started one in between
        db.session.rollback()
        running = busy()
        raise JobBusy("another training was started just now; one training at a time"
                      + (f" (run {running.id})" if running else "")) from None
    return run


def submit(spec: RunSpec, kind: str, extra: dict | None = None) -> TrainingRun:
    """Queue a job for `flask worker`."""
    return _new_run(spec, kind, "queued", extra)


def start(spec: RunSpec, kind: str, extra: dict | None = None) -> TrainingRun:
    """A new job claimed by this process, to execute in the foreground."""
    return _new_run(spec, kind, "running", extra)


def claim_next(kinds: Iterable[str] = RUN_KINDS) -> TrainingRun | None:
    """Claim the oldest queued job of these kinds for this process; None if there is none."""
    kinds = tuple(kinds)
    while True:
        run_id = db.session.scalar(
            select(TrainingRun.id)
            .where(TrainingRun.status == "queued", TrainingRun.kind.in_(kinds))
            .order_by(TrainingRun.id).limit(1).with_for_update(skip_locked=True))
        if run_id is None:
            db.session.commit()
            return None
        now = utcnow()
        won = db.session.execute(
            update(TrainingRun)
            .where(TrainingRun.id == run_id, TrainingRun.status == "queued")
            .values(status="running", owner=owner_name(), started_at=now, heartbeat_at=now)
        ).rowcount == 1
        db.session.commit()
        if won:
            return db.session.get(TrainingRun, run_id, populate_existing=True)


# ------------------------------------------------------------------ executing
class Heartbeat:
    """Beats a running job's heartbeat from a thread of its own, on a connection of its own."""

    def __init__(self, run_id: int, owner: str, seconds: float):
        self.engine = db.engine
        self.run_id, self.owner, self.seconds = run_id, owner, seconds
        self.logger = current_app.logger
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"heartbeat-{run_id}", daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(timeout=5)

    def _loop(self) -> None:
        while not self._stop.wait(self.seconds):
            try:
                with self.engine.begin() as connection:
                    connection.execute(
                        update(TrainingRun)
                        .where(TrainingRun.id == self.run_id, TrainingRun.owner == self.owner)
                        .values(heartbeat_at=utcnow()))
            except SQLAlchemyError as exc:  # a busy database: try again at the next beat
                self.logger.warning("heartbeat of run %d not written: %s", self.run_id, exc)


def execute(run: TrainingRun, echo: Echo | None = None) -> TrainingRun:
    """Execute a job this process has claimed; its row says how it ended.

    Re-raises what made it fail, after recording it on the row.
    """
    from app.services import retraining

    spec = training.spec_of(run)
    out_dir = Path(current_app.config["CANDIDATES_DIR"]) / training.version_name(run)
    with Heartbeat(run.id, run.owner or owner_name(), current_app.config["JOB_HEARTBEAT_SECONDS"]):
        try:
            if run.kind == "retrain":
                plan = retraining.plan(run, spec)
                record, data = training.train(run, plan.spec, out_dir, echo)
                retraining.gate(run, plan, record, data, echo)
            else:
                training.train(run, spec, out_dir if spec.train_cnn else None, echo)
        except BaseException as exc:  # a KeyboardInterrupt also leaves a failed run
            db.session.rollback()
            training.finish(run, "failed", f"{type(exc).__name__}: {exc}")
            raise
        training.finish(run, "succeeded")
    return run


# ------------------------------------------------------------------ the worker
def work(kinds: Iterable[str] = RUN_KINDS, poll: float = 2.0, once: bool = False,
         echo: Echo | None = None, between: Callable[[], None] | None = None) -> None:
    """Claim and execute queued jobs of these kinds, one at a time, until stopped.

    Database trouble (a lock held past the busy timeout, a server restarting)
    is logged and tried again at the next poll; it never ends the worker.
    `once`: stop after one job, or at once when none is queued.
    """
    echo = echo or (lambda line: None)
    kinds = tuple(kinds)
    while True:
        run, database_down = None, False
        try:
            if between:
                between()
            reap_stale()
            run = claim_next(kinds)
        except (OperationalError, StorageError) as exc:
            db.session.rollback()
            database_down = True
            current_app.logger.warning("worker: database unavailable, trying again: %s", exc)
        if run is not None:
            echo(f"worker: run {run.id} '{run.name}' ({run.kind})")
            try:
                execute(run, echo)
            except Exception as exc:  # noqa: BLE001 - recorded on the run; keep working
                echo(f"worker: run {run.id} failed: {exc}")
        if once and not database_down:
            return
        db.session.remove()
        time.sleep(poll)

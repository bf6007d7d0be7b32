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
  killed process), never because another process started;
- `work()` is `flask worker`'s loop; each poll rewrites the worker's row in
  `workers`, so `live_workers()` and `waiting_message()` can say whether a
  queued job will be picked up at all.

This module is the only writer of a run's status (queued, running,
succeeded, failed); `app.services.training` moves a run's progress and
record into its row, and `trainer` does the machine learning.

One training at a time holds for every kind and entry point: the database has
a unique index over the queued and running rows, so a second is refused
(`JobBusy`, HTTP 409) even when two processes ask at the same instant.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from pathlib import Path

from flask import current_app
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError

from app.errors import AppError
from app.extensions import db
from app.models import BUSY_STATUSES, RunKind, RunStatus, TrainingRun, Worker, as_utc, utcnow
from app.services import training
from app.services.database import StorageError, changed, persist
from trainer.experiment import RunSpec

Echo = Callable[[str], None]
INTERRUPTED = "interrupted: the training process stopped before the run finished"
NO_WORKER = "No worker is running: start one with `flask worker` (make run starts one)."
# A worker's row is forgotten a day after it was last seen.
FORGET_WORKERS = timedelta(days=1)


class JobBusy(AppError):
    """Another training is queued or running."""

    status = 409


def owner_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


# ------------------------------------------------------------------ state
def busy() -> TrainingRun | None:
    """The queued or running job, if any."""
    return db.session.scalar(
        select(TrainingRun).where(TrainingRun.status.in_(BUSY_STATUSES)).order_by(TrainingRun.id)
    )


def is_stale(run: TrainingRun, now: datetime | None = None) -> bool:
    """A running job whose owner has not said it is alive for too long (as of `now`)."""
    if run.status != RunStatus.RUNNING:
        return False
    timeout = timedelta(seconds=current_app.config["JOB_HEARTBEAT_TIMEOUT"])
    beat = as_utc(run.heartbeat_at) or as_utc(run.started_at) or as_utc(run.created_at)
    return beat is None or (now or utcnow()) - beat > timeout


def reap_stale(now: datetime | None = None) -> int:
    """Fail running jobs whose heartbeat stopped (as of `now`); return how many."""
    running = db.session.scalars(
        select(TrainingRun).where(TrainingRun.status == RunStatus.RUNNING)
    ).all()
    stale = [run for run in running if is_stale(run, now)]
    for run in stale:
        run.status, run.phase, run.error = RunStatus.FAILED, None, INTERRUPTED
        run.finished_at = utcnow()
    if stale:
        db.session.commit()
        current_app.logger.warning(
            "failed %d job(s) whose heartbeat stopped: %s",
            len(stale),
            ", ".join(str(r.id) for r in stale),
        )
    return len(stale)


# ------------------------------------------------------------------ creating
def _new_run(spec: RunSpec, kind: str, status: str, extra: dict | None) -> TrainingRun:
    if kind not in tuple(RunKind):
        raise ValueError(f"unknown job kind {kind!r}")
    reap_stale()
    running = busy()
    if running is not None:
        raise JobBusy(f"training run {running.id} is {running.status}; one training at a time")
    run = training.new_run(spec, kind, extra)
    run.status = status
    if status == RunStatus.RUNNING:
        run.owner, run.started_at = owner_name(), utcnow()
        run.heartbeat_at = run.started_at
    db.session.add(run)
    try:
        db.session.commit()
    except IntegrityError:  # another process queued or started one in between
        db.session.rollback()
        running = busy()
        raise JobBusy(
            "another training was started just now; one training at a time"
            + (f" (run {running.id})" if running else "")
        ) from None
    return run


def submit(spec: RunSpec, kind: str, extra: dict | None = None) -> TrainingRun:
    """Queue a job for `flask worker`."""
    return _new_run(spec, kind, RunStatus.QUEUED, extra)


def start(spec: RunSpec, kind: str, extra: dict | None = None) -> TrainingRun:
    """A new job claimed by this process, to execute in the foreground."""
    return _new_run(spec, kind, RunStatus.RUNNING, extra)


def claim_next(kinds: Iterable[str] = tuple(RunKind)) -> TrainingRun | None:
    """Claim the oldest queued job of these kinds for this process; None if there is none."""
    kinds = tuple(kinds)
    while True:
        run_id = db.session.scalar(
            select(TrainingRun.id)
            .where(TrainingRun.status == RunStatus.QUEUED, TrainingRun.kind.in_(kinds))
            .order_by(TrainingRun.id)
            .limit(1)
            .with_for_update(skip_locked=True)
        )
        if run_id is None:
            db.session.commit()
            return None
        now = utcnow()
        won = (
            changed(
                update(TrainingRun)
                .where(TrainingRun.id == run_id, TrainingRun.status == RunStatus.QUEUED)
                .values(
                    status=RunStatus.RUNNING, owner=owner_name(), started_at=now, heartbeat_at=now
                )
            )
            == 1
        )
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
                    now = utcnow()
                    connection.execute(
                        update(TrainingRun)
                        .where(TrainingRun.id == self.run_id, TrainingRun.owner == self.owner)
                        .values(heartbeat_at=now)
                    )
                    # A worker busy with a job is alive too (no row for a CLI run).
                    connection.execute(
                        update(Worker).where(Worker.name == self.owner).values(last_seen=now)
                    )
            except SQLAlchemyError as exc:  # a busy database: try again at the next beat
                self.logger.warning("heartbeat of run %d not written: %s", self.run_id, exc)


def execute(run: TrainingRun, echo: Echo | None = None) -> TrainingRun:
    """Execute a job this process has claimed; its row says how it ended.

    Re-raises what made it fail, after recording it on the row.
    """
    from app.services import registry, retraining, yardstick

    spec = training.spec_of(run)
    out_dir = Path(current_app.config["CANDIDATES_DIR"]) / training.version_name(run)
    with Heartbeat(run.id, run.owner or owner_name(), current_app.config["JOB_HEARTBEAT_SECONDS"]):
        try:
            if run.kind == RunKind.RETRAIN:
                plan = retraining.plan(run, spec)
                record, data = training.run_experiment(run, plan.spec, out_dir, echo)
                retraining.settle(run, plan, record, data, echo)
            else:
                training.run_experiment(run, spec, out_dir if spec.train_cnn else None, echo)
                # A CNN's model is a candidate version at once, promotable like any
                # other once it is measured on the suite every model is judged on.
                version = registry.register_run(run)
                if version is not None:
                    persist(lambda: setattr(run, "phase", "measuring on the yardstick"))
                    yardstick.ensure(version)
        except BaseException as exc:  # a KeyboardInterrupt also leaves a failed run
            db.session.rollback()
            _finish(run, RunStatus.FAILED, f"{type(exc).__name__}: {exc}")
            raise
        _finish(run, RunStatus.SUCCEEDED)
    return run


def _finish(run: TrainingRun, status: RunStatus, error: str | None = None) -> None:
    """Record how a run ended, and when."""

    def apply():
        run.status, run.error, run.phase = status, error, None
        if status == RunStatus.SUCCEEDED:
            run.eta_seconds = 0.0
        run.finished_at = utcnow()
        started = as_utc(run.started_at) or run.finished_at
        run.duration_seconds = round((run.finished_at - started).total_seconds(), 1)

    persist(apply, "end of the run")


# ------------------------------------------------------------------ workers alive
def worker_seen(name: str, kinds: Iterable[str], poll: float) -> None:
    """Record that the worker `name` is alive now (every poll, and with each job heartbeat)."""
    now = utcnow()
    worker = db.session.get(Worker, name)
    if worker is None:
        db.session.add(
            Worker(name=name, kinds=list(kinds), poll_seconds=poll, started_at=now, last_seen=now)
        )
    else:
        worker.kinds, worker.poll_seconds, worker.last_seen = list(kinds), poll, now
    db.session.execute(delete(Worker).where(Worker.last_seen < now - FORGET_WORKERS))
    db.session.commit()


def worker_gone(name: str) -> None:
    """A worker that stops says so, instead of waiting to be timed out."""
    db.session.execute(delete(Worker).where(Worker.name == name))
    db.session.commit()


def is_alive(worker: Worker, now: datetime | None = None) -> bool:
    """Seen within the job heartbeat timeout (or three polls, for a slow-polling worker)."""
    timeout = max(current_app.config["JOB_HEARTBEAT_TIMEOUT"], 3 * worker.poll_seconds)
    seen = as_utc(worker.last_seen)
    return seen is not None and (now or utcnow()) - seen <= timedelta(seconds=timeout)


def live_workers(kind: str | None = None, now: datetime | None = None) -> list[Worker]:
    """The workers alive (as of `now`), those that run jobs of `kind` only when it is given."""
    workers = db.session.scalars(select(Worker).order_by(Worker.last_seen.desc())).all()
    return [w for w in workers if is_alive(w, now) and (kind is None or kind in (w.kinds or []))]


def last_seen_worker() -> Worker | None:
    return db.session.scalar(select(Worker).order_by(Worker.last_seen.desc()).limit(1))


def worker_problem(kind: str) -> str | None:
    """Why a queued job of this kind would wait forever (no worker for it alive), or None."""
    if live_workers(kind):
        return None
    if live_workers():
        return (
            f"No running worker takes {kind} jobs: start one with `flask worker` "
            f"(or `flask worker --kind {kind}`)."
        )
    return NO_WORKER


def waiting_message(run: TrainingRun) -> str | None:
    """What a queued job waits for, in words: a worker to take it, or a worker to be started."""
    if run.status != RunStatus.QUEUED:
        return None
    return worker_problem(run.kind) or "waiting for the worker to start it"


# ------------------------------------------------------------------ the worker
def work(
    kinds: Iterable[str] = tuple(RunKind),
    poll: float = 2.0,
    once: bool = False,
    echo: Echo | None = None,
    between: Callable[[], None] | None = None,
) -> None:
    """Claim and execute queued jobs of these kinds, one at a time, until stopped.

    Every poll writes the worker's own heartbeat (`workers`), so the
    dashboard can tell whether a queued job will be picked up; the row goes
    when the worker stops. Database trouble (a lock held past the busy
    timeout, a server restarting) is logged and tried again at the next
    poll; it never ends the worker. `once`: stop after one job, or at once
    when none is queued.
    """
    echo = echo or (lambda line: None)
    kinds = tuple(kinds)
    name = owner_name()
    try:
        while True:
            run, database_down = None, False
            try:
                worker_seen(name, kinds, poll)
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
    finally:
        try:
            db.session.rollback()
            worker_gone(name)
        except (SQLAlchemyError, StorageError) as exc:  # it will time out instead
            current_app.logger.warning("worker %s: could not sign off: %s", name, exc)

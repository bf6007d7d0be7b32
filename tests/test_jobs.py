"""Training jobs: one at a time, claimed by exactly one worker, failed only when their process died."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from app.extensions import db
from app.models import TrainingRun, utcnow
from app.services import jobs
from tests.utils.apps import ROOT, subprocess_env
from tests.utils.datasets import write_csv
from trainer.experiment import RunSpec, profile_config

pytestmark = pytest.mark.databases("sqlite", "postgresql")


@pytest.fixture
def tiny_csv(tmp_path, mnist_sample):
    images, labels = mnist_sample
    return write_csv(tmp_path / "tiny.csv", images[:300], labels[:300])


def spec(csv_path, **config) -> RunSpec:
    return RunSpec(
        name="job",
        datasets=["csv"],
        csv_path=str(csv_path),
        profile="quick",
        config=profile_config("quick", min_steps=0, **config),
        baselines=False,
        baseline_sample=200,
    )


def run_row(app, run_id: int) -> TrainingRun:
    with app.app_context():
        return db.session.get(TrainingRun, run_id)


def wait_for(predicate, seconds: float, what: str):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def test_two_workers_racing_for_one_job_claim_it_once(app, tiny_csv):
    with app.app_context():
        queued = jobs.submit(spec(tiny_csv), "cnn").id
    barrier = threading.Barrier(4)
    claimed: list = []

    def worker():
        with app.app_context():
            barrier.wait()
            run = jobs.claim_next()
            claimed.append(run.id if run else None)
            db.session.remove()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(claimed, key=str) == [queued, None, None, None]
    run = run_row(app, queued)
    assert run.status == "running" and run.owner == jobs.owner_name() and run.heartbeat_at


def test_one_training_at_a_time_for_every_kind_and_entry_point(app, runner, tiny_csv):
    with app.app_context():
        first = jobs.submit(spec(tiny_csv), "retrain", {"from_scratch": True})
        for kind in ("cnn", "baselines", "retrain"):
            with pytest.raises(jobs.JobBusy) as refused:
                jobs.start(spec(tiny_csv), kind)
            assert (
                refused.value.status == 409 and f"run {first.id} is queued" in refused.value.message
            )
    busy = runner.invoke(
        args=["train", "--profile", "quick", "--dataset", "csv", "--csv", str(tiny_csv)]
    )
    assert busy.exit_code == 1 and "one training at a time" in busy.output
    assert "Traceback" not in busy.output


def test_a_worker_claims_only_the_kinds_it_runs_and_never_a_foreground_run(app, runner, tiny_csv):
    with app.app_context():
        live = jobs.start(spec(tiny_csv), "cnn")  # what `flask train` does in the foreground
        assert jobs.claim_next() is None
        live.status = "succeeded"
        db.session.commit()
        queued = jobs.submit(spec(tiny_csv), "baselines").id
        assert jobs.claim_next(["retrain"]) is None
        assert jobs.claim_next(["cnn", "baselines"]).id == queued


def test_a_second_worker_starting_leaves_a_live_run_alone(app, runner, tiny_csv):
    with app.app_context():
        live = jobs.start(spec(tiny_csv), "cnn").id
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    assert run_row(app, live).status == "running"
    # Once its heartbeat is older than the timeout, it was a dead process's.
    with app.app_context():
        row = db.session.get(TrainingRun, live)
        row.heartbeat_at = utcnow() - timedelta(seconds=app.config["JOB_HEARTBEAT_TIMEOUT"] + 1)
        db.session.commit()
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    row = run_row(app, live)
    assert row.status == "failed" and "interrupted" in row.error


@pytest.mark.training
def test_a_killed_worker_fails_its_run_only_after_its_heartbeat_stops(app, runner, tiny_csv):
    with app.app_context():
        queued = jobs.submit(spec(tiny_csv, epochs=400), "cnn").id
    env = subprocess_env(app, JOB_HEARTBEAT_SECONDS="0.3", JOB_HEARTBEAT_TIMEOUT="2")
    worker = subprocess.Popen(
        [sys.executable, "-m", "flask", "worker", "--poll", "0.2"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: run_row(app, queued).epoch >= 1, 120, "the worker's first epoch")
        beat = run_row(app, queued).heartbeat_at
        wait_for(lambda: run_row(app, queued).heartbeat_at > beat, 10, "a heartbeat")
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait()
    app.config["JOB_HEARTBEAT_TIMEOUT"] = 2
    with app.app_context():
        assert jobs.reap_stale() == 0  # its heartbeat is still recent
        with pytest.raises(jobs.JobBusy):
            jobs.submit(spec(tiny_csv), "cnn")
    with app.app_context():
        # Later, its heartbeat is older than the timeout: the next training is
        # allowed, and fails the dead run first.
        row = db.session.get(TrainingRun, queued)
        row.heartbeat_at = utcnow() - timedelta(seconds=3)
        db.session.commit()
        nxt = jobs.submit(spec(tiny_csv), "cnn")
        dead = db.session.get(TrainingRun, queued)
        assert dead.status == "failed" and "interrupted" in dead.error
        assert nxt.status == "queued"


@pytest.mark.databases("sqlite")
@pytest.mark.training
def test_a_lock_held_past_the_busy_timeout_does_not_end_the_worker(app, tmp_path, tiny_csv):
    with app.app_context():
        queued = jobs.submit(spec(tiny_csv), "baselines").id
    path = app.config["SQLALCHEMY_DATABASE_URI"].removeprefix("sqlite:///")
    env = subprocess_env(app, DATABASE_BUSY_SECONDS="0.3")
    lock = sqlite3.connect(path, isolation_level=None)
    lock.execute("BEGIN EXCLUSIVE")
    try:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "worker", "--once", "--poll", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(worker.stdout), daemon=True)
        reader.start()
        # Several polls, each past the busy timeout, and the worker still there.
        wait_for(
            lambda: sum("database unavailable" in line for line in lines) >= 3,
            60,
            "three polls to meet the lock",
        )
        assert worker.poll() is None, "".join(lines)
    finally:
        lock.execute("ROLLBACK")
        lock.close()
    worker.wait(timeout=120)
    reader.join(timeout=10)
    worker.stdout.close()
    output = "".join(lines)
    assert worker.returncode == 0, output
    assert "database unavailable" in output
    assert run_row(app, queued).status == "succeeded"


@pytest.mark.databases("sqlite")
def test_progress_waits_out_a_busy_database(tmp_path, database_url, tiny_csv):
    from app.services.training import DatabaseReporter
    from tests.utils.apps import migrated_app

    app = migrated_app(tmp_path, database_url, DATABASE_BUSY_SECONDS=0.2)
    with app.app_context():
        run = jobs.start(spec(tiny_csv), "cnn")
        lock = sqlite3.connect(
            database_url.removeprefix("sqlite:///"), isolation_level=None, check_same_thread=False
        )
        lock.execute("BEGIN EXCLUSIVE")
        release = threading.Timer(1.5, lambda: lock.execute("ROLLBACK"))
        release.start()
        try:
            DatabaseReporter(run).epoch(
                {
                    "fold": None,
                    "epoch": 1,
                    "loss": 0.5,
                    "accuracy": 0.9,
                    "val_loss": None,
                    "val_accuracy": None,
                    "lr": 1e-3,
                    "seconds": 1.0,
                }
            )
        finally:
            release.join()
            lock.close()
        db.session.expire_all()
        assert run.epoch == 1 and len(run.epochs) == 1


# ------------------------------------------------------------------ workers alive
def test_a_worker_says_it_is_alive_while_it_polls_and_signs_off(app, runner):
    from app.models import RunKind, Worker

    seen: list = []
    with app.app_context():
        assert jobs.live_workers() == [] and jobs.worker_problem("retrain") == jobs.NO_WORKER

        def during_a_poll():
            seen.append([(w.name, w.kinds) for w in jobs.live_workers()])
            seen.append((jobs.worker_problem("cnn"), jobs.worker_problem("retrain")))

        jobs.work(kinds=("cnn",), once=True, between=during_a_poll)
        assert seen[0] == [(jobs.owner_name(), ["cnn"])]
        assert seen[1][0] is None and "No running worker takes retrain jobs" in seen[1][1]
        assert db.session.query(Worker).count() == 0  # it signed off as it stopped

        # A worker not seen for longer than the job heartbeat timeout is not alive.
        jobs.worker_seen("elsewhere:1", list(RunKind), 2.0)
        assert [w.name for w in jobs.live_workers("retrain")] == ["elsewhere:1"]
        row = db.session.get(Worker, "elsewhere:1")
        row.last_seen = utcnow() - timedelta(seconds=app.config["JOB_HEARTBEAT_TIMEOUT"] + 1)
        db.session.commit()
        assert jobs.live_workers() == [] and jobs.worker_problem("retrain") == jobs.NO_WORKER
        assert jobs.last_seen_worker().name == "elsewhere:1"
        # ... unless it polls that rarely: three polls are allowed.
        row.poll_seconds = app.config["JOB_HEARTBEAT_TIMEOUT"]
        db.session.commit()
        assert [w.name for w in jobs.live_workers()] == ["elsewhere:1"]
    assert runner.invoke(args=["worker", "--once"]).exit_code == 0
    with app.app_context():
        assert [w.name for w in db.session.query(Worker)] == ["elsewhere:1"]


def test_a_queued_job_says_whether_a_worker_will_take_it(app, tiny_csv):
    from app.models import Worker

    with app.app_context():
        run = jobs.submit(spec(tiny_csv), "retrain", {"from_scratch": True})
        assert jobs.waiting_message(run) == jobs.NO_WORKER
        assert "flask worker" in jobs.NO_WORKER and "make run" in jobs.NO_WORKER
        jobs.worker_seen("host:7", ("cnn",), 2.0)
        assert "No running worker takes retrain jobs" in jobs.waiting_message(run)
        jobs.worker_seen("host:7", ("cnn", "retrain"), 2.0)
        assert jobs.waiting_message(run) == "waiting for the worker to start it"
        db.session.delete(db.session.get(Worker, "host:7"))
        db.session.commit()
        assert jobs.waiting_message(run) == jobs.NO_WORKER
        run.status = "running"
        assert jobs.waiting_message(run) is None


def test_a_busy_worker_stays_alive_through_its_job_heartbeat(app, tiny_csv):
    from app.models import Worker

    with app.app_context():
        run = jobs.start(spec(tiny_csv), "cnn")
        long_ago = utcnow() - timedelta(hours=1)
        db.session.add(
            Worker(
                name=run.owner,
                kinds=["cnn"],
                poll_seconds=2.0,
                started_at=long_ago,
                last_seen=long_ago,
            )
        )
        db.session.commit()
        assert jobs.live_workers() == []

        def alive() -> bool:
            db.session.expire_all()
            return [w.name for w in jobs.live_workers()] == [run.owner]

        with jobs.Heartbeat(run.id, run.owner, 0.05):
            wait_for(alive, 30, "the job's heartbeat to keep its worker alive")
        assert alive()

"""Command-line tools: `flask train`, `flask baselines`, `flask runs ...`, `flask seed`, `flask predict`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.extensions import db

BUNDLED_RUN = "run.json"


def _dataset_option(f):
    return click.option(
        "--dataset", default=None, show_default="mnist",
        help="mnist, uci-digits, csv, feedback, online (pen strokes of 90 writers) or "
             "negatives (drawings that are no digit); join with + to mix "
             "(e.g. mnist+online+negatives)")(f)


def _common_data_options(f):
    for option in reversed([
        _dataset_option,
        click.option("--data-dir", type=click.Path(file_okay=False),
                     help="MNIST IDX folder (default: $MNIST_DIR, then ../shared/data/mnist)"),
        click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
                     help="file for the csv dataset: label then 784 pixels per row"),
        click.option("--feedback-weight", type=click.IntRange(min=1), default=10, show_default=True,
                     help="how many times each flagged drawing repeats in a mixture"),
        click.option("--online-weight", type=click.IntRange(min=1), default=3, show_default=True,
                     help="how many renderings of each online drawing an epoch holds"),
        click.option("--negatives", type=click.IntRange(min=10), default=6000, show_default=True,
                     help="how many drawings that are no digit the negatives dataset makes"),
        click.option("--seed", type=int, default=None, help="random seed [profile: 1]"),
        click.option("--name", default=None, help="the run's name [profile-dataset-time]"),
    ]):
        f = option(f)
    return f


def _spec(profile, dataset, data_dir, csv_path, feedback_weight, online_weight, negatives, seed,
          name, **overrides):
    from trainer.experiment import BASELINE_SAMPLE, RunSpec, profile_config

    config = profile_config(profile, seed=seed, **overrides)
    return RunSpec(
        name=name or "", profile=profile, config=config,
        datasets=(dataset or "mnist").split("+"),
        data_dir=data_dir or current_app.config.get("MNIST_DIR"), csv_path=csv_path,
        feedback_weight=feedback_weight, online_weight=online_weight, negatives=negatives,
        baseline_sample=BASELINE_SAMPLE[profile],
    )


def _execute(spec) -> None:
    from app.services import training
    from trainer.datasets import DatasetError

    if not spec.name:
        spec.name = training.default_name(spec)
    run = training.create_run(spec)
    try:
        training.execute_run(run, spec, echo=lambda line: click.echo(line))
    except (DatasetError, ValueError, OSError) as exc:
        raise click.ClickException(f"run {run.id} failed: {exc}") from exc
    click.echo(_summary(run))


def _summary(run) -> str:
    lines = [f"run {run.id} '{run.name}' {run.status} in {run.duration_seconds or 0:.0f}s"]
    if run.test_accuracy is not None:
        lines.append(f"test accuracy {run.test_accuracy:.4%}  loss {run.test_loss:.4f}  "
                     f"macro F1 {run.macro_f1:.4f}  ROC AUC {run.metrics['macro']['roc_auc']:.5f}")
    for source, score in (run.metrics or {}).get("holdout", {}).items():
        if score.get("accuracy") is not None:
            lines.append(f"  held out {source:<18} {score['accuracy']:.4%} of {score['samples']} "
                         f"(refused {score['refused']:.2%})")
        else:
            lines.append(f"  held out {source:<18} refused {score['refused']:.2%} "
                         f"of {score['samples']}")
    calibration = (run.metrics or {}).get("calibration")
    if calibration:
        ece = calibration["ece"].get("test", {})
        lines.append(f"calibration: temperature {calibration['temperature']:.2f}, test ECE "
                     f"{ece.get('before', 0):.4f} -> {ece.get('after', 0):.4f}")
    if run.kfold:
        lines.append(f"{run.kfold['k']}-fold accuracy {run.kfold['mean']:.4%} "
                     f"± {run.kfold['std']:.4%}")
    for b in run.baselines:
        lines.append(f"  {b.name:<20} {b.accuracy:.4f}  (F1 {b.macro_f1:.4f}, "
                     f"{b.train_samples} training images)")
    if run.suspect:
        lines.append(f"SUSPECT: {run.suspect}")
    if run.artifacts:
        lines.append(f"candidate model {run.model_version} in {run.artifacts['dir']} "
                     "(not active: the served model is unchanged)")
    return "\n".join(lines)


def register(app: Flask) -> None:
    @app.cli.command("train")
    @click.option("--profile", type=click.Choice(["quick", "full"]), default="full",
                  show_default=True, help="quick: about a minute; full: the bundled model's recipe")
    @_common_data_options
    @click.option("--epochs", type=click.IntRange(min=0), default=None, help="[profile]")
    @click.option("--polish-epochs", type=click.IntRange(min=0), default=None,
                  help="final low-learning-rate epochs with light augmentation [profile]")
    @click.option("--batch-size", type=click.IntRange(min=1), default=None, help="[profile]")
    @click.option("--lr", type=click.FloatRange(min=0, min_open=True), default=None,
                  help="peak learning rate [profile]")
    @click.option("--val-split", type=click.FloatRange(0, 0.9), default=None,
                  help="share of training images held out for validation [profile]")
    @click.option("--augment/--no-augment", default=None, help="[profile]")
    @click.option("--min-steps", type=click.IntRange(min=0), default=None,
                  help="short datasets train more epochs to take at least this many steps [profile]")
    @click.option("--ensemble", type=click.IntRange(min=1, max=5), default=None,
                  help="train N networks with different seeds, served as their average [1]")
    @click.option("--kfold", type=click.IntRange(min=0), default=0,
                  help="also train K networks on K stratified folds and report each fold's accuracy")
    @click.option("--baselines/--no-baselines", default=True, show_default=True,
                  help="train the classical baselines on the same split")
    def train(profile, dataset, data_dir, csv_path, feedback_weight, online_weight, negatives, seed,
              name, epochs, polish_epochs, batch_size, lr, val_split, augment, min_steps, ensemble,
              kfold, baselines):
        """Train the CNN, record the run in the database, export a candidate model.

        Flags given override the profile. The run's progress is written to the
        database as it goes; the served model is never replaced by a run.
        """
        if kfold == 1:
            raise click.BadParameter("use 0 (no k-fold) or at least 2", param_hint="--kfold")
        spec = _spec(profile, dataset, data_dir, csv_path, feedback_weight, online_weight,
                     negatives, seed, name, epochs=epochs, polish_epochs=polish_epochs, batch_size=batch_size,
                     lr=lr, val_split=val_split, augment=augment, min_steps=min_steps,
                     ensemble=ensemble)
        spec.kfold, spec.baselines = kfold, baselines
        _execute(spec)

    @app.cli.command("baselines")
    @click.option("--profile", type=click.Choice(["quick", "full"]), default="full",
                  show_default=True, help="sets the sub-sample size: quick 2,000, full 10,000")
    @_common_data_options
    @click.option("--sample", type=click.IntRange(min=10), default=None,
                  help="training images per baseline (a stratified sub-sample)")
    def baselines(profile, dataset, data_dir, csv_path, feedback_weight, online_weight, negatives,
                  seed, name, sample):
        """Train and test only the classical baselines; recorded as a run."""
        spec = _spec(profile, dataset, data_dir, csv_path, feedback_weight, online_weight,
                     negatives, seed, name)
        spec.train_cnn = False
        if sample:
            spec.baseline_sample = sample
        _execute(spec)

    runs = AppGroup("runs", help="List, show, export and import training runs.")
    app.cli.add_command(runs)

    @runs.command("list")
    def runs_list():
        """Every run, newest first."""
        from app.models import TrainingRun

        rows = db.session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())).all()
        if not rows:
            click.echo("no runs yet: try `flask train --profile quick`")
            return
        click.echo(f"{'id':>4}  {'status':<9} {'accuracy':>9} {'macro F1':>9} "
                   f"{'time':>7}  {'dataset':<16} name")
        for run in rows:
            acc = f"{run.test_accuracy:.4%}" if run.test_accuracy is not None else "-"
            f1 = f"{run.macro_f1:.4f}" if run.macro_f1 is not None else "-"
            took = f"{run.duration_seconds:.0f}s" if run.duration_seconds is not None else (
                f"{run.epoch}/{run.total_epochs}" if run.status == "running" else "-")
            click.echo(f"{run.id:>4}  {run.status:<9} {acc:>9} {f1:>9} {took:>7}  "
                       f"{run.dataset:<16} {run.name}")

    @runs.command("show")
    @click.argument("run_id", type=int)
    @click.option("--json", "as_json", is_flag=True, help="the whole record as JSON")
    def runs_show(run_id, as_json):
        """One run in detail: metrics, report, k-fold, baselines, artifacts."""
        from app.services.training import run_record

        run = _get_run(run_id)
        if as_json:
            click.echo(json.dumps(run_record(run), indent=2))
            return
        click.echo(_summary(run))
        if run.error:
            click.echo(f"error: {run.error}")
        click.echo(f"datasets: {json.dumps(run.datasets)}")
        click.echo(f"params: {json.dumps(run.params)}")
        click.echo(f"versions: {json.dumps(run.versions)}")
        if run.param_count:
            click.echo(f"parameters: {run.param_count:,}")
        if run.metrics.get("report"):
            click.echo(run.metrics["report"])
        if run.metrics.get("confusion_matrix"):
            click.echo("confusion matrix (rows true, columns predicted):")
            for digit, row in enumerate(run.metrics["confusion_matrix"]):
                click.echo(f"  {digit}: " + " ".join(f"{v:>5}" for v in row))

    @runs.command("export")
    @click.argument("run_id", type=int)
    @click.argument("path", type=click.Path(dir_okay=False, writable=True))
    def runs_export(run_id, path):
        """Write a run's whole record to PATH as JSON."""
        from app.services.training import run_record

        Path(path).write_text(json.dumps(run_record(_get_run(run_id)), indent=1) + "\n")
        click.echo(f"wrote {path}")

    @runs.command("import")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False))
    def runs_import(path):
        """Store a run record written by `flask runs export` (once per model version)."""
        from app.services.training import import_file

        try:
            run, created = import_file(Path(path))
        except (ValueError, KeyError, TypeError) as exc:
            raise click.ClickException(f"{path} is not a run record: {exc}") from exc
        click.echo(f"{'imported' if created else 'already stored'}: run {run.id} '{run.name}'")

    @app.cli.command("seed")
    def seed():
        """Store the bundled model's training run, if it is not stored yet."""
        from app.services.training import import_file

        from app.services.registry import register_bundled

        path = Path(current_app.config["MODEL_DIR"]) / BUNDLED_RUN
        run = None
        if path.exists():
            run, created = import_file(path)
            click.echo(f"{'seeded' if created else 'already seeded'}: run {run.id} '{run.name}'")
        version = register_bundled(run.id if run else None)
        click.echo(f"model {version.version}: {version.status}")

    @app.cli.command("retrain")
    @click.option("--from-scratch", is_flag=True, help="train a new network instead of fine-tuning the active one")
    @click.option("--epochs", type=click.IntRange(min=1), default=None, help="[fine-tune: 2; scratch: 20]")
    @click.option("--feedback-weight", type=click.IntRange(min=1), default=20, show_default=True)
    @click.option("--base", type=click.Choice(["mnist", "csv", "uci-digits"]), default="mnist",
                  show_default=True, help="the data the flags are mixed into")
    @click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="file for --base csv")
    @click.option("--data-dir", type=click.Path(file_okay=False), help="MNIST IDX folder")
    @click.option("--queue", "queue_only", is_flag=True, help="only queue it for `flask worker`")
    def retrain(from_scratch, epochs, feedback_weight, base, csv_path, data_dir, queue_only):
        """Retrain on MNIST plus the confirmed flags; the gate decides whether it goes live."""
        from app.services import retraining

        try:
            run = retraining.queue_retrain(from_scratch, base, csv_path,
                                           data_dir or current_app.config.get("MNIST_DIR"),
                                           epochs, feedback_weight)
        except retraining.RetrainError as exc:
            raise click.ClickException(str(exc)) from exc
        click.echo(f"queued run {run.id} '{run.name}'")
        if queue_only:
            return
        if not retraining.claim(run.id):
            raise click.ClickException(f"run {run.id} was taken by a worker")
        try:
            retraining.execute(run, echo=click.echo)
        except Exception as exc:
            raise click.ClickException(f"run {run.id} failed: {exc}") from exc
        click.echo(_summary(run))

    @app.cli.command("worker")
    @click.option("--poll", type=float, default=2.0, show_default=True, help="seconds between checks")
    @click.option("--once", is_flag=True, help="execute at most one queued run, then exit")
    def worker(poll, once):
        """Execute queued training runs, one at a time (make run starts it beside gunicorn)."""
        import time

        from app.services import retraining

        retraining.fail_interrupted()
        click.echo("worker: waiting for queued training runs")
        purged_at = None
        while True:
            if current_app.config["RETENTION_DAYS"] and (
                    purged_at is None or time.monotonic() - purged_at >= 24 * 3600):
                purged_at = time.monotonic()
                _purge(current_app.config["RETENTION_DAYS"])
            run = retraining.next_queued()
            if run is not None and retraining.claim(run.id):
                click.echo(f"worker: run {run.id} '{run.name}'")
                try:
                    retraining.execute(run, echo=click.echo)
                except Exception as exc:  # noqa: BLE001 - recorded on the run; keep serving
                    click.echo(f"worker: run {run.id} failed: {exc}", err=True)
                if once:
                    return
            elif once:
                return
            db.session.remove()
            time.sleep(poll)

    @app.cli.command("purge")
    @click.option("--days", type=click.IntRange(min=1), default=None,
                  help="keep this many days [RETENTION_DAYS, 90]")
    def purge(days):
        """Forget the drawings of unflagged predictions past the retention period."""
        days = days or current_app.config["RETENTION_DAYS"]
        if not days:
            raise click.ClickException("RETENTION_DAYS is 0 (keep forever): pass --days N")
        _purge(days)

    models = AppGroup("models", help="Model versions: list, promote, roll back.")
    app.cli.add_command(models)

    @models.command("list")
    def models_list():
        """Every model version, newest first; the active one is marked."""
        from app.services import registry

        for v in registry.list_versions():
            acc = f"{v.test_accuracy:.4%}" if v.test_accuracy is not None else "-"
            mark = "*" if v.status == "active" else " "
            click.echo(f"{mark} {v.version:<34} {v.status:<9} {acc:>9}  {v.reason or ''}")

    @models.command("promote")
    @click.argument("version")
    def models_promote(version):
        """Make VERSION the active model (workers switch within seconds)."""
        _activate(version, "promoted by the admin")

    @models.command("rollback")
    @click.argument("version")
    def models_rollback(version):
        """Serve an earlier VERSION again."""
        _activate(version, "rolled back by the admin")

    @app.cli.command("hash-password")
    @click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
                  help="the admin password (asked for when not given)")
    def hash_password(password):
        """Print a hash of the admin password for ADMIN_PASSWORD_HASH."""
        from werkzeug.security import generate_password_hash

        if len(password) < 8:
            raise click.BadParameter("use at least 8 characters", param_hint="--password")
        click.echo(generate_password_hash(password))

    @app.cli.command("admin-hint")
    def admin_hint():
        """Say how to set the admin password when none is configured."""
        if not current_app.config.get("ADMIN_PASSWORD_HASH"):
            click.echo("No admin password is set: the dashboard is read-only. To review flags and\n"
                       "start training, set one and restart:\n"
                       '  export ADMIN_PASSWORD_HASH="$(.venv/bin/flask hash-password)"')

    @app.cli.command("predict")
    @click.argument("image", type=click.Path(exists=True, dir_okay=False))
    def predict(image):
        """Print the digit the served model sees in IMAGE (not stored)."""
        from app.services import drawings, predictions

        drawing = drawings.from_image_bytes(Path(image).read_bytes())
        result = predictions.predict(drawing, store=False)
        click.echo(f"{result.digit} ({result.confidence:.1%}) by {result.model_version} "
                   f"from {predictions.predictor().info.path}")


def _purge(days: int) -> None:
    from app.services.retention import purge

    count = purge(days)
    click.echo(f"purged the drawings of {count} unflagged prediction(s) older than {days} days")


def _get_run(run_id: int):
    from app.models import TrainingRun

    run = db.session.get(TrainingRun, run_id)
    if run is None:
        click.echo(f"no run {run_id}", err=True)
        sys.exit(1)
    return run


def _activate(version: str, reason: str) -> None:
    from app.services import registry

    try:
        v = registry.promote(version, reason)
    except registry.RegistryError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"{v.version} is active")

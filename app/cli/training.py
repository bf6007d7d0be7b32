"""`flask train`, `flask baselines`, `flask retrain`, `flask runs ...` and `flask seed`.

Each training is a job (`app.services.jobs`): run here in the foreground, or
queued with `--queue` for `flask worker`. One training at a time.
"""

from __future__ import annotations

import json
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from app.cli.common import app_command, group_command, run_job, run_report
from app.errors import NotFound
from app.extensions import db
from app.models import RunKind, RunStatus
from trainer.experiment import RunSpec

BUNDLED_RUN = "run.json"
DEFAULTS = RunSpec(name="")


def _data_options(f):
    for option in reversed(
        [
            click.option(
                "--dataset",
                default=None,
                show_default="mnist",
                help="mnist, uci-digits, csv, feedback, online (pen strokes of 90 writers) "
                "or negatives (drawings that are no digit); join with + to mix "
                "(e.g. mnist+online+negatives)",
            ),
            click.option(
                "--data-dir",
                type=click.Path(file_okay=False),
                help="MNIST IDX folder (default: $MNIST_DIR, then ../shared/data/mnist)",
            ),
            click.option(
                "--csv",
                "csv_path",
                type=click.Path(dir_okay=False),
                help="file for the csv dataset: label then 784 pixels per row",
            ),
            click.option(
                "--feedback-weight",
                type=click.IntRange(min=1),
                default=DEFAULTS.feedback_weight,
                show_default=True,
                help="how many times each flagged drawing repeats in a mixture",
            ),
            click.option(
                "--online-weight",
                type=click.IntRange(min=1),
                default=DEFAULTS.online_weight,
                show_default=True,
                help="how many renderings of each online drawing an epoch holds",
            ),
            click.option(
                "--negatives",
                type=click.IntRange(min=10),
                default=DEFAULTS.negatives,
                show_default=True,
                help="how many drawings that are no digit the negatives dataset makes",
            ),
            click.option("--seed", type=int, default=None, help="random seed [profile: 1]"),
            click.option("--name", default=None, help="the run's name [profile-dataset-time]"),
            click.option("--queue", is_flag=True, help="only queue it for `flask worker`"),
        ]
    ):
        f = option(f)
    return f


def _spec(
    profile,
    dataset,
    data_dir,
    csv_path,
    feedback_weight,
    online_weight,
    negatives,
    seed,
    name,
    **overrides,
) -> RunSpec:
    from trainer.experiment import BASELINE_SAMPLE, profile_config

    config = profile_config(profile, seed=seed, **overrides)
    return RunSpec(
        name=name or "",
        profile=profile,
        config=config,
        datasets=(dataset or "mnist").split("+"),
        data_dir=data_dir or current_app.config.get("MNIST_DIR"),
        csv_path=csv_path,
        feedback_weight=feedback_weight,
        online_weight=online_weight,
        negatives=negatives,
        baseline_sample=BASELINE_SAMPLE[profile],
    )


@app_command("train")
@click.option(
    "--profile",
    type=click.Choice(["quick", "full"]),
    default="full",
    show_default=True,
    help="quick: about a minute; full: the bundled model's recipe",
)
@_data_options
@click.option("--epochs", type=click.IntRange(min=0), default=None, help="[profile]")
@click.option(
    "--polish-epochs",
    type=click.IntRange(min=0),
    default=None,
    help="final low-learning-rate epochs with light augmentation [profile]",
)
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="[profile]")
@click.option(
    "--lr",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="peak learning rate [profile]",
)
@click.option(
    "--val-split",
    type=click.FloatRange(0, 0.9),
    default=None,
    help="share of training images held out for validation [profile]",
)
@click.option("--augment/--no-augment", default=None, help="[profile]")
@click.option(
    "--min-steps",
    type=click.IntRange(min=0),
    default=None,
    help="short datasets train more epochs to take at least this many steps [profile]",
)
@click.option(
    "--ensemble",
    type=click.IntRange(min=1, max=5),
    default=None,
    help="train N networks with different seeds, served as their average [1]",
)
@click.option(
    "--init-from",
    type=click.Path(exists=True),
    help="start from this trained model (a model.keras file or a model folder) "
    "instead of a new network: a fine-tuning",
)
@click.option(
    "--kfold",
    type=click.IntRange(min=0),
    default=0,
    help="also train K networks on K stratified folds and report each fold's accuracy",
)
@click.option(
    "--baselines/--no-baselines",
    default=True,
    show_default=True,
    help="train the classical baselines on the same split",
)
def train_command(
    profile,
    dataset,
    data_dir,
    csv_path,
    feedback_weight,
    online_weight,
    negatives,
    seed,
    name,
    queue,
    epochs,
    polish_epochs,
    batch_size,
    lr,
    val_split,
    augment,
    min_steps,
    ensemble,
    init_from,
    kfold,
    baselines,
):
    """Train the CNN, record the run in the database, export a candidate model.

    Flags given override the profile. The run's progress is written to the
    database as it goes; the served model is never replaced by a run.
    """
    if kfold == 1:
        raise click.BadParameter("use 0 (no k-fold) or at least 2", param_hint="--kfold")
    spec = _spec(
        profile,
        dataset,
        data_dir,
        csv_path,
        feedback_weight,
        online_weight,
        negatives,
        seed,
        name,
        epochs=epochs,
        polish_epochs=polish_epochs,
        batch_size=batch_size,
        lr=lr,
        val_split=val_split,
        augment=augment,
        min_steps=min_steps,
        ensemble=ensemble,
        init_from=_keras_file(init_from),
    )
    spec.kfold, spec.baselines = kfold, baselines
    run_job(spec, RunKind.CNN, queue=queue)


def _keras_file(path: str | None) -> str | None:
    if path is None:
        return None
    keras_file = Path(path) / "model.keras" if Path(path).is_dir() else Path(path)
    if keras_file.suffix != ".keras" or not keras_file.is_file():
        raise click.BadParameter(
            f"{path} is neither a .keras file nor a folder holding model.keras",
            param_hint="--init-from",
        )
    return str(keras_file.resolve())


@app_command("baselines")
@click.option(
    "--profile",
    type=click.Choice(["quick", "full"]),
    default="full",
    show_default=True,
    help="sets the sub-sample size: quick 2,000, full 10,000",
)
@_data_options
@click.option(
    "--sample",
    type=click.IntRange(min=10),
    default=None,
    help="training images per baseline (a stratified sub-sample)",
)
def baselines(
    profile,
    dataset,
    data_dir,
    csv_path,
    feedback_weight,
    online_weight,
    negatives,
    seed,
    name,
    queue,
    sample,
):
    """Train and test only the classical baselines; recorded as a run."""
    spec = _spec(
        profile, dataset, data_dir, csv_path, feedback_weight, online_weight, negatives, seed, name
    )
    spec.train_cnn = False
    if sample:
        spec.baseline_sample = sample
    run_job(spec, RunKind.BASELINES, queue=queue)


@app_command("retrain")
@click.option(
    "--from-scratch", is_flag=True, help="train a new network instead of fine-tuning the active one"
)
@click.option(
    "--epochs", type=click.IntRange(min=1), default=None, help="[fine-tune: 2; scratch: 20]"
)
@click.option(
    "--feedback-weight",
    type=click.IntRange(min=1),
    default=DEFAULTS.feedback_weight,
    show_default=True,
    help="how many times each flagged drawing repeats",
)
@click.option(
    "--base",
    type=click.Choice(["mnist", "csv", "uci-digits"]),
    default="mnist",
    show_default=True,
    help="the data the flags are mixed into",
)
@click.option("--csv", "csv_path", type=click.Path(dir_okay=False), help="file for --base csv")
@click.option("--data-dir", type=click.Path(file_okay=False), help="MNIST IDX folder")
@click.option("--queue", is_flag=True, help="only queue it for `flask worker`")
def retrain(from_scratch, epochs, feedback_weight, base, csv_path, data_dir, queue):
    """Retrain on MNIST plus the confirmed flags; the gate decides whether it goes live."""
    from app.services import retraining

    spec, extra = retraining.retrain_spec(
        from_scratch,
        base,
        csv_path,
        data_dir or current_app.config.get("MNIST_DIR"),
        epochs,
        feedback_weight,
    )
    run_job(spec, RunKind.RETRAIN, extra, queue=queue)


runs = AppGroup("runs", help="List, show, export and import training runs.")


def _get_run(run_id: int):
    from app.models import TrainingRun

    run = db.session.get(TrainingRun, run_id)
    if run is None:
        raise NotFound(f"no run {run_id}")
    return run


@group_command(runs, "list")
def runs_list():
    """Every run, newest first."""
    from app.models import TrainingRun

    rows = db.session.scalars(select(TrainingRun).order_by(TrainingRun.id.desc())).all()
    if not rows:
        click.echo("no runs yet: try `flask train --profile quick`")
        return
    click.echo(
        f"{'id':>4}  {'kind':<9} {'status':<9} {'accuracy':>9} {'macro F1':>9} "
        f"{'time':>7}  {'dataset':<16} name"
    )
    for run in rows:
        acc = f"{run.test_accuracy:.4%}" if run.test_accuracy is not None else "-"
        f1 = f"{run.macro_f1:.4f}" if run.macro_f1 is not None else "-"
        took = (
            f"{run.duration_seconds:.0f}s"
            if run.duration_seconds is not None
            else (f"{run.epoch}/{run.total_epochs}" if run.status == RunStatus.RUNNING else "-")
        )
        click.echo(
            f"{run.id:>4}  {run.kind:<9} {run.status:<9} {acc:>9} {f1:>9} {took:>7}  "
            f"{run.dataset:<16} {run.name}"
        )


@group_command(runs, "show")
@click.argument("run_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="the whole record as JSON")
def runs_show(run_id, as_json):
    """One run in detail: metrics, report, k-fold, baselines, artifacts."""
    from app.services.training import run_record

    run = _get_run(run_id)
    if as_json:
        click.echo(json.dumps(run_record(run), indent=2))
        return
    click.echo(run_report(run))
    if run.error:
        click.echo(f"error: {run.error}")
    if run.owner:
        click.echo(f"executed by: {run.owner}")
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


@group_command(runs, "export")
@click.argument("run_id", type=int)
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def runs_export(run_id, path):
    """Write a run's whole record to PATH as JSON."""
    from app.services.training import run_record

    Path(path).write_text(json.dumps(run_record(_get_run(run_id)), indent=1) + "\n")
    click.echo(f"wrote {path}")


@group_command(runs, "import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
def runs_import(path):
    """Store a run record written by `flask runs export` (once per model version)."""
    from app.services.training import import_file

    try:
        run, created = import_file(Path(path))
    except (ValueError, KeyError, TypeError) as exc:
        raise click.ClickException(f"{path} is not a run record: {exc}") from exc
    click.echo(f"{'imported' if created else 'already stored'}: run {run.id} '{run.name}'")


@app_command("seed")
def seed():
    """Store the bundled model's training run and version, if they are not stored yet."""
    from app.services.registry import register_bundled
    from app.services.training import import_file

    path = Path(current_app.config["MODEL_DIR"]) / BUNDLED_RUN
    run = None
    if path.exists():
        run, created = import_file(path)
        click.echo(f"{'seeded' if created else 'already seeded'}: run {run.id} '{run.name}'")
    version = register_bundled(run.id if run else None)
    click.echo(f"model {version.version}: {version.status}")


COMMANDS = (train_command, baselines, retrain, runs, seed)

"""What the command groups share: one way to refuse, and running a training job."""

from __future__ import annotations

from functools import wraps

import click
from flask.cli import with_appcontext

from app.errors import AppError


def refusals(command):
    """Turn a service's refusal (`AppError`) into the CLI's error: message and exit status 1."""

    @wraps(command)
    def guarded(*args, **kwargs):
        from trainer.preprocessing import PreprocessError

        try:
            return command(*args, **kwargs)
        except (AppError, PreprocessError) as exc:
            raise click.ClickException(str(exc)) from exc

    return guarded


def app_command(name: str, **attrs):
    """A top-level command that runs inside the app and refuses like every other."""

    def decorate(f):
        return click.command(name, **attrs)(with_appcontext(refusals(f)))

    return decorate


def group_command(group, name: str, **attrs):
    """A command of an `AppGroup` (which brings the app context) that refuses like every other."""

    def decorate(f):
        return group.command(name, **attrs)(refusals(f))

    return decorate


def run_job(spec, kind: str, extra: dict | None = None, queue: bool = False) -> None:
    """Queue a training job for `flask worker`, or claim it and run it here in the foreground."""
    from app.services import jobs

    if queue:
        run = jobs.submit(spec, kind, extra)
        click.echo(f"queued run {run.id} '{run.name}': `flask worker` runs it")
        return
    run = jobs.start(spec, kind, extra)
    try:
        jobs.execute(run, echo=click.echo)
    except Exception as exc:  # recorded on the run; said here once
        raise click.ClickException(f"run {run.id} failed: {exc}") from exc
    click.echo(run_report(run))


def run_report(run) -> str:
    lines = [f"run {run.id} '{run.name}' {run.status} in {run.duration_seconds or 0:.0f}s"]
    if run.test_accuracy is not None:
        lines.append(
            f"test accuracy {run.test_accuracy:.4%}  loss {run.test_loss:.4f}  "
            f"macro F1 {run.macro_f1:.4f}  ROC AUC {run.metrics['macro']['roc_auc']:.5f}"
        )
    for source, score in (run.metrics or {}).get("holdout", {}).items():
        if score.get("accuracy") is not None:
            lines.append(
                f"  held out {source:<18} {score['accuracy']:.4%} of {score['samples']} "
                f"(refused {score['refused']:.2%})"
            )
        else:
            lines.append(
                f"  held out {source:<18} refused {score['refused']:.2%} of {score['samples']}"
            )
    calibration = (run.metrics or {}).get("calibration")
    if calibration:
        ece = calibration["ece"].get("test", {})
        lines.append(
            f"calibration: temperature {calibration['temperature']:.2f}, test ECE "
            f"{ece.get('before', 0):.4f} -> {ece.get('after', 0):.4f}"
        )
    gate = (run.metrics or {}).get("gate")
    if gate:
        lines.append(
            f"gate: {'promoted' if gate['promoted'] else 'kept as candidate'}: {gate['reason']}"
        )
    if run.kfold:
        lines.append(
            f"{run.kfold['k']}-fold accuracy {run.kfold['mean']:.4%} ± {run.kfold['std']:.4%}"
        )
    for b in run.baselines:
        lines.append(
            f"  {b.name:<20} {b.accuracy:.4f}  (F1 {b.macro_f1:.4f}, "
            f"{b.train_samples} training images)"
        )
    if run.suspect:
        lines.append(f"SUSPECT: {run.suspect}")
    if run.artifacts:
        active = (gate or {}).get("promoted")
        lines.append(
            f"candidate model {run.model_version} in {run.artifacts['dir']} "
            + (
                "(promoted: now served)"
                if active
                else "(not active: the served model is unchanged)"
            )
        )
    return "\n".join(lines)

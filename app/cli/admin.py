"""`flask hash-password`, `flask admin-hint`, `flask reset-limits` and `flask predict`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app

from app.cli.common import app_command


@app_command("hash-password")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="the admin password (asked for when not given)",
)
def hash_password(password):
    """Print a hash of the admin password for ADMIN_PASSWORD_HASH."""
    from werkzeug.security import generate_password_hash

    if len(password) < 8:
        raise click.BadParameter("use at least 8 characters", param_hint="--password")
    click.echo(generate_password_hash(password))


@app_command("admin-hint")
def admin_hint():
    """Say how to set the admin password when none is configured."""
    if not current_app.config.get("ADMIN_PASSWORD_HASH"):
        click.echo(
            "No admin password is set: the dashboard is read-only. To review flags and\n"
            "start training, set one and restart:\n"
            '  export ADMIN_PASSWORD_HASH="$(.venv/bin/flask hash-password)"'
        )


@app_command("reset-limits")
def reset_limits():
    """Forget every request counter: lift the sign-in back-off (after an attack locked the
    admin out) and every client's limits and storage quota, on every worker and host."""
    from app.extensions import limiter

    limiter.reset()
    click.echo("every request limit and storage quota starts again from zero")


@app_command("predict")
@click.argument("image", type=click.Path(exists=True, dir_okay=False))
def predict(image):
    """Print the digit the served model sees in IMAGE (not stored)."""
    from app.services import drawings, predictions, serving

    result = predictions.predict(drawings.from_image_bytes(Path(image).read_bytes()), store=False)
    click.echo(
        f"{result.digit} ({result.confidence:.1%}, {result.verdict}) by "
        f"{result.model_version} from {serving.predictor().info.path}"
    )


COMMANDS = (hash_password, admin_hint, reset_limits, predict)

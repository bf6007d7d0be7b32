"""`flask models list|promote|rollback`: the model versions."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from app.cli.common import group_command

models = AppGroup("models", help="Model versions: list, promote, roll back.")


@group_command(models, "list")
def models_list():
    """Every model version, newest first; the active one is marked."""
    from app.services import registry

    for v in registry.list_versions():
        acc = f"{v.test_accuracy:.4%}" if v.test_accuracy is not None else "-"
        mark = "*" if v.status == "active" else " "
        click.echo(f"{mark} {v.version:<34} {v.status:<9} {acc:>9}  {v.reason or ''}")


def _activate(version: str, reason: str) -> None:
    from app.services import registry

    v = registry.promote(version, reason)
    click.echo(f"{v.version} is active")


@group_command(models, "promote")
@click.argument("version")
def models_promote(version):
    """Make VERSION the active model (workers switch within seconds)."""
    _activate(version, "promoted by the admin")


@group_command(models, "rollback")
@click.argument("version")
def models_rollback(version):
    """Serve an earlier VERSION again."""
    _activate(version, "rolled back by the admin")


COMMANDS = (models,)

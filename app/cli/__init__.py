"""Command-line tools, one module per group of commands.

- `training`: `flask train`, `flask baselines`, `flask retrain`, `flask runs ...`, `flask seed`
- `models`: `flask models list|promote|rollback`
- `worker`: `flask worker`, `flask purge`
- `admin`: `flask hash-password`, `flask admin-hint`, `flask predict`

Every command refuses the same way: a `click.ClickException` with the
message a service gave (`common.refusals`), exit status 1.
"""

from __future__ import annotations

from flask import Flask


def register_commands(app: Flask) -> None:
    from app.cli import admin, models, training, worker

    for module in (training, models, worker, admin):
        for command in module.COMMANDS:
            app.cli.add_command(command)

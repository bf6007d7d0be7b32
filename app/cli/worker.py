"""`flask worker` (executes queued training jobs) and `flask purge` (retention)."""

from __future__ import annotations

import time

import click
from flask import current_app

from app.cli.common import app_command
from app.models import RunKind


def _purge(days: int) -> None:
    from app.services.retention import purge as forget

    count = forget(days)
    click.echo(f"purged the drawings of {count} unflagged prediction(s) older than {days} days")


@app_command("worker")
@click.option(
    "--poll",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="seconds between checks",
)
@click.option("--once", is_flag=True, help="execute at most one queued job, then exit")
@click.option(
    "--kind",
    "kinds",
    type=click.Choice(list(RunKind)),
    multiple=True,
    help="only jobs of this kind (repeat for several) [all]",
)
def worker(poll, once, kinds):
    """Execute queued training jobs, one at a time (make run keeps one running).

    Also forgets old drawings once a day (RETENTION_DAYS).
    """
    from app.services import jobs

    kinds = kinds or tuple(RunKind)
    click.echo(f"worker {jobs.owner_name()}: waiting for queued {', '.join(kinds)} jobs")
    purged_at: list[float] = []

    def daily_purge() -> None:
        days = current_app.config["RETENTION_DAYS"]
        if days and (not purged_at or time.monotonic() - purged_at[-1] >= 24 * 3600):
            purged_at.append(time.monotonic())
            _purge(days)

    jobs.work(kinds, poll=poll, once=once, echo=click.echo, between=daily_purge)


@app_command("purge")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    default=None,
    help="keep this many days [RETENTION_DAYS, 90]",
)
def purge(days):
    """Forget the drawings of unflagged predictions past the retention period."""
    days = days or current_app.config["RETENTION_DAYS"]
    if not days:
        raise click.ClickException("RETENTION_DAYS is 0 (keep forever): pass --days N")
    _purge(days)


COMMANDS = (worker, purge)

"""`flask models list|promote|rollback`: the model versions."""

from __future__ import annotations

import getpass
import socket

import click
from flask.cli import AppGroup

from app.cli.common import group_command
from app.models import VersionStatus

models = AppGroup("models", help="Model versions: list, promote, roll back.")

GATE_WORDS = {True: "gate passed", False: "gate REJECTED", None: "not gated"}


@group_command(models, "list")
def models_list():
    """Every model version, newest first; the active one is marked.

    Each shows its MNIST test figure on the yardstick (when measured), the
    gate's verdict and, when it was ever active, who made it active, when and why.
    """
    from app.models import as_utc
    from app.services import registry, yardstick

    for v in registry.list_versions():
        mnist = yardstick.headline(yardstick.known(v), "mnist")
        acc = f"MNIST test {mnist:.2%}" if mnist is not None else "not measured"
        mark = "*" if v.status == VersionStatus.ACTIVE else " "
        click.echo(
            f"{mark} {v.version:<34} {v.status:<9} {acc:>17}  "
            f"{GATE_WORDS[v.gate_passed]:<13}  {v.reason or ''}"
        )
        activated = as_utc(v.activated_at)
        if v.activation and activated is not None:
            when = activated.strftime("%Y-%m-%d %H:%M UTC")
            click.echo(f"    {v.activation} {when} by {v.activated_by}: {v.activation_reason}")


def _who() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (a container)
        user = "unknown"
    return f"{user}@{socket.gethostname()} (flask models)"


def _activate(version: str, reason: str, override_gate: bool) -> None:
    from app.services import registry

    v = registry.get_version(version)
    if v is not None and v.gate_passed is False:
        click.echo(f"warning: the gate rejected {version}: {v.reason}", err=True)
    v = registry.promote(version, reason, by=_who(), gate_override=override_gate)
    click.echo(f"{v.version} is active ({v.activation}: {v.activation_reason})")


REASON = click.option(
    "--reason",
    "-r",
    required=True,
    help="why (stored and shown on the dashboard beside the gate's verdict)",
)
OVERRIDE = click.option(
    "--override-gate", is_flag=True, help="go live although the gate rejected this version"
)


@group_command(models, "promote")
@click.argument("version")
@REASON
@OVERRIDE
def models_promote(version, reason, override_gate):
    """Make VERSION the active model (workers switch within seconds)."""
    _activate(version, reason, override_gate)


@group_command(models, "rollback")
@click.argument("version")
@REASON
@OVERRIDE
def models_rollback(version, reason, override_gate):
    """Serve an earlier VERSION again."""
    _activate(version, reason, override_gate)


@group_command(models, "measure")
@click.argument("version")
@click.option(
    "--save",
    is_flag=True,
    help="also write the measurement into the version's model.json, so that a "
    "fresh install of that folder needs no measuring",
)
@click.option(
    "--choose-rule",
    is_flag=True,
    help="first choose the verdict's thresholds on the held-out writers, as "
    "training does, and write them into model.json (for a model trained "
    "before rules were chosen)",
)
def models_measure(version, save, choose_rule):
    """Measure VERSION on the suite every model is judged on, and store it."""
    from app.services import registry, yardstick
    from trainer.yardstick import label

    v = registry.find_version(version)
    if v is None:
        raise click.ClickException(f"no model version {version!r}")
    if choose_rule:
        rule = yardstick.choose_rule_for(v)
        click.echo(
            f"verdict rule: sure at {rule.sure_at:.4f}, not a digit at "
            f"{rule.reject_at:.2f} ({rule.sure_right:.2%} of sure answers right, "
            f"{rule.coverage:.2%} of digits sure, on {rule.chosen_on})"
        )
    measured = yardstick.ensure(v, fresh=True)
    for name, part in measured["parts"].items():
        right = "-" if part.get("right") is None else f"{part['right']:.2%}"
        sure = (
            ""
            if part.get("sure_right") is None
            else f"  sure {part['sure']:.2%}, right when sure {part['sure_right']:.2%}"
        )
        click.echo(f"{label(name):<58} {part['samples']:>6}  {right:>7}{sure}")
    if save:
        yardstick.save_to_folder(v)
        click.echo(f"written into {v.path}/model.json")


COMMANDS = (models,)

"""Every model version measured as served on the one fixed suite (`trainer.yardstick`).

The suite's fixed parts (MNIST test, held-out writers, drawings that are no
digit) are measured once per version and stored on it; the held-out flags
change as the admin confirms more, so that part is measured whenever two
versions are compared. Everything runs through LiteRT, as the app serves it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from flask import current_app

from app.extensions import db
from app.models import ModelVersion
from app.services.predictor import Predictor
from trainer import yardstick
from trainer.yardstick import SUITE_VERSION, worse_parts

# The gate's margin: a candidate may be at most this much (0.1 points) below
# the active model on any part of the suite.
MAX_DROP = 0.001


def _fixed_sets() -> dict:
    config = current_app.config
    return yardstick.fixed_sets(config.get("MNIST_DIR"))


def _flags_set() -> dict:
    from app.services import training

    held = training.feedback_dataset().test
    return {"flags": (held.images, held.labels)} if len(held) else {}


def _measure(path: str, sets: dict) -> dict:
    predictor = Predictor(path)
    return yardstick.measure(predictor.probabilities_many, predictor.info.rule, sets)


def _current(found: object) -> dict | None:
    """A measurement, if it was made on this suite."""
    return found if isinstance(found, dict) and found.get("suite") == SUITE_VERSION else None


def stored(version: ModelVersion) -> dict | None:
    """The version's measurement of the fixed parts, if it was made on this suite."""
    return _current(version.yardstick)


def from_model_json(path: str | Path) -> dict | None:
    """A measurement shipped in a model folder's model.json (the bundled model's)."""
    try:
        return _current(json.loads((Path(path) / "model.json").read_text()).get("yardstick"))
    except (OSError, ValueError):
        return None


def known(version: ModelVersion) -> dict | None:
    """What is known of the version on the fixed parts without measuring: stored, or
    shipped in its model.json (a version registered before measurements were kept)."""
    return stored(version) or from_model_json(version.path)


def ensure(version: ModelVersion, fresh: bool = False) -> dict:
    """The version measured on the fixed parts: known, or measured now; stored either way.

    `fresh`: measured now whatever was stored.
    """
    found = None if fresh else known(version)
    if found is None:
        found = {
            **_measure(version.path, _fixed_sets()),
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    if version.yardstick != found:
        version.yardstick = found
        db.session.commit()
    return found


def choose_rule_for(version: ModelVersion):
    """Choose a version's verdict rule on the held-out writers, through LiteRT; into model.json.

    For a model trained before rules were chosen; training chooses its own.
    """
    predictor = Predictor(version.path)
    rule = yardstick.rule_on_writers(
        predictor.probabilities_many, current_app.config.get("MNIST_DIR")
    )
    _update_model_json(version.path, verdict_rule=rule.as_json())
    return rule


def save_to_folder(version: ModelVersion) -> None:
    """Write the stored measurement into the version's model.json."""
    _update_model_json(version.path, yardstick=version.yardstick)


def _update_model_json(path: str, **fields) -> None:
    meta_path = Path(path) / "model.json"
    meta = json.loads(meta_path.read_text())
    meta.update(fields)
    staging = meta_path.with_suffix(".json.tmp")
    staging.write_text(json.dumps(meta, indent=2) + "\n")
    staging.replace(meta_path)


def with_flags(version: ModelVersion, flags: dict | None = None) -> dict:
    """The whole suite for one version: its fixed parts and the held-out flags now.

    `flags`: the held-out flags' set when the caller has it already (`_flags_set`).
    """
    found = ensure(version)
    flags = _flags_set() if flags is None else flags
    if not flags:
        return found
    measured = _measure(version.path, flags)
    return {**found, "parts": {**found["parts"], **measured["parts"]}}


def compare_versions(candidate: ModelVersion, active: ModelVersion) -> tuple[dict, dict, list[str]]:
    """Both versions on the whole suite, and where the candidate is worse by more than MAX_DROP."""
    flags = _flags_set()
    c, a = with_flags(candidate, flags), with_flags(active, flags)
    return c, a, worse_parts(c, a, MAX_DROP)


def headline(measured: dict | None, part: str) -> float | None:
    """One part's `right` share from a stored measurement (None: not measured)."""
    if not measured:
        return None
    value = measured.get("parts", {}).get(part, {}).get("right")
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None


def headlines(version: ModelVersion) -> dict | None:
    """A version's headline figures for a table row: MNIST test, the worst held-out
    writers' source, drawings that are no digit refused (None: not measured)."""
    measured = known(version)
    if measured is None:
        return None
    figures = [headline(measured, name) for name in yardstick.WRITERS]
    writers = [w for w in figures if w is not None]
    return {
        "mnist": headline(measured, "mnist"),
        "writers": min(writers) if writers else None,
        "no_digit": headline(measured, "negatives:letters"),
    }


def rows(measured: dict | None, against: dict | None = None) -> list[dict]:
    """The suite's parts for a page, in the suite's order: one version, or it beside another.

    Each row: the part's label, its `right` share (None: not measured), the
    other version's, the change, whether that change is a drop past
    MAX_DROP, and how often its sure answers were right.
    """
    shown = []
    for part in yardstick.PARTS:
        mine = ((measured or {}).get("parts") or {}).get(part.name) or {}
        theirs = ((against or {}).get("parts") or {}).get(part.name) or {}
        if not mine and not theirs:
            continue
        right, other = mine.get("right"), theirs.get("right")
        diff = None if right is None or other is None else right - other
        shown.append(
            {
                "name": part.name,
                "label": part.label,
                "digits": part.digits,
                "samples": mine.get("samples"),
                "right": right,
                "against": other,
                "diff": diff,
                "worse": diff is not None and diff < -MAX_DROP - 1e-12,
                "sure": mine.get("sure"),
                "sure_right": mine.get("sure_right"),
            }
        )
    return shown

"""Copies of the bundled model with changed metadata, for tests that need another verdict."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from app.config import Config


def model_copy(folder: Path, **meta) -> Path:
    """The bundled model's files in `folder`, its model.json updated with `meta`."""
    shutil.copytree(Config.MODEL_DIR, folder)
    path = folder / "model.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), **meta}))
    return folder


def soft_model(tmp_path: Path) -> Path:
    """The bundled network with a much softer calibration: what it reads it is seldom sure of."""
    return model_copy(tmp_path / "soft-model", temperature=6.0)

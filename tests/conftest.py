"""Fixtures: a fresh migrated SQLite file per test, the bundled model, samples."""

from __future__ import annotations

import base64
import io
import os
from pathlib import Path

import numpy as np
import pytest
from flask_migrate import upgrade
from PIL import Image

from app import create_app

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


def migrated_app(tmp_path, **overrides):
    """An app on a fresh, migrated SQLite file in tmp_path; `overrides` go into its config."""
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'test.sqlite3'}",
        "CANDIDATES_DIR": str(tmp_path / "models"),
        **overrides,
    })
    with app.app_context():
        upgrade()
    return app


def subprocess_env(app, **extra: str) -> dict[str, str]:
    """The environment for a `flask` or gunicorn process on the same database as `app`."""
    return {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
            "CANDIDATES_DIR": app.config["CANDIDATES_DIR"], **extra}


@pytest.fixture
def app(tmp_path):
    return migrated_app(tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def mnist_sample():
    """400 MNIST test digits (40 of each), as 28x28 floats and labels."""
    with np.load(FIXTURES / "mnist_test_sample.npz") as data:
        return data["images"].astype(np.float32) / 255.0, data["labels"].astype(np.int64)


def page_png(digit28: np.ndarray, size: int = 280, box: tuple[int, int, int] = (100, 40, 60)) -> bytes:
    """A 28x28 digit drawn dark on white on a size x size page (long side, left, top)."""
    long_side, left, top = box
    ink = Image.fromarray(np.uint8(digit28 * 255))
    ink = ink.crop(ink.getbbox())
    scale = long_side / max(ink.size)
    ink = ink.resize((max(1, round(ink.width * scale)), max(1, round(ink.height * scale))),
                     Image.Resampling.BICUBIC)
    page = Image.new("L", (size, size), 0)
    page.paste(ink, (left, top))
    buffer = io.BytesIO()
    Image.eval(page, lambda v: 255 - v).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()

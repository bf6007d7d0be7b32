"""Fixtures: a fresh migrated database per test, the bundled model, samples.

Tests run on SQLite. Those marked `@pytest.mark.databases("sqlite",
"postgresql")` (or whose module sets that `pytestmark`) run on both: the
PostgreSQL runs use a throwaway server from Debian's packages, started once
per session on a free loopback port, with a fresh database for each test.
"""

from __future__ import annotations

import base64
import glob
import io
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from flask_migrate import upgrade
from PIL import Image

from app import create_app

# Fixtures kept beside the helpers they use, offered to every test module.
pytest_plugins = ["tests.utils.browser"]

FIXTURES = Path(__file__).parent / "fixtures"
# Apps made without an instance folder of their own (and the servers tests
# start) keep theirs here, never in the work tree.
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="digitpad-instance-"))
ROOT = Path(__file__).resolve().parent.parent


def migrated_app(tmp_path, database_url: str | None = None, **overrides):
    """An app on a fresh, migrated database (a SQLite file in tmp_path unless a URL is given)."""
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url or f"sqlite:///{tmp_path / 'test.sqlite3'}",
            "CANDIDATES_DIR": str(tmp_path / "models"),
            "MODEL_CACHE_DIR": str(tmp_path / "model-cache"),
            "RATELIMIT_STORAGE_URI": f"sqlite:///{tmp_path / 'ratelimits.sqlite3'}",
            **overrides,
        }
    )
    with app.app_context():
        upgrade()
    _apps.append(app)
    return app


_apps: list = []


def _dispose_apps() -> None:
    """Close every test app's pooled connections."""
    from app.extensions import db

    while _apps:
        with _apps.pop().app_context():
            db.engine.dispose()


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    _dispose_apps()


# ------------------------------------------------------------------ PostgreSQL
def pytest_configure(config):
    config.addinivalue_line(
        "markers", "databases(*names): run the test on each database (sqlite, postgresql)"
    )


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("databases")
    if marker and "database_url" in metafunc.fixturenames:
        metafunc.parametrize("db_backend", marker.args, scope="function")


@pytest.fixture
def db_backend():
    return "sqlite"


class PostgresServer:
    """A throwaway PostgreSQL cluster (initdb refuses root: then it runs as `postgres`)."""

    def __init__(self):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
        if not found:
            raise RuntimeError(
                "PostgreSQL is not installed: `make test` installs Debian's "
                "postgresql package (bash .ci/ensure-packages)"
            )
        self.bin = Path(found[-1]).parent
        self.dir = Path(tempfile.mkdtemp(prefix="digitpad-pg-"))
        self.as_user = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self.as_user = ["runuser", "-u", "postgres", "--"]
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._run(
            "initdb",
            "-D",
            str(self.dir / "data"),
            "-A",
            "trust",
            "-U",
            "postgres",
            "--no-sync",
            "-E",
            "UTF8",
        )
        self.start()
        self._names = itertools.count(1)

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.dir / "data"),
            "-w",
            "-l",
            str(self.dir / "log"),
            "-o",
            f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            "start",
        )

    def pause(self) -> None:
        """Stop the server, keeping its data (`start` brings it back)."""
        self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "fast", "-w", "stop")

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            [*self.as_user, str(self.bin / tool), *args],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as connection:
            connection.execute(sql)

    def create_database(self) -> str:
        name = f"test_{os.getpid()}_{next(self._names)}"
        self._admin(f'CREATE DATABASE "{name}"')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        try:
            if (self.dir / "data" / "postmaster.pid").exists():
                self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "-w", "stop")
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres():
    server = PostgresServer()
    yield server
    server.stop()


@pytest.fixture
def database_url(request, db_backend, tmp_path):
    """A fresh, empty database of the test's backend."""
    if db_backend == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.sqlite3'}"
        return
    server = request.getfixturevalue("postgres")
    name = server.create_database()
    yield server.url(name)
    _dispose_apps()
    server.drop_database(name)


def subprocess_env(app, **extra: str) -> dict[str, str]:
    """The environment for a `flask` or gunicorn process on the same database as `app`."""
    return {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CANDIDATES_DIR": app.config["CANDIDATES_DIR"],
        **extra,
    }


@pytest.fixture
def app(tmp_path, database_url):
    return migrated_app(tmp_path, database_url)


@pytest.fixture
def seeded(app, runner):
    """The bundled model seeded as the active version, re-checked on every request; its name."""
    from app.services import serving

    app.config["MODEL_CHECK_SECONDS"] = 0
    assert runner.invoke(args=["seed"]).exit_code == 0
    with app.app_context():
        return serving.active_version().version


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


def page_png(
    digit28: np.ndarray, size: int = 280, box: tuple[int, int, int] = (100, 40, 60)
) -> bytes:
    """A 28x28 digit drawn dark on white on a size x size page (long side, left, top)."""
    long_side, left, top = box
    ink = Image.fromarray(np.uint8(digit28 * 255))
    ink = ink.crop(ink.getbbox())
    scale = long_side / max(ink.size)
    ink = ink.resize(
        (max(1, round(ink.width * scale)), max(1, round(ink.height * scale))),
        Image.Resampling.BICUBIC,
    )
    page = Image.new("L", (size, size), 0)
    page.paste(ink, (left, top))
    buffer = io.BytesIO()
    Image.eval(page, lambda v: 255 - v).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()

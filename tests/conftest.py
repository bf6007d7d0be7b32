"""Fixtures: a fresh migrated database per test, the bundled model, samples.

Tests run on SQLite. Those marked `@pytest.mark.databases("sqlite",
"postgresql")` (or whose module sets that `pytestmark`) run on both: the
PostgreSQL runs use a throwaway server from Debian's packages, started once
per session on a free loopback port, with a fresh database for each test.
"""

from __future__ import annotations

import numpy as np
import pytest

from tests.utils.apps import FIXTURES, PostgresServer, dispose_apps, migrated_app

# Fixtures kept beside the helpers they use, offered to every test module.
pytest_plugins = ["tests.utils.browser"]


@pytest.fixture(autouse=True)
def _close_connections():
    yield
    dispose_apps()


# ------------------------------------------------------------------ PostgreSQL
def pytest_configure(config):
    config.addinivalue_line(
        "markers", "databases(*names): run the test on each database (sqlite, postgresql)"
    )


def pytest_generate_tests(metafunc):
    marker = metafunc.definition.get_closest_marker("databases")
    if marker and "database_url" in metafunc.fixturenames:
        backends = [
            pytest.param(name, marks=pytest.mark.postgresql) if name == "postgresql" else name
            for name in marker.args
        ]
        metafunc.parametrize("db_backend", backends, scope="function")


def pytest_collection_modifyitems(items):
    # A test that asks for the server itself needs PostgreSQL as much as one run on it.
    for item in items:
        if "postgres" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.postgresql)


@pytest.fixture
def db_backend():
    return "sqlite"


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
    dispose_apps()
    server.drop_database(name)


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

"""Test apps on fresh databases, the processes they start, a throwaway PostgreSQL."""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from flask_migrate import upgrade

from app import create_app

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
# Apps made without an instance folder of their own (and the servers tests
# start) keep theirs here, never in the work tree.
os.environ.setdefault("INSTANCE_PATH", tempfile.mkdtemp(prefix="digitpad-instance-"))


def migrated_app(tmp_path, database_url: str | None = None, **overrides):
    """An app on a fresh, migrated database (a SQLite file in tmp_path unless a URL is given).

    An empty database starts as a copy of one the migrations built once per
    test process (a file copy for SQLite, `CREATE DATABASE ... TEMPLATE` for
    PostgreSQL); one that holds tables already is upgraded in place.
    """
    url = database_url or f"sqlite:///{tmp_path / 'test.sqlite3'}"
    _from_template(url)
    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": url,
            "CANDIDATES_DIR": str(tmp_path / "models"),
            "MODEL_CACHE_DIR": str(tmp_path / "model-cache"),
            "RATELIMIT_STORAGE_URI": f"sqlite:///{tmp_path / 'ratelimits.sqlite3'}",
            **overrides,
        }
    )
    with app.app_context():
        upgrade()  # nothing to do on a copy of the template
    _apps.append(app)
    return app


# The migrated template of each database server, built once per test process.
_templates: dict[str, str] = {}


def _migrate(url: str) -> None:
    from app.extensions import db

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()


def _from_template(url: str) -> None:
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if path.exists() and path.stat().st_size:
            return
        if "sqlite" not in _templates:
            template = Path(tempfile.mkdtemp(prefix="digitpad-template-")) / "template.sqlite3"
            _migrate(f"sqlite:///{template}")
            _templates["sqlite"] = str(template)
        shutil.copyfile(_templates["sqlite"], path)
    elif url.startswith("postgresql://"):
        import psycopg

        server, name = url.rsplit("/", 1)
        with psycopg.connect(url, autocommit=True) as connection:
            if connection.execute(
                "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
            ).fetchone()[0]:
                return
        template = f"template_{os.getpid()}"
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            if server not in _templates:
                admin.execute(f'DROP DATABASE IF EXISTS "{template}"')
                admin.execute(f'CREATE DATABASE "{template}"')
                _migrate(f"{server}/{template}")
                _templates[server] = template
            admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')


_apps: list = []


def dispose_apps() -> None:
    """Close every test app's pooled connections."""
    from app.extensions import db

    while _apps:
        with _apps.pop().app_context():
            db.engine.dispose()


def subprocess_env(app, **extra: str) -> dict[str, str]:
    """The environment for a `flask` or gunicorn process on the same database as `app`."""
    return {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "CANDIDATES_DIR": app.config["CANDIDATES_DIR"],
        **extra,
    }


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

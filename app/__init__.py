"""DigitPad: draw a digit, see what the network thinks, flag it if wrong."""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import time
from pathlib import Path

from flask import Flask
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from app import assets
from app.config import Config
from app.extensions import csrf, db, limiter, migrate


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record):
    """Several gunicorn workers share the file: WAL (the busy timeout is set on connect).

    synchronous=NORMAL: a commit does not wait for the disk, so the write lock
    is held for microseconds, not a flush. With WAL that never corrupts the
    file and survives any process crash (a killed worker loses nothing); only a
    power cut or kernel crash may lose the last moments' writes.
    SQLITE_SYNCHRONOUS=FULL flushes every commit.
    """
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        # A connection opened while the file is not writable would stay read-only
        # and, through the WAL index it shares, make this process's later ones
        # read-only too: refuse it before it reads anything.
        path = next(
            (row[2] for row in cursor.execute("PRAGMA database_list") if row[1] == "main"), ""
        )
        if path and not (os.access(path, os.W_OK) and os.access(os.path.dirname(path), os.W_OK)):
            cursor.close()
            dbapi_connection.close()
            raise sqlite3.OperationalError("attempt to write a readonly database")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={Config.SQLITE_SYNCHRONOUS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def create_app(config: dict | None = None) -> Flask:
    """Build the app; `config` overrides settings (tests pass a dict)."""
    root = Path(__file__).resolve().parent.parent
    app = Flask(
        __name__,
        instance_path=os.environ.get("INSTANCE_PATH", str(root / "instance")),
        static_folder=str(root / "static"),
        template_folder=str(root / "templates"),
    )
    app.config.from_object(Config)
    app.config.from_pyfile("config.py", silent=True)
    if config:
        app.config.update(config)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        Path(app.instance_path).mkdir(parents=True, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "digitpad.sqlite3"
        )

    configure_database(app)
    if not app.config.get("CANDIDATES_DIR"):
        app.config["CANDIDATES_DIR"] = str(Path(app.instance_path) / "models")
    if not app.config.get("MODEL_CACHE_DIR"):
        app.config["MODEL_CACHE_DIR"] = str(Path(app.instance_path) / "model-cache")

    if not app.config.get("RATELIMIT_STORAGE_URI"):
        app.config["RATELIMIT_STORAGE_URI"] = "sqlite:///" + str(
            Path(app.instance_path) / "ratelimits.sqlite3"
        )
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(Path(app.instance_path))
    # Ids past SQLite's and PostgreSQL's 64-bit integers are no row: 404, not a crash.
    app.url_map.converters["int"] = BoundedInt
    register_extensions(app)
    register_blueprints(app)
    from app.errors import register_error_handlers

    register_error_handlers(app)
    register_security_headers(app)
    from app import cli  # late: the commands import the services, which import this package

    cli.register_commands(app)
    app.logger.setLevel(logging.INFO)
    return app


def configure_database(app: Flask) -> None:
    """The driver and connection settings for the configured database.

    `postgresql://user:pass@host/db` (or `postgres://`) is served by psycopg;
    SQLite waits DATABASE_BUSY_SECONDS for a lock, PostgreSQL checks pooled
    connections before use.
    """
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    scheme, sep, rest = url.partition("://")
    if scheme in ("postgres", "postgresql"):
        url = f"postgresql+psycopg{sep}{rest}"
    options = dict(app.config.get("SQLALCHEMY_ENGINE_OPTIONS") or {})
    if url.startswith("sqlite"):
        options.setdefault("connect_args", {"timeout": app.config["DATABASE_BUSY_SECONDS"]})
    elif url.startswith("postgresql"):
        options.setdefault("pool_pre_ping", True)
        # Stored times are UTC wall-clock values, whatever the server's zone.
        options.setdefault("connect_args", {"connect_timeout": 10, "options": "-c timezone=UTC"})
    app.config["SQLALCHEMY_DATABASE_URI"] = url
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = options


class BoundedInt(IntegerConverter):
    """`<int:...>` for database ids: 0 to 2**63 - 1."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(url_map, *args, **kwargs)


def instance_secret_key(instance: Path) -> str:
    """The install's own session key: made at random on first start, kept in the instance folder.

    No two installs share a key, and none is built in (a known key lets anyone
    forge the admin's session).
    """
    path = instance / "secret_key"
    instance.mkdir(parents=True, exist_ok=True)
    for _ in range(50):
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            key = path.read_text().strip()
            if key:
                return key
            time.sleep(0.02)  # another worker is writing it right now
            continue
        key = secrets.token_hex(32)
        with os.fdopen(fd, "w") as fh:
            fh.write(key + "\n")
        return key
    raise RuntimeError(f"{path} is empty: remove it, or set SECRET_KEY")


def register_extensions(app: Flask) -> None:
    from app import ratelimits  # noqa: F401 - registers the shared SQLite counter store
    from app.services import database  # noqa: F401 - its engine events discard broken connections

    if app.config["TRUSTED_PROXIES"]:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=app.config["TRUSTED_PROXIES"]
        )
    limiter.init_app(app)
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    csrf.init_app(app)
    assets.init_app(app)


def register_blueprints(app: Flask) -> None:
    from app.api import bp as api_bp
    from app.auth import bp as auth_bp
    from app.dashboard import bp as dashboard_bp
    from app.main import bp as main_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(api_bp)
    app.register_blueprint(auth_bp)
    csrf.exempt(api_bp)
    app.register_blueprint(dashboard_bp)


def register_security_headers(app: Flask) -> None:
    @app.after_request
    def headers(response):
        # No inline scripts anywhere: the policy enforces it.
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
            "frame-ancestors 'none'; form-action 'self'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        return response

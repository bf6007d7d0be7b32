"""Database faults: say what happened, and let the worker recover by itself.

A connection that hit a read-only database, a full disk or an I/O error can
stay broken after the fault clears; such connections are discarded (the
pool opens fresh ones), so the next request after the fault works again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar, cast, overload

from flask import current_app
from sqlalchemy import event, text
from sqlalchemy.engine import CursorResult, Engine
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.sql import Executable

from app.errors import Unavailable
from app.extensions import db

T = TypeVar("T")


def changed(statement: Executable, params: dict | None = None) -> int:
    """Execute an UPDATE or DELETE in the session; how many rows it changed."""
    result = db.session.execute(statement, params)
    return cast(CursorResult, result).rowcount


# Words in the driver's message (SQLite, PostgreSQL) -> what we tell people,
# and whether the connection must be discarded.
_FAULTS = (
    (("readonly", "read-only", "read only"), "the database is read-only", True),
    (("disk is full", "no space left", "disk full"), "the disk is full", True),
    (("disk i/o", "i/o error"), "the database had an I/O error", True),
    (("locked", "busy", "could not obtain lock"), "the database is busy", False),
    (
        (
            "connection refused",
            "server closed the connection",
            "terminating connection",
            "connection is closed",
            "the database system is",
            "couldn't get a connection",
            "connection failed",
        ),
        "the database server cannot be reached",
        True,
    ),
)


class StorageError(Unavailable):
    """The database refused the write; nothing was stored (HTTP 503)."""


@event.listens_for(Engine, "handle_error")
def _broken_connections_are_disconnects(context) -> None:
    """A read-only, full-disk or I/O error counts as a lost connection.

    SQLAlchemy then discards that connection and every one opened before it
    (the pool is invalidated): a worker whose connections were opened during
    a read-only incident gets fresh ones once it is over, not one at a time.
    """
    fault = _fault(context.original_exception)
    if fault is not None and fault[1]:
        context.is_disconnect = True


def _fault(exc: BaseException) -> tuple[str, bool] | None:
    """The known fault in the driver's message: (what we say, discard the connection)."""
    message = str(getattr(exc, "orig", exc)).lower()
    for words, reason, discard in _FAULTS:
        if any(word in message for word in words):
            return reason, discard
    return None


def describe(exc: BaseException) -> tuple[str, bool]:
    """What went wrong in words, and whether the connection should be discarded."""
    return _fault(exc) or ("the database is unavailable", True)


def _recover(exc: SQLAlchemyError) -> str:
    """Roll back, discard a broken connection, log; what went wrong in words."""
    reason, discard = describe(exc)
    try:
        db.session.rollback()
        if discard:
            db.session.close()
            db.engine.dispose()  # this worker's pooled connections: fresh ones next time
    except SQLAlchemyError:  # the connection is gone already; the pool opens a new one
        pass
    current_app.logger.error("database error: %s: %s", reason, exc)
    return reason


def failed(exc: SQLAlchemyError) -> StorageError:
    """A write the database refused: recover, and return the error to raise (503)."""
    return StorageError(f"{_recover(exc)}; nothing was stored, try again shortly")


def unavailable(exc: SQLAlchemyError) -> Unavailable:
    """Any other database error (a read, a server that is down): recover; 503 with the reason.

    The one place where database faults become HTTP: app/errors.py maps every
    SQLAlchemyError a request raises through here.
    """
    return Unavailable(f"{_recover(exc)}; try again shortly")


@overload
def commit() -> None: ...
@overload
def commit(keep: Callable[[], T]) -> T: ...
def commit(keep: Callable[[], Any] | None = None) -> Any:
    """Flush, take what the reply needs (`keep`), then commit; StorageError if refused.

    Nothing is read back after the commit (which expires every loaded row):
    a reply to a committed write can then not fail on a connection lost
    right after it.
    """
    try:
        db.session.flush()
        kept = keep() if keep is not None else None
        db.session.commit()
    except SQLAlchemyError as exc:
        raise failed(exc) from exc
    return kept


# A long job's writes wait out a busy database: this many tries, backing off.
RETRY_WAITS = (0.5, 1, 2, 4, 8, 15, 30, 30)


def persist(apply: Callable[[], None], what: str = "progress") -> None:
    """Apply changes to the session and commit, again after a transient database error.

    `apply` must be safe to run again: a failed commit rolls the session back,
    which undoes what it changed. The last failure is raised.
    """
    for wait in (*RETRY_WAITS, None):
        try:
            apply()
            db.session.commit()
            return
        except OperationalError as exc:
            db.session.rollback()
            if wait is None:
                raise
            current_app.logger.warning(
                "could not write the %s (%s); trying again in %ss", what, describe(exc)[0], wait
            )
            time.sleep(wait)


def write_probe() -> None:
    """Prove the database accepts a write (a row of its own, rewritten each time)."""
    try:
        now = datetime.now(UTC)
        updated = changed(
            text("UPDATE health_probe SET checked_at = :now WHERE id = 1"), {"now": now}
        )
        if not updated:
            db.session.execute(
                text("INSERT INTO health_probe (id, checked_at) VALUES (1, :now)"), {"now": now}
            )
        db.session.commit()
    except SQLAlchemyError as exc:
        raise failed(exc) from exc

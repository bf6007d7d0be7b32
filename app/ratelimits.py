"""Request limits that hold across gunicorn workers: a counter store they all share.

Flask-Limiter keeps its counters in `RATELIMIT_STORAGE_URI`. The default,
`sqlite:///<instance>/ratelimits.sqlite3`, is a file every worker of one
install opens (`SQLiteStorage` below), so `make run`'s workers count one
budget, not one each. Several hosts share Redis (`redis://host:6379`). If
the store fails, each worker falls back to counting in its own memory
(RATELIMIT_IN_MEMORY_FALLBACK_ENABLED) rather than failing requests.

Counters are fixed windows, Flask-Limiter's default strategy: one row per
key, `count` requests until `expires`.
"""

from __future__ import annotations

import os
import random
import sqlite3
import threading
import time

from flask import current_app, has_request_context
from flask_limiter.util import get_remote_address
from limits import RateLimitItemPerDay
from limits.storage import Storage
from limits.strategies import FixedWindowRateLimiter

from app.errors import AppError
from app.extensions import limiter


class QuotaExceeded(AppError):
    status = 429


def charge_storage(size: int) -> None:
    """Count `size` bytes against this client's daily storage quota; 429 once it is spent.

    The same counters as the request limits (same store, same client key), so
    the quota holds across workers and hosts. Nothing is charged where limits
    are off (RATELIMIT_ENABLED=0) or outside a request.
    """
    quota = current_app.config["STORAGE_QUOTA_BYTES"]
    if not (quota and current_app.config["RATELIMIT_ENABLED"] and has_request_context()):
        return
    window = FixedWindowRateLimiter(limiter.storage)
    item, client = RateLimitItemPerDay(quota), get_remote_address()
    if not window.hit(item, "stored-bytes", client, cost=size):
        reset = window.get_window_stats(item, "stored-bytes", client).reset_time
        raise QuotaExceeded(
            f"this client stored {quota // 1_000_000} MB of drawings today, "
            'its daily quota; send "store": false to read without storing, '
            "or try again tomorrow",
            headers={"Retry-After": str(max(1, int(reset - time.time())))},
        )


_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS counters ("
    "key TEXT PRIMARY KEY, count INTEGER NOT NULL, expires REAL NOT NULL)"
)
# One increment in this many also drops expired counters.
_SWEEP_ONE_IN = 500


class SQLiteStorage(Storage):
    """Fixed-window counters in a SQLite file shared by every process of one host.

    `sqlite:////absolute/path.sqlite3`. Each thread of each process has its
    own connection (opened after gunicorn's fork); an increment is one
    atomic UPSERT, so concurrent workers never lose a count.
    """

    STORAGE_SCHEME = ["sqlite"]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        self.path = (uri or "").split("://", 1)[1] if uri and "://" in uri else ""
        if self.path.startswith("/") and self.path[1:2] == "/":
            self.path = self.path[1:]  # sqlite:////abs/path -> /abs/path
        if not self.path:
            raise ValueError("sqlite rate-limit storage needs a path: sqlite:////path/file")
        self._local = threading.local()
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)

    @property
    def base_exceptions(self):
        return sqlite3.Error

    def _db(self) -> sqlite3.Connection:
        connection = getattr(self._local, "connection", None)
        if connection is None or self._local.pid != os.getpid():
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            connection = sqlite3.connect(
                self.path, timeout=5, isolation_level=None, check_same_thread=False
            )
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=OFF")  # counters, not records
            connection.execute(_SCHEMA)
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        now = time.time()
        db = self._db()
        if random.randrange(_SWEEP_ONE_IN) == 0:
            db.execute("DELETE FROM counters WHERE expires <= ?", (now,))
        (count,) = db.execute(
            "INSERT INTO counters (key, count, expires) VALUES (?1, ?2, ?3) "
            "ON CONFLICT (key) DO UPDATE SET "
            "count = CASE WHEN expires <= ?4 THEN ?2 ELSE count + ?2 END, "
            "expires = CASE WHEN expires <= ?4 THEN ?3 ELSE expires END "
            "RETURNING count",
            (key, amount, now + expiry, now),
        ).fetchone()
        return int(count)

    def get(self, key: str) -> int:
        row = (
            self._db()
            .execute("SELECT count FROM counters WHERE key = ? AND expires > ?", (key, time.time()))
            .fetchone()
        )
        return int(row[0]) if row else 0

    def get_expiry(self, key: str) -> float:
        row = (
            self._db()
            .execute(
                "SELECT expires FROM counters WHERE key = ? AND expires > ?", (key, time.time())
            )
            .fetchone()
        )
        return float(row[0]) if row else time.time()

    def check(self) -> bool:
        try:
            self._db().execute("SELECT 1")
            return True
        except sqlite3.Error:
            return False

    def reset(self) -> int | None:
        return self._db().execute("DELETE FROM counters").rowcount

    def clear(self, key: str) -> None:
        self._db().execute("DELETE FROM counters WHERE key = ?", (key,))

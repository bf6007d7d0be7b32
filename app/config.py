"""Settings, read from the environment with defaults, in one place."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


class Config:
    # Unset: a random key made on first start and kept in instance/secret_key.
    SECRET_KEY = os.environ.get("SECRET_KEY")
    # None means a SQLite file in the instance folder (set in create_app).
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL")
    MODEL_DIR = os.environ.get("MODEL_DIR", str(ROOT / "models" / "default"))
    # Where training runs write candidate models (None: instance/models).
    CANDIDATES_DIR = os.environ.get("CANDIDATES_DIR")
    MNIST_DIR = os.environ.get("MNIST_DIR")
    # How often each worker checks which model version is active.
    MODEL_CHECK_SECONDS = float(os.environ.get("MODEL_CHECK_SECONDS", "2"))
    # Where a web host keeps the versions it loaded from the database (None:
    # instance/model-cache); each host has its own.
    MODEL_CACHE_DIR = os.environ.get("MODEL_CACHE_DIR")
    # A training job says it is alive this often; one silent for longer is
    # failed (its process died) and the next training may start.
    JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "10"))
    JOB_HEARTBEAT_TIMEOUT = float(os.environ.get("JOB_HEARTBEAT_TIMEOUT", "60"))
    # Drawings that are no digit mixed into a retraining of a model that refuses them.
    RETRAIN_NEGATIVES = int(os.environ.get("RETRAIN_NEGATIVES", "2000"))
    # SQLite commits without waiting for the disk (NORMAL; safe with WAL against
    # any process crash) unless FULL is asked for.
    SQLITE_SYNCHRONOUS = (
        "FULL" if os.environ.get("SQLITE_SYNCHRONOUS", "").upper() == "FULL" else "NORMAL"
    )
    # How long a write waits for a lock before it gives up (SQLite's busy timeout).
    DATABASE_BUSY_SECONDS = float(os.environ.get("DATABASE_BUSY_SECONDS", "15"))
    # Request bodies above this are refused with 413 before they are read.
    MAX_CONTENT_LENGTH = _int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)
    MAX_STROKE_POINTS = _int("MAX_STROKE_POINTS", 20_000)
    # Requests that run the model at once in one web process, and how long one
    # waits for its turn (app/services/compute.py).
    COMPUTE_SLOTS = _int("COMPUTE_SLOTS", 1)
    COMPUTE_WAIT_SECONDS = float(os.environ.get("COMPUTE_WAIT_SECONDS", "20"))
    # A form (an upload, a dashboard form) needs a few fields, never hundreds.
    MAX_FORM_PARTS = 100
    JSON_SORT_KEYS = False
    # The admin's password hash (`flask hash-password` makes one); unset means
    # nobody can review flags or start training.
    ADMIN_PASSWORD_HASH = os.environ.get("ADMIN_PASSWORD_HASH")
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = os.environ.get("SESSION_COOKIE_SECURE", "") == "1"
    PERMANENT_SESSION_LIFETIME = _int("SESSION_HOURS", 12) * 3600
    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    # Per-client limits; RATELIMIT_ENABLED=0 turns them off (benchmarks that
    # replay thousands of drawings do).
    RATELIMIT_ENABLED = os.environ.get("RATELIMIT_ENABLED", "1") != "0"
    # Where the counters live (app/ratelimits.py). None: a SQLite file in the
    # instance folder that every worker of this install shares; several hosts
    # share Redis (redis://host:6379). If the store fails, each worker counts
    # in memory meanwhile.
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI")
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "120 per minute")
    LOGIN_RATE_LIMIT = os.environ.get("LOGIN_RATE_LIMIT", "10 per minute")
    # Failed sign-ins to the admin account, from every address together: past
    # these, sign-in waits (a minute, then an hour, then a day).
    LOGIN_FAILURE_LIMIT = os.environ.get(
        "LOGIN_FAILURE_LIMIT", "5 per minute;20 per hour;50 per day"
    )
    # What one client may store per day (drawings and their 28x28 inputs);
    # past it, predictions are still answered with "store": false.
    STORAGE_QUOTA_BYTES = _int("STORAGE_QUOTA_MB", 25) * 1_000_000
    # Dashboard pages per client, and the heavier downloads (model files, exports).
    DASHBOARD_RATE_LIMIT = os.environ.get("DASHBOARD_RATE_LIMIT", "300 per minute")
    DOWNLOAD_RATE_LIMIT = os.environ.get("DOWNLOAD_RATE_LIMIT", "20 per minute")
    # People's drawings (flags page, pictures, exports) are the admin's;
    # FLAGS_PUBLIC=1 shows them to everyone (a classroom demo).
    FLAGS_PUBLIC = os.environ.get("FLAGS_PUBLIC", "") == "1"
    # Unflagged drawings are forgotten after this many days (0: kept); the
    # worker purges once a day, `flask purge` on demand.
    RETENTION_DAYS = _int("RETENTION_DAYS", 90)
    # How many proxies in front set X-Forwarded-For (0: use the peer's address).
    TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)

"""Benchmarks: `python -m tests.benchmarks.<name>`; figures go to the README's "Measured"."""

from __future__ import annotations

import os
import statistics
import time


def bench_app(folder: str, **overrides):
    """The real app on a fresh SQLite file in `folder`, migrated, without request limits."""
    from flask_migrate import upgrade

    from app import create_app

    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder}/bench.sqlite3",
            "RATELIMIT_ENABLED": False,
            **overrides,
        }
    )
    with app.app_context():
        upgrade()
    return app


def time_posts(client, path: str, bodies: list[dict]) -> dict:
    """Milliseconds inside the app for each JSON POST, on one core, after a warm-up.

    Every reply must be 200. Returns the request count, median, p90 and p99.
    """
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    for body in bodies[:20]:  # warm up: model load, first connections
        client.post(path, json=body)
    times = []
    for body in bodies:
        started = time.perf_counter()
        reply = client.post(path, json=body)
        times.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, reply.get_json()
    times.sort()
    return {
        "requests": len(times),
        "median ms": statistics.median(times),
        "p90 ms": times[int(len(times) * 0.9)],
        "p99 ms": times[int(len(times) * 0.99)],
    }

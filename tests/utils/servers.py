"""Gunicorn as `make run` starts it, for the tests that need real worker processes."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from tests.utils.apps import ROOT, subprocess_env

# How often the served gunicorn's workers look for a newly promoted version.
CHECK_SECONDS = 0.5


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post_json(url: str, body: dict, headers: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as exc:
        try:
            return exc.code, json.loads(exc.read())
        except ValueError:
            return exc.code, {}


def start_gunicorn(app, **env: str) -> tuple[subprocess.Popen, str]:
    """Gunicorn as `make run` starts it, on a free port, on the app's database; (process, base URL)."""
    port = free_port()
    settings = {
        "MODEL_CHECK_SECONDS": str(CHECK_SECONDS),
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": "2",
        "RATELIMIT_ENABLED": "0",
        **env,
    }  # clients hammer it from one address
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
        cwd=ROOT,
        env=subprocess_env(app, **settings),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as reply:
                if reply.status == 200:
                    return proc, base
        except OSError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.terminate()
            pytest.fail("gunicorn did not start")
        time.sleep(0.2)

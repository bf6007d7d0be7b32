"""Limits that hold across gunicorn workers and hosts, sign-in back-off per account,
and the dashboard limited like the API.

The default store is a SQLite file every worker of an install shares; hosts
share a real Redis server (Debian's redis-server, which `make test` installs).
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug.security import generate_password_hash

from tests.utils.apps import migrated_app
from tests.utils.servers import free_port, post_json, start_gunicorn

BODY = {
    "strokes": [[[60, 50], [200, 50], [120, 230]]],
    "width": 280,
    "height": 280,
    "line_width": 18,
    "store": False,
}


def _statuses(bases: list[str], count: int) -> list[int]:
    """`count` predictions from one address, spread over the hosts and their workers at once."""
    with ThreadPoolExecutor(6) as pool:
        return list(
            pool.map(
                lambda i: post_json(bases[i % len(bases)] + "/api/predict", BODY)[0], range(count)
            )
        )


def test_the_workers_of_one_install_share_one_budget(tmp_path):
    app = migrated_app(tmp_path)
    # The default store: no RATELIMIT_STORAGE_URI, a file in the instance folder. Each
    # worker takes one connection at a time, so that the requests spread over all three.
    proc, base = start_gunicorn(
        app,
        RATELIMIT_ENABLED="1",
        API_RATE_LIMIT="10 per minute",
        WEB_CONCURRENCY="3",
        INSTANCE_PATH=str(tmp_path / "instance"),
        GUNICORN_CMD_ARGS="--worker-connections 1",
    )
    try:
        statuses = _statuses([base], 40)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert statuses.count(200) == 10 and statuses.count(429) == 30
    assert (tmp_path / "instance" / "ratelimits.sqlite3").is_file()


@pytest.fixture
def redis_url(tmp_path):
    server = shutil.which("redis-server") or "/usr/bin/redis-server"
    if not shutil.which(server):
        pytest.fail("redis-server is not installed: `make test` installs Debian's redis-server")
    port = free_port()
    proc = subprocess.Popen(
        [
            server,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(tmp_path),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                probe.sendall(b"PING\r\n")
                if probe.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


def test_two_hosts_sharing_redis_share_one_budget(tmp_path, redis_url):
    app = migrated_app(tmp_path)
    hosts = [
        start_gunicorn(
            app,
            RATELIMIT_ENABLED="1",
            API_RATE_LIMIT="10 per minute",
            RATELIMIT_STORAGE_URI=redis_url,
            INSTANCE_PATH=str(tmp_path / f"host-{i}"),
            GUNICORN_CMD_ARGS="--worker-connections 1",
            MODEL_CACHE_DIR=str(tmp_path / f"cache-{i}"),
        )
        for i in range(2)
    ]
    try:
        statuses = _statuses([base for _, base in hosts], 40)
    finally:
        for proc, _ in hosts:
            proc.terminate()
            proc.wait(timeout=30)
    assert statuses.count(200) == 10 and statuses.count(429) == 30


def test_failed_sign_ins_back_off_per_account_whatever_the_address(tmp_path):
    app = migrated_app(
        tmp_path,
        WTF_CSRF_ENABLED=False,
        LOGIN_RATE_LIMIT="100 per minute",
        LOGIN_FAILURE_LIMIT="3 per minute",
        ADMIN_PASSWORD_HASH=generate_password_hash("right"),
    )
    client = app.test_client()

    def sign_in(password: str, address: str) -> int:
        return client.post(
            "/login", data={"password": password}, environ_base={"REMOTE_ADDR": address}
        ).status_code

    assert sign_in("right", "10.0.0.9") == 302  # a success costs nothing
    assert [sign_in("wrong", f"10.0.0.{i}") for i in range(3)] == [401] * 3
    # A fourth address is refused before its password is even checked; so is the right one.
    assert sign_in("wrong", "10.0.0.3") == 429
    assert sign_in("right", "10.0.0.4") == 429
    assert client.get("/login").status_code == 200  # the form stays reachable
    # The operator lifts it: every worker's shared counters start again.
    result = app.test_cli_runner().invoke(args=["reset-limits"])
    assert result.exit_code == 0, result.output
    assert sign_in("right", "10.0.0.4") == 302


def test_the_dashboard_is_limited_per_client(tmp_path):
    app = migrated_app(
        tmp_path,
        DASHBOARD_RATE_LIMIT="3 per minute",
        DOWNLOAD_RATE_LIMIT="1 per minute",
        FLAGS_PUBLIC=True,
    )
    client = app.test_client()
    assert [client.get("/dashboard/").status_code for _ in range(4)] == [200, 200, 200, 429]
    other = app.test_client()
    codes = [
        other.get(
            "/dashboard/flags/export.csv", environ_base={"REMOTE_ADDR": "10.9.9.9"}
        ).status_code
        for _ in range(2)
    ]
    assert codes == [200, 429]
    assert client.get("/api/health").status_code == 200

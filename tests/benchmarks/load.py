"""Load, worst cases and faults against a local gunicorn, as `make run` starts it (loopback only).

Starts gunicorn (2 workers x 4 threads, a scratch SQLite file, limits off) on a
free port of 127.0.0.1, then for each phase sends stored predictions (a drawn
7 as strokes, each with its own Idempotency-Key) from N client threads for a
bounded time, and prints requests/s, p50/p99 latency, the count of 5xx and of
failed connections, and how many accepted predictions (200 with an id) are
missing from the database:

- 4 clients, then 16 clients;
- 4 clients while one worker is killed with SIGKILL halfway (gunicorn starts
  another);
- 4 clients while the database file is made read-only for a few seconds and
  then restored, the workers reloaded meanwhile so that they open it read-only
  (503s expected during the fault only; the time until the first
  success after the fault clears is the recovery time). File permissions do
  not bind root: as root the server runs without CAP_DAC_OVERRIDE (setpriv);
- worst cases: 4 clients each sending the costliest requests that pass
  validation (`tests/utils/worst_cases.py`) while /api/health is polled:
  their latency, and health's;
- PostgreSQL (a throwaway server from Debian's packages): 4 clients while the
  server is stopped for a few seconds and started again: 503s only, never
  another 5xx; stored but answered with an error (by Idempotency-Key), and
  acknowledged but lost: both must be 0; the time to the first success.

    python -m tests.benchmarks.load [--seconds 60] [--phases load,kill,read-only,worst,postgresql]
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import json
import os
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BODY = json.dumps(
    {"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280, "line_width": 18}
).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bound_by_file_modes() -> list[str]:
    """A prefix that makes root obey file permissions (no CAP_DAC_OVERRIDE), where it can."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    return []


def start_server(tmp: Path, port: int, database_url: str | None = None) -> subprocess.Popen:
    env = {
        **os.environ,
        "FLASK_APP": "wsgi",
        "DATABASE_URL": database_url or f"sqlite:///{tmp}/load.sqlite3",
        "CANDIDATES_DIR": str(tmp / "models"),
        "RATELIMIT_ENABLED": "0",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "2",
        "GUNICORN_THREADS": os.environ.get("GUNICORN_THREADS", "4"),
        "INSTANCE_PATH": str(tmp / "instance"),
    }
    subprocess.run(
        [sys.executable, "-m", "flask", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )
    proc = subprocess.Popen(
        [
            *bound_by_file_modes(),
            sys.executable,
            "-m",
            "gunicorn",
            "-c",
            "gunicorn.conf.py",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError("gunicorn did not start")


def hammer(port: int, clients: int, seconds: float, during=None) -> dict:
    """N clients posting for `seconds`; `during(stop_time)` runs a fault meanwhile."""
    results: list[tuple[float, int, int | None, float, str]] = []  # (end, status, id, ms, key)
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    run = next(_runs)

    def client(number: int):
        conn = None
        sent = 0
        while time.monotonic() < stop:
            started = time.monotonic()
            sent += 1
            key = f"load-{run}-{number}-{sent}"
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request(
                    "POST",
                    "/api/predict",
                    BODY,
                    {"Content-Type": "application/json", "Idempotency-Key": key},
                )
                reply = conn.getresponse()
                payload = reply.read()
                status = reply.status
                pid = json.loads(payload).get("prediction_id") if status == 200 else None
            except (OSError, http.client.HTTPException, ValueError):
                status, pid, conn = 0, None, None  # a connection the server dropped
            ended = time.monotonic()
            with lock:
                results.append((ended, status, pid, (ended - started) * 1000, key))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    fault = during(stop) if during else None
    for t in threads:
        t.join()
    times = sorted(r[3] for r in results)
    return {
        "requests": len(results),
        "per_second": len(results) / seconds,
        "p50_ms": statistics.median(times) if times else None,
        "p99_ms": times[int(len(times) * 0.99)] if times else None,
        "5xx": sum(500 <= r[1] < 600 for r in results),
        "503": sum(r[1] == 503 for r in results),
        "dropped": sum(r[1] == 0 for r in results),
        "accepted_ids": [r[2] for r in results if r[2] is not None],
        "results": results,
        "fault": fault,
    }


_runs = itertools.count(1)


def missing(db_path: Path, ids: list[int]) -> int:
    with sqlite3.connect(db_path) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM predictions")}
    return sum(i not in stored for i in ids)


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(
        ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
    ).stdout
    return [int(p) for p in out.split()]


def report(name: str, r: dict, db_path: Path) -> None:
    print(
        f"{name}: {r['per_second']:.0f} requests/s ({r['requests']}), p50 {r['p50_ms']:.1f} ms, "
        f"p99 {r['p99_ms']:.1f} ms, 5xx {r['5xx']} (503: {r['503']}), dropped connections "
        f"{r['dropped']}, accepted but missing {missing(db_path, r['accepted_ids'])}",
        flush=True,
    )


def post(port: int, path: str, body: dict | bytes, timeout: float = 30) -> int:
    """One request on a fresh connection, as a client sends it: pictures as an upload."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        if isinstance(body, bytes):
            boundary = "loadbenchmarkboundary"
            data = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="store"\r\n\r\n'
                    f'false\r\n--{boundary}\r\nContent-Disposition: form-data; name="image"; '
                    f'filename="p.png"\r\nContent-Type: image/png\r\n\r\n'
                ).encode()
                + body
                + f"\r\n--{boundary}--\r\n".encode()
            )
            headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
        else:
            data, headers = (
                json.dumps({**body, "store": False}).encode(),
                {"Content-Type": "application/json"},
            )
        conn.request("POST", path, data, headers)
        reply = conn.getresponse()
        reply.read()
        return reply.status
    except (OSError, http.client.HTTPException):
        return 0
    finally:
        conn.close()


def worst_phase(port: int, seconds: float) -> None:
    """Four clients sending the costliest valid requests; health polled meanwhile."""
    from tests.utils import worst_cases

    cases = worst_cases.requests()
    stop = time.monotonic() + seconds
    timings: dict[str, list[float]] = {}
    statuses: list[int] = []
    health: list[float] = []
    lock = threading.Lock()

    def client(offset: int):
        i = offset
        while time.monotonic() < stop:
            name, path, body = cases[i % len(cases)]
            i += 1
            started = time.monotonic()
            status = post(port, path, body)
            with lock:
                timings.setdefault(name, []).append(time.monotonic() - started)
                statuses.append(status)

    def poll():
        while time.monotonic() < stop:
            started = time.monotonic()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            try:
                conn.request("GET", "/api/health")
                ok = conn.getresponse().status == 200
            except (OSError, http.client.HTTPException):
                ok = False
            finally:
                conn.close()
            health.append((time.monotonic() - started) * 1000 if ok else float("inf"))
            time.sleep(0.05)

    threads = [threading.Thread(target=client, args=(2 * i,)) for i in range(4)]
    threads.append(threading.Thread(target=poll))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    health.sort()
    print(
        f"worst cases, 4 clients, {seconds:.0f} s: {len(statuses)} requests, "
        f"5xx {sum(500 <= s < 600 for s in statuses)}, dropped {statuses.count(0)}",
        flush=True,
    )
    for name, values in timings.items():
        print(
            f"  {name}: median {statistics.median(values) * 1000:.0f} ms, "
            f"max {max(values) * 1000:.0f} ms ({len(values)})",
            flush=True,
        )
    print(
        f"  /api/health meanwhile: median {statistics.median(health):.1f} ms, "
        f"p99 {health[int(len(health) * 0.99)]:.1f} ms, max {health[-1]:.1f} ms, "
        f"{sum(h > 100 for h in health)} of {len(health)} over 100 ms",
        flush=True,
    )


def postgresql_phase(seconds: float, fault_seconds: float) -> None:
    """4 clients storing predictions on PostgreSQL while the server stops and starts again."""
    import psycopg

    from tests.utils.apps import PostgresServer

    pg = PostgresServer()
    try:
        name = pg.create_database()
        with tempfile.TemporaryDirectory() as tmp_name:
            port = free_port()
            server = start_server(Path(tmp_name), port, pg.url(name))
            try:
                hammer(port, 4, 3)

                def restart(stop):
                    time.sleep(seconds / 3)
                    pg.pause()
                    time.sleep(fault_seconds)
                    pg.start()
                    return time.monotonic()

                r = hammer(port, 4, seconds, restart)
            finally:
                server.send_signal(signal.SIGTERM)
                server.wait(timeout=30)
        with psycopg.connect(pg.url(name)) as conn:
            stored = {
                row[0]
                for row in conn.execute(
                    "SELECT request_key FROM predictions WHERE request_key LIKE 'load-%'"
                )
            }
    finally:
        pg.stop()
    mine = {x[4] for x in r["results"]}
    acknowledged = {x[4] for x in r["results"] if x[1] == 200}
    back = r["fault"]
    first_ok = next((x[0] for x in sorted(r["results"]) if x[0] > back and x[1] == 200), None)
    other = sum(500 <= x[1] < 600 and x[1] != 503 for x in r["results"])
    print(
        f"PostgreSQL stopped for {fault_seconds:.0f} s under 4 clients, {seconds:.0f} s: "
        f"{r['requests']} requests, 503 {r['503']}, other 5xx {other}, dropped {r['dropped']}; "
        f"stored but answered with an error {len((stored & mine) - acknowledged)}, "
        f"acknowledged but lost {len(acknowledged - stored)}; first success "
        + (f"{first_ok - back:.2f} s after the server was back" if first_ok else "never"),
        flush=True,
    )


PHASES = ("load", "kill", "read-only", "worst", "postgresql")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fault-seconds", type=float, default=5)
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"comma-separated, of {', '.join(PHASES)}"
    )
    args = parser.parse_args()
    phases = set(args.phases.split(","))
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        server = start_server(tmp, port)
        db_path = tmp / "load.sqlite3"
        try:
            hammer(port, 4, 5)  # warm up: every worker thread has served and connected
            if "load" in phases:
                for clients in (4, 16):
                    report(
                        f"{clients} clients, {args.seconds:.0f} s",
                        hammer(port, clients, args.seconds),
                        db_path,
                    )
            if "worst" in phases:
                worst_phase(port, args.seconds)

            def kill_a_worker(stop):
                time.sleep(args.seconds / 2)
                victims = worker_pids(server.pid)
                if victims:
                    os.kill(victims[0], signal.SIGKILL)
                return victims[:1]

            if "kill" in phases:
                r = hammer(port, 4, args.seconds, kill_a_worker)
                report(
                    f"4 clients, a worker SIGKILLed at {args.seconds / 2:.0f} s (pid {r['fault']})",
                    r,
                    db_path,
                )

            if "read-only" in phases and os.geteuid() == 0 and not bound_by_file_modes():
                print(
                    "read-only database: skipped (file permissions do not bind root, "
                    "and setpriv is missing)"
                )
            elif "read-only" in phases:
                read_only_phase(tmp, server, port, db_path, args.seconds, args.fault_seconds)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
    if "postgresql" in phases:
        postgresql_phase(args.seconds, args.fault_seconds)


def read_only_phase(
    tmp: Path, server, port: int, db_path: Path, seconds: float, fault_seconds: float
) -> None:
    def read_only(stop):
        time.sleep(seconds / 3)
        files = [p for p in tmp.iterdir() if p.name.startswith("load.sqlite3")]
        for p in files + [tmp]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        # Open connections keep their file handles: new workers (a reload,
        # a crash) are the ones that find the files read-only.
        server.send_signal(signal.SIGHUP)
        time.sleep(fault_seconds)
        for p in files:
            p.chmod(0o644)
        tmp.chmod(0o755)
        return time.monotonic()

    r = hammer(port, 4, seconds, read_only)
    cleared = r["fault"]
    after = [x for x in r["results"] if x[0] > cleared]
    first_ok = next((x[0] for x in sorted(after) if x[1] == 200), None)
    last_failure = max((x[0] for x in after if x[1] != 200), default=None)
    non_503 = sum(500 <= x[1] < 600 and x[1] != 503 for x in r["results"])
    report(f"4 clients, database read-only for {fault_seconds:.0f} s", r, db_path)
    print(
        f"  5xx other than 503: {non_503}; first success "
        + (f"{first_ok - cleared:.2f} s after the fault cleared" if first_ok else "never")
        + "; last failure "
        + (f"{last_failure - cleared:.2f} s after" if last_failure else "before it"),
        flush=True,
    )


if __name__ == "__main__":
    main()

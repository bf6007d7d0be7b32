"""Load and faults against a local gunicorn, as `make run` starts it (loopback only).

Starts gunicorn (2 workers x 2 threads, a scratch SQLite file, limits off) on a
free port of 127.0.0.1, then for each phase sends stored predictions (a drawn
7 as strokes) from N client threads for a bounded time, and prints requests/s,
p50/p99 latency, the count of 5xx and of failed connections, and how many
accepted predictions (200 with an id) are missing from the database:

- 4 clients, then 16 clients;
- 4 clients while one worker is killed with SIGKILL halfway (gunicorn starts
  another);
- 4 clients while the database file is made read-only for a few seconds and
  then restored, the workers reloaded meanwhile so that they open it read-only
  (503s expected during the fault only; the time until the first
  success after the fault clears is the recovery time). File permissions do
  not bind root: as root the server runs without CAP_DAC_OVERRIDE (setpriv).

    python -m tests.benchmarks.load [--seconds 60]
"""

from __future__ import annotations

import argparse
import http.client
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
BODY = json.dumps({"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280,
                   "height": 280, "line_width": 18}).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bound_by_file_modes() -> list[str]:
    """A prefix that makes root obey file permissions (no CAP_DAC_OVERRIDE), where it can."""
    if os.geteuid() == 0 and shutil.which("setpriv"):
        return ["setpriv", "--bounding-set", "-dac_override,-dac_read_search"]
    return []


def start_server(tmp: Path, port: int) -> subprocess.Popen:
    env = {**os.environ, "FLASK_APP": "wsgi", "DATABASE_URL": f"sqlite:///{tmp}/load.sqlite3",
           "CANDIDATES_DIR": str(tmp / "models"), "RATELIMIT_ENABLED": "0",
           "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "GUNICORN_THREADS": "2",
           "INSTANCE_PATH": str(tmp / "instance")}
    subprocess.run([sys.executable, "-m", "flask", "db", "upgrade"], cwd=ROOT, env=env,
                   check=True, capture_output=True)
    proc = subprocess.Popen([*bound_by_file_modes(), sys.executable, "-m", "gunicorn", "-c",
                             "gunicorn.conf.py", "wsgi:app"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
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
    results: list[tuple[float, int, int | None, float]] = []  # (end, status, id, ms)
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def client():
        conn = None
        while time.monotonic() < stop:
            started = time.monotonic()
            try:
                conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                conn.request("POST", "/api/predict", BODY, {"Content-Type": "application/json"})
                reply = conn.getresponse()
                payload = reply.read()
                status = reply.status
                pid = json.loads(payload).get("prediction_id") if status == 200 else None
            except (OSError, http.client.HTTPException, ValueError):
                status, pid, conn = 0, None, None  # a connection the server dropped
            ended = time.monotonic()
            with lock:
                results.append((ended, status, pid, (ended - started) * 1000))

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for t in threads:
        t.start()
    fault = during(stop) if during else None
    for t in threads:
        t.join()
    times = sorted(r[3] for r in results)
    return {"requests": len(results), "per_second": len(results) / seconds,
            "p50_ms": statistics.median(times) if times else None,
            "p99_ms": times[int(len(times) * 0.99)] if times else None,
            "5xx": sum(500 <= r[1] < 600 for r in results),
            "503": sum(r[1] == 503 for r in results),
            "dropped": sum(r[1] == 0 for r in results),
            "accepted_ids": [r[2] for r in results if r[2] is not None],
            "results": results, "fault": fault}


def missing(db_path: Path, ids: list[int]) -> int:
    with sqlite3.connect(db_path) as conn:
        stored = {row[0] for row in conn.execute("SELECT id FROM predictions")}
    return sum(i not in stored for i in ids)


def worker_pids(master: int) -> list[int]:
    out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True,
                         text=True).stdout
    return [int(p) for p in out.split()]


def report(name: str, r: dict, db_path: Path) -> None:
    print(f"{name}: {r['per_second']:.0f} requests/s ({r['requests']}), p50 {r['p50_ms']:.1f} ms, "
          f"p99 {r['p99_ms']:.1f} ms, 5xx {r['5xx']} (503: {r['503']}), dropped connections "
          f"{r['dropped']}, accepted but missing {missing(db_path, r['accepted_ids'])}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--fault-seconds", type=float, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        port = free_port()
        server = start_server(tmp, port)
        db_path = tmp / "load.sqlite3"
        try:
            hammer(port, 4, 5)  # warm up: every worker thread has served and connected
            for clients in (4, 16):
                report(f"{clients} clients, {args.seconds:.0f} s", hammer(port, clients, args.seconds),
                       db_path)

            def kill_a_worker(stop):
                time.sleep(args.seconds / 2)
                victims = worker_pids(server.pid)
                if victims:
                    os.kill(victims[0], signal.SIGKILL)
                return victims[:1]

            r = hammer(port, 4, args.seconds, kill_a_worker)
            report(f"4 clients, a worker SIGKILLed at {args.seconds / 2:.0f} s (pid {r['fault']})",
                   r, db_path)

            if os.geteuid() == 0 and not bound_by_file_modes():
                print("read-only database: skipped (file permissions do not bind root, "
                      "and setpriv is missing)")
                return

            def read_only(stop):
                time.sleep(args.seconds / 3)
                files = [p for p in tmp.iterdir() if p.name.startswith("load.sqlite3")]
                for p in files + [tmp]:
                    p.chmod(0o555 if p.is_dir() else 0o444)
                # Open connections keep their file handles: new workers (a reload,
                # a crash) are the ones that find the files read-only.
                server.send_signal(signal.SIGHUP)
                time.sleep(args.fault_seconds)
                for p in files:
                    p.chmod(0o644)
                tmp.chmod(0o755)
                return time.monotonic()

            r = hammer(port, 4, args.seconds, read_only)
            cleared = r["fault"]
            after = [x for x in r["results"] if x[0] > cleared]
            first_ok = next((x[0] for x in sorted(after) if x[1] == 200), None)
            last_failure = max((x[0] for x in after if x[1] != 200), default=None)
            non_503 = sum(500 <= x[1] < 600 and x[1] != 503 for x in r["results"])
            report(f"4 clients, database read-only for {args.fault_seconds:.0f} s", r, db_path)
            print(f"  5xx other than 503: {non_503}; first success "
                  + (f"{first_ok - cleared:.2f} s after the fault cleared" if first_ok
                     else "never") + "; last failure "
                  + (f"{last_failure - cleared:.2f} s after" if last_failure else "before it"),
                  flush=True)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)


if __name__ == "__main__":
    main()

"""A read-only incident in one process, for tests/test_hardening.py (run with file modes binding).

Every connection of the process is opened while the database file is
read-only, four threads keep writing, then the permissions come back. Prints
JSON: the statuses during the fault, and after it.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

from flask_migrate import upgrade
from sqlalchemy.exc import OperationalError

from app import create_app
from app.extensions import db

BODY = {"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280, "store": True}


def main(folder: str) -> None:
    tmp = Path(folder)
    app = create_app(
        {
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp / 'db.sqlite3'}",
            "RATELIMIT_ENABLED": False,
            "INSTANCE_PATH": str(tmp / "instance"),
        }
    )
    with app.app_context():
        upgrade()
        db.engine.dispose()
    client = app.test_client()
    assert client.post("/api/predict", json=BODY).status_code == 200
    with app.app_context():
        db.engine.dispose()  # every connection from here on opens during the fault
    # Another worker keeps the database open (its WAL files stay in place).
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1]); "
                "c.execute('SELECT COUNT(*) FROM predictions').fetchall(); print('open', flush=True); "
                "time.sleep(30)"
            ),
            str(tmp / "db.sqlite3"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert other.stdout.readline().strip() == "open"
    files = [p for p in tmp.iterdir() if p.name.startswith("db.sqlite3")]
    for p in files + [tmp]:
        p.chmod(0o555 if p.is_dir() else 0o444)
    replies: list[tuple[float, float, int, str | None]] = []  # (started, ended, status, error)
    stop = time.monotonic() + 4

    def hammer():
        mine = app.test_client()
        while time.monotonic() < stop:
            started = time.monotonic()
            reply = mine.post("/api/predict", json=BODY)
            replies.append(
                (
                    started,
                    time.monotonic(),
                    reply.status_code,
                    (reply.get_json() or {}).get("error"),
                )
            )

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    # A connection held across the incident (a long read, a dashboard query).
    with app.app_context():
        try:
            held = db.engine.connect()
            held.execute(db.text("SELECT COUNT(*) FROM predictions"))
        except OperationalError:
            held = None  # refused: opened now it would stay read-only
    time.sleep(1.0)
    for p in files:
        p.chmod(0o644)
    tmp.chmod(0o755)
    restored = time.monotonic()
    for t in threads:
        t.join()
    if held is not None:
        held.close()
    other.kill()
    other.wait()
    # Requests under way while the permissions changed belong to neither side.
    during = [r for r in replies if r[1] < restored]
    after = [r for r in replies if r[0] > restored]
    print(
        json.dumps(
            {
                "during": [r[2] for r in during],
                "after": [r[2] for r in after],
                "errors": sorted({r[3] for r in during if r[3]}),
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv[1])

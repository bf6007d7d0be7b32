"""The locked requirements: every package pinned, the web's apart from the trainer's."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==(\S+)")


def pins(name: str) -> dict[str, str]:
    """Package -> version of a lock file; fails on any requirement that is not pinned."""
    found = {}
    for line in (ROOT / name).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith("-"):
            continue
        match = PIN.match(line)
        assert match, f"{name}: {line!r} is not pinned with =="
        found[match.group(1).lower().replace("_", "-")] = match.group(2)
    return found


def sources(name: str) -> set[str]:
    text = (ROOT / "requirements" / name).read_text()
    return {m.group(1).lower() for m in map(PIN.match, text.splitlines()) if m}


def test_every_lock_pins_every_package_the_same_way():
    full, web, dev = (
        pins(n) for n in ("requirements.txt", "requirements-web.txt", "requirements-dev.txt")
    )
    assert len(full) > 2 * len(sources("web.in") | sources("train.in"))  # transitive pins too
    for lock in (web, dev):
        shared = lock.keys() & full.keys()
        assert {p: lock[p] for p in shared} == {p: full[p] for p in shared}
    assert full.keys() <= dev.keys()


def test_a_web_host_installs_without_tensorflow():
    web = pins("requirements-web.txt")
    assert not {"tensorflow", "keras", "tf-keras"} & web.keys()
    assert sources("web.in") <= web.keys()
    assert {"tensorflow", "keras"} <= pins("requirements.txt").keys()

"""Compute slots: how many requests one web process runs the model for at once.

Reading a drawing is CPU work (drawing strokes, cutting a number, the
model); the rest of a request (health, the dashboard, a flag, the database)
mostly waits. Each process lets COMPUTE_SLOTS requests compute at a time
(default 1: gunicorn runs a process per core) and gives them more threads
than that (gunicorn.conf.py), so a thread is always free for
`/api/health` and the pages, however many drawings arrive at once; they
answer within milliseconds while the slot works. A request that waits
longer than COMPUTE_WAIT_SECONDS for a slot is refused (503, try again).

The body is read before the slot is taken: a client that sends slowly never
holds one.
"""

from __future__ import annotations

import threading
from functools import wraps

from flask import current_app, request

from app.errors import Unavailable

_slots: threading.BoundedSemaphore | None = None
_made = threading.Lock()


def _semaphore() -> threading.BoundedSemaphore:
    global _slots
    with _made:
        if _slots is None:
            _slots = threading.BoundedSemaphore(max(1, current_app.config["COMPUTE_SLOTS"]))
        return _slots


def computes(view):
    """Run the view in one of this process's compute slots."""

    @wraps(view)
    def in_a_slot(*args, **kwargs):
        request.get_data(cache=True)  # the whole body first, bounded by MAX_CONTENT_LENGTH
        slots = _semaphore()
        if not slots.acquire(timeout=current_app.config["COMPUTE_WAIT_SECONDS"]):
            raise Unavailable("DigitPad is busy reading other drawings; try again in a moment")
        try:
            return view(*args, **kwargs)
        finally:
            slots.release()

    return in_a_slot

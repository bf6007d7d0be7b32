"""Gunicorn settings for `make run` (override with GUNICORN_CMD_ARGS)."""

import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
# More threads than compute slots (COMPUTE_SLOTS, app/services/compute.py):
# while one reads a drawing, the others answer health, pages and flags.
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
timeout = 30
accesslog = "-"
# No preload: each worker imports the app and loads the model after the fork.
preload_app = False


def post_worker_init(worker):
    """Load the model in the fresh worker so its first request is fast."""
    from app.services.serving import predictor

    with worker.wsgi.app_context():
        try:
            version = predictor().info.version
            worker.log.info("worker %s serving model %s", worker.pid, version)
        except Exception as exc:  # noqa: BLE001 - serve health errors, don't crash
            worker.log.error("worker %s could not load the model: %s", worker.pid, exc)

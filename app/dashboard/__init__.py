"""The dashboard: the served model, usage, and every training run (read-only)."""

from flask import Blueprint, current_app

from app.extensions import limiter

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")
# Pages cost CPU (a run page renders its charts' data): every one counts
# against the client's limit; downloads also against a tighter one (routes).
limiter.limit(lambda: current_app.config["DASHBOARD_RATE_LIMIT"])(bp)


def downloads_limited(view):
    """A heavy download (model files, exports): also DOWNLOAD_RATE_LIMIT per client."""
    return limiter.limit(
        lambda: current_app.config["DOWNLOAD_RATE_LIMIT"], scope="dashboard-downloads"
    )(view)


from app.dashboard import flags, models, routes  # noqa: E402,F401

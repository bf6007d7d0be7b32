"""The dashboard: the served model, usage, and every training run (read-only)."""

from flask import Blueprint

bp = Blueprint("dashboard", __name__, url_prefix="/dashboard")

from app.dashboard import flags, models, routes  # noqa: E402,F401

"""The JSON API: predictions, flags and health."""

from flask import Blueprint

bp = Blueprint("api", __name__, url_prefix="/api")

from app.api import routes  # noqa: E402,F401

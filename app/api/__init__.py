"""The JSON API: predictions, flags and health."""

from flask import Blueprint, current_app, request

from app.extensions import limiter

bp = Blueprint("api", __name__, url_prefix="/api")
# Every endpoint but health (load balancers poll it) counts against the client's limit.
limiter.limit(
    lambda: current_app.config["API_RATE_LIMIT"],
    exempt_when=lambda: request.endpoint == "api.health",
)(bp)

from app.api import routes  # noqa: E402,F401

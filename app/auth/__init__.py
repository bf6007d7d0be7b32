"""The admin: a password login whose hash comes from configuration."""

from flask import Blueprint

bp = Blueprint("auth", __name__)

from app.auth import routes  # noqa: E402,F401  (routes attach to bp)
from app.auth.access import admin_required, is_admin  # noqa: E402,F401

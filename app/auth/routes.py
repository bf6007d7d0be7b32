"""Sign in and out as the admin."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, flash, redirect, render_template, request, session, url_for

from app.auth import bp
from app.auth.access import admin_configured, check_password


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect a login to another host."""
    if target and target.startswith("/") and not target.startswith("//"):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return url_for("dashboard.index")


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Show the sign-in form; on POST check the password against the configured hash."""
    status = 200
    if request.method == "POST":
        if check_password(request.form.get("password", "")):
            session.clear()
            session["admin"] = True
            session.permanent = True
            current_app.logger.info("admin signed in from %s", request.remote_addr)
            return redirect(_safe_next(request.form.get("next")))
        flash("Wrong password." if admin_configured() else "No admin password is configured.",
              "error")
        status = 401
    return render_template("auth/login.html", configured=admin_configured(),
                           next=request.values.get("next", "")), status


@bp.post("/logout")
def logout():
    """Forget the admin session."""
    session.clear()
    return redirect(url_for("dashboard.index"))

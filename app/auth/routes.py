"""Sign in and out as the admin."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for

from app.auth import bp
from app.auth.access import (admin_configured, check_password, end_admin_sessions,
                             same_site_path, start_admin_session)
from app.extensions import limiter


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
def login():
    """Show the sign-in form; on POST check the password against the configured hash."""
    status = 200
    if request.method == "POST":
        if check_password(request.form.get("password", "")):
            start_admin_session()
            current_app.logger.info("admin signed in from %s", request.remote_addr)
            return redirect(same_site_path(request.form.get("next"), url_for("dashboard.index")))
        current_app.logger.warning("failed admin sign-in from %s", request.remote_addr)
        flash("Wrong password." if admin_configured() else "No admin password is configured.",
              "error")
        status = 401
    return render_template("auth/login.html", configured=admin_configured(),
                           next=request.values.get("next", "")), status


@bp.post("/logout")
def logout():
    """Sign out, voiding every copy of the admin's cookie."""
    end_admin_sessions()
    return redirect(url_for("dashboard.index"))

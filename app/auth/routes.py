"""Sign in and out as the admin."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError

from app.auth import bp
from app.auth.access import (
    admin_configured,
    check_password,
    end_admin_sessions,
    is_admin,
    same_site_path,
    start_admin_session,
)
from app.extensions import db, limiter

# The admin is one account: its failed sign-ins are counted from every
# address together, so guessing from many addresses waits as long as from one.
ACCOUNT = "admin-account"


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_RATE_LIMIT"], methods=["POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURE_LIMIT"],
    methods=["POST"],
    key_func=lambda: ACCOUNT,
    scope="login-failures",
    deduct_when=lambda response: response.status_code == 401,
)
def login():
    """Show the sign-in form; on POST check the password against the configured hash."""
    status = 200
    if request.method == "POST":
        if check_password(request.form.get("password", "")):
            start_admin_session()
            current_app.logger.info("admin signed in from %s", request.remote_addr)
            flash(
                "You are signed in as the admin. Sign out from the top bar when you are done.", "ok"
            )
            return redirect(same_site_path(request.form.get("next"), url_for("dashboard.index")))
        current_app.logger.warning("failed admin sign-in from %s", request.remote_addr)
        if not admin_configured():
            flash("No admin password is configured.", "error")
        status = 401
    return render_template(
        "auth/login.html",
        configured=admin_configured(),
        failed=status == 401,
        next=request.values.get("next", ""),
    ), status


@bp.post("/logout")
def logout():
    """Sign out, voiding every copy of the admin's cookie."""
    end_admin_sessions()
    flash("You are signed out, here and on every other device.", "ok")
    return redirect(url_for("dashboard.index"))


def _shown_as_admin() -> bool:
    """For the top bar only: with the database down, a page (its error page too) still renders."""
    try:
        return is_admin()
    except SQLAlchemyError:
        db.session.rollback()
        return False


@bp.app_context_processor
def admin_state() -> dict:
    """Every page's top bar shows whether the admin is signed in."""
    return {"is_admin": _shown_as_admin}

"""Admin actions on models: retrain on the confirmed flags, promote or roll back a version.

Each action that changes what is served has a page of its own that says what
it will do (GET) and a form that does it (POST) with the admin's reason.
Without scripts the forms work as they are. A refused form is shown again
with the reason and a 4xx status; scripts asking for JSON get `{"error"}`.
"""

from __future__ import annotations

from flask import flash, jsonify, redirect, render_template, request, url_for

from app.auth import admin_required, is_admin
from app.auth.access import wants_json
from app.dashboard import bp
from app.errors import AppError, NotFound
from app.services import jobs, registry, retraining
from app.services.dashboard import versions


def _version(name: str):
    version = registry.find_version(name)
    if version is None:
        raise NotFound(f"There is no model version {name!r}.")
    return version


# ------------------------------------------------------------------ retraining
def _retrain_page(error: str | None = None, status: int = 200):
    return render_template(
        "dashboard/retrain.html", retrain=versions.retrain_status(), error=error
    ), status


@bp.get("/retrain")
@admin_required
def retrain_page():
    """What a retraining would learn from, what awaits review, and whether a worker will run it."""
    return _retrain_page()


@bp.post("/retrain")
@admin_required
def retrain():
    """Queue a retraining on the confirmed flags.

    400 with no confirmed flags to learn from (the page says how many await
    review), 409 while another training is queued or running.
    """
    try:
        spec, extra = retraining.retrain_spec()
        run = jobs.submit(spec, "retrain", extra)
    except AppError as exc:
        if wants_json():
            raise
        return _retrain_page(exc.message, exc.status)
    if wants_json():
        return jsonify(run_id=run.id, status=run.status, waiting=jobs.waiting_message(run)), 202
    flash(f"Retraining queued as run {run.id}.", "info")
    return redirect(url_for(".run_detail", run_id=run.id)), 303


# ------------------------------------------------------------------ versions
@bp.get("/models/<version>")
def model_detail(version: str):
    """One model version: its figures, the gate's verdict, and who made it active, when and why."""
    v = _version(version)
    return render_template(
        "dashboard/model.html", v=v, info=versions.version_info(v), admin=is_admin()
    )


def _confirm_page(v, error: str | None = None, status: int = 200, reason: str = ""):
    return render_template(
        "dashboard/activate.html",
        v=v,
        info=versions.version_info(v, compare=True),
        error=error,
        reason=reason,
        max_reason=registry.MAX_REASON,
    ), status


@bp.get("/models/<version>/activate")
@admin_required
def confirm_activate(version: str):
    """Ask before a promotion or a roll back: what changes, what the gate said, and why."""
    return _confirm_page(_version(version))


@bp.post("/models/<version>/activate")
@admin_required
def activate(version: str):
    """Make a version active: a promotion or a roll back, with the admin's `reason`.

    A version the gate rejected also needs `override_gate`. 400 without a
    reason, for a rejected version without the override, or if its files
    cannot be served; 404 for an unknown version.
    """
    payload = (request.get_json(silent=True) or {}) if request.is_json else request.form
    reason = str(payload.get("reason") or "")
    override = payload.get("override_gate") in (True, "1", "on", "yes", "true")
    v = _version(version)
    try:
        if v.status == "active":
            raise AppError(f"{v.version} is already the active version.", 409)
        v = registry.promote(v.version, reason, by="the admin (dashboard)", gate_override=override)
    except AppError as exc:
        if wants_json():
            raise
        return _confirm_page(v, exc.message, exc.status, reason)
    if wants_json():
        return jsonify(
            version=v.version, status=v.status, activation=v.activation, reason=v.activation_reason
        )
    word = "Rolled back to" if v.activation == "rollback" else "Promoted"
    flash(f"{word} {v.version}; workers switch to it within seconds.", "info")
    return redirect(url_for(".index")), 303

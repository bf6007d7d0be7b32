"""Admin actions on models: queue a retraining, promote or roll back a version."""

from __future__ import annotations

from flask import flash, jsonify, redirect, url_for

from app.auth import admin_required
from app.auth.access import wants_json
from app.dashboard import bp
from app.services import jobs, registry, retraining


@bp.post("/retrain")
@admin_required
def retrain():
    """Queue a retraining on the confirmed flags (409 while another training is queued or running)."""
    spec, extra = retraining.retrain_spec()
    run = jobs.submit(spec, "retrain", extra)
    if wants_json():
        return jsonify(run_id=run.id, status=run.status), 202
    return redirect(url_for(".run_detail", run_id=run.id)), 303


@bp.post("/models/<version>/activate")
@admin_required
def activate(version: str):
    """Make a version active: a promotion or a rollback (400 if its files cannot be served)."""
    v = registry.promote(version, "activated by the admin from the dashboard")
    if wants_json():
        return jsonify(version=v.version, status=v.status)
    flash(f"{v.version} is now active; workers switch within seconds.", "info")
    return redirect(url_for(".index")), 303

"""The flagged drawings: review (admin only), feedback confusion, exports."""

from __future__ import annotations

from datetime import datetime, timezone

from flask import Response, abort, jsonify, redirect, render_template, request, url_for

from app.auth import admin_required, is_admin
from app.auth.access import drawings_visible, same_site_path, wants_json
from app.dashboard import bp, downloads_limited
from app.errors import NotFound
from app.extensions import db
from app.models import Prediction
from app.services import retraining, review
from app.services.dashboard import heatmap
from app.services.retention import PURGED
from app.services.review import FlagFilter


@bp.get("/flags")
@drawings_visible
def flags():
    """The flagged drawings as a grid, filtered by corrected digit and status."""
    flt = FlagFilter.parse(request.args.get("digit"), request.args.get("status"))
    flag_list = review.list_flags(flt)
    return render_template(
        "dashboard/flags.html", flags=flag_list, flt=flt, training=retraining.flag_training(flag_list),
        counts=review.status_counts(), statuses=review.FLAG_STATUSES,
        feedback=heatmap(review.feedback_confusion(), "corrected", "predicted"),
        admin=is_admin(),
    )


@bp.post("/flags/<int:flag_id>/review")
@admin_required
def review_flag(flag_id: int):
    """Confirm, relabel (with `label`), dismiss or reopen a flag.

    Answers JSON to scripts, else redirects back to the grid. 400 for a bad
    action or label, 404 for an unknown flag.
    """
    payload = request.get_json(silent=True) if request.is_json else request.form
    payload = payload if isinstance(payload, dict) or hasattr(payload, "get") else {}
    flag = review.review(flag_id, payload.get("action", ""), payload.get("label"))
    if flag is None:
        raise NotFound(f"no flag {flag_id}")
    if wants_json():
        return jsonify(id=flag.id, status=flag.status, label=flag.label,
                       predicted=flag.prediction.digit)
    return redirect(same_site_path(request.form.get("back"), url_for("dashboard.flags")))


@bp.get("/predictions/<int:prediction_id>/drawing.png")
@drawings_visible
def drawing(prediction_id: int):
    """The drawing as the person made it (strokes rendered), as a PNG."""
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None or prediction.drawing_type == PURGED:
        abort(404)
    return Response(review.drawing_png(prediction), mimetype="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


@bp.get("/predictions/<int:prediction_id>/input.png")
@drawings_visible
def model_input(prediction_id: int):
    """The 28x28 image the model saw."""
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None or prediction.drawing_type == PURGED:
        abort(404)
    return Response(prediction.input_png, mimetype="image/png",
                    headers={"Cache-Control": "private, max-age=3600"})


def _stamp() -> str:
    return datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")


@bp.get("/flags/export.csv")
@downloads_limited
@drawings_visible
def export_csv():
    """Confirmed flags in the Kaggle layout (label, then 784 pixels), for `--dataset csv`."""
    return Response(review.export_csv(), mimetype="text/csv", headers={
        "Content-Disposition": f"attachment; filename=digitpad-flags-{_stamp()}.csv"})


@bp.get("/flags/export.zip")
@downloads_limited
@drawings_visible
def export_zip():
    """Confirmed flags as PNGs (28x28 input and the drawing), in a folder per digit."""
    return Response(review.export_zip(), mimetype="application/zip", headers={
        "Content-Disposition": f"attachment; filename=digitpad-flags-{_stamp()}.zip"})

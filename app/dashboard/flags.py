"""The flagged drawings: review (admin only), feedback confusion, exports."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from flask import Response, abort, jsonify, redirect, render_template, request, url_for

from app.auth import admin_required, is_admin
from app.auth.access import drawings_visible, same_site_path, wants_json
from app.dashboard import bp, downloads_limited
from app.errors import NotFound, json_view
from app.extensions import db
from app.models import NO_DIGIT_LABEL, NO_DIGIT_NAME, FlagStatus, Prediction, label_name
from app.services import retraining, review
from app.services.dashboard.heatmap import heatmap
from app.services.retention import PURGED
from app.services.review import FlagFilter, ReviewError

PER_PAGE = 50
NO_DIGIT_WORDS = "not a digit"


def label_words(label: int) -> str:
    """A flag's label as the page says it: the digit, or "not a digit"."""
    return NO_DIGIT_WORDS if label == NO_DIGIT_LABEL else str(label)


def parse_page(value: str | None) -> int:
    """The page number asked for: 1 when none is given; 400 unless a positive integer."""
    if value in (None, ""):
        return 1
    if not (value.isascii() and value.isdigit()) or int(value) < 1:
        raise ReviewError("page must be a positive whole number")
    return int(value)


def filter_args(flt: FlagFilter) -> dict[str, str]:
    """The filter as query arguments, for links that keep it (nothing for "all")."""
    args = {}
    if flt.digit is not None:
        args["digit"] = str(label_name(flt.digit))
    if flt.status:
        args["status"] = flt.status
    return args


def pager(flt: FlagFilter, page: int, total: int, shown: int) -> dict:
    """Where this page sits among all the filtered flags, and links to the others."""
    pages = max(1, -(-total // PER_PAGE))
    first = (page - 1) * PER_PAGE + 1 if shown else 0

    def link(number: int) -> str:
        args: dict[str, Any] = {**filter_args(flt)}
        if number > 1:
            args["page"] = number
        return url_for(".flags", **args)

    return {
        "page": page,
        "pages": pages,
        "total": total,
        "first": first,
        "last": first + shown - 1 if shown else 0,
        "newest": link(1) if page > 1 else None,
        "newer": link(page - 1) if page > 1 else None,
        "older": link(page + 1) if page < pages else None,
        "oldest": link(pages) if page < pages else None,
    }


def feedback_heatmap() -> dict:
    """Predicted against corrected; the last row is the drawings that are no digit at all."""
    hm = heatmap(review.feedback_confusion(), "corrected", "predicted")
    hm["labels"] = list(range(10))  # the model's answers: always a digit
    for row in hm["rows"]:
        if row["true"] == NO_DIGIT_LABEL:
            row["true"] = NO_DIGIT_WORDS
            for cell in row["cells"]:
                cell["true"] = NO_DIGIT_NAME
                cell["title"] = (
                    f"{NO_DIGIT_WORDS}, predicted {cell['predicted']}: "
                    f"{cell['count']} ({cell['rate']:.1%})"
                )
    return hm


@bp.get("/flags")
@drawings_visible
def flags():
    """The flagged drawings as a grid, PER_PAGE at a time, filtered by label and status.

    `page` counts from 1 (400 unless a positive whole number); past the last
    page, the last page is shown.
    """
    flt = FlagFilter.parse(request.args.get("digit"), request.args.get("status"))
    page = parse_page(request.args.get("page"))
    total = review.count_flags(flt)
    page = min(page, max(1, -(-total // PER_PAGE)))
    flag_list = review.list_flags(flt, limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template(
        "dashboard/flags.html",
        flags=flag_list,
        flt=flt,
        training=retraining.flag_training(flag_list),
        counts=review.status_counts(),
        statuses=list(FlagStatus),
        pager=pager(flt, page, total, len(flag_list)),
        label_words=label_words,
        no_digit=NO_DIGIT_LABEL,
        no_digit_name=NO_DIGIT_NAME,
        feedback=feedback_heatmap(),
        admin=is_admin(),
    )


@bp.post("/flags/<int:flag_id>/review")
@admin_required
def review_flag(flag_id: int):
    """Confirm, relabel (with `label`), dismiss or reopen a flag.

    Answers JSON to scripts, else redirects back to the grid. 400 for a bad
    action or label, 404 for an unknown flag.
    """
    sent = request.get_json(silent=True) if request.is_json else request.form
    payload: Mapping = sent if isinstance(sent, Mapping) else {}
    flag = review.review(flag_id, payload.get("action", ""), payload.get("label"))
    if flag is None:
        raise NotFound(f"no flag {flag_id}")
    if wants_json():
        return jsonify(
            id=flag.id,
            status=flag.status,
            label=label_name(flag.label),
            label_words=label_words(flag.label),
            predicted=flag.prediction.digit,
        )
    return redirect(same_site_path(request.form.get("back"), url_for("dashboard.flags")))


@bp.get("/predictions/<int:prediction_id>/drawing.png")
@drawings_visible
def drawing(prediction_id: int):
    """The drawing as the person made it (strokes rendered), as a PNG."""
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None or prediction.drawing_type == PURGED:
        abort(404)
    return Response(
        review.drawing_png(prediction),
        mimetype="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


@bp.get("/predictions/<int:prediction_id>/why")
@drawings_visible
@json_view
def prediction_why(prediction_id: int):
    """Which ink of a flagged drawing's 28x28 input argued for the answer and for the runner-up."""
    from app.services import inside

    return jsonify(inside.why_of_input(prediction_id))


@bp.get("/predictions/<int:prediction_id>/input.png")
@drawings_visible
def model_input(prediction_id: int):
    """The 28x28 image the model saw."""
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None or prediction.drawing_type == PURGED:
        abort(404)
    return Response(
        prediction.input_png,
        mimetype="image/png",
        headers={"Cache-Control": "private, max-age=3600"},
    )


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


@bp.get("/flags/export.csv")
@downloads_limited
@drawings_visible
def export_csv():
    """Confirmed flags in the Kaggle layout (label, then 784 pixels), for `--dataset csv`."""
    return Response(
        review.export_csv(),
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=digitpad-flags-{_stamp()}.csv"},
    )


@bp.get("/flags/export.zip")
@downloads_limited
@drawings_visible
def export_zip():
    """Confirmed flags as PNGs (28x28 input and the drawing), in a folder per digit."""
    return Response(
        review.export_zip(),
        mimetype="application/zip",
        headers={"Content-Disposition": f"attachment; filename=digitpad-flags-{_stamp()}.zip"},
    )

"""JSON endpoints. Every error answers {"error": "..."} with a 4xx status."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import current_app, jsonify, request

from app.api import bp
from app.auth.access import author_token, client_id
from app.errors import AppError, NotFound
from app.models import label_name
from app.services import drawings, inside, predictions, reading, serving
from app.services.compute import computes
from app.services.database import StorageError, write_probe
from app.services.drawings import Drawing


def _json_object() -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise AppError("the body must be a JSON object")
    return payload


@dataclass(frozen=True)
class _Submission:
    """A drawing as a request sends it: strokes, or a picture; and what to do with it."""

    store: bool
    replaces: int | None
    # The JSON body holding "strokes" (empty when a picture was sent instead).
    strokes: dict = field(default_factory=dict)
    picture: Drawing | None = None
    key: str | None = None  # the Idempotency-Key header


_REQUEST_KEY = re.compile(r"[A-Za-z0-9_.:-]{1,64}")


def _request_key() -> str | None:
    key = request.headers.get("Idempotency-Key")
    if key is not None and not _REQUEST_KEY.fullmatch(key):
        raise AppError("Idempotency-Key must be 1 to 64 letters, digits or _ . : -")
    return key


def _submission(replaces_what: str, whole: bool) -> _Submission:
    """Parse the body /api/predict and /api/read share.

    JSON {"strokes", "width", "height", "line_width"?} or {"image": data URL
    or base64}, with "store" and "replaces"; or a multipart upload with a file
    field "image" and a form field "store". `whole`: a picture is also made
    into one 28x28 input (a digit), not only stored (a number).
    """
    key = _request_key()
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise AppError('send the image in a file field named "image"')
        try:
            picture = drawings.from_image_bytes(upload.read(), whole)
        finally:  # large uploads are spooled to a temporary file
            upload.close()
        store = request.form.get("store", "true").lower() not in ("false", "0", "no")
        return _Submission(store, None, picture=picture, key=key)
    payload = _json_object()
    store = payload.get("store", True)
    if not isinstance(store, bool):
        raise AppError('"store" must be true or false')
    replaces = payload.get("replaces")
    if replaces is not None and (
        isinstance(replaces, bool) or not isinstance(replaces, int) or not 0 < replaces < 2**63
    ):
        raise AppError(f'"replaces" must be the {replaces_what}')
    if "image" in payload:
        return _Submission(
            store, replaces, picture=drawings.from_base64(payload["image"], whole), key=key
        )
    if "strokes" in payload:
        return _Submission(store, replaces, strokes=payload, key=key)
    raise AppError('send "image" (a data URL or base64) or "strokes"')


def _author(submission: _Submission) -> str | None:
    return author_token(client_id()) if submission.store else None


@bp.post("/predict")
@computes
def predict():
    """Predict the digit in a drawing.

    Accepts JSON {"image": data URL or base64}, JSON {"strokes", "width",
    "height", "line_width"?}, or a multipart upload with a file field "image";
    JSON may add "replaces": the id of the same drawing's previous prediction.
    An `Idempotency-Key` header makes a retry safe: a request this browser
    already stored under that key is answered with the same prediction_id.
    Raises 400 for malformed input, 413 for oversized input, 422 for an empty
    drawing, 503 if no model can be loaded.
    """
    sent = _submission("id of an earlier prediction", whole=True)
    drawing = sent.picture or drawings.from_strokes(
        sent.strokes, current_app.config["MAX_STROKE_POINTS"]
    )
    result = predictions.predict(
        drawing,
        store=sent.store,
        replaces=sent.replaces,
        author=_author(sent),
        request_key=sent.key,
    )
    return jsonify(result.as_json())


@bp.post("/read")
@computes
def read():
    """Read a number written in one go, digit by digit, left to right.

    The same inputs as /api/predict (strokes, an image as data URL or base64,
    a multipart upload, "store"); JSON may add "replaces": the number_id of the
    same drawing's previous reading. Each digit is stored as a prediction of
    its own, flagged like any other. Raises 400 for malformed input, 413 for
    oversized input, 422 for an empty drawing or more than ten digits, 503 if
    no model can be loaded.
    """
    sent = _submission("number_id of an earlier reading", whole=False)
    source = sent.picture or drawings.stroke_body(
        sent.strokes, current_app.config["MAX_STROKE_POINTS"]
    )
    result = reading.read(
        source, store=sent.store, replaces=sent.replaces, author=_author(sent), request_key=sent.key
    )
    return jsonify(result.as_json())


@bp.post("/predictions/<int:prediction_id>/flag")
def flag(prediction_id: int):
    """Flag a prediction as wrong with the right digit, or "none" (201; again to change it).

    400 for a bad label, 403 for a drawing this browser did not make, 404 for
    an unknown prediction, 409 once the admin has reviewed the flag, 422 for
    the digit the model already answered.
    """
    payload = _json_object()
    label = predictions.parse_label(payload.get("label"))
    stored = predictions.flag(prediction_id, label, author_token(client_id()))
    if stored is None:
        raise NotFound(f"prediction {prediction_id} does not exist")
    return jsonify(
        prediction_id=prediction_id, label=label_name(stored.label), status=stored.status
    ), 201


@bp.delete("/predictions/<int:prediction_id>/flag")
def unflag(prediction_id: int):
    """Take back an open flag (200). 403 for someone else's drawing, 404 with no
    flag, 409 once the admin has reviewed it."""
    predictions.unflag(prediction_id, author_token(client_id()))
    return jsonify(prediction_id=prediction_id, flag=None)


def _every_filter() -> bool:
    return request.args.get("all", "").lower() in ("1", "true", "yes")


@bp.get("/predictions/<int:prediction_id>/inside")
@computes
def prediction_inside(prediction_id: int):
    """Inside the network for a stored prediction: its layers and why it chose its digit.

    The author's own drawings, or any with FLAGS_PUBLIC or for the admin (else
    403); `?all=1` sends every filter's map, not only the strongest. 404 for
    an unknown prediction or one whose drawing is no longer kept.
    """
    from app.auth import is_admin

    any_drawing = bool(current_app.config.get("FLAGS_PUBLIC")) or is_admin()
    return jsonify(
        inside.of_prediction(prediction_id, author_token(client_id()), any_drawing, _every_filter())
    )


@bp.post("/inside")
@computes
def drawing_inside():
    """Inside the network for a drawing sent as /api/predict takes it; nothing is stored."""
    sent = _submission("id of an earlier prediction", whole=True)
    drawing = sent.picture or drawings.from_strokes(
        sent.strokes, current_app.config["MAX_STROKE_POINTS"]
    )
    if drawing.mnist is None:
        raise AppError("send one digit")
    return jsonify(inside.explain(drawing.mnist, drawing.placement, drawing.size, _every_filter()))


@bp.get("/health")
def health():
    """The served model and whether the database accepts a write.

    503 when this process can serve no model or the database refuses writes;
    "degraded" (200) when it serves an older model than the active one.
    """
    model = serving.health()
    body: dict = {"status": "ok", "model_version": model["served_version"], "model": model}
    status = 200
    if model["served_version"] is None:
        body["status"], status = "degraded", 503
    elif not model["serving_active"] or model["files"] not in ("ok", "bundled"):
        body["status"] = "degraded"
    try:
        write_probe()
        body["database"] = "ok"
    except StorageError as exc:
        body.update(status="degraded", database=str(exc).split(";")[0])
        status = 503
    return jsonify(body), status

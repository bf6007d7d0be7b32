"""JSON endpoints. Every error answers {"error": "..."} with a 4xx status."""

from __future__ import annotations

from flask import current_app, jsonify, request

from app.api import bp
from app.auth.access import author_token, client_id
from app.services import drawings, predictions
from app.services.predictions import FlagRefused
from app.services.database import StorageError, write_probe
from app.services.predictor import ModelUnavailable
from trainer.preprocessing import PreprocessError


class ApiError(Exception):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message, self.status = message, status


@bp.errorhandler(ApiError)
def api_error(err: ApiError):
    return jsonify(error=err.message), err.status


@bp.errorhandler(PreprocessError)
def preprocess_error(err: PreprocessError):
    return jsonify(error=str(err)), err.status


@bp.errorhandler(FlagRefused)
def flag_refused(err: FlagRefused):
    return jsonify(error=str(err)), err.status


@bp.errorhandler(StorageError)
def storage_error(err: StorageError):
    return jsonify(error=str(err)), 503


def _json_object() -> dict:
    payload = request.get_json(silent=True)
    if not isinstance(payload, dict):
        raise ApiError("the body must be a JSON object")
    return payload


@bp.post("/predict")
def predict():
    """Predict the digit in a drawing.

    Accepts JSON {"image": data URL or base64}, JSON {"strokes", "width",
    "height", "line_width"?}, or a multipart upload with a file field "image".
    Raises 400 for malformed input, 413 for oversized input, 422 for an empty
    drawing, 503 if no model can be loaded.
    """
    store = True
    if request.mimetype == "multipart/form-data":
        upload = request.files.get("image")
        if upload is None:
            raise ApiError('send the image in a file field named "image"')
        try:
            data = upload.read()
        finally:  # large uploads are spooled to a temporary file
            upload.close()
        drawing = drawings.from_image_bytes(data)
        store = request.form.get("store", "true").lower() not in ("false", "0", "no")
    else:
        payload = _json_object()
        store = payload.get("store", True)
        if not isinstance(store, bool):
            raise ApiError('"store" must be true or false')
        if "image" in payload:
            drawing = drawings.from_base64(payload["image"])
        elif "strokes" in payload:
            drawing = drawings.from_strokes(payload, current_app.config["MAX_STROKE_POINTS"])
        else:
            raise ApiError('send "image" (a data URL or base64) or "strokes"')
    try:
        result = predictions.predict(drawing, store=store,
                                     author=author_token(client_id()) if store else None)
    except ModelUnavailable as exc:
        current_app.logger.error("model unavailable: %s", exc)
        raise ApiError("the model is not available", 503) from exc
    return jsonify(result.as_json())


@bp.post("/predictions/<int:prediction_id>/flag")
def flag(prediction_id: int):
    """Flag a prediction as wrong with the right digit (201; again to change it while open).

    400 for a bad label, 403 for a drawing this browser did not make, 404 for
    an unknown prediction, 409 once the admin has reviewed the flag.
    """
    payload = _json_object()
    label = payload.get("label")
    if isinstance(label, bool) or not isinstance(label, int) or not 0 <= label <= 9:
        raise ApiError('"label" must be an integer from 0 to 9')
    stored = predictions.flag(prediction_id, label, author_token(client_id()))
    if stored is None:
        raise ApiError(f"prediction {prediction_id} does not exist", 404)
    return jsonify(prediction_id=prediction_id, label=stored.label, status=stored.status), 201


@bp.get("/health")
def health():
    """The loaded model's version and whether the database accepts a write."""
    body: dict = {"status": "ok"}
    status = 200
    try:
        body["model_version"] = predictions.predictor().info.version
    except ModelUnavailable as exc:
        body.update(status="degraded", model_version=None, model_error=str(exc))
        status = 503
    try:
        write_probe()
        body["database"] = "ok"
    except StorageError as exc:
        body.update(status="degraded", database=str(exc).split(";")[0])
        status = 503
    return jsonify(body), status

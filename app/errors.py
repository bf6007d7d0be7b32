"""Error pages: JSON for the API, plain pages elsewhere."""

from __future__ import annotations

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException


def _wants_json() -> bool:
    """The API always speaks JSON; dashboard scripts ask for it."""
    from app.auth.access import wants_json

    return request.path.startswith("/api/") or wants_json()


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if _wants_json():
            messages = {
                413: f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes",
                404: "not found",
                405: "method not allowed",
                429: f"too many requests ({err.description}); try again later",
            }
            response = jsonify(error=messages.get(err.code, err.description))
            response.status_code = err.code
            if err.code == 429 and err.response is not None:  # keep Retry-After and the limits
                for name, value in err.response.headers.items():
                    if name.lower().startswith(("retry-after", "x-ratelimit")):
                        response.headers[name] = value
            return response
        return err

    @app.errorhandler(RecursionError)
    def too_deep(err: RecursionError):
        # JSON nested hundreds of levels deep exhausts the parser's stack.
        message = "the JSON is nested too deeply"
        if _wants_json():
            return jsonify(error=message), 400
        return message, 400

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        app.logger.exception("unhandled error")
        if _wants_json():
            return jsonify(error="internal error"), 500
        return "Internal error", 500

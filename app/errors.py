"""Errors: one base class for what services refuse, mapped to HTTP in one place.

Services raise `AppError` (or a subclass) with a message for people and a
status; views let it pass. Here it becomes `{"error": ...}` JSON for the API
and for scripts, or a page for people (a form that was refused flashes the
message and goes back where it came from).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Flask, current_app, flash, jsonify, redirect, render_template, request, url_for
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException


class AppError(Exception):
    """A request a service refuses: a message for people and an HTTP status."""

    status = 400

    def __init__(
        self, message: str, status: int | None = None, headers: dict[str, str] | None = None
    ):
        super().__init__(message)
        self.message = message
        self.headers = headers or {}  # e.g. Retry-After
        if status is not None:
            self.status = status


class NotFound(AppError):
    status = 404


class Unavailable(AppError):
    """Something the request needs is down for now (the model, the database)."""

    status = 503


def json_view(view):
    """Mark a view that answers only JSON (its errors too, whatever the client accepts)."""
    view.json_only = True
    return view


def _wants_json() -> bool:
    """The API and JSON-only views always speak JSON; dashboard scripts ask for it."""
    from app.auth.access import wants_json

    view = current_app.view_functions.get(request.endpoint or "")
    return request.path.startswith("/api/") or getattr(view, "json_only", False) or wants_json()


def _page(status: int, message: str):
    if request.method == "POST" and status < 500:
        from app.auth.access import same_site_path

        flash(message, "error")
        came_from = urlsplit(request.referrer or "")
        back = (
            came_from.path + (f"?{came_from.query}" if came_from.query else "")
            if came_from.netloc == request.host
            else None
        )
        return redirect(same_site_path(back, url_for("dashboard.index"))), 303
    return render_template("dashboard/error.html", status=status, message=message), status


def register_error_handlers(app: Flask) -> None:
    from trainer.preprocessing import EmptyDrawing, ImageTooLarge, PreprocessError, TooComplex

    @app.errorhandler(AppError)
    def app_error(err: AppError):
        if _wants_json():
            return jsonify(error=err.message), err.status, err.headers
        response = _page(err.status, err.message)
        return (*response, err.headers) if isinstance(response, tuple) else response

    # What the pure-ML preprocessing refuses, in HTTP terms.
    preprocess_status = (
        (EmptyDrawing, 422),
        (TooComplex, 422),
        (ImageTooLarge, 413),
        (PreprocessError, 400),
    )

    @app.errorhandler(PreprocessError)
    def preprocess_error(err: PreprocessError):
        status = next(code for kind, code in preprocess_status if isinstance(err, kind))
        return app_error(AppError(str(err), status))

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):
        if _wants_json():
            too_large = f"the request body is larger than {app.config['MAX_CONTENT_LENGTH']} bytes"
            length = request.content_length
            if length is not None and length <= app.config["MAX_CONTENT_LENGTH"]:
                # Werkzeug's other 413: a form of too many parts, or a part too large.
                too_large = (
                    f"the form has more than {app.config['MAX_FORM_PARTS']} parts, "
                    "or a field too large to hold in memory"
                )
            messages = {
                413: too_large,
                404: "not found",
                405: "method not allowed",
                429: f"too many requests ({err.description}); try again later",
            }
            code = err.code or 500
            response = jsonify(error=messages.get(code, err.description))
            response.status_code = code
            if err.code == 429 and err.response is not None:  # keep Retry-After and the limits
                for name, value in err.response.headers.items():
                    if name.lower().startswith(("retry-after", "x-ratelimit")):
                        response.headers[name] = value
            return response
        return err

    @app.errorhandler(SQLAlchemyError)
    def database_error(err: SQLAlchemyError):
        from app.services.database import unavailable

        return app_error(unavailable(err))

    @app.errorhandler(RecursionError)
    def too_deep(err: RecursionError):
        # JSON nested hundreds of levels deep exhausts the parser's stack.
        return app_error(AppError("the JSON is nested too deeply"))

    @app.errorhandler(Exception)
    def unexpected(err: Exception):
        app.logger.exception("unhandled error")
        if _wants_json():
            return jsonify(error="internal error"), 500
        return "Internal error", 500

"""Who is the admin, and the guard on every action that changes state."""

from __future__ import annotations

import hashlib
import secrets
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, jsonify, redirect, request, session, url_for
from werkzeug.security import check_password_hash

from app.extensions import db
from app.models import AdminEpoch


def same_site_path(target: object, default: str) -> str:
    """`target` if it is a plain path on this site, else `default`.

    Never another host (`//evil`, `https://evil`), never a header-splitting
    control character.
    """
    if (
        isinstance(target, str)
        and target.startswith("/")
        and not target.startswith("//")
        and target.isprintable()
        and "\\" not in target
    ):
        parts = urlsplit(target)
        if not parts.netloc and not parts.scheme:
            return target
    return default


def admin_configured() -> bool:
    return bool(current_app.config.get("ADMIN_PASSWORD_HASH"))


def check_password(password: str) -> bool:
    stored = current_app.config.get("ADMIN_PASSWORD_HASH")
    if not stored or not password:
        return False
    try:
        return check_password_hash(stored, password)
    except (ValueError, TypeError):  # a malformed hash in the configuration
        current_app.logger.error("ADMIN_PASSWORD_HASH is not a valid password hash")
        return False


def is_admin() -> bool:
    """A signed-in admin session that is still valid.

    It must carry the current password's fingerprint (changing the password
    signs everyone out) and the current admin epoch (signing out anywhere
    voids every copy of the cookie).
    """
    if not (session.get("admin") and admin_configured()):
        return False
    return (
        session.get("admin_key") == _password_fingerprint()
        and session.get("admin_epoch") == current_epoch()
    )


def _password_fingerprint() -> str:
    stored = current_app.config.get("ADMIN_PASSWORD_HASH") or ""
    return hashlib.sha256(stored.encode()).hexdigest()[:16]


def current_epoch() -> int:
    row = db.session.get(AdminEpoch, 1)
    return row.epoch if row else 0


def start_admin_session() -> None:
    """Sign this session in as the admin (its browser's drawings stay its own)."""
    client = session.get("client")
    session.clear()
    session.update(admin=True, admin_key=_password_fingerprint(), admin_epoch=current_epoch())
    if client:
        session["client"] = client
    session.permanent = True


def end_admin_sessions() -> None:
    """Sign out: this session, and every other copy of an admin cookie."""
    row = db.session.get(AdminEpoch, 1) or AdminEpoch(id=1, epoch=0)
    row.epoch += 1
    db.session.add(row)
    db.session.commit()
    client = session.get("client")
    session.clear()
    if client:
        session["client"] = client


def wants_json() -> bool:
    return request.is_json or request.accept_mimetypes.best == "application/json"


def _refused():
    if wants_json():
        return jsonify(error="sign in as the admin first"), 401
    return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))


def admin_required(view):
    """Refuse the view to anyone but the signed-in admin (401 JSON, or the login page)."""

    @wraps(view)
    def guarded(*args, **kwargs):
        if not is_admin():
            return _refused()
        return view(*args, **kwargs)

    return guarded


def drawings_visible(view):
    """People's drawings (flags page, pictures, exports) are the admin's to see.

    FLAGS_PUBLIC=1 opens them to everyone (a classroom demo).
    """

    @wraps(view)
    def guarded(*args, **kwargs):
        if not (current_app.config.get("FLAGS_PUBLIC") or is_admin()):
            return _refused()
        return view(*args, **kwargs)

    return guarded


def client_id() -> str:
    """This browser's anonymous id (kept in the signed session cookie), made on first use."""
    if "client" not in session:
        session["client"] = secrets.token_urlsafe(18)
    return session["client"]


def author_token(client: str) -> str:
    """What the database keeps of a client id: a hash, useless as a cookie."""
    return hashlib.sha256(client.encode()).hexdigest()[:32]

"""Signing a test client in as the admin."""

from __future__ import annotations

import re

from werkzeug.security import generate_password_hash

PASSWORD = "a long admin passphrase"


def csrf(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def sign_in(app, client, password: str = PASSWORD) -> str:
    """Configure the admin's password, sign the client in; the CSRF token of its session."""
    app.config["ADMIN_PASSWORD_HASH"] = generate_password_hash(password)
    token = csrf(client.get("/login").get_data(as_text=True))
    reply = client.post("/login", data={"csrf_token": token, "password": password})
    assert reply.status_code in (302, 303), reply.status_code
    return csrf(client.get("/dashboard/").get_data(as_text=True))

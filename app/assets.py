"""Static files: versioned URLs cached for a year, every text reply compressed.

`url_for('static', filename=...)` adds `v=<content hash>`, so a changed file
gets a new URL and browsers may keep each version forever; a URL without the
current hash is revalidated on every use. Flask-Compress encodes replies
(zstd, brotli or gzip, as the browser accepts) and keeps the encoded static
files in memory.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from flask import Flask, request

from app.extensions import compress

YEAR = 365 * 24 * 3600


class Fingerprints:
    """Short content hashes of static files, re-read only when a file changes."""

    def __init__(self, root: str):
        self.root = Path(root).resolve()
        self._known: dict[str, tuple[float, int, str]] = {}
        self._lock = threading.Lock()

    def __call__(self, filename: str) -> str | None:
        path = (self.root / filename).resolve()
        if not path.is_relative_to(self.root):
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        known = self._known.get(filename)
        if known and known[:2] == (stat.st_mtime, stat.st_size):
            return known[2]
        digest = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        with self._lock:
            self._known[filename] = (stat.st_mtime, stat.st_size, digest)
        return digest


class StaticCache:
    """Encoded static replies, by URL and encoding, for as long as the process lives.

    Only versioned URLs are kept, so an entry never goes stale; the set of
    static files bounds its size.
    """

    def __init__(self):
        self._entries: dict[str, bytes] = {}

    def get(self, key: str) -> bytes | None:
        return self._entries.get(key)

    def set(self, key: str, value: bytes) -> None:
        if request.endpoint == "static" and request.args.get("v"):
            self._entries[key] = value


def init_app(app: Flask) -> None:
    assert app.static_folder is not None, "create_app names the static folder"
    fingerprint = Fingerprints(app.static_folder)
    app.config.setdefault("COMPRESS_CACHE_BACKEND", StaticCache)
    app.config.setdefault("COMPRESS_CACHE_KEY", lambda req: req.full_path)
    compress.init_app(app)

    @app.url_defaults
    def versioned_static(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = fingerprint(values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def cache_static(response):
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        filename = (request.view_args or {}).get("filename", "")
        if response.status_code == 200 and response.is_streamed:
            # Read the (small) file whole, so its encoded copy can be cached
            # rather than encoded again for every request.
            stream = response.response
            try:
                data = b"".join(stream)
            finally:
                if hasattr(stream, "close"):
                    stream.close()
            response.direct_passthrough = False
            response.set_data(data)
        if request.args.get("v") and request.args.get("v") == fingerprint(filename):
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
            response.cache_control.no_cache = None
        else:
            response.cache_control.no_cache = True
        return response

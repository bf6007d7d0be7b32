"""The served model: which version is active, and this process's interpreter for it.

Views and services call `predictor()`; nothing else loads a model to serve.
The `model_versions` table says which version is active. Each process
re-reads it every `MODEL_CHECK_SECONDS` and swaps its interpreter when it
changed, without a restart. A version is loaded from its folder when this
host has it, else from the copy of its files in the database, written once
into `MODEL_CACHE_DIR` and checked by SHA-256: every web host can serve every
version. A version that cannot be loaded (missing, corrupt) is refused with a
log line and the last good model keeps serving (at worst the bundled one);
`health()` says so.

Interpreters are loaded lazily in each gunicorn worker, after the fork, never
with TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from app.errors import Unavailable
from app.extensions import db
from app.models import ModelFile, ModelVersion, TrainingRun, VersionStatus, as_utc
from app.services.predictor import ModelUnavailable, Predictor

log = logging.getLogger(__name__)

_loaded: dict[str, tuple[int, Predictor]] = {}
_lock = threading.Lock()


def load(model_dir: str) -> Predictor:
    """This process's interpreter for a model folder, loaded once."""
    pid = os.getpid()
    entry = _loaded.get(model_dir)
    if entry and entry[0] == pid:
        return entry[1]
    with _lock:
        entry = _loaded.get(model_dir)
        if entry and entry[0] == pid:
            return entry[1]
        loaded = Predictor(model_dir)
        log.info("loaded model %s from %s (pid %d)", loaded.info.version, model_dir, pid)
        _loaded[model_dir] = (pid, loaded)
        return loaded


def _release(model_dir: str) -> None:
    """Forget an interpreter no longer served (requests holding it finish with it)."""
    with _lock:
        _loaded.pop(model_dir, None)


def loaded_dirs() -> set[str]:
    return {d for d, (pid, _) in _loaded.items() if pid == os.getpid()}


# ------------------------------------------------------------------ files of a version
def _files_match(directory: Path, files: dict) -> bool:
    """The folder holds model.json and every recorded file with its checksum."""
    if not (directory / "model.json").is_file():
        return False
    for name, info in files.items():
        path = directory / name
        expected = (info or {}).get("sha256")
        if not path.is_file() or (expected and _sha256(path) != expected):
            return False
    return True


_digests: dict[tuple[str, int, int], str] = {}


def _sha256(path: Path) -> str:
    """A file's SHA-256, read again only when its size or modification time changes.

    Health checks and dashboard pages ask for it often; the files are a few MB.
    """
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _digests:
        _digests[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return _digests[key]


def served_files(directory: str | Path) -> dict[str, bytes]:
    """What serving a model folder needs: model.json and its .tflite files."""
    directory = Path(directory)
    files = {"model.json": (directory / "model.json").read_bytes()}
    for path in sorted(directory.glob("*.tflite")):
        files[path.name] = path.read_bytes()
    return files


def store_files(version: ModelVersion) -> None:
    """Keep a copy of a version's served files in the database (for the other web hosts)."""
    for name, content in served_files(version.path).items():
        if db.session.get(ModelFile, (version.id, name)) is None:
            db.session.add(
                ModelFile(
                    version_id=version.id,
                    name=name,
                    content=content,
                    sha256=hashlib.sha256(content).hexdigest(),
                )
            )


def _cached_copy(version: ModelVersion) -> Path:
    """The version's files from the database, in this host's cache (written once, by checksum)."""
    rows = db.session.scalars(select(ModelFile).where(ModelFile.version_id == version.id)).all()
    if not rows:
        raise ModelUnavailable(
            f"version {version.version}: no files in {version.path} and none in the database"
        )
    target = Path(current_app.config["MODEL_CACHE_DIR"]) / version.version
    wanted = {row.name: {"sha256": row.sha256} for row in rows}
    if _files_match(target, wanted):
        return target
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging.mkdir(parents=True, exist_ok=True)
    for row in rows:
        if hashlib.sha256(row.content).hexdigest() != row.sha256:
            raise ModelUnavailable(
                f"version {version.version}: {row.name} in the database does not match its checksum"
            )
        (staging / row.name).write_bytes(row.content)
    try:
        staging.replace(target)
    except OSError:  # another worker put it there first
        for path in staging.iterdir():
            path.unlink()
        staging.rmdir()
    return target


_warned: set[str] = set()


def _served(version: ModelVersion) -> dict:
    return {k: v for k, v in (version.files or {}).items() if k.endswith((".tflite", ".json"))}


def folder_of(version: ModelVersion) -> str:
    """Where this host reads the version's files from: its own folder, or the cache.

    A folder whose files no longer match their checksums (a corrupt disk, a
    hand edit) is never served: the database's copy is, with a warning in the
    log and in `health()`.
    """
    local = Path(version.path)
    if _files_match(local, _served(version)):
        return version.path
    try:
        cached = str(_cached_copy(version))
    except ModelUnavailable as exc:
        if (local / "model.json").is_file():
            raise ModelUnavailable(
                f"the files in {local} do not match their recorded checksums ({exc})"
            ) from exc
        raise
    if (local / "model.json").is_file() and str(local) not in _warned:
        _warned.add(str(local))
        current_app.logger.warning(
            "the files of version %s in %s do not match their recorded "
            "checksums; serving the database's copy from %s",
            version.version,
            local,
            cached,
        )
    return cached


# ------------------------------------------------------------------ which version is served
def active_version() -> ModelVersion | None:
    return db.session.scalar(
        select(ModelVersion).where(ModelVersion.status == VersionStatus.ACTIVE)
    )


@dataclass(frozen=True)
class Served:
    """The version served, and what is known of it without measuring it."""

    version: str | None
    # Its `model_versions` row; None before any version is registered (the bundled model).
    row: ModelVersion | None
    # The training run recorded here that made it, if any.
    run: TrainingRun | None
    test_accuracy: float | None
    since: datetime | None  # made active (or created) at
    # Why the active version's files cannot be served, or why there is no version at all.
    problem: str | None


def served() -> Served:
    """Which version is served and what is known of it: the one answer every page uses.

    Before any version is registered, the bundled model's `model.json`.
    """
    version = active_version()
    if version is None:
        info = _model_json(current_app.config["MODEL_DIR"])
        return Served(
            version=info["version"],
            row=None,
            run=_run_that_made(info["version"]),
            test_accuracy=info["test_accuracy"],
            since=info["created"],
            problem=info["problem"],
        )
    problem = None
    state = health()
    if state["files"] != "ok" or not state["serving_active"]:
        problem = state.get("problem") or f"Its files: {state['files']}."
    return Served(
        version=version.version,
        row=version,
        run=_run_that_made(version.version),
        test_accuracy=version.test_accuracy,
        since=as_utc(version.activated_at or version.created_at),
        problem=problem,
    )


def _run_that_made(version: str | None) -> TrainingRun | None:
    if not version:
        return None
    return db.session.scalar(
        select(TrainingRun)
        .where(TrainingRun.model_version == version)
        .order_by(TrainingRun.id.desc())
        .limit(1)
    )


def _model_json(model_dir: str | Path) -> dict:
    """A model folder's `model.json`: version, test accuracy, creation time.

    Never raises: a missing or unreadable file gives `version` None and a
    `problem` that the page shows instead.
    """
    path = Path(model_dir) / "model.json"
    info: dict[str, Any] = {
        "version": None,
        "test_accuracy": None,
        "created": None,
        "path": str(path),
        "problem": None,
    }
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        info["problem"] = f"No model.json in {path.parent}."
        return info
    except (OSError, ValueError) as exc:
        info["problem"] = f"{path} cannot be read: {exc}"
        return info
    if not isinstance(meta, dict):
        info["problem"] = f"{path} does not describe a model."
        return info
    accuracy = meta.get("test_accuracy")
    info.update(
        version=str(meta["version"]) if meta.get("version") else None,
        test_accuracy=float(accuracy) if isinstance(accuracy, (int, float)) else None,
        created=_parse_time(meta.get("created")),
    )
    if info["version"] is None:
        info["problem"] = f"{path} names no model version."
    return info


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _state() -> dict:
    return current_app.extensions.setdefault(
        "digitpad_serving", {"checked": 0.0, "dir": None, "version": None, "problem": None}
    )


def predictor() -> Predictor:
    """The interpreter for the active version (re-checked every MODEL_CHECK_SECONDS).

    Raises `Unavailable` (503) only when not even the bundled model loads.
    """
    state = _state()
    now = time.monotonic()
    if state["dir"] is None or now - state["checked"] >= current_app.config["MODEL_CHECK_SECONDS"]:
        state["checked"] = now
        _refresh(state)
    if state["dir"] is None:
        raise Unavailable("the model is not available")
    return load(state["dir"])


def _refresh(state: dict) -> None:
    bundled = current_app.config["MODEL_DIR"]
    try:
        active = active_version()
        name = active.version if active else None
        if name is not None and name == state["version"]:
            return
        wanted = folder_of(active) if active else bundled
    except SQLAlchemyError as exc:
        db.session.rollback()
        current_app.logger.error("cannot read the active model version: %s", exc)
        if state["dir"] is None:
            _switch(state, bundled, None)
        return
    except ModelUnavailable as exc:
        _refuse(state, name, exc)
        return
    if wanted == state["dir"]:
        state["version"] = name
        return
    _switch(state, wanted, name)


def _switch(state: dict, wanted: str, name: str | None) -> None:
    try:
        load(wanted)
    except ModelUnavailable as exc:
        _refuse(state, name, exc)
        return
    previous = state["dir"]
    state.update(dir=wanted, version=name, problem=None)
    if previous is not None and previous != wanted:
        current_app.logger.info("switched model: %s -> %s", previous, wanted)
        _release(previous)


def _refuse(state: dict, name: str | None, exc: Exception) -> None:
    """The active version cannot be loaded: keep the last good model, else the bundled one."""
    fallback = state["dir"] or current_app.config["MODEL_DIR"]
    problem = f"version {name} cannot be served: {exc}"
    if problem != state["problem"]:
        current_app.logger.error("%s; serving %s instead", problem, fallback)
    state["problem"] = problem
    if state["dir"] is None:
        try:
            load(fallback)
            state["dir"] = fallback
        except ModelUnavailable as bundled_exc:
            current_app.logger.error("the bundled model cannot be served either: %s", bundled_exc)


def can_serve(version: ModelVersion) -> None:
    """Raise ModelUnavailable unless this version's files load (checked before promotion)."""
    Predictor(folder_of(version))


# ------------------------------------------------------------------ health
def health() -> dict:
    """The active version, whether its files match their checksums, and what this process serves."""
    body: dict = {
        "active_version": None,
        "served_version": None,
        "serving_active": False,
        "files": "unknown",
    }
    try:
        served = predictor().info.version
        body["served_version"] = served
    except Unavailable:
        served = None
    state = _state()
    try:
        active = active_version()
    except SQLAlchemyError:
        db.session.rollback()
        return {**body, "files": "unknown: the database cannot be read"}
    if active is None:
        body.update(active_version=served, serving_active=served is not None, files="bundled")
        return body
    body["active_version"] = active.version
    body["serving_active"] = served == active.version
    try:
        folder = folder_of(active)
        meta = json.loads((Path(folder) / "model.json").read_text())
        Path(folder, str(meta.get("serve", "model.tflite"))).stat()
        body["files"] = "ok"
        # folder_of serves this host's folder exactly when its files match their checksums.
        if folder != active.path and Path(active.path, "model.json").is_file():
            body["files"] = (
                f"corrupt: the files in {active.path} do not match their recorded "
                "checksums; serving the database's copy"
            )
    except (ModelUnavailable, OSError, ValueError) as exc:
        body["files"] = f"unusable: {exc}"
    if state["problem"] and not body["serving_active"]:
        body["problem"] = state["problem"]
    return body

"""A run's exported files, found only inside the model folders whatever its record says."""

from __future__ import annotations

from pathlib import Path

from app.errors import NotFound
from app.models import TrainingRun


def artifacts(run: TrainingRun, base: str | Path, roots: list[Path]) -> dict | None:
    """The run's exported files with their checksums, and whether each is still there."""
    info = run.artifacts
    if not info:
        return None
    directory = _artifact_dir(info, base, roots)
    files = []
    for name, meta in sorted((info.get("files") or {}).items()):
        meta = meta if isinstance(meta, dict) else {}
        path = directory / name if directory else None
        files.append(
            {
                "name": name,
                "sha256": meta.get("sha256"),
                "bytes": meta.get("bytes"),
                "exists": bool(path and path.is_file()),
            }
        )
    return {"version": info.get("version"), "dir": info.get("dir"), "files": files}


def artifact_location(run: TrainingRun, filename: str, base: str | Path, roots: list[Path]) -> Path:
    """The folder holding `filename`, only if the run lists it and it is still there.

    Only folders inside `roots` (the model folders) count, whatever a run
    record (perhaps imported from elsewhere) says.
    """
    info = run.artifacts or {}
    directory = _artifact_dir(info, base, roots)
    if directory is None or filename not in (info.get("files") or {}):
        raise NotFound(f"Run {run.id} has no artifact named {filename!r}.")
    if not (directory / filename).is_file():
        raise NotFound(f"{filename} of run {run.id} is no longer in {directory}.")
    return directory


def _artifact_dir(info: dict, base: str | Path, roots: list[Path]) -> Path | None:
    raw = info.get("dir")
    if not raw or not isinstance(raw, str):
        return None
    directory = Path(raw)
    directory = (directory if directory.is_absolute() else Path(base) / directory).resolve()
    if not any(directory == root or root in directory.parents for root in roots):
        return None
    return directory

"""Save a trained model as .keras and .tflite with a small metadata file."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
from datetime import datetime, timezone
from pathlib import Path

MODEL_KERAS = "model.keras"
MODEL_TFLITE = "model.tflite"
MODEL_META = "model.json"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def to_tflite(model) -> bytes:
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    # The converter prints the whole saved-model signature; keep the log readable.
    with contextlib.redirect_stdout(io.StringIO()):
        return converter.convert()


def export_model(model, out_dir: Path, version: str | None = None, extra: dict | None = None) -> dict:
    """Write model.keras, model.tflite and model.json into out_dir atomically."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    version = version or datetime.now(timezone.utc).strftime("cnn-%Y%m%d-%H%M%S")
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    try:
        model.save(staging / MODEL_KERAS)
        (staging / MODEL_TFLITE).write_bytes(to_tflite(model))
        meta = {
            "version": version,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "parameters": int(model.count_params()),
            "files": {
                name: {"sha256": sha256(staging / name), "bytes": (staging / name).stat().st_size}
                for name in (MODEL_KERAS, MODEL_TFLITE)
            },
            **(extra or {}),
        }
        (staging / MODEL_META).write_text(json.dumps(meta, indent=2) + "\n")
        if out_dir.exists():
            shutil.rmtree(out_dir)
        os.replace(staging, out_dir)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return meta

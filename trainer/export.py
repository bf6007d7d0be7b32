"""Save a trained model as .keras and .tflite with a small metadata file."""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import tempfile
import warnings
from datetime import UTC, datetime
from pathlib import Path

MODEL_KERAS = "model.keras"
MODEL_TFLITE = "model.tflite"
MODEL_INT8 = "model-int8.tflite"
MODEL_META = "model.json"
# The int8 model is served only if it loses at most this much accuracy
# (0.05 points) on the test split and on every held-out set.
MAX_INT8_LOSS = 0.0005


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


def to_tflite_int8(model, representative) -> bytes:
    """Weights and activations in int8 (inputs and outputs stay float32)."""
    import numpy as np
    import tensorflow as tf

    def samples():
        for image in representative[:500]:
            yield [np.asarray(image, np.float32).reshape(1, 28, 28, 1)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = samples
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        # The float input and output need no statistics; the converter warns anyway.
        warnings.filterwarnings("ignore", "Statistics for quantized inputs")
        return converter.convert()


def tflite_probabilities(content: bytes, images):
    """Run a .tflite model over (n, 28, 28) images with LiteRT, as the app serves it."""
    import numpy as np
    from ai_edge_litert.interpreter import Interpreter

    interpreter = Interpreter(model_content=content, num_threads=1)
    interpreter.allocate_tensors()
    inp = interpreter.get_input_details()[0]["index"]
    out = interpreter.get_output_details()[0]["index"]
    rows = []
    for image in np.asarray(images, np.float32):
        interpreter.set_tensor(inp, image.reshape(1, 28, 28, 1))
        interpreter.invoke()
        rows.append(interpreter.get_tensor(out)[0].copy())
    return np.asarray(rows)


def choose_served(float_model: bytes, int8_model: bytes, sets: dict) -> dict:
    """Measure both files on every set (name -> (images, labels)); pick the one to serve."""
    import time

    import numpy as np

    report: dict = {"bytes": {"float32": len(float_model), "int8": len(int8_model)}, "sets": {}}
    worst = 0.0
    for name, (images, labels) in sets.items():
        digits = np.asarray(labels) < 10
        if not digits.any():
            continue
        row = {}
        for kind, content in (("float32", float_model), ("int8", int8_model)):
            started = time.perf_counter()
            probs = tflite_probabilities(content, images[digits])
            row[kind] = float((probs[:, :10].argmax(1) == np.asarray(labels)[digits]).mean())
            row[f"{kind}_ms_per_image"] = (
                1000 * (time.perf_counter() - started) / max(1, digits.sum())
            )
        report["sets"][name] = row
        worst = max(worst, row["float32"] - row["int8"])
    report["largest_loss"] = worst
    report["served"] = MODEL_INT8 if worst <= MAX_INT8_LOSS else MODEL_TFLITE
    return report


def export_model(
    model,
    out_dir: Path,
    version: str | None = None,
    extra: dict | None = None,
    int8_sets: dict | None = None,
    representative=None,
) -> dict:
    """Write model.keras, model.tflite and model.json into out_dir atomically.

    With `representative` images, an int8 model is written beside the float
    one; measured on `int8_sets`, it is served only if it loses at most
    MAX_INT8_LOSS anywhere (model.json's "serve" names the served file).
    """
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    version = version or datetime.now(UTC).strftime("cnn-%Y%m%d-%H%M%S")
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out_dir.parent))
    try:
        model.save(staging / MODEL_KERAS)
        float_model = to_tflite(model)
        (staging / MODEL_TFLITE).write_bytes(float_model)
        names, serve, quantized = [MODEL_KERAS, MODEL_TFLITE], MODEL_TFLITE, None
        if representative is not None:
            int8_model = to_tflite_int8(model, representative)
            (staging / MODEL_INT8).write_bytes(int8_model)
            names.append(MODEL_INT8)
            quantized = choose_served(float_model, int8_model, int8_sets or {})
            serve = quantized["served"]
        meta = {
            "version": version,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "parameters": int(model.count_params()),
            "serve": serve,
            "files": {
                name: {"sha256": sha256(staging / name), "bytes": (staging / name).stat().st_size}
                for name in names
            },
            **({"quantized": quantized} if quantized else {}),
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

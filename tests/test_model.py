"""The bundled model: accurate on MNIST samples, .tflite agrees with .keras,
and serving never loads TensorFlow."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.config import Config
from app.services.predictor import Predictor
from trainer.export import sha256

MODEL_DIR = Path(Config.MODEL_DIR)
ROOT = Path(__file__).resolve().parent.parent


def test_bundled_model_files_match_their_metadata():
    meta = json.loads((MODEL_DIR / "model.json").read_text())
    for name, info in meta["files"].items():
        assert sha256(MODEL_DIR / name) == info["sha256"], name
        assert (MODEL_DIR / name).stat().st_size < 4 * 1024 * 1024
    assert meta["test_accuracy"] >= 0.995


def test_bundled_model_is_accurate_on_fixture_digits(mnist_sample):
    images, labels = mnist_sample
    predictor = Predictor(MODEL_DIR)
    predicted = np.array([predictor.probabilities(im)[:10].argmax() for im in images])
    assert (predicted == labels).mean() >= 0.985


@pytest.mark.training  # loads TensorFlow
def test_tflite_and_keras_models_agree(mnist_sample):
    import keras

    from trainer.export import MODEL_TFLITE, tflite_probabilities

    images, _ = mnist_sample
    model = keras.saving.load_model(MODEL_DIR / "model.keras")
    full = model(images[:200, ..., None], training=False).numpy()
    lite = tflite_probabilities((MODEL_DIR / MODEL_TFLITE).read_bytes(), images[:200])
    assert (lite.argmax(1) == full.argmax(1)).all()
    assert np.abs(lite - full).max() < 1e-3
    # The served file (int8 when it lost nothing that counts) reads the same digits.
    served = np.stack([Predictor(MODEL_DIR).raw_probabilities(im) for im in images[:200]])
    assert (served.argmax(1) == full.argmax(1)).mean() >= 0.99
    assert np.abs(served - full).max() < 0.1


def test_bundled_model_credits_its_data_and_is_calibrated():
    meta = json.loads((MODEL_DIR / "model.json").read_text())
    assert "UJI Pen Characters" in meta["credits"] and "Alpaydin" in meta["credits"]
    assert meta["classes"] == 11 and 0.3 < meta["temperature"] < 10
    assert meta["serve"] in meta["files"]
    for source in ("online:uji", "online:pendigits"):
        assert meta["holdout"][source]["accuracy"] >= 0.98, source


def test_corrupt_model_is_refused(tmp_path):
    import shutil

    import pytest

    from app.services.predictor import ModelUnavailable

    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    served = copy / json.loads((copy / "model.json").read_text()).get("serve", "model.tflite")
    data = bytearray(served.read_bytes())
    data[len(data) // 2] ^= 0xFF
    served.write_bytes(bytes(data))
    with pytest.raises(ModelUnavailable, match="checksum"):
        Predictor(copy)


def test_serving_never_imports_tensorflow():
    code = (
        "import sys, base64, io\n"
        "from PIL import Image, ImageDraw\n"
        "from wsgi import app\n"
        "img = Image.new('L', (100, 100), 255)\n"
        "ImageDraw.Draw(img).line([(50, 10), (50, 90)], fill=0, width=8)\n"
        "buf = io.BytesIO(); img.save(buf, 'PNG')\n"
        "app.config.update(TESTING=True)\n"
        "r = app.test_client().post('/api/predict', json={'image': base64.b64encode(buf.getvalue()).decode(), 'store': False})\n"
        "assert r.status_code == 200, r.get_json()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PATH": "/usr/bin:/bin", "DATABASE_URL": "sqlite://"},
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

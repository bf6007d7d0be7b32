"""The served model on people it never saw, and on drawings that are no digit.

Everything goes through the running app's code (`POST /api/predict` on the
Flask app, nothing stored) exactly as the drawing pad sends it: the held-out
writers' pen strokes on a 320-500 px canvas with the pad's pen width, several
renderings each. It reports:

- MNIST test accuracy (10,000 images) and the share of them refused;
- per online source, the held-out writers (never trained on): accuracy, and the
  shares answered "unsure" and refused as "not a digit";
- letters that look like no digit, as strokes from Hershey fonts never trained
  on, and as images in Debian's handwriting fonts when they are installed
  (`apt-get install fonts-dkg-handwriting fonts-breip fonts-femkeklaver
  fonts-rufscript fonts-sjfonts`): the share refused;
- calibration: expected calibration error on the held-out writers, raw and calibrated;
- the float32 and int8 .tflite files side by side: size, accuracy, time per image.

    python -m tests.benchmarks.online [--model-dir models/default] [--renderings 3]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import tempfile
import time
from pathlib import Path

import numpy as np

HANDWRITING_FONTS = "/usr/share/fonts/truetype"
FONT_NAMES = ("fifthhorseman/dkg.ttf", "fifthhorseman/dkgIt.ttf", "breip/Breip.ttf",
              "femkeklaver/femkeklaver.ttf", "rufscript/Rufscript010.ttf",
              "sjfonts/SteveHand.ttf", "sjfonts/Delphine.ttf")


def _app(model_dir: str, tmp: str):
    from flask_migrate import upgrade

    from app import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                      "RATELIMIT_ENABLED": False,
                      "MODEL_DIR": model_dir})
    with app.app_context():
        upgrade()
    return app


def _ask(client, body: dict) -> dict:
    reply = client.post("/api/predict", json={**body, "store": False})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _strokes_body(strokes) -> dict:
    return {"strokes": strokes.lines, "width": strokes.width, "height": strokes.height,
            "line_width": strokes.line_width}


def _summary(replies: list[dict], labels) -> dict:
    said = [r["verdict"] for r in replies]
    out = {"samples": len(replies),
           "unsure": said.count("unsure") / len(said),
           "refused": said.count("not_a_digit") / len(said)}
    if labels is not None:
        out["accuracy"] = float(np.mean([r["digit"] == y for r, y in zip(replies, labels)]))
    return out


def held_out_writers(client, renderings: int) -> dict:
    from trainer.online import place_on_pad, read_online, split_by_writer

    _, held = split_by_writer(read_online())
    results = {}
    for source, samples in held.items():
        replies, labels = [], []
        for r in range(renderings):
            rng = np.random.default_rng(1000 + r)
            for sample in samples:
                replies.append(_ask(client, _strokes_body(place_on_pad(sample.strokes, rng))))
                labels.append(sample.label)
        results[f"online:{source} ({len({s.writer for s in samples})} writers)"] = \
            _summary(replies, labels)
    return results


def hershey_letters(client) -> dict:
    from trainer.negatives import HELDOUT_FONTS, LETTERS, glyph, hand_wobble
    from trainer.online import place_on_pad

    rng = np.random.default_rng(7)
    replies = [_ask(client, _strokes_body(place_on_pad(hand_wobble(glyph(font, ch), rng), rng)))
               for font in HELDOUT_FONTS for ch in LETTERS for _ in range(4)]
    return _summary(replies, None)


def font_png(font_path: str, text: str, size: int = 280) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_path, 170)
    page = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(page)
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((size - box[2] - box[0]) / 2, (size - box[3] - box[1]) / 2), text, fill=0,
              font=font)
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    return buffer.getvalue()


def handwriting_fonts(client) -> dict | None:
    from trainer.negatives import LETTERS

    fonts = [str(Path(HANDWRITING_FONTS) / n) for n in FONT_NAMES
             if (Path(HANDWRITING_FONTS) / n).exists()]
    if not fonts:
        return None

    def ask(text: str, font: str) -> dict:
        png = base64.b64encode(font_png(font, text)).decode()
        return _ask(client, {"image": "data:image/png;base64," + png})

    letters = [ask(ch, font) for font in fonts for ch in LETTERS]
    digits = [ask(str(d), font) for font in fonts for d in range(10)]
    return {"fonts": len(fonts),
            "letters": _summary(letters, None),
            "digits": _summary(digits, [d for _ in fonts for d in range(10)])}


def mnist_test(predictor) -> dict:
    from trainer.calibration import verdicts
    from trainer.datasets import load_mnist

    test = load_mnist().test
    probs = np.stack([predictor.probabilities(image) for image in test.images])
    said = verdicts(probs)
    return {"samples": len(test),
            "accuracy": float((probs[:, :10].argmax(1) == test.labels).mean()),
            "unsure": said.count("unsure") / len(said),
            "refused": said.count("not_a_digit") / len(said)}


def calibration(predictor) -> dict:
    from trainer.calibration import apply_temperature, reliability
    from trainer.online import read_online, render, split_by_writer

    _, held = split_by_writer(read_online())
    samples = [s for group in held.values() for s in group]
    images = render([s.strokes for s in samples], seed=5)
    labels = np.array([s.label for s in samples])
    raw = np.stack([predictor.raw_probabilities(im) for im in images])
    calibrated = apply_temperature(raw, predictor.info.temperature)
    return {"temperature": predictor.info.temperature,
            "ece_raw": reliability(raw[:, :10], labels)["ece"],
            "ece_calibrated": reliability(calibrated[:, :10], labels)["ece"]}


def quantized(model_dir: str) -> dict | None:
    from trainer.datasets import load_mnist
    from trainer.export import MODEL_INT8, MODEL_TFLITE, tflite_probabilities
    from trainer.online import read_online, render, split_by_writer

    folder = Path(model_dir)
    if not (folder / MODEL_INT8).exists():
        return None
    test = load_mnist().test
    _, held = split_by_writer(read_online())
    sets = {"mnist test": (test.images, test.labels)}
    for source, samples in held.items():
        sets[f"online:{source}"] = (render([s.strokes for s in samples], seed=5),
                                    np.array([s.label for s in samples]))
    out = {}
    for name in (MODEL_TFLITE, MODEL_INT8):
        content = (folder / name).read_bytes()
        row = {"bytes": len(content)}
        for set_name, (images, labels) in sets.items():
            started = time.perf_counter()
            probs = tflite_probabilities(content, images)
            row[f"{set_name} ms/image"] = 1000 * (time.perf_counter() - started) / len(images)
            row[set_name] = float((probs[:, :10].argmax(1) == labels).mean())
        out[name] = row
    out["served"] = json.loads((folder / "model.json").read_text()).get("serve", MODEL_TFLITE)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", default="models/default")
    parser.add_argument("--renderings", type=int, default=3,
                        help="renderings of each held-out drawing (canvas, size, pen)")
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from app.services.predictor import Predictor

    predictor = Predictor(args.model_dir)
    report: dict = {"model": predictor.info.version}
    with tempfile.TemporaryDirectory() as tmp:
        client = _app(args.model_dir, tmp).test_client()
        report["mnist test (10,000 images)"] = mnist_test(predictor)
        report.update(held_out_writers(client, args.renderings))
        report["letters, Hershey fonts never trained on (strokes)"] = hershey_letters(client)
        fonts = handwriting_fonts(client)
        if fonts:
            report[f"letters, {fonts['fonts']} Debian handwriting fonts (images)"] = fonts["letters"]
            report[f"digits, {fonts['fonts']} Debian handwriting fonts (images)"] = fonts["digits"]
    report["calibration on held-out writers"] = calibration(predictor)
    report["int8 against float32"] = quantized(args.model_dir)
    print(f"model {report['model']}")
    for name, row in report.items():
        if isinstance(row, dict):
            cells = "  ".join(f"{k} {v:.2%}" if isinstance(v, float) and k in (
                "accuracy", "unsure", "refused") else f"{k} {v:.4g}" if isinstance(v, float)
                else f"{k} {v}" for k, v in row.items() if not isinstance(v, dict))
            print(f"{name}: {cells}")
            for sub, subrow in ((k, v) for k, v in row.items() if isinstance(v, dict)):
                print(f"  {sub}: " + "  ".join(
                    f"{k} {v:.4%}" if isinstance(v, float) and "ms" not in k else
                    f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                    for k, v in subrow.items()))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""The served model on people it never saw, and on drawings that are no digit.

Everything goes through the running app's code (`POST /api/predict` on the
Flask app, nothing stored) exactly as the drawing pad sends it: the held-out
writers' pen strokes on a 320-500 px canvas with the pad's pen width, several
renderings each. It reports:

- MNIST test accuracy (10,000 images) and the share of them refused;
- per online source, the held-out writers (never trained on): accuracy, the
  share right as a person meets it (a refused digit is wrong), the shares
  answered "sure", "unsure" and refused as "not a digit", and how often a
  "sure" answer is right;
- the same verdict rule chosen on half of each source's held-out writers and
  measured on the other half (and the other way round): how the rule holds on
  writers it was not chosen on;
- the shapes that fooled earlier models: tall narrow one-stroke 0s and
  question marks, drawn as the pad sends them;
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

from tests.benchmarks import bench_app

HANDWRITING_FONTS = "/usr/share/fonts/truetype"
FONT_NAMES = (
    "fifthhorseman/dkg.ttf",
    "fifthhorseman/dkgIt.ttf",
    "breip/Breip.ttf",
    "femkeklaver/femkeklaver.ttf",
    "rufscript/Rufscript010.ttf",
    "sjfonts/SteveHand.ttf",
    "sjfonts/Delphine.ttf",
)


def _ask(client, body: dict) -> dict:
    reply = client.post("/api/predict", json={**body, "store": False})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def _strokes_body(strokes) -> dict:
    return {
        "strokes": strokes.lines,
        "width": strokes.width,
        "height": strokes.height,
        "line_width": strokes.line_width,
    }


def _summary(replies: list[dict], labels) -> dict:
    said = [r["verdict"] for r in replies]
    out = {
        "samples": len(replies),
        "sure": said.count("sure") / len(said),
        "unsure": said.count("unsure") / len(said),
        "refused": said.count("not_a_digit") / len(said),
    }
    if labels is not None:
        read = [r["digit"] == y for r, y in zip(replies, labels)]
        right = [ok and v != "not_a_digit" for ok, v in zip(read, said)]
        sure = [ok for ok, v in zip(read, said) if v == "sure"]
        out["accuracy"] = float(np.mean(read))
        out["right"] = float(np.mean(right))
        out["sure_right"] = float(np.mean(sure)) if sure else None
    return out


def _calibrated(reply: dict) -> np.ndarray:
    """The reply's calibrated probabilities: ten digits, then "not a digit"."""
    no_digit = reply.get("not_a_digit_probability", 0.0)
    return np.array([p * (1 - no_digit) for p in reply["probabilities"]] + [no_digit])


def held_out_writers(client, renderings: int) -> tuple[dict, dict]:
    """Each source's held-out writers as the pad sends them; and the rule's cross-check."""
    from trainer.online import place_on_pad, read_online, split_by_writer

    _, held = split_by_writer(read_online())
    results, answers = {}, {}
    for source, samples in held.items():
        replies, labels, writers = [], [], []
        for r in range(renderings):
            rng = np.random.default_rng(1000 + r)
            for sample in samples:
                replies.append(_ask(client, _strokes_body(place_on_pad(sample.strokes, rng))))
                labels.append(sample.label)
                writers.append(sample.writer)
        results[f"online:{source} ({len({s.writer for s in samples})} writers)"] = _summary(
            replies, labels
        )
        answers[source] = (
            np.stack([_calibrated(r) for r in replies]),
            np.array(labels),
            np.array(writers),
        )
    return results, cross_check(answers)


def cross_check(answers: dict) -> dict:
    """The rule chosen on half of every source's writers, measured on the other half."""
    from trainer.calibration import choose_rule
    from trainer.yardstick import score

    halves = {}
    for source, (probs, labels, writers) in answers.items():
        order = sorted(set(writers), key=lambda w: (len(w), w))
        half = np.isin(writers, order[::2])
        halves[source] = [(probs[half], labels[half]), (probs[~half], labels[~half])]
    out = {}
    for chosen, measured in ((0, 1), (1, 0)):
        rule = choose_rule({s: h[chosen] for s, h in halves.items()})
        row = {"sure_at": rule.sure_at}
        for source, h in halves.items():
            scores = score(*h[measured], rule, True)
            row[f"{source} sure"] = scores["sure"]
            row[f"{source} sure_right"] = scores["sure_right"]
        out[f"chosen on half {chosen + 1}, measured on half {measured + 1}"] = row
    return out


def hard_shapes(client) -> dict:
    """The shapes that fooled earlier models, on a 360x500 pad with its own pen."""
    import math

    def ellipse(share):
        return [
            [180 + 180 * share * math.cos(t), 250 + 180 * math.sin(t)]
            for t in np.linspace(-math.pi / 2, 1.5 * math.pi, 40)
        ]

    hook = [
        [180 + 70 * math.cos(t), 170 - 70 * math.sin(t)]
        for t in np.linspace(math.pi, -math.pi / 2, 30)
    ] + [[180, 300]]
    cases = {
        f"0, one stroke, {share:.0%} of the pad wide": [ellipse(share)]
        for share in (0.08, 0.12, 0.15, 0.2)
    }
    cases["question mark with its dot"] = [hook, [[180, 380], [181, 381]]]
    cases["question mark without its dot"] = [hook]
    out = {}
    for name, strokes in cases.items():
        reply = _ask(client, {"strokes": strokes, "width": 360, "height": 500, "line_width": 22})
        out[name] = {
            "verdict": reply["verdict"],
            "digit": reply["digit"],
            "confidence": reply["confidence"],
        }
    return out


def hershey_letters(client, letters: str | None = None) -> dict:
    from trainer.negatives import HELDOUT_FONTS, LETTERS, glyph, hand_wobble
    from trainer.online import place_on_pad

    rng = np.random.default_rng(7)
    replies = [
        _ask(client, _strokes_body(place_on_pad(hand_wobble(glyph(font, ch), rng), rng)))
        for font in HELDOUT_FONTS
        for ch in (letters or LETTERS)
        for _ in range(4)
    ]
    return _summary(replies, None)


def font_png(font_path: str, text: str, size: int = 280) -> bytes:
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(font_path, 170)
    page = Image.new("L", (size, size), 255)
    draw = ImageDraw.Draw(page)
    box = draw.textbbox((0, 0), text, font=font)
    draw.text(((size - box[2] - box[0]) / 2, (size - box[3] - box[1]) / 2), text, fill=0, font=font)
    buffer = io.BytesIO()
    page.save(buffer, "PNG")
    return buffer.getvalue()


def handwriting_fonts(client) -> dict | None:
    from trainer.negatives import LETTERS

    fonts = [
        str(Path(HANDWRITING_FONTS) / n)
        for n in FONT_NAMES
        if (Path(HANDWRITING_FONTS) / n).exists()
    ]
    if not fonts:
        return None

    def ask(text: str, font: str) -> dict:
        png = base64.b64encode(font_png(font, text)).decode()
        return _ask(client, {"image": "data:image/png;base64," + png})

    letters = [ask(ch, font) for font in fonts for ch in LETTERS]
    digits = [ask(str(d), font) for font in fonts for d in range(10)]
    return {
        "fonts": len(fonts),
        "letters": _summary(letters, None),
        "digits": _summary(digits, [d for _ in fonts for d in range(10)]),
    }


def mnist_test(predictor) -> dict:
    from trainer.datasets import load_mnist
    from trainer.yardstick import score

    test = load_mnist().test
    probs = predictor.probabilities_many(test.images)
    scores = score(probs, test.labels, predictor.info.rule, True)
    return {
        "samples": len(test),
        "accuracy": float((probs[:, :10].argmax(1) == test.labels).mean()),
        "right": scores["right"],
        "sure": scores["sure"],
        "sure_right": scores["sure_right"],
        "unsure": scores["unsure"],
        "refused": scores["refused"],
    }


def calibration(predictor) -> dict:
    from trainer.calibration import apply_temperature, reliability
    from trainer.online import read_online, render, split_by_writer

    _, held = split_by_writer(read_online())
    samples = [s for group in held.values() for s in group]
    images = render([s.strokes for s in samples], seed=5)
    labels = np.array([s.label for s in samples])
    raw = np.stack([predictor.raw_probabilities(im) for im in images])
    calibrated = apply_temperature(raw, predictor.info.temperature)
    return {
        "temperature": predictor.info.temperature,
        "ece_raw": reliability(raw[:, :10], labels)["ece"],
        "ece_calibrated": reliability(calibrated[:, :10], labels)["ece"],
    }


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
        sets[f"online:{source}"] = (
            render([s.strokes for s in samples], seed=5),
            np.array([s.label for s in samples]),
        )
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
    parser.add_argument(
        "--renderings",
        type=int,
        default=3,
        help="renderings of each held-out drawing (canvas, size, pen)",
    )
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    from app.services.predictor import Predictor
    from trainer.negatives import MARKS

    predictor = Predictor(args.model_dir)
    rule = predictor.info.rule
    report: dict = {
        "model": predictor.info.version,
        "verdict rule": {
            "sure_at": rule.sure_at,
            "reject_at": rule.reject_at,
            "chosen_on": rule.chosen_on,
        },
    }
    with tempfile.TemporaryDirectory() as tmp:
        client = bench_app(tmp, MODEL_DIR=args.model_dir).test_client()
        report["mnist test (10,000 images)"] = mnist_test(predictor)
        writers, crossed = held_out_writers(client, args.renderings)
        report.update(writers)
        report["the rule on writers it was not chosen on"] = crossed
        report["letters, Hershey fonts never trained on (strokes)"] = hershey_letters(client)
        report["marks, Hershey fonts never trained on (strokes)"] = hershey_letters(client, MARKS)
        report["shapes that fooled earlier models"] = hard_shapes(client)
        fonts = handwriting_fonts(client)
        if fonts:
            report[f"letters, {fonts['fonts']} Debian handwriting fonts (images)"] = fonts[
                "letters"
            ]
            report[f"digits, {fonts['fonts']} Debian handwriting fonts (images)"] = fonts["digits"]
    report["calibration on held-out writers"] = calibration(predictor)
    report["int8 against float32"] = quantized(args.model_dir)
    print(f"model {report['model']}")
    for name, row in report.items():
        if isinstance(row, dict):
            cells = "  ".join(
                f"{k} {v:.2%}"
                if isinstance(v, float)
                and k in ("accuracy", "right", "sure", "sure_right", "unsure", "refused")
                else f"{k} {v:.4g}"
                if isinstance(v, float)
                else f"{k} {v}"
                for k, v in row.items()
                if not isinstance(v, dict)
            )
            print(f"{name}: {cells}")
            for sub, subrow in ((k, v) for k, v in row.items() if isinstance(v, dict)):
                print(
                    f"  {sub}: "
                    + "  ".join(
                        f"{k} {v:.4%}"
                        if isinstance(v, float) and "ms" not in k
                        else f"{k} {v:.4f}"
                        if isinstance(v, float)
                        else f"{k} {v}"
                        for k, v in subrow.items()
                    )
                )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

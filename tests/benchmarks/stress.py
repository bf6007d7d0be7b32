"""Accuracy on drawings unlike MNIST, sent through POST /api/predict.

Each stress set re-renders digits in one way MNIST does not look, as
280x280 PNGs with dark ink on white and the digit at a random size and place
(like the held-out handwriting sets): MNIST test digits drawn thick, thin,
stretched to fill their box, slanted, small and off-centre, blocky from a
low-resolution scan; and the UCI optical digits (other writers, 8x8 scans,
shipped with scikit-learn).

    python -m tests.benchmarks.stress [--n 1000] [--model-dir models/default]
"""

from __future__ import annotations

import argparse
import base64
import io
import time

import numpy as np
from PIL import Image, ImageFilter

from trainer.datasets import load_mnist


def _place(ink: Image.Image, rng: np.random.Generator, stretch: bool = False) -> bytes:
    """Put an ink-on-black image on a 280x280 white page at a random size/place."""
    box = ink.getbbox() or (0, 0, ink.width, ink.height)
    ink = ink.crop(box)
    long_side = int(rng.integers(60, 241))
    if stretch:
        size = (long_side, long_side)
    else:
        scale = long_side / max(ink.size)
        size = (max(1, round(ink.width * scale)), max(1, round(ink.height * scale)))
    ink = ink.resize(size, Image.Resampling.BICUBIC)
    page = Image.new("L", (280, 280), 0)
    x = int(rng.integers(0, 280 - size[0] + 1))
    y = int(rng.integers(0, 280 - size[1] + 1))
    page.paste(ink, (x, y))
    buffer = io.BytesIO()
    Image.eval(page, lambda v: 255 - v).save(buffer, "PNG")
    return buffer.getvalue()


def _big(img28: np.ndarray, factor: int = 4) -> Image.Image:
    im = Image.fromarray(np.uint8(img28 * 255))
    return im.resize((28 * factor, 28 * factor), Image.Resampling.BICUBIC)


def _variants(images, rng):
    def thick(a):
        return _big(a).filter(ImageFilter.MaxFilter(9))

    def thin(a):
        big = _big(a).point(lambda v: 255 if v > 200 else 0)
        thinner = big.filter(ImageFilter.MinFilter(5))
        return thinner if thinner.getbbox() else big

    def slanted(a):
        s = float(rng.choice([-1, 1]) * rng.uniform(0.3, 0.5))
        im = _big(a)
        return im.transform(
            im.size, Image.Transform.AFFINE, (1, s, -s * 56, 0, 1, 0), Image.Resampling.BILINEAR
        )

    def blocky(a):
        im = Image.fromarray(np.uint8(a * 255)).crop(Image.fromarray(np.uint8(a * 255)).getbbox())
        small = im.resize((12, 12), Image.Resampling.BOX).point(lambda v: 255 if v > 90 else 0)
        return small.resize((120, 120), Image.Resampling.NEAREST)

    return {
        "thick": lambda a: _place(thick(a), rng),
        "thin": lambda a: _place(thin(a), rng),
        "stretched": lambda a: _place(_big(a), rng, stretch=True),
        "slanted": lambda a: _place(slanted(a), rng),
        "small": lambda a: _small(a, rng),
        "blocky": lambda a: _place(blocky(a), rng),
    }


def _small(a, rng) -> bytes:
    ink = _big(a).crop(_big(a).getbbox())
    scale = rng.uniform(22, 40) / max(ink.size)
    ink = ink.resize(
        (max(1, round(ink.width * scale)), max(1, round(ink.height * scale))),
        Image.Resampling.BICUBIC,
    )
    page = Image.new("L", (280, 280), 0)
    corner = [
        (5, 5),
        (280 - ink.width - 5, 5),
        (5, 280 - ink.height - 5),
        (280 - ink.width - 5, 280 - ink.height - 5),
    ][int(rng.integers(0, 4))]
    page.paste(ink, corner)
    buffer = io.BytesIO()
    Image.eval(page, lambda v: 255 - v).save(buffer, "PNG")
    return buffer.getvalue()


def _uci(rng, n):
    from sklearn.datasets import load_digits

    digits = load_digits()
    idx = rng.permutation(len(digits.target))[:n]
    out = []
    for i in idx:
        im = Image.fromarray(np.uint8(digits.images[i] / 16 * 255)).resize(
            (64, 64), Image.Resampling.BILINEAR
        )
        out.append((_place(im, rng), int(digits.target[i])))
    return out


def build_sets(n: int, seed: int = 7) -> dict[str, list[tuple[bytes, int]]]:
    rng = np.random.default_rng(seed)
    test = load_mnist().test
    idx = rng.permutation(len(test))[:n]
    sets = {
        name: [(make(test.images[i]), int(test.labels[i])) for i in idx]
        for name, make in _variants(test.images, rng).items()
    }
    sets["uci-optdigits"] = _uci(rng, n)
    return sets


def run(model_dir: str | None, n: int) -> dict[str, float]:
    from app import create_app

    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": "sqlite://", "RATELIMIT_ENABLED": False}
    if model_dir:
        config["MODEL_DIR"] = model_dir
    app = create_app(config)
    with app.app_context():  # an empty in-memory database: the bundled model is served
        from flask_migrate import upgrade

        upgrade()
    client = app.test_client()
    sets = build_sets(n)
    results = {}
    for name, items in sets.items():
        correct = 0
        for png, label in items:
            body = {"image": base64.b64encode(png).decode(), "store": False}
            reply = client.post("/api/predict", json=body)
            correct += reply.get_json()["digit"] == label
        results[name] = correct / len(items)
        print(f"{name:>14}: {results[name]:.2%}  ({len(items)} drawings)", flush=True)
    print(f"{'mean':>14}: {np.mean(list(results.values())):.2%}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="drawings per set")
    parser.add_argument("--model-dir", default=None, help="model folder (default: the served one)")
    args = parser.parse_args()
    started = time.monotonic()
    run(args.model_dir, args.n)
    print(f"({time.monotonic() - started:.0f}s)")


if __name__ == "__main__":
    main()

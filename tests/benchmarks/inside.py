"""Inside the network: its time inside the server, and whether the overlay is faithful.

Time: `POST /api/inside` (the layers and the overlay of one digit, drawn as
strokes by the held-out writers) in process on one core, against
`POST /api/predict` for the same drawings: the panel costs nothing until it
is opened.

Faithfulness, on the held-out writers of each online source (never trained
on): remove the 20% of a digit's ink that the overlay marks most for the
answer, and, apart, 20% of its ink at random (three draws); the answer's
calibrated probability drops far more for the first if the overlay shows
what the model used.

    python -m tests.benchmarks.inside [--n 200]
"""

from __future__ import annotations

import argparse
import tempfile

import numpy as np

from tests.benchmarks import bench_app, time_posts

SHARE = 0.2


def _bodies(n: int) -> list[dict]:
    """Held-out writers' digits as the pad sends them (strokes on a 280 px canvas)."""
    from trainer.online import read_online, split_by_writer

    _, held = split_by_writer(read_online())
    rng = np.random.default_rng(5)
    bodies = []
    samples = [s for source in held.values() for s in source]
    for i in rng.choice(len(samples), n, replace=False):
        strokes = samples[i].strokes
        points = np.concatenate(strokes)
        lo, hi = points.min(axis=0), points.max(axis=0)
        scale = 200 / max(float((hi - lo).max()), 1e-6)
        lines = [
            [[round(40 + float(x), 1), round(40 + float(y), 1)] for x, y in (s - lo) * scale]
            for s in strokes
        ]
        bodies.append({"strokes": lines, "width": 280, "height": 280, "store": False})
    return bodies


def faithfulness(predictor, images: np.ndarray) -> dict:
    """Mean drop of the answer's probability: its most marked 20% of ink removed, or 20% at random."""
    from app.services import inside

    rng = np.random.default_rng(11)
    marked, random = [], []
    for image in images:
        base = predictor.probabilities(image)
        top = int(base.argmax())
        why = inside.why(predictor, image)
        score = np.asarray(why["map"])
        ink = np.flatnonzero(image.ravel() >= inside.INK)
        k = max(1, round(SHARE * len(ink)))
        chosen = ink[np.argsort(-score.ravel()[ink], kind="stable")[:k]]
        trials = [chosen] + [rng.choice(ink, k, replace=False) for _ in range(3)]
        batch = np.repeat(image[None], len(trials), axis=0).reshape(len(trials), -1)
        for row, pixels in zip(batch, trials):
            row[pixels] = 0.0
        after = predictor.probabilities_many(batch.reshape(-1, 28, 28))[:, top]
        marked.append(base[top] - after[0])
        random.append(float(np.mean(base[top] - after[1:])))
    marked_a, random_a = np.array(marked), np.array(random)
    return {
        "digits": len(images),
        "marked drop": float(marked_a.mean()),
        "random drop": float(random_a.mean()),
        "marked beats random": float((marked_a > random_a).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    from app.services.predictor import Predictor
    from trainer.yardstick import WRITERS, fixed_sets

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        client = app.test_client()
        bodies = _bodies(args.n)
        inside_times = time_posts(client, "/api/inside", bodies)
        predict_times = time_posts(client, "/api/predict", bodies)
        print(f"{args.n} held-out writers' digits as strokes, in process on one core:")
        for name, timed in (
            ("POST /api/inside", inside_times),
            ("POST /api/predict", predict_times),
        ):
            print(f"  {name}: median {timed['median ms']:.2f} ms   p90 {timed['p90 ms']:.2f} ms")
        predictor = Predictor(app.config["MODEL_DIR"])
    sets = fixed_sets()
    print(f"Removing {SHARE:.0%} of the ink, the overlay's most marked or at random:")
    for source in WRITERS:
        if source not in sets:
            print(f"  {source}: not on this machine")
            continue
        images, _ = sets[source]
        pick = np.random.default_rng(7).choice(len(images), min(args.n, len(images)), False)
        result = faithfulness(predictor, images[pick].astype(np.float32))
        print(
            f"  {source}: {result['digits']} digits; the answer's probability drops "
            f"{result['marked drop']:.3f} (marked) against {result['random drop']:.3f} (random); "
            f"marked drops more on {result['marked beats random']:.1%} of digits"
        )


if __name__ == "__main__":
    main()

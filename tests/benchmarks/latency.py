"""Median time inside the server for POST /api/predict with a 280x280 PNG.

Runs the real app (bundled model, SQLite file, storing each prediction) in
process on one CPU core and times each request from the moment the WSGI app
receives it until the reply is complete.

    python -m tests.benchmarks.latency [--n 300]
"""

from __future__ import annotations

import argparse
import base64
import tempfile

import numpy as np

from tests.benchmarks import bench_app, time_posts
from tests.utils.images import page_png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        client = app.test_client()
        with np.load("tests/fixtures/mnist_test_sample.npz") as data:
            images = data["images"].astype(np.float32) / 255.0
        rng = np.random.default_rng(3)
        bodies = []
        for i in range(args.n):
            size = int(rng.integers(80, 240))
            left, top = (int(v) for v in rng.integers(0, 280 - size + 1, 2))
            png = page_png(images[i % len(images)], 280, (size, left, min(top, 280 - size)))
            bodies.append({"image": "data:image/png;base64," + base64.b64encode(png).decode()})
        timed = time_posts(client, "/api/predict", bodies)
    print(f"POST /api/predict, 280x280 PNG, {args.n} requests on one core:")
    print(
        f"  median {timed['median ms']:.2f} ms   p90 {timed['p90 ms']:.2f} ms"
        f"   p99 {timed['p99 ms']:.2f} ms"
    )


if __name__ == "__main__":
    main()

"""Numbers on synthesised paper through `POST /api/read`, as the pad's upload sends a picture.

2 to 7 held-out MNIST test digits (`--writers measure`: images 5,000-9,999;
`tune`: 0-4,999) written on paper of every kind `tests/utils/paper.py` makes
(plain, a guilloche security pattern, ruled, a box, an underline, a grid),
in black or blue ink, under uneven light, tilted, blurred, JPEG-compressed,
half of them with separators (". , -"). Prints the share read exactly (the
digits in "text"), per background, and the time inside the server on one
core of a reading of such a page scaled to a 640 px photo, as the pad sends one.

    python -m tests.benchmarks.paper [--writers measure|tune] [--numbers 300]
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np

from tests.utils import paper

SPLITS = {"tune": (0, 5000), "measure": (5000, 10000)}


def pages(split: str, count: int, seed: int = 7) -> list[tuple[str, paper.Page]]:
    from trainer.datasets import load_mnist

    test = load_mnist().test
    start, stop = SPLITS[split]
    rng = np.random.default_rng(seed)
    out = []
    for i in range(count):
        picks = rng.integers(start, stop, int(rng.integers(2, 8)))
        kind = paper.BACKGROUNDS[i % len(paper.BACKGROUNDS)]
        out.append(
            (
                kind,
                paper.page(
                    [test.images[j] for j in picks],
                    [int(test.labels[j]) for j in picks],
                    rng,
                    background=kind,
                ),
            )
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", choices=sorted(SPLITS), default="measure")
    parser.add_argument("--numbers", type=int, default=300)
    args = parser.parse_args()
    from tests.utils.apps import migrated_app

    with tempfile.TemporaryDirectory() as tmp:
        app = migrated_app(Path(tmp), RATELIMIT_ENABLED=False)
        client = app.test_client()
        exact: dict[str, list[bool]] = defaultdict(list)
        times = []
        misread = []
        for kind, made in pages(args.writers, args.numbers):
            started = time.perf_counter()
            reply = client.post(
                "/api/read",
                data={"image": (io.BytesIO(made.png), "p.png"), "store": "false"},
                content_type="multipart/form-data",
            )
            times.append((time.perf_counter() - started) * 1000)
            said = reply.get_json().get("text", "") if reply.status_code == 200 else ""
            exact[kind].append(said == made.text)
            if said != made.text and len(misread) < 12:
                misread.append(f"{made.written}->{said or reply.status_code}")
        every = [v for values in exact.values() for v in values]
        print(
            f"numbers on synthesised paper ({args.writers} writers): {len(every)}, "
            f"exact {np.mean(every):.1%}; median {statistics.median(times):.1f} ms"
        )
        for kind, values in exact.items():
            print(f"  {kind}: {np.mean(values):.1%} ({len(values)})")
        print("  misread: " + " ".join(misread))
        print(f"POST /api/read, a 640 px photo, one core: {photo_latency(client, args.writers)}")


def photo_latency(client, split: str, count: int = 60) -> str:
    """Median and p90 ms of readings of pages scaled to 640 px on their long side."""
    import os

    from PIL import Image

    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    bodies = []
    for _, made in pages(split, count, seed=11):
        image = Image.open(io.BytesIO(made.png)).convert("RGB")
        k = 640 / max(image.size)
        buffer = io.BytesIO()
        image.resize(
            (round(image.width * k), round(image.height * k)), Image.Resampling.BICUBIC
        ).save(buffer, "PNG")
        bodies.append(buffer.getvalue())
    times = []
    for i, body in enumerate(bodies + bodies[:10]):
        started = time.perf_counter()
        client.post(
            "/api/read",
            data={"image": (io.BytesIO(body), "p.png"), "store": "false"},
            content_type="multipart/form-data",
        )
        if i >= 10:  # the first ten warm up
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return f"median {statistics.median(times):.1f} ms, p90 {times[int(len(times) * 0.9)]:.1f} ms"


if __name__ == "__main__":
    main()

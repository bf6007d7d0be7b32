"""The most expensive requests that still pass validation, one per way in.

The hardening tests send each one and measure what it costs (memory, work);
`tests/benchmarks/load.py` times them on gunicorn and checks that health stays
responsive while four run at once. Each is as large as the limits allow:
canvas side, pen width, points, marks.
"""

from __future__ import annotations

import io
import json

import numpy as np
from PIL import Image

from trainer.preprocessing import MAX_LOSSLESS_PIXELS, MAX_PEN_SHARE, MAX_SIDE, MAX_STROKE_POINTS
from trainer.segmentation import MAX_MARKS


def zigzag(points: int, x0: float, x1: float, y0: float, y1: float) -> list[list[float]]:
    """A stroke that swings from y0 to y1 and back at every point: nothing to thin."""
    xs = np.linspace(x0, x1, points)
    ys = np.where(np.arange(points) % 2 == 0, y0, y1)
    return np.stack([xs, ys], axis=1).round(1).tolist()


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def dots(count: int) -> bytes:
    """`count` separate one-pixel marks on a square picture (a few hundred bytes)."""
    per_row = int(np.ceil(np.sqrt(count)))
    page = np.zeros((per_row * 3 + 8, per_row * 3 + 8), np.uint8)
    ys, xs = np.divmod(np.arange(count), per_row)
    page[4 + 3 * ys, 4 + 3 * xs] = 255
    return png(page)


def noise(side: int = 512, ink: float = 0.7, seed: int = 0) -> bytes:
    """Random ink inside a paper frame: at 70% one huge tangled component, at 45% many."""
    rng = np.random.default_rng(seed)
    page = np.zeros((side, side), np.uint8)
    page[8:-8, 8:-8] = np.uint8(rng.random((side - 16, side - 16)) < ink) * 255
    return png(page)


def photo_noise(side: int = MAX_SIDE, seed: int = 0) -> bytes:
    """A photo-sized JPEG of grey noise on uneven light: every step of the paper front end runs."""
    rng = np.random.default_rng(seed)
    small = rng.normal(0.6, 0.2, (side // 8, side // 8)) + np.linspace(0, 0.3, side // 8)
    image = Image.fromarray(np.uint8(np.clip(small, 0, 1) * 255)).resize((side, side))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=70)
    return buffer.getvalue()


def inflating_png() -> bytes:
    """The largest lossless picture accepted, 16-bit RGBA of one colour: a few KB on the wire."""
    side = int(np.sqrt(MAX_LOSSLESS_PIXELS))
    image = Image.frombytes("RGBA", (side, side), bytes(side * side * 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def number_zigzags(per_stroke: int = 1000, height: int = 600) -> dict:
    """A number of ten zigzag strokes on the widest canvas with the widest pen.

    1,000 points a stroke is about the most the reading's budget of drawn
    points lets through; 2,000 (the most a body may hold) is refused.
    """
    step = MAX_SIDE / 10
    return {
        "strokes": [
            zigzag(per_stroke, step * i + 10, step * (i + 1) - 10, 10, height - 10)
            for i in range(10)
        ],
        "width": MAX_SIDE,
        "height": height,
        "line_width": MAX_PEN_SHARE * height,
    }


def digit_zigzag() -> dict:
    """One stroke of every allowed point across the largest canvas, the widest pen."""
    return {
        "strokes": [zigzag(MAX_STROKE_POINTS, 10, MAX_SIDE - 10, 10, MAX_SIDE - 10)],
        "width": MAX_SIDE,
        "height": MAX_SIDE,
        "line_width": MAX_PEN_SHARE * MAX_SIDE,
    }


def many_strokes(height: int = 600) -> dict:
    """The most strokes allowed, side by side and overlapping: the grouping search's worst."""
    count = MAX_MARKS
    per_stroke = MAX_STROKE_POINTS // count
    step = (MAX_SIDE - 40) / count
    return {
        "strokes": [
            zigzag(per_stroke, 20 + step * i, 20 + step * i + 3 * step, 10, height - 10)
            for i in range(count)
        ],
        "width": MAX_SIDE,
        "height": height,
        "line_width": MAX_PEN_SHARE * height,
    }


# (name, path, JSON body or picture bytes): every request above, as a client sends it.
def requests() -> list[tuple[str, str, dict | bytes]]:
    return [
        ("dots just under the mark limit, /api/read", "/api/read", dots(MAX_MARKS - 1)),
        ("dots over the mark limit, /api/read", "/api/read", dots(10_000)),
        ("tangled noise picture, /api/read", "/api/read", noise()),
        ("speckled noise picture, /api/read", "/api/read", noise(ink=0.45)),
        ("tangled noise picture, /api/predict", "/api/predict", noise()),
        ("4096 px photo of noise, /api/predict", "/api/predict", photo_noise()),
        ("4096 px photo of noise, /api/read", "/api/read", photo_noise()),
        ("inflating 16-bit PNG, /api/predict", "/api/predict", inflating_png()),
        ("ten zigzags, widest pen, /api/read", "/api/read", number_zigzags()),
        ("ten denser zigzags, widest pen, /api/read", "/api/read", number_zigzags(2000)),
        ("500 overlapping strokes, /api/read", "/api/read", many_strokes()),
        ("20,000-point zigzag, widest pen, /api/predict", "/api/predict", digit_zigzag()),
        # The audit's own: pens a third of the canvas and nearly all of it.
        (
            "audit's ten zigzags, pen 200 of 600, /api/read",
            "/api/read",
            {**number_zigzags(2000), "line_width": 200},
        ),
        (
            "audit's zigzag, pen 4000 of 4096, /api/predict",
            "/api/predict",
            {**digit_zigzag(), "line_width": 4000},
        ),
    ]


def body_size(body: dict | bytes) -> int:
    return len(body) if isinstance(body, bytes) else len(json.dumps(body))


def send(client, path: str, body: dict | bytes):
    """Post one worst case as the pad would: pictures as an upload, strokes as JSON; not stored."""
    if isinstance(body, bytes):
        return client.post(
            path,
            data={"image": (io.BytesIO(body), "picture.png"), "store": "false"},
            content_type="multipart/form-data",
        )
    return client.post(path, json={**body, "store": False})


def _peak_resident_mb() -> int:
    """This process's peak resident size since it started (VmHWM: unlike ru_maxrss, not
    inherited from the process that forked it)."""
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith("VmHWM:"))
    return round(int(line.split()[1]) / 1024)


def measure(folder: str) -> list[dict]:
    """Each worst case's status, CPU seconds and the process's peak memory after it.

    Runs in a fresh process of its own (`python -m tests.utils.worst_cases DIR`),
    so that the peak resident size is this app's and nothing else's.
    """
    import time
    from pathlib import Path

    from tests.utils.apps import migrated_app

    app = migrated_app(Path(folder), RATELIMIT_ENABLED=False)
    client = app.test_client()
    send(client, "/api/read", {"strokes": [[[40, 20], [40, 120]]], "width": 300, "height": 140})
    rows = []
    for name, path, body in requests():
        started = time.process_time()
        reply = send(client, path, body)
        rows.append(
            {
                "name": name,
                "status": reply.status_code,
                "cpu_s": round(time.process_time() - started, 3),
                "peak_mb": _peak_resident_mb(),
                "error": (reply.get_json() or {}).get("error"),
            }
        )
    return rows


if __name__ == "__main__":
    import sys

    print(json.dumps(measure(sys.argv[1])))

"""Numbers of 2 to 6 digits read through `POST /api/read`, from writers never trained on.

Each number is composed from ONE writer's own pen strokes: the held-out
writers of the online collections (`trainer/online.py`: the last 12 UJI
writers and the last 6 pendigits writers, never trained on), one sample of
that writer per digit, scaled to a common height with size jitter, natural
gaps, a drifting baseline, and some neighbours touching or overlapping; a
digit's last stroke (a 7's bar, a 5's flag) is often drawn after the next
digit. They go to the running app exactly as the pad sends them (strokes
in canvas pixels on a strip the size of the pad's, its pen width, nothing
stored). MNIST test digits are composed the same way as pictures (PNG data URLs).

The held-out writers are split in two: `--writers tune` (UJI 48-53, pendigits
25-27, MNIST test images 0-4,999) chose the segmentation's settings, with
numbers composed the same way from the model's own training writers;
`--writers measure` (UJI 54-59, pendigits 28-30, MNIST test images 5,000-9,999)
is what the figures report. It prints, per source, the share of numbers read
exactly, the per-digit accuracy (digits matched in the best alignment, over
the digits written), the share with the right digit count, and the same
digits drawn alone through `POST /api/predict` (digit mode); then the median
time inside the server of a stored `POST /api/read` of a 4-digit number, on
one core.

    python -m tests.benchmarks.numbers [--writers measure|tune] [--numbers 500]
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from tests.benchmarks import bench_app, time_posts
from trainer.online import pad_line_width
from trainer.preprocessing import Strokes

# Which held-out writers choose settings and which measure them.
SPLITS = {
    "tune": {
        "uji": [f"uji-{i}" for i in range(48, 54)],
        "pendigits": [f"pendigits-{i}" for i in range(25, 28)],
        "mnist": (0, 5000),
    },
    "measure": {
        "uji": [f"uji-{i}" for i in range(54, 60)],
        "pendigits": [f"pendigits-{i}" for i in range(28, 31)],
        "mnist": (5000, 10000),
    },
}
TOUCHING = 0.2  # share of neighbouring pairs that touch or overlap slightly


def _layout(count: int, rng: np.random.Generator, height: float) -> list[tuple[float, float]]:
    """Per digit: its height (size jitter) and the gap before it (share of the height)."""
    out = []
    for i in range(count):
        gap = rng.uniform(-0.08, 0.02) if rng.random() < TOUCHING else rng.uniform(0.12, 0.45)
        out.append((height * rng.uniform(0.88, 1.12), gap * height if i else 0.0))
    return out


def compose_strokes(samples, rng: np.random.Generator) -> tuple[Strokes, list[list]]:
    """One writer's digit samples written as a number on a pad strip; each digit's own lines."""
    # The pad's strip (static/css/app.css): 330-896 px wide, a third as tall
    # on a desktop, half as tall on a phone.
    canvas_width = int(rng.integers(330, 897))
    canvas_height = round(canvas_width * (0.5 if canvas_width < 600 else 0.32))
    height = canvas_height * rng.uniform(0.45, 0.7)
    slope = rng.uniform(-0.06, 0.06)
    placed, x = [], 0.0
    for sample, (h, gap) in zip(samples, _layout(len(samples), rng, height)):
        points = np.concatenate(sample.strokes)
        low, high = points.min(0), points.max(0)
        scale = h / max(high[1] - low[1], 1e-3)
        scale = min(scale, 1.1 * h / max(high[0] - low[0], 1e-3))  # a flat mark stays sane
        lines = [(s - low) * scale for s in sample.strokes]
        width = (high[0] - low[0]) * scale
        baseline = slope * x + rng.uniform(-0.04, 0.04) * height
        placed.append([line + np.array([x + gap, baseline + (height - h)]) for line in lines])
        x += gap + width
    margin = 0.3 * height  # a longer number is written smaller, to fit
    all_points = np.concatenate([line for digit in placed for line in digit])
    low, high = all_points.min(0), all_points.max(0)
    fit = min(
        1.0,
        (canvas_width - 2 * margin) / max(high[0] - low[0], 1),
        (canvas_height - 2 * margin) / max(high[1] - low[1], 1),
    )
    offset = np.array(
        [
            (canvas_width - (high[0] - low[0]) * fit) / 2,
            (canvas_height - (high[1] - low[1]) * fit) / 2,
        ]
    )
    own = [
        [[(float(px), float(py)) for px, py in (line - low) * fit + offset] for line in digit]
        for digit in placed
    ]
    # Sometimes a digit's last stroke (a 7's bar, a 5's flag) comes after the next digit.
    order = [list(digit) for digit in own]
    for i in range(len(order) - 1):
        if len(order[i]) > 1 and rng.random() < 0.5:
            order[i + 1].append(order[i].pop())
    line_width = round(pad_line_width(canvas_width, canvas_height) * rng.uniform(0.7, 1.3), 1)
    lines = [line for digit in order for line in digit]
    return Strokes(lines, canvas_width, canvas_height, line_width), own


def compose_image(digits: list[np.ndarray], rng: np.random.Generator) -> bytes:
    """MNIST digits (28x28, ink high) as a number: dark ink on white, a PNG."""
    height = float(rng.integers(28, 57))
    slope = rng.uniform(-0.06, 0.06)
    crops, x = [], 0.0
    for digit, (h, gap) in zip(digits, _layout(len(digits), rng, height)):
        ink = Image.fromarray(np.uint8(digit * 255))
        ink = ink.crop(ink.getbbox())
        scale = h / ink.height
        ink = ink.resize(
            (max(1, round(ink.width * scale)), max(1, round(h))), Image.Resampling.BICUBIC
        )
        baseline = slope * x + rng.uniform(-0.04, 0.04) * height + (height - h)
        crops.append((ink, x + gap, baseline))
        x += gap + ink.width
    margin = int(0.4 * height)
    top = min(b for _, _, b in crops)
    bottom = max(b + c.height for c, _, b in crops)
    page = np.zeros((int(bottom - top) + 2 * margin, int(x) + 2 * margin + 2), np.float32)
    for ink, left, baseline in crops:
        arr = np.asarray(ink, np.float32) / 255
        y, x0 = int(round(baseline - top)) + margin, int(round(left)) + margin
        region = page[y : y + arr.shape[0], x0 : x0 + arr.shape[1]]
        np.maximum(region, arr[: region.shape[0], : region.shape[1]], out=region)
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(255 - page * 255)).save(buffer, "PNG")
    return buffer.getvalue()


def pen_numbers(split: str, count: int, seed: int) -> dict[str, list[tuple[tuple, str]]]:
    """Per source, `count` numbers, each from one writer of the split."""
    from trainer.online import read_online, split_by_writer

    _, held = split_by_writer(read_online())
    rng = np.random.default_rng(seed)
    out = {}
    for source, writers in SPLITS[split].items():
        if source == "mnist":
            continue
        by_writer: dict = {}
        for sample in held[source]:
            by_writer.setdefault(sample.writer, {}).setdefault(sample.label, []).append(sample)
        numbers = []
        for _ in range(count):
            mine = by_writer[writers[int(rng.integers(len(writers)))]]
            text = "".join(str(d) for d in rng.choice(sorted(mine), int(rng.integers(2, 7))))
            samples = [mine[int(d)][int(rng.integers(len(mine[int(d)])))] for d in text]
            numbers.append((compose_strokes(samples, rng), text))
        out[source] = numbers
    return out


def mnist_numbers(split: str, count: int, seed: int) -> list[tuple[bytes, str]]:
    from trainer.datasets import load_mnist

    test = load_mnist().test
    start, stop = SPLITS[split]["mnist"]
    rng = np.random.default_rng(seed)
    numbers = []
    for _ in range(count):
        chosen = rng.integers(start, stop, int(rng.integers(2, 7)))
        text = "".join(str(int(test.labels[i])) for i in chosen)
        numbers.append((compose_image([test.images[i] for i in chosen], rng), text))
    return numbers


def matched(said: str, truth: str) -> int:
    """Digits matched in the best alignment of what was read with what was written."""
    rows = np.zeros((len(said) + 1, len(truth) + 1), int)
    for i, a in enumerate(said, 1):
        for j, b in enumerate(truth, 1):
            rows[i, j] = max(rows[i - 1, j], rows[i, j - 1], rows[i - 1, j - 1] + (a == b))
    return int(rows[-1, -1])


def strokes_body(strokes: Strokes) -> dict:
    return {
        "strokes": strokes.lines,
        "width": strokes.width,
        "height": strokes.height,
        "line_width": strokes.line_width,
    }


def _post(client, path: str, body: dict) -> dict:
    reply = client.post(path, json={**body, "store": False})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def measure(client, numbers, as_body, alone=None) -> dict:
    """Numbers read exactly, digits read right, digit counts right; digit mode if asked."""
    exact = right_count = digits = hits = alone_hits = 0
    misread = []
    for drawing, text in numbers:
        said = _post(client, "/api/read", as_body(drawing))["text"]
        exact += said == text
        right_count += len(said) == len(text)
        digits += len(text)
        hits += matched(said, text)
        if said != text and len(misread) < 10:
            misread.append(f"{text}->{said}")
        if alone is not None:
            alone_hits += sum(d == int(t) for d, t in zip(alone(drawing), text))
    row = {
        "numbers": len(numbers),
        "exact": exact / len(numbers),
        "digit accuracy": hits / digits,
        "right count": right_count / len(numbers),
    }
    if alone is not None:
        row["digit mode"] = alone_hits / digits
    row["misread"] = " ".join(misread)
    return row


def digits_alone(client):
    """Digit mode on the same digits: each written digit's own strokes through /api/predict,
    on a pad of its own (a square of the strip's height, the same pen)."""

    def alone(drawing) -> list[int]:
        strokes, own = drawing
        out = []
        for lines in own:
            points = np.concatenate([np.asarray(line) for line in lines])
            low, high = points.min(0), points.max(0)
            side = max(strokes.height, int(np.ceil((high - low).max() + 2 * strokes.line_width)))
            shift = (side - (high - low)) / 2 - low
            pad = Strokes(
                [[(float(x), float(y)) for x, y in np.asarray(line) + shift] for line in lines],
                side,
                side,
                strokes.line_width,
            )
            out.append(_post(client, "/api/predict", strokes_body(pad))["digit"])
        return out

    return alone


def latency(app, numbers: list[Strokes], repeat: int) -> dict:
    """Time inside the server of stored readings, on one core."""
    return time_posts(app.test_client(), "/api/read", [strokes_body(s) for s in numbers] * repeat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--writers", choices=sorted(SPLITS), default="measure")
    parser.add_argument("--numbers", type=int, default=500, help="numbers per source")
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", help="also write the figures to this file")
    args = parser.parse_args()
    split = SPLITS[args.writers]
    report: dict = {}
    pen = pen_numbers(args.writers, args.numbers, args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        app = bench_app(tmp)
        client = app.test_client()
        for source, numbers in pen.items():
            report[f"{source} strokes, writers {', '.join(split[source])}"] = measure(
                client, numbers, lambda d: strokes_body(d[0]), digits_alone(client)
            )
        start, stop = split["mnist"]
        report[f"mnist test images {start:,}-{stop - 1:,}"] = measure(
            client,
            mnist_numbers(args.writers, args.numbers, args.seed),
            lambda png: {"image": "data:image/png;base64," + base64.b64encode(png).decode()},
        )
        four = [d[0] for numbers in pen.values() for d, text in numbers if len(text) == 4]
        report["POST /api/read, 4-digit strokes, stored, one core"] = latency(app, four, 2)
    print(f"writers: {args.writers}")
    for name, row in report.items():
        print(
            f"{name}:\n  "
            + "  ".join(
                f"{k} {v:.2%}"
                if isinstance(v, float) and "ms" not in k
                else f"{k} {v:.2f}"
                if isinstance(v, float)
                else f"{k} {v}"
                for k, v in row.items()
            )
        )
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")


if __name__ == "__main__":
    main()

"""Real pen strokes from writers who are not MNIST's, drawn through the pad's path.

Two collections from the UCI repository (CC BY 4.0), read from
`$ONLINE_DIGITS_DIR`, else `../shared/data/online-digits` next to the checkout:

- UJI Pen Characters v2 (60 writers, Spain): `ujipenchars2.json`;
- pendigits, training writers (30 writers, Turkey): `pendigits-train.unipen`.

Every sample is placed on a pad-sized canvas (320-500 px, the pad's pen width,
random digit size and position) and goes through `preprocessing.preprocess_strokes`,
exactly as the pad's strokes do in the app. Whole writers are held out for
validation; a split by sample would only measure writers already seen.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.preprocessing import Strokes, preprocess_strokes

ONLINE_ENV = "ONLINE_DIGITS_DIR"
DEFAULT_ONLINE_DIR = (
    Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "online-digits"
)
SOURCES = {"uji": "ujipenchars2.json", "pendigits": "pendigits-train.unipen"}
# Whole writers kept out of training, per source.
HOLDOUT_WRITERS = {"uji": 12, "pendigits": 6}
CREDITS = (
    "UJI Pen Characters v2: D. Llorens, F. Prat, A. Marzal, J. M. Vilar et al., "
    "LREC 2008; Pen-Based Recognition of Handwritten Digits: E. Alpaydin and "
    "F. Alimoglu, Bogazici University, 1998; both from the UCI Machine Learning "
    "Repository, CC BY 4.0"
)


class OnlineDataError(RuntimeError):
    """The online collections are missing or malformed."""


@dataclass(frozen=True)
class PenSample:
    """One digit as the writer drew it: strokes of (x, y) points, y downwards."""

    strokes: tuple[np.ndarray, ...]
    label: int
    writer: str
    source: str


def online_dir(explicit: str | os.PathLike | None = None) -> Path:
    for candidate in (explicit, os.environ.get(ONLINE_ENV), DEFAULT_ONLINE_DIR):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    raise OnlineDataError(
        f"the online digits are not found: set {ONLINE_ENV} to the folder holding "
        + " and ".join(SOURCES.values())
    )


def read_uji(path: Path) -> list[PenSample]:
    """UJI v2 digits; within each digit's list, sample i is from writer i // 2."""
    try:
        raw = json.loads(path.read_text())["rawData"]
    except (OSError, ValueError, KeyError) as exc:
        raise OnlineDataError(f"cannot read {path}: {exc}") from exc
    samples = []
    for label, items in sorted(raw.items()):
        for i, strokes in enumerate(items):
            lines = tuple(np.asarray(s, np.float32).reshape(-1, 2) for s in strokes if s)
            if lines:
                samples.append(PenSample(lines, int(label), f"uji-{i // 2:02d}", "uji"))
    return samples


_SEGMENT = re.compile(r'^\.SEGMENT DIGIT\s+\S+\s+\S+\s+"(\d)"')


def read_pendigits(path: Path) -> list[PenSample]:
    """UNIPEN trajectories; tablet y grows upwards, so it is flipped here."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise OnlineDataError(f"cannot read {path}: {exc}") from exc
    samples: list[PenSample] = []
    label: int | None = None
    writer: str | None = None
    strokes: list[np.ndarray] = []
    current: list[tuple[float, float]] | None = None

    def finish():
        if label is not None and strokes:
            samples.append(PenSample(tuple(strokes), label, f"pendigits-{writer}", "pendigits"))

    for line in text.splitlines():
        if line.startswith(".SEGMENT"):
            finish()
            match = _SEGMENT.match(line)
            label, writer, strokes = (int(match.group(1)) if match else None), None, []
        elif line.startswith(".COMMENT") and label is not None:
            parts = line.split()
            writer = parts[2] if len(parts) > 2 else "?"
        elif line.startswith(".PEN_DOWN"):
            current = []
        elif line.startswith(".PEN_UP"):
            if current:
                points = np.asarray(current, np.float32)
                points[:, 1] = -points[:, 1]
                strokes.append(points)
            current = None
        elif current is not None and line.strip():
            x, y = line.split()
            current.append((float(x), float(y)))
    finish()
    return samples


def read_online(directory: str | os.PathLike | None = None) -> list[PenSample]:
    folder = online_dir(directory)
    return read_uji(folder / SOURCES["uji"]) + read_pendigits(folder / SOURCES["pendigits"])


def split_by_writer(
    samples: list[PenSample], holdout: dict[str, int] = HOLDOUT_WRITERS
) -> tuple[list[PenSample], dict[str, list[PenSample]]]:
    """Training samples, and the held-out writers' samples per source.

    The last writers of each source (in the collection's own order) are held
    out: a fixed, contiguous block, never chosen by sample.
    """
    train: list[PenSample] = []
    held: dict[str, list[PenSample]] = {}
    for source, count in holdout.items():
        mine = [s for s in samples if s.source == source]
        writers = sorted({s.writer for s in mine}, key=lambda w: (len(w), w))
        kept_out = set(writers[len(writers) - count :]) if count else set()
        held[source] = [s for s in mine if s.writer in kept_out]
        train += [s for s in mine if s.writer not in kept_out]
    return train, held


# ----------------------------------------------------------- onto the pad


def pad_line_width(width: float, height: float) -> int:
    """The drawing pad's pen width for a canvas (static/js/pad.js, lineWidth)."""
    return max(6, round(min(width, height) / 16))


def place_on_pad(
    strokes, rng: np.random.Generator, *, canvas=(320, 500), fill=(0.35, 0.85)
) -> Strokes:
    """Put strokes on a random pad-sized canvas as a person would draw them.

    The canvas side, the drawing's height (a share of the canvas), its place
    and the pen width (around the pad's own) are random.
    """
    width = int(rng.integers(canvas[0], canvas[1] + 1))
    height = int(rng.integers(canvas[0], canvas[1] + 1))
    points = np.concatenate(strokes)
    low, high = points.min(0), points.max(0)
    extent = np.maximum(high - low, 1e-3)
    if (high - low).max() < 1e-6:  # a single tap stays a dot
        scale = 1.0
    else:
        scale = rng.uniform(*fill) * height / max(extent[1], extent[0] * 0.6)
        scale = min(scale, 0.9 * width / extent[0], 0.9 * height / extent[1])
    size = extent * scale
    origin = np.array([rng.uniform(0, width - size[0]), rng.uniform(0, height - size[1])])
    lines = [[(float(x), float(y)) for x, y in (s - low) * scale + origin] for s in strokes]
    line_width = pad_line_width(width, height) * rng.uniform(0.7, 1.3)
    return Strokes(lines, width, height, line_width)


def render(drawings, seed: int) -> np.ndarray:
    """Each drawing placed on a pad and preprocessed: (n, 28, 28) float32."""
    rng = np.random.default_rng(seed)
    out = np.zeros((len(drawings), 28, 28), np.float32)
    for i, strokes in enumerate(drawings):
        out[i] = preprocess_strokes(place_on_pad(strokes, rng))
    return out


_CHUNK = 1000


def render_many(drawings, seeds: list[int]) -> list[np.ndarray]:
    """One rendering of all drawings per seed, chunks spread over the CPU cores.

    The result depends only on the drawings and the seeds, not on the cores.
    """
    jobs = [(seed, start) for seed in seeds for start in range(0, len(drawings), _CHUNK)]
    args = [(drawings[start : start + _CHUNK], seed * 7919 + start) for seed, start in jobs]
    workers = min(os.cpu_count() or 1, len(jobs))
    if workers > 1 and len(drawings) * len(seeds) > 2 * _CHUNK:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        # Spawned, not forked: the caller may hold TensorFlow's threads.
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
            parts = list(pool.map(_render_args, args))
    else:
        parts = [_render_args(a) for a in args]
    out, i = [], 0
    for seed in seeds:
        chunks = []
        for job_seed, _ in jobs:
            if job_seed == seed:
                chunks.append(parts[i])
                i += 1
        out.append(np.concatenate(chunks) if chunks else np.zeros((0, 28, 28), np.float32))
    return out


def _render_args(args) -> np.ndarray:
    drawings, seed = args
    return render(drawings, seed)

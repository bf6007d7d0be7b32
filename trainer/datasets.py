"""Datasets for training and evaluation, all as 28x28 MNIST-format arrays.

`mnist` (local IDX files, else the Keras download), `uci-digits` (scikit-learn's
copy of the UCI optical digits, through the shared preprocessing), `csv` (the
Kaggle layout: label then 784 pixels), `feedback` (corrected drawings, handed in
as arrays by the app), `online` (real pen strokes of 90 writers, drawn through
the pad's path afresh for each epoch; `trainer/online.py`), `negatives`
(drawings that are no digit, class 10; `trainer/negatives.py`) and weighted
mixtures of them.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

MNIST_ENV = "MNIST_DIR"
# Next to a checkout the shared data folder holds the four IDX files.
DEFAULT_MNIST_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "mnist"

MNIST_FILES = {
    "train_images": ("train-images-idx3-ubyte", "6bbc9ace898e44ae57da46a324031adb"),
    "train_labels": ("train-labels-idx1-ubyte", "a25bea736e30d166cdddb491f175f624"),
    "test_images": ("t10k-images-idx3-ubyte", "2646ac647ad5339dbf082846283269ea"),
    "test_labels": ("t10k-labels-idx1-ubyte", "27ae3e4e09519cfbb04c329615203637"),
}


class DatasetError(RuntimeError):
    """A dataset is missing, corrupt or inconsistent."""


@dataclass
class Split:
    images: np.ndarray  # (n, 28, 28) float32 in 0..1, white ink on black
    labels: np.ndarray  # (n,) int64

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class Dataset:
    name: str
    train: Split
    test: Split
    # Where the data came from, for the run record: name, sizes, weight.
    sources: list[dict] = field(default_factory=list)
    # Sets measured apart from the test split (held-out writers of each
    # source, letters never trained on), by name.
    holdout: dict[str, Split] = field(default_factory=dict)
    # Drawn data is rendered anew for every epoch: epoch -> training split
    # (same samples in the same order, other renderings). None: always `train`.
    renderer: Callable[[int], Split] | None = None
    # A grid of training images per class for each source (PNG, base64).
    previews: dict[str, str] = field(default_factory=dict)

    def describe(self) -> list[dict]:
        return self.sources or [
            {"name": self.name, "train": len(self.train), "test": len(self.test), "weight": 1}
        ]

    def train_for_epoch(self, epoch: int) -> Split:
        return self.renderer(epoch) if self.renderer else self.train


def read_idx(path: Path, expected_md5: str | None = None) -> np.ndarray:
    """Read an IDX file (raw or gzip), checking its magic, size and checksum."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from exc
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError) as exc:
            raise DatasetError(f"{path} is not a valid gzip file") from exc
    if expected_md5 and hashlib.md5(raw).hexdigest() != expected_md5:
        raise DatasetError(f"{path} is corrupt: its MD5 checksum does not match")
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DatasetError(f"{path} is not an IDX file of unsigned bytes")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise DatasetError(f"{path} is truncated")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = int(np.prod(shape)) if shape else 0
    if len(raw) - header != expected:
        raise DatasetError(
            f"{path} is truncated or padded: {len(raw) - header} bytes of data, expected {expected}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def _find(directory: Path, stem: str) -> Path | None:
    for name in (
        stem,
        stem + ".gz",
        stem.replace("-idx", ".idx"),
        stem.replace("-idx", ".idx") + ".gz",
    ):
        candidate = directory / name
        if candidate.exists():
            return candidate
    return None


def mnist_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The local IDX directory: the flag, else $MNIST_DIR, else the shared copy."""
    if explicit:
        if not Path(explicit).is_dir():
            raise DatasetError(f"MNIST directory {explicit} does not exist")
        return Path(explicit)
    for candidate in (os.environ.get(MNIST_ENV), DEFAULT_MNIST_DIR):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    return None


def load_mnist_idx(directory: Path, verify: bool = True) -> Dataset:
    arrays = {}
    for key, (stem, md5) in MNIST_FILES.items():
        path = _find(directory, stem)
        if path is None:
            raise DatasetError(f"{directory} has no {stem}(.gz)")
        arrays[key] = read_idx(path, md5 if verify else None)
    return _mnist_from_arrays(arrays)


def _mnist_from_arrays(arrays: dict[str, np.ndarray]) -> Dataset:
    splits = {}
    for part in ("train", "test"):
        images, labels = arrays[f"{part}_images"], arrays[f"{part}_labels"]
        if images.ndim != 3 or images.shape[1:] != (28, 28):
            raise DatasetError(f"MNIST {part} images are not 28x28")
        if len(images) != len(labels):
            raise DatasetError(f"MNIST {part}: {len(images)} images but {len(labels)} labels")
        if labels.max(initial=0) > 9:
            raise DatasetError(f"MNIST {part} labels must be digits 0-9")
        splits[part] = Split(images.astype(np.float32) / 255.0, labels.astype(np.int64))
    return Dataset(
        "mnist",
        splits["train"],
        splits["test"],
        previews={"mnist": preview_grid(splits["train"].images, splits["train"].labels)},
    )


def load_mnist(data_dir: str | os.PathLike | None = None) -> Dataset:
    """MNIST from the local IDX directory, else the Keras download."""
    directory = mnist_dir(data_dir)
    if directory is not None:
        return load_mnist_idx(directory)
    try:  # Only reachable where a network exists.
        import keras

        (xtr, ytr), (xte, yte) = keras.datasets.mnist.load_data()
    except Exception as exc:  # noqa: BLE001 - any download failure means the same
        raise DatasetError(
            "MNIST not found: pass --data-dir or set MNIST_DIR to a folder with the "
            "four IDX files (the Keras download failed too)"
        ) from exc
    return _mnist_from_arrays(
        {"train_images": xtr, "train_labels": ytr, "test_images": xte, "test_labels": yte}
    )


DATASETS = ("mnist", "uci-digits", "csv", "feedback", "online", "negatives")
LABEL_COLUMNS = {"label", "labels", "digit", "class", "target", "y"}


def _check_labels(labels: np.ndarray, where: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.size and (labels.min() < 0 or labels.max() > 9):
        raise DatasetError(
            f"{where}: labels must be digits 0-9, found {int(labels.min())}..{int(labels.max())}"
        )
    return labels.astype(np.int64)


def split_arrays(
    name: str, images: np.ndarray, labels: np.ndarray, test_fraction: float = 0.2, seed: int = 0
) -> Dataset:
    """A train/test split stratified by digit (reproducible with the seed)."""
    labels = _check_labels(labels, name)
    if len(images) != len(labels):
        raise DatasetError(f"{name}: {len(images)} images but {len(labels)} labels")
    rng = np.random.default_rng(seed)
    # Each digit's share of the test split, rounded so that the shares add up
    # to the whole (largest remainders first).
    counts = np.bincount(labels, minlength=10)
    wanted = counts * test_fraction
    shares = np.floor(wanted).astype(np.int64)
    short = int(round(len(labels) * test_fraction)) - int(shares.sum())
    shares[np.argsort(shares - wanted, kind="stable")[: max(0, short)]] += 1
    test_idx: list[np.ndarray] = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        rng.shuffle(members)
        test_idx.extend(members[: shares[digit]])
    is_test = np.zeros(len(labels), bool)
    is_test[np.asarray(test_idx, dtype=np.int64)] = True
    images = np.asarray(images, np.float32)
    train = Split(images[~is_test], labels[~is_test])
    return Dataset(
        name,
        train,
        Split(images[is_test], labels[is_test]),
        previews={name: preview_grid(train.images, train.labels)},
    )


def load_uci_digits(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """UCI optical digits (8x8, 0-16) brought to MNIST format by the shared preprocessing."""
    from PIL import Image
    from sklearn.datasets import load_digits

    from trainer.preprocessing import preprocess_array

    digits = load_digits()
    images = np.stack(
        [
            # Upsampling first gives the 20x20 fit smooth edges instead of 8x8 blocks.
            preprocess_array(
                np.asarray(
                    Image.fromarray(np.uint8(im / 16 * 255)).resize(
                        (64, 64), Image.Resampling.BILINEAR
                    ),
                    np.float32,
                )
                / 255.0
            )
            for im in digits.images
        ]
    )
    return split_arrays("uci-digits", images, digits.target, test_fraction, seed)


def read_csv_digits(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray]:
    """Rows of label + 784 pixel values 0-255 (header optional, label column by name)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise DatasetError(f"cannot read {path}: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{path} is not a text CSV file") from exc
    rows = [row for row in csv.reader(io.StringIO(text)) if row and any(c.strip() for c in row)]
    if not rows:
        raise DatasetError(f"{path} is empty")
    label_col = 0
    first = [c.strip() for c in rows[0]]
    has_header = not all(_is_number(c) for c in first)
    if has_header:
        names = [c.lower() for c in first]
        named = [i for i, n in enumerate(names) if n in LABEL_COLUMNS]
        if not named and len(first) == 784:
            raise DatasetError(
                f"{path} has 784 pixel columns and no label column "
                "(an unlabelled test file cannot be trained on)"
            )
        label_col = named[0] if named else 0
        rows = rows[1:]
    labels, pixels = [], []
    for line, row in enumerate(rows, start=2 if has_header else 1):
        if len(row) != 785:
            raise DatasetError(
                f"{path} line {line}: expected a label and 784 pixels, found {len(row)} values"
            )
        try:
            values = [float(v) for v in row]
        except ValueError:
            raise DatasetError(f"{path} line {line}: a value is not a number") from None
        label = values.pop(label_col)
        if label != int(label) or not 0 <= label <= 9:
            raise DatasetError(f"{path} line {line}: label {row[label_col]!r} is not a digit 0-9")
        if min(values) < 0 or max(values) > 255 or not np.all(np.isfinite(values)):
            raise DatasetError(f"{path} line {line}: pixel values must be 0-255")
        labels.append(int(label))
        pixels.append(values)
    if not labels:
        raise DatasetError(f"{path} has a header but no rows")
    images = np.asarray(pixels, np.float32).reshape(-1, 28, 28) / 255.0
    return images, np.asarray(labels, np.int64)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_csv(path: str | os.PathLike, seed: int = 0, test_fraction: float = 0.2) -> Dataset:
    images, labels = read_csv_digits(path)
    return split_arrays(f"csv:{Path(path).name}", images, labels, test_fraction, seed)


def mix(base: Dataset, extra: Dataset, weight: int = 1) -> Dataset:
    """Base plus extra training images, the extra repeated `weight` times.

    The test split stays the base's, so accuracy stays comparable between runs;
    held-out sets and previews of both are kept. Drawn data repeats as other
    renderings of the same drawings, not as copies.
    """
    if weight < 1:
        raise DatasetError("a mixture weight must be at least 1")

    def for_epoch(epoch: int) -> Split:
        parts = [base.train_for_epoch(epoch)] + [
            extra.train_for_epoch(epoch * weight + i) for i in range(weight)
        ]
        return Split(
            np.concatenate([p.images for p in parts]), np.concatenate([p.labels for p in parts])
        )

    fresh = base.renderer is not None or extra.renderer is not None
    sources = base.describe() + [dict(s, weight=weight) for s in extra.describe()]
    return Dataset(
        f"{base.name}+{extra.name}",
        for_epoch(0),
        base.test,
        sources,
        holdout={**base.holdout, **extra.holdout},
        renderer=for_epoch if fresh else None,
        previews={**base.previews, **extra.previews},
    )


# Drawn datasets have no test split of their own: they are measured on held-out sets.
_EMPTY = Split(np.zeros((0, 28, 28), np.float32), np.zeros(0, np.int64))


def rendered(
    drawings: list, labels: np.ndarray, seed: int, renderings: int
) -> tuple[Split, Callable[[int], Split]]:
    """Drawings rendered `renderings` times through the pad's path; epochs cycle them."""
    from trainer.online import render_many

    labels = np.asarray(labels, np.int64)
    variants = render_many(drawings, [seed * 1000 + r for r in range(renderings)])
    splits = [Split(images, labels) for images in variants]
    return splits[0], lambda epoch: splits[epoch % len(splits)]


def load_online(seed: int = 0, renderings: int = 3, directory=None) -> Dataset:
    """Pen strokes of 90 writers; whole writers held out per source, never trained on."""
    from trainer.online import SOURCES, read_online, render_many, split_by_writer

    train, held = split_by_writer(read_online(directory))
    first, renderer = rendered(
        [s.strokes for s in train], np.array([s.label for s in train]), seed, renderings
    )
    holdout = {}
    for source, samples in held.items():
        images = render_many([s.strokes for s in samples], [10_000 + seed])[0]
        holdout[f"online:{source}"] = Split(images, np.array([s.label for s in samples], np.int64))
    previews = {}
    for source in SOURCES:
        mine = np.array([s.source == source for s in train])
        previews[f"online:{source}"] = preview_grid(first.images[mine], first.labels[mine])
    sources = [
        {
            "name": f"online:{source}",
            "train": int(sum(s.source == source for s in train)),
            "test": len(held[source]),
            "weight": 1,
            "writers": len({s.writer for s in train if s.source == source}),
            "heldout_writers": len({s.writer for s in held[source]}),
        }
        for source in SOURCES
    ]
    return Dataset(
        "online", first, _EMPTY, sources, holdout=holdout, renderer=renderer, previews=previews
    )


def load_negatives(seed: int = 0, renderings: int = 3, count: int = 6000) -> Dataset:
    """Drawings that are no digit (class 10); letters of unseen fonts held out."""
    from trainer.calibration import NOT_A_DIGIT
    from trainer.negatives import negative_drawings, render_letters

    drawings = negative_drawings(count, seed)
    first, renderer = rendered(drawings, np.full(count, NOT_A_DIGIT), seed, renderings)
    letters = render_letters(seed)
    holdout = {"negatives:letters": Split(letters, np.full(len(letters), NOT_A_DIGIT, np.int64))}
    return Dataset(
        "negatives",
        first,
        _EMPTY,
        [{"name": "negatives", "train": count, "test": len(letters), "weight": 1}],
        holdout=holdout,
        renderer=renderer,
        previews={"negatives": preview_grid(first.images, first.labels, per_class=40)},
    )


def preview_grid(images: np.ndarray, labels: np.ndarray, per_class: int = 12) -> str:
    """Training images, one row per class, as a base64 PNG (a look at the data)."""
    import base64

    from trainer.preprocessing import to_png

    rows = []
    for label in np.unique(labels):
        picked = images[labels == label][:per_class]
        row = np.zeros((28, 28 * per_class), np.float32)
        for i, image in enumerate(picked):
            row[:, 28 * i : 28 * (i + 1)] = image
        rows.append(row)
    if not rows:
        return ""
    return base64.b64encode(to_png(np.concatenate(rows))).decode()


def load_named(
    name: str,
    *,
    data_dir=None,
    csv_path=None,
    seed: int = 0,
    feedback: Dataset | None = None,
    negatives: int = 6000,
) -> Dataset:
    """One dataset by its name (see DATASETS)."""
    if name == "mnist":
        return load_mnist(data_dir)
    if name == "uci-digits":
        return load_uci_digits(seed)
    if name == "csv":
        if not csv_path:
            raise DatasetError("the csv dataset needs a file: pass --csv PATH")
        return load_csv(csv_path, seed)
    if name == "online":
        return load_online(seed)
    if name == "negatives":
        return load_negatives(seed, count=negatives)
    if name == "feedback":
        if feedback is None or len(feedback.train) + len(feedback.test) == 0:
            raise DatasetError("the feedback dataset is empty: no confirmed flagged drawings yet")
        return feedback
    raise DatasetError(f"unknown dataset {name!r}: choose from {', '.join(DATASETS)}")

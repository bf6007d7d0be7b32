"""Datasets for training and evaluation: MNIST from local IDX files."""

from __future__ import annotations

import gzip
import hashlib
import os
from dataclasses import dataclass
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
    for name in (stem, stem + ".gz", stem.replace("-idx", ".idx"), stem.replace("-idx", ".idx") + ".gz"):
        candidate = directory / name
        if candidate.exists():
            return candidate
    return None


def mnist_dir(explicit: str | os.PathLike | None = None) -> Path | None:
    """The local IDX directory: the flag, else $MNIST_DIR, else the shared copy."""
    for candidate in (explicit, os.environ.get(MNIST_ENV), DEFAULT_MNIST_DIR):
        if candidate and Path(candidate).is_dir():
            return Path(candidate)
    if explicit:
        raise DatasetError(f"MNIST directory {explicit} does not exist")
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
    return Dataset("mnist", splits["train"], splits["test"])


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

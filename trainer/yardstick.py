"""The one fixed suite every model is judged on, whatever it was trained on.

A run's own test split says how it did on its own data (a UCI-trained model on
UCI digits); it cannot say whether that model is better for the people who
draw. So every model, before it may be served, is measured as it is served on
the same parts: MNIST's test split, the held-out writers of each online
source (never trained on by any recipe), drawings that are no digit (letters
and marks in fonts never trained on), and the flags held out of retraining
(which only the app has, and hands in).

Each part's headline is `right`: the share a person would call a right answer.
A digit is right when it is read as itself and not refused; a drawing that is
no digit is right when it is refused. Nothing here knows about Flask.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.calibration import NOT_A_DIGIT, Verdict, VerdictRule, choose_rule, verdicts

# Bumped whenever a part changes: figures of another suite are not comparable.
SUITE_VERSION = 1
# The held-out drawings are rendered this many times each, from fixed seeds.
RENDERINGS = 3
SEED = 20_000


@dataclass(frozen=True)
class Part:
    name: str
    label: str
    digits: bool  # False: drawings that are no digit, right when refused


PARTS = (
    Part("mnist", "MNIST test", True),
    Part("online:uji", "UJI Pen Characters: held-out writers (Spain)", True),
    Part("online:pendigits", "pendigits: held-out writers (Turkey)", True),
    Part("negatives:letters", "Letters and marks in fonts never trained on (no digit)", False),
    Part("flags", "Held-out flags", True),
)
BY_NAME = {p.name: p for p in PARTS}
# Parts whose digits choose a model's verdict thresholds: people it never saw.
WRITERS = ("online:uji", "online:pendigits")


def label(name: str) -> str:
    return BY_NAME[name].label if name in BY_NAME else name


# Rendering the held-out drawings takes half a minute: the result is kept on
# disk, under a name that changes with everything it depends on.
CACHE_ENV = "DIGITPAD_CACHE_DIR"
_RENDERING_CODE = ("preprocessing.py", "online.py", "negatives.py", "document.py", "yardstick.py")


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "digitpad")


def _cache_key(data_dir: str | None, online_dir: str | None) -> str:
    """What the rendered suite depends on: the code that renders it and its data files."""
    from trainer.datasets import DatasetError, mnist_dir
    from trainer.online import OnlineDataError
    from trainer.online import online_dir as find_online

    digest = hashlib.sha256(f"{SUITE_VERSION}:{RENDERINGS}:{SEED}".encode())
    here = Path(__file__).resolve().parent
    for name in _RENDERING_CODE:
        digest.update((here / name).read_bytes())
    folders = []
    for find, explicit in ((mnist_dir, data_dir), (find_online, online_dir)):
        with contextlib.suppress(DatasetError, OnlineDataError, OSError):
            folders.append(find(explicit))
    for folder in folders:
        for path in sorted(Path(folder).rglob("*")) if folder else []:
            if path.is_file():
                info = path.stat()
                digest.update(f"{path.name}:{info.st_size}:{info.st_mtime_ns}".encode())
    return digest.hexdigest()[:24]


@functools.lru_cache(maxsize=4)
def fixed_sets(
    data_dir: str | None = None, online_dir: str | None = None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The suite's fixed parts as 28x28 images and labels (once per machine, then from disk).

    A part whose data cannot be found is left out: it reads as not measured.
    """
    path = cache_dir() / f"yardstick-{_cache_key(data_dir, online_dir)}.npz"
    try:
        with np.load(path) as cached:
            sets = {
                name: (cached[f"{name}/images"], cached[f"{name}/labels"])
                for name in BY_NAME
                if f"{name}/images" in cached
            }
    except (OSError, ValueError, KeyError):
        sets = _render_sets(data_dir, online_dir)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".npz", delete=False) as out:
                arrays: dict[str, Any] = {
                    f"{n}/{k}": v
                    for n, (images, labels) in sets.items()
                    for k, v in (("images", images), ("labels", labels))
                }
                np.savez_compressed(out, **arrays)
            os.replace(out.name, path)
        except OSError:
            pass  # a read-only home: render again next time
    for images, labels in sets.values():
        images.setflags(write=False)
        labels.setflags(write=False)
    return sets


def _render_sets(
    data_dir: str | None, online_dir: str | None
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The suite's fixed parts rendered anew."""
    from trainer.datasets import DatasetError, load_mnist_idx, mnist_dir
    from trainer.negatives import render_letters, render_marks
    from trainer.online import OnlineDataError, read_online, render, split_by_writer

    sets: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    directory = mnist_dir(data_dir)  # never downloaded: a machine without it skips the part
    if directory is not None:
        try:
            test = load_mnist_idx(directory).test
            sets["mnist"] = (test.images, test.labels)
        except (DatasetError, OSError):
            pass
    try:
        _, held = split_by_writer(read_online(online_dir))
    except (DatasetError, OnlineDataError, OSError):
        held = {}
    for source, samples in held.items():
        # In this process (a web worker may measure too): no pool of processes.
        images = np.concatenate(
            [render([s.strokes for s in samples], SEED + r) for r in range(RENDERINGS)]
        )
        labels = np.tile(np.array([s.label for s in samples], np.int64), RENDERINGS)
        sets[f"online:{source}"] = (images, labels)
    no_digit = np.concatenate([render_letters(SEED), render_marks(SEED)])
    sets["negatives:letters"] = (no_digit, np.full(len(no_digit), NOT_A_DIGIT, np.int64))
    return sets


def rule_on_writers(
    calibrated_of: Callable[[np.ndarray], np.ndarray], data_dir: str | None = None
) -> VerdictRule:
    """A model's verdict rule, chosen on the suite's held-out writers (`choose_rule`).

    `calibrated_of(images)` gives the model's calibrated probabilities. The
    same writers for every model, whatever it was trained on.
    """
    suite = fixed_sets(data_dir)
    return choose_rule(
        {
            name: (calibrated_of(images), labels)
            for name, (images, labels) in suite.items()
            if name in WRITERS
        }
    )


def score(probabilities: np.ndarray, labels: np.ndarray, rule: VerdictRule, digits: bool) -> dict:
    """One part judged as a person meets it (calibrated probabilities)."""
    p = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    said = np.array(verdicts(p, rule)) if len(p) else np.zeros(0, str)
    refused = said == Verdict.NOT_A_DIGIT
    sure = said == "sure"
    n = len(labels)
    if not n:
        return {"samples": 0, "right": None}
    if not digits:
        return {
            "samples": n,
            "right": float(refused.mean()),
            "refused": float(refused.mean()),
            "sure": float(sure.mean()),
        }
    # A flag that says "no digit" is right when refused; a digit when read as itself.
    no_digit = labels == NOT_A_DIGIT
    read = p[:, :NOT_A_DIGIT].argmax(1) == labels
    right = np.where(no_digit, refused, read & ~refused)
    return {
        "samples": n,
        "right": float(right.mean()),
        "refused": float(refused[~no_digit].mean()) if (~no_digit).any() else None,
        "sure": float(sure.mean()),
        "sure_right": float(right[sure].mean()) if sure.any() else None,
        "unsure": float((said == "unsure").mean()),
    }


def measure(
    probabilities_of: Callable[[np.ndarray], np.ndarray],
    rule: VerdictRule,
    sets: dict[str, tuple[np.ndarray, np.ndarray]],
) -> dict:
    """Every part of `sets` scored with a model's calibrated `probabilities_of(images)`."""
    parts = {}
    for name, (images, labels) in sets.items():
        digits = BY_NAME[name].digits if name in BY_NAME else True
        probs = probabilities_of(images) if len(images) else np.zeros((0, NOT_A_DIGIT + 1))
        parts[name] = score(probs, labels, rule, digits)
    return {"suite": SUITE_VERSION, "parts": parts}


def worse_parts(candidate: dict, active: dict, margin: float) -> list[str]:
    """Where the candidate's `right` is more than `margin` below the active model's, in words."""
    found = []
    c_parts, a_parts = (candidate or {}).get("parts", {}), (active or {}).get("parts", {})
    for part in PARTS:
        c, a = c_parts.get(part.name, {}), a_parts.get(part.name, {})
        if c.get("right") is None or a.get("right") is None:
            continue
        drop = a["right"] - c["right"]
        if drop > margin + 1e-12:
            found.append(
                f"{part.label}: {c['right']:.2%} against the active model's "
                f"{a['right']:.2%} ({drop * 100:.2f} points lower)"
            )
    return found

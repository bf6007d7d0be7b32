"""A number in a picture: one mark per connected component of its ink."""

from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage

from trainer import preprocessing
from trainer.preprocessing import EmptyDrawing, TooComplex
from trainer.segmentation.marks import MAX_MARKS, Digit, Mark
from trainer.segmentation.search import Candidate, valleys

# Ink below this share of the strongest is anti-aliasing: it goes with the
# component it borders but does not connect components.
HAZE = 0.05


class PictureInk:
    """A number in a picture: one mark per connected component of its ink."""

    # Touching digits fuse into one component even when narrow (a 1 beside a 7).
    split_width = 0.75

    def __init__(self, image: Image.Image):
        ink = preprocessing.ink_array(image)
        peak = float(ink.max()) if ink.size else 0.0
        if peak < 0.1:
            raise EmptyDrawing("the drawing is empty")
        self.ink = ink / peak
        labels, count = components(self.ink > preprocessing.CROP_THRESHOLD)
        if count > MAX_MARKS:  # before any work that grows with the marks
            raise TooComplex(
                f"the picture holds {count} separate marks; at most {MAX_MARKS} "
                "are read (a number, not a texture)"
            )
        self.labels = grow(labels, self.ink > HAZE)

    def charge(self, groups) -> None:
        """A picture's candidates cost what its pixels do: bounded by its size already."""

    def marks(self) -> list[Mark]:
        flat = self.labels.ravel()
        order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat)
        marks, start = [], counts[0]
        width = self.labels.shape[1]
        for count in counts[1:]:
            pixels = order[start : start + count]
            start += count
            ys, xs = np.divmod(pixels, width)
            marks.append(
                Mark(
                    float(xs.min()),
                    float(xs.max() + 1),
                    float(ys.min()),
                    float(ys.max() + 1),
                    (ys, xs),
                )
            )
        return marks

    def _crop(self, marks) -> tuple[np.ndarray, tuple[int, int, int, int]]:
        ys = np.concatenate([m.content[0] for m in marks])
        xs = np.concatenate([m.content[1] for m in marks])
        y0, x0 = int(ys.min()), int(xs.min())
        crop = np.zeros((int(ys.max()) + 1 - y0, int(xs.max()) + 1 - x0), np.float32)
        crop[ys - y0, xs - x0] = self.ink[ys, xs]
        return crop, (x0, y0, x0 + crop.shape[1], y0 + crop.shape[0])

    def render(self, marks) -> np.ndarray:
        return preprocessing.normalise(self._crop(marks)[0])

    def valleys(self, marks, height: float) -> list[float]:
        crop, (x0, _, _, _) = self._crop(marks)
        # On the tuning pictures (MNIST's pen) column sums alone found the
        # junctions best; spans added wrong cuts.
        return valleys(crop, x0, 1.0, height, spans=False)

    def cut(self, marks, at: float) -> tuple[tuple[Mark, ...], tuple[Mark, ...]]:
        left: list[Mark] = []
        right: list[Mark] = []
        for m in marks:
            ys, xs = m.content
            for keep, side in ((xs < at, left), (xs >= at, right)):
                if keep.any():
                    y, x = ys[keep], xs[keep]
                    side.append(
                        Mark(
                            float(x.min()),
                            float(x.max() + 1),
                            float(y.min()),
                            float(y.max() + 1),
                            (y, x),
                        )
                    )
        return tuple(left), tuple(right)

    def digit(self, candidate: Candidate) -> Digit:
        crop, box = self._crop(candidate.marks)
        return Digit(
            (float(box[0]), float(box[1]), float(box[2]), float(box[3])),
            candidate.mnist,
            candidate.probabilities,
            ink=crop,
        )


def components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels (1..n in raster order of their first pixel, 0 for paper) of the
    8-connected components of a mask, and n."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return labels.astype(np.int32, copy=False), int(count)


def grow(labels: np.ndarray, haze: np.ndarray, steps: int = 2) -> np.ndarray:
    """Unlabelled faint ink takes the label of a neighbouring component."""
    for _ in range(steps):
        padded = np.pad(labels, 1)
        h, w = labels.shape
        neighbours = np.max(
            [
                padded[1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]
                for dy in (-1, 0, 1)
                for dx in (-1, 0, 1)
            ],
            axis=0,
        )
        labels = np.where((labels == 0) & haze, neighbours, labels)
    return labels

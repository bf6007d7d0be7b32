"""A number drawn as strokes: one mark per stroke."""

from __future__ import annotations

import numpy as np

from trainer import preprocessing
from trainer.preprocessing import Strokes, TooComplex
from trainer.segmentation.marks import MAX_RENDERED_POINTS, Digit, Mark
from trainer.segmentation.search import Candidate, valleys


class StrokeInk:
    """A number drawn as strokes: one mark per stroke."""

    # A stroke spans two digits only when the pen never lifted between them,
    # which leaves a wide shape.
    split_width = 1.0

    def __init__(self, strokes: Strokes):
        self.strokes = strokes
        self.half_pen = (strokes.line_width or 0.0) / 2
        self.drawn = 0  # points drawn so far, over every candidate

    def charge(self, groups) -> None:
        """Count the points about to be drawn; past MAX_RENDERED_POINTS, refuse the reading.

        Drawing dominates a reading's cost, and grows with the points of every
        candidate (a stroke is drawn once per grouping it is tried in).
        """
        self.drawn += sum(len(line) for group in groups for m in group for line in m.content)
        if self.drawn > MAX_RENDERED_POINTS:
            raise TooComplex(
                "the writing has too many points to be cut into digits; "
                "write the number with fewer, simpler strokes"
            )

    def marks(self) -> list[Mark]:
        return [
            self._mark((np.asarray(line, np.float64).reshape(-1, 2),))
            for line in self.strokes.lines
        ]

    def _mark(self, lines: tuple[np.ndarray, ...]) -> Mark:
        """A mark's extent is its ink's: the pen's half width around its points."""
        points = np.concatenate(lines)
        (x0, y0), (x1, y1) = points.min(0) - self.half_pen, points.max(0) + self.half_pen
        return Mark(float(x0), float(x1), float(y0), float(y1), lines)

    def _own(self, marks) -> Strokes:
        """A digit's strokes on a pad of its own, as if drawn alone.

        The pad is a square of the canvas's short side (so the default pen and
        the rendering's scale are a single digit's), the digit at its centre.
        """
        return self._moved(marks)[0]

    def _moved(self, marks) -> tuple[Strokes, np.ndarray]:
        side = min(self.strokes.width, self.strokes.height)
        points = np.concatenate([line for m in marks for line in m.content])
        low, high = points.min(0), points.max(0)
        size = np.clip(np.ceil(high - low + 4 * self.half_pen + 2), side, preprocessing.MAX_SIDE)
        shift = (size - (high - low)) / 2 - low
        lines = [np.round(line + shift, 1).tolist() for m in marks for line in m.content]
        return Strokes(lines, int(size[0]), int(size[1]), self.strokes.line_width), shift

    def render(self, marks) -> np.ndarray:
        return preprocessing.preprocess_strokes(self._own(marks))

    def valleys(self, marks, height: float) -> list[float]:
        self.charge([marks])
        own, shift = self._moved(marks)
        ink = preprocessing.render_strokes(own)  # the digit's ink as the pad's path draws it
        scale = ink.shape[1] / own.width
        return valleys(ink, -shift[0], scale, height, spans=True)

    def cut(self, marks, at: float) -> tuple[tuple[Mark, ...], tuple[Mark, ...]]:
        left: list[np.ndarray] = []
        right: list[np.ndarray] = []
        for m in marks:
            for line in m.content:
                for piece, is_left in clip(line, at):
                    (left if is_left else right).append(piece)
        return tuple(self._mark((p,)) for p in left), tuple(self._mark((p,)) for p in right)

    def digit(self, candidate: Candidate) -> Digit:
        marks = candidate.marks
        box = (
            max(0.0, min(m.x0 for m in marks)),
            max(0.0, min(m.y0 for m in marks)),
            min(float(self.strokes.width), max(m.x1 for m in marks)),
            min(float(self.strokes.height), max(m.y1 for m in marks)),
        )
        return Digit(
            (round(box[0], 1), round(box[1], 1), round(box[2], 1), round(box[3], 1)),
            candidate.mnist,
            candidate.probabilities,
            strokes=self._own(candidate.marks),
        )


def clip(line: np.ndarray, at: float) -> list[tuple[np.ndarray, bool]]:
    """A polyline cut at x = at into pieces, each left or right of it."""
    pieces, current = [], [line[0]]
    side = line[0][0] < at
    for a, b in zip(line[:-1], line[1:]):
        if (b[0] < at) != side:
            t = (at - a[0]) / (b[0] - a[0])
            crossing = a + t * (b - a)
            current.append(crossing)
            pieces.append((np.array(current), side))
            current, side = [crossing], not side
        current.append(b)
    pieces.append((np.array(current), side))
    return pieces

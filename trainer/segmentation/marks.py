"""What a reading is made of: marks, digits, separators; the writing's height.

A mark is a stroke, or a connected component of a picture's ink.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from trainer import preprocessing
from trainer.preprocessing import Strokes

# Every length below is a share of the writing's height H, measured on the
# ink (a stroke's points widened by half the pen). Chosen on writers the
# numbers benchmark does not measure (tests/benchmarks/numbers.py).

# Separators, measured against the band the tall marks span (TALL_SHARE of
# the tallest mark's height or more): a dash is at most DASH_HEIGHT of the
# band tall, at least DASH_WIDTH wide, its centre within DASH_BAND of it; a
# point or comma at most POINT_SIZE of it, its top at least POINT_BELOW down;
# a comma reaches COMMA_BELOW of the band below its bottom.
TALL_SHARE = 0.5
DASH_HEIGHT = 0.3
DASH_WIDTH = 0.3
DASH_BAND = (0.15, 0.85)
# A mark like a dash but up to EQUALS_HEIGHT of the band tall is an equals
# sign whose bars touch.
EQUALS_HEIGHT = 0.5
POINT_SIZE = 0.5
POINT_BELOW = 0.5
COMMA_BELOW = 0.1
# An apostrophe ends above this share of the band, at least APART of it
# from every other mark.
APOSTROPHE_ABOVE = 0.45
APART = 0.04
# A mark beside the digits at most FLAT_SHARE of the band tall and too short
# for a dash is a sliver of a line, and dropped.
FLAT_SHARE = 0.1
# A mark whose centre lies within NEAR_SHARE of the band from a larger
# mark's extent belongs to that mark's digit.
NEAR_SHARE = 0.05
# The cost budget of one reading, checked before the work it bounds: marks
# (strokes, or a picture's connected components), and points drawn over all
# the candidate digits rendered (each candidate is drawn again from its strokes).
MAX_MARKS = preprocessing.MAX_STROKES
MAX_RENDERED_POINTS = 30_000


class TooManyDigits(ValueError):
    """More digits than a reading accepts."""

    def __init__(self, count: int, limit: int):
        super().__init__(
            f"the drawing holds at least {count} digits; at most {limit} are read at once"
        )
        self.count, self.limit = count, limit


@dataclass(frozen=True)
class Digit:
    """One digit of a number: where it is, what the model saw, what it said."""

    box: tuple[float, float, float, float]  # x0, y0, x1, y1 in canvas or picture pixels
    mnist: np.ndarray  # the 28x28 input
    probabilities: np.ndarray  # score's row for it
    strokes: Strokes | None = None  # strokes: its own, on a pad of its own
    ink: np.ndarray | None = None  # pictures: its own ink (0..1), cropped to its box


@dataclass(frozen=True)
class Separator:
    """A mark between digits that is no digit: "." "," or "-", and where it is."""

    text: str
    box: tuple[float, float, float, float]

    def as_json(self) -> dict:
        return {"mark": self.text, "box": [round(v, 1) for v in self.box]}


@dataclass(frozen=True)
class Found:
    """What a reading found, each left to right: the digits, and the separators between them."""

    digits: list[Digit]
    separators: list[Separator]

    def written(self, digit_texts: list[str]) -> str:
        """The number as written: each digit's text and the separators, by position."""
        items = [((d.box[0] + d.box[2]) / 2, t) for d, t in zip(self.digits, digit_texts)]
        items += [((s.box[0] + s.box[2]) / 2, s.text) for s in self.separators]
        return "".join(t for _, t in sorted(items, key=lambda item: item[0]))


@dataclass(frozen=True)
class Mark:
    x0: float
    x1: float
    y0: float
    y1: float
    content: tuple  # polylines ((n, 2) arrays), or a picture's pixels (ys, xs)

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def size(self) -> float:
        return max(self.x1 - self.x0, self.y1 - self.y0)

    @property
    def box(self) -> tuple[float, float, float, float]:
        return (self.x0, self.y0, self.x1, self.y1)


def split_separators(marks: list[Mark]) -> tuple[list[Mark], list[Separator]]:
    """Marks between the digits that are no digit: points, commas, apostrophes, dashes
    and equals signs; and the rest (slivers dropped).

    Measured against the band the tall marks span (from their median top to
    their median bottom): a short, wide mark across its middle is a dash, two
    stacked an equals sign; a small mark in its lower half a point, or a comma
    if it hangs below the line or is taller than wide; a small mark in its
    upper half an apostrophe ("1'250"). A mark under or beside a larger one
    belongs to that digit (a 7's bar, a 4's stroke) and is never a separator.
    """
    heights = np.array([m.y1 - m.y0 for m in marks])
    tall = [m for m, h in zip(marks, heights) if h >= TALL_SHARE * heights.max()]
    if len(tall) == len(marks):
        return marks, []
    top = float(np.median([m.y0 for m in tall]))
    band = max(float(np.median([m.y1 for m in tall])) - top, 1.0)
    tall_ids = {id(m) for m in tall}

    def alone(m: Mark) -> bool:
        """In a gap of its own: no other mark (but a dash) within APART of the band."""
        return not any(
            t.x0 - APART * band < m.x1 and m.x0 < t.x1 + APART * band
            for t in marks
            if t is not m and not flat(t)
        )

    def flat(m: Mark, most: float = DASH_HEIGHT) -> bool:
        centre_y = ((m.y0 + m.y1) / 2 - top) / band
        return (
            id(m) not in tall_ids
            and m.y1 - m.y0 <= most * band
            and m.x1 - m.x0 >= DASH_WIDTH * band
            and DASH_BAND[0] <= centre_y <= DASH_BAND[1]
        )

    def dash(m: Mark, most: float = DASH_HEIGHT) -> bool:
        # A 4's bar or a 7's crossbar drawn apart touches its digit: never a dash.
        return flat(m, most) and alone(m)

    kept, separators, dashes = [], [], []
    margin = NEAR_SHARE * band
    for m in marks:
        centre_x = (m.x0 + m.x1) / 2
        height, width = m.y1 - m.y0, m.x1 - m.x0
        # Under another mark, or close beside one: a part of that digit (a 7's
        # bar, a broken stroke), never a separator. Dashes part no one.
        under = any(
            t.x0 - margin <= centre_x <= t.x1 + margin
            for t in marks
            if t is not m and not flat(t) and (id(t) in tall_ids or t.size > m.size)
        )
        if id(m) in tall_ids or under:
            kept.append(m)
        elif dash(m):
            dashes.append(m)
        elif dash(m, EQUALS_HEIGHT):  # two bars the pen or the blur joined
            separators.append(Separator("=", m.box))
        elif (
            max(height, width) <= POINT_SIZE * band
            and width <= 2 * height + 1
            and (m.y0 - top) / band >= POINT_BELOW
        ):
            comma = (m.y1 - top) / band > 1 + COMMA_BELOW or height > 1.5 * width
            separators.append(Separator("," if comma else ".", m.box))
        elif (
            max(height, width) <= POINT_SIZE * band
            and (m.y1 - top) / band <= APOSTROPHE_ABOVE
            and alone(m)
        ):
            # Alone in a gap: a 5's flag or a 7's top that came apart stays with its digit.
            separators.append(Separator("'", m.box))
        elif height <= FLAT_SHARE * band:
            continue  # a sliver, too short for a dash: what is left of a ruled line
        else:
            kept.append(m)
    # Two dashes one above the other are an equals sign.
    dashes.sort(key=lambda m: m.x0)
    while dashes:
        first = dashes.pop(0)
        pair = next(
            (
                d
                for d in dashes
                if min(first.x1, d.x1) - max(first.x0, d.x0)
                > 0.5 * min(first.x1 - first.x0, d.x1 - d.x0)
            ),
            None,
        )
        if pair is None:
            separators.append(Separator("-", first.box))
            continue
        dashes.remove(pair)
        separators.append(
            Separator(
                "=",
                (
                    min(first.x0, pair.x0),
                    min(first.y0, pair.y0),
                    max(first.x1, pair.x1),
                    max(first.y1, pair.y1),
                ),
            )
        )
    return kept, separators


def writing_height(marks: list[Mark]) -> float:
    heights = np.array([m.y1 - m.y0 for m in marks])
    tall = heights[heights >= 0.5 * heights.max()]
    return max(float(np.median(tall)), 1.0)


def with_dots(main: list[Mark], dots: list[Mark]) -> list[list[Mark]]:
    """Each main mark with the dots inside its extent; dots between digits are dropped."""
    units = [[m] for m in main]
    for dot in dots:
        centre = (dot.x0 + dot.x1) / 2
        inside = [i for i, m in enumerate(main) if m.x0 <= centre <= m.x1]
        if inside:
            nearest = min(inside, key=lambda i: abs(main[i].x0 + main[i].x1 - 2 * centre))
            units[nearest].append(dot)
    return units

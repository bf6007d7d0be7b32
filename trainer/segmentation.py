"""Cut a written number into its digits, left to right.

NumPy and SciPy only, like the rest of `trainer/`. The caller hands in `score`: a
function from a batch of 28x28 inputs to probability rows (ten digits, then
"not a digit"), so the served model judges the candidate cuts without this
module knowing how it is served. Every candidate digit goes through
`preprocessing` exactly as a single drawn digit does.

The same rules for strokes and for pictures, in the writing's own unit, its
height H (the median height of its tall marks), measured on the ink:

1. Marks are strokes, or the connected components of a picture's ink. A mark
   smaller than DOT_SIZE * H is a dot: one inside a digit's extent belongs to
   that digit, one between digits is no digit and is dropped ("1.5" reads 15).
2. The other marks are ordered by the centre of their horizontal extent,
   whatever order they were drawn in. A mark that lies inside one other mark's
   extent (a 7's bar, a 4's second stroke) belongs to its digit; a gap wider
   than APART_GAP * H always ends a digit. In between (touching or
   overlapping neighbours, a bar over two digits, a 4 whose strokes only
   touch) every grouping is weighed, in one batch, and the likeliest wins:
   the model's confidence in each digit, how likely a digit ends where
   neighbours overlap that much, and how likely a group that tall is a
   digit of its own (the digits of a number are of a height).
3. A wide digit the model is unsure of (two touching digits in one stroke or
   one component) is tried cut at the necks of its ink; a cut stays when the
   model is sure of every piece and surer of them than of the whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
from PIL import Image
from scipy import ndimage

from trainer import preprocessing
from trainer.preprocessing import EmptyDrawing, Strokes, TooComplex

Score = Callable[[np.ndarray], np.ndarray]

# Every length below is a share of the writing's height H, measured on the
# ink (a stroke's points widened by half the pen). Chosen on writers the
# numbers benchmark does not measure (tests/benchmarks/numbers.py).
DOT_SIZE = 0.15  # a mark whose width and height are both below this is a dot
MIN_EXTENT = 0.15  # a thin mark (a 1) counts as this wide when overlaps are measured
JOIN_COVER = 0.9  # a mark this much inside one other mark's extent is part of its digit
APART_GAP = 0.1  # a gap wider than this between extents always ends a digit
MAX_DIGIT_WIDTH = 1.6  # no candidate grouping is wider
MAX_PIECES = 3  # a digit joins at most this many of the finest groups
# Where neighbours overlap by this share of the narrower, a digit is as likely
# to end between them as not; the odds change over about JOIN_SOFTNESS, and
# geometry alone is never surer than SURE_OF_BOUNDARY (the model decides).
JOINED_AT = 0.7
JOIN_SOFTNESS = 0.2
SURE_OF_BOUNDARY = 0.65
# A group shorter than this is as likely a part of a digit as a digit (a 4's
# first stroke, a 5's flag): the digits of a number are of a height.
SHORT_AT = 0.8
SHORT_SOFTNESS = 0.05
KEEP_WHOLE = 0.9999  # a digit the model is this sure of is never cut
HALF_SURE = 0.75  # a cut's pieces must each be at least this likely a digit...
MIN_CUT_HEIGHT = 0.75  # ...and at least this tall
CUTS_TRIED = 4  # valleys tried per profile of a wide digit's ink
PAIRED_CUTS = 3  # the deepest this many are also tried two at a time
CUT_ROUNDS = 2  # a piece still too wide is tried again
MAX_DIGITS = 10
# Separators, measured against the band the tall marks span (TALL_SHARE of
# the tallest mark's height or more): a dash is at most DASH_HEIGHT of the
# band tall, at least DASH_WIDTH wide, its centre within DASH_BAND of it; a
# point or comma at most POINT_SIZE of it, its top at least POINT_BELOW down;
# a comma reaches COMMA_BELOW of the band below its bottom.
TALL_SHARE = 0.5
DASH_HEIGHT = 0.3
DASH_WIDTH = 0.3
DASH_BAND = (0.25, 0.8)
POINT_SIZE = 0.5
POINT_BELOW = 0.5
COMMA_BELOW = 0.1
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
        super().__init__(f"the drawing holds at least {count} digits; "
                         f"at most {limit} are read at once")
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
class _Mark:
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


def read_strokes(strokes: Strokes, score: Score, max_digits: int = MAX_DIGITS) -> Found:
    """The digits of a number drawn as strokes, left to right, and its separators."""
    return _read(_StrokeInk(strokes), score, max_digits)


def read_image(image: Image.Image, score: Score, max_digits: int = MAX_DIGITS) -> Found:
    """The digits of a number in a picture, left to right, and its separators."""
    return _read(_PictureInk(image), score, max_digits)


# ------------------------------------------------------------------ the search


@dataclass(frozen=True)
class _Candidate:
    marks: tuple[_Mark, ...]
    mnist: np.ndarray
    probabilities: np.ndarray

    @property
    def confidence(self) -> float:
        return float(np.max(self.probabilities[:10]))

    @property
    def log_confidence(self) -> float:
        return float(np.log(self.confidence + 1e-9))

    @property
    def extent(self) -> tuple[float, float]:
        return min(m.x0 for m in self.marks), max(m.x1 for m in self.marks)


def _read(ink, score: Score, max_digits: int) -> Found:
    marks = ink.marks()
    if not marks:
        raise EmptyDrawing("the drawing is empty")
    height = _writing_height(marks)
    marks, separators = _separators(marks)
    main = sorted((m for m in marks if m.size >= DOT_SIZE * height),
                  key=lambda m: m.x0 + m.x1)
    if not main:  # only dots: one drawing, for the model to call no digit
        groups = [[tuple(marks)]]
    else:
        units = _with_dots(main, [m for m in marks if m.size < DOT_SIZE * height])
        groups = [[tuple(m for u in units[a:b] for m in u) for a, b in cluster]
                  for cluster in _clusters(main, height, max_digits)]
    by_run = _score_runs(ink, score, groups, height)
    chosen: list[_Candidate] = []
    for g, group in enumerate(groups):
        chosen += _best_grouping(_boundary_odds(group, height),
                                 lambda a, b, g=g: by_run.get((g, a, b)), height)
    if len(chosen) > max_digits:  # cuts only add digits
        raise TooManyDigits(len(chosen), max_digits)
    chosen = _cut_wide(ink, score, chosen, height)
    if len(chosen) > max_digits:
        raise TooManyDigits(len(chosen), max_digits)
    return Found([ink.digit(c) for c in chosen], separators)


def _separators(marks: list[_Mark]) -> tuple[list[_Mark], list[Separator]]:
    """Marks between the digits that are no digit: points, commas, dashes; and the rest
    (slivers dropped).

    Measured against the band the tall marks span (from their median top to
    their median bottom): a short, wide mark across its middle is a dash; a
    small mark in its lower half a point, or a comma if it is taller than wide.
    A mark under another's extent belongs to that digit (a 7's bar, a 4's
    stroke) and is never a separator.
    """
    heights = np.array([m.y1 - m.y0 for m in marks])
    tall = [m for m, h in zip(marks, heights) if h >= TALL_SHARE * heights.max()]
    if len(tall) == len(marks):
        return marks, []
    top = float(np.median([m.y0 for m in tall]))
    band = max(float(np.median([m.y1 for m in tall])) - top, 1.0)
    tall_ids = {id(m) for m in tall}
    kept, separators = [], []
    for m in marks:
        centre_x, centre_y = (m.x0 + m.x1) / 2, ((m.y0 + m.y1) / 2 - top) / band
        height, width = m.y1 - m.y0, m.x1 - m.x0
        # Under another mark, or close beside one: a part of that digit (a 7's
        # bar, a broken stroke), never a separator.
        margin = NEAR_SHARE * band
        under = any(t.x0 - margin <= centre_x <= t.x1 + margin for t in marks if t is not m
                    and (id(t) in tall_ids or t.size > m.size))
        if id(m) in tall_ids or under:
            kept.append(m)
        elif height <= DASH_HEIGHT * band and width >= DASH_WIDTH * band and \
                DASH_BAND[0] <= centre_y <= DASH_BAND[1]:
            separators.append(Separator("-", m.box))
        elif max(height, width) <= POINT_SIZE * band and (m.y0 - top) / band >= POINT_BELOW \
                and width <= 2 * height + 1:
            # A comma hangs below the line, or is taller than wide.
            comma = (m.y1 - top) / band > 1 + COMMA_BELOW or height > 1.5 * width
            separators.append(Separator("," if comma else ".", m.box))
        elif height <= FLAT_SHARE * band:
            continue  # a sliver, too short for a dash: what is left of a ruled line
        else:
            kept.append(m)
    return kept, separators


def _writing_height(marks: list[_Mark]) -> float:
    heights = np.array([m.y1 - m.y0 for m in marks])
    tall = heights[heights >= 0.5 * heights.max()]
    return max(float(np.median(tall)), 1.0)


def _with_dots(main: list[_Mark], dots: list[_Mark]) -> list[list[_Mark]]:
    """Each main mark with the dots inside its extent; dots between digits are dropped."""
    units = [[m] for m in main]
    for dot in dots:
        centre = (dot.x0 + dot.x1) / 2
        inside = [i for i, m in enumerate(main) if m.x0 <= centre <= m.x1]
        if inside:
            nearest = min(inside, key=lambda i: abs(main[i].x0 + main[i].x1 - 2 * centre))
            units[nearest].append(dot)
    return units


def _clusters(main: list[_Mark], height: float, max_digits: int) -> list[list[tuple[int, int]]]:
    """The finest groups of marks (index ranges), split into clusters by clear gaps.

    Marks that belong together (one lies over the other's extent) are never
    parted; a gap wider than APART_GAP * H always parts. Within a cluster the
    grouping is open.
    """
    n = len(main)
    x0 = np.array([m.x0 for m in main])
    x1 = np.array([m.x1 for m in main])
    centre, half = (x0 + x1) / 2, np.maximum((x1 - x0) / 2, MIN_EXTENT * height / 2)
    lo, hi = centre - half, centre + half
    overlap = np.minimum(hi[:, None], hi[None]) - np.maximum(lo[:, None], lo[None])
    width = hi - lo
    cover = overlap / np.minimum(width[:, None], width[None])
    np.fill_diagonal(cover, 0.0)
    # A link belongs to the narrower mark; a mark over two others' extents is left open.
    owner = (cover >= JOIN_COVER) & (width[:, None] <= width[None])
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        partners = np.flatnonzero(owner[i])
        if len(partners) == 1:
            parent[root(i)] = root(int(partners[0]))
    for i in range(n):
        partners = np.flatnonzero(owner[i])
        if len(partners) > 1 and len({root(int(j)) for j in partners}) == 1:
            parent[root(i)] = root(int(partners[0]))
    roots = [root(i) for i in range(n)]
    last = {r: i for i, r in enumerate(roots)}
    first = {r: i for i, r in reversed(list(enumerate(roots)))}
    joined = np.zeros(max(n - 1, 0), bool)  # the boundary after mark k is inside a digit
    for r in last:
        joined[first[r]:last[r]] = True
    gap = np.minimum.accumulate(x0[::-1])[::-1][1:] - np.maximum.accumulate(x1)[:-1]
    clusters: list[list[tuple[int, int]]] = [[]]
    start = 0
    for k in range(n - 1):
        if joined[k]:
            continue
        clusters[-1].append((start, k + 1))
        start = k + 1
        if gap[k] > APART_GAP * height:
            clusters.append([])
    clusters[-1].append((start, n))
    pieces = sum(len(c) for c in clusters)
    least = max(len(clusters), -(-pieces // MAX_PIECES))
    if least > max_digits:
        raise TooManyDigits(least, max_digits)
    return clusters


def _width(marks_groups) -> float:
    marks = [m for group in marks_groups for m in group]
    return max(m.x1 for m in marks) - min(m.x0 for m in marks)


def _score(ink, score: Score, groups: list[tuple[_Mark, ...]]) -> list[_Candidate]:
    """Every group rendered through preprocessing and judged in one call of `score`."""
    if not groups:
        return []
    ink.charge(groups)
    inputs = np.stack([ink.render(group) for group in groups])
    rows = np.asarray(score(inputs), np.float64)
    return [_Candidate(group, image, row) for group, image, row in zip(groups, inputs, rows)]


def _score_runs(ink, score: Score, groups: list[list[tuple[_Mark, ...]]],
                height: float) -> dict[tuple[int, int, int], _Candidate]:
    """The candidate digits of every cluster, scored: (cluster, first piece, end) to candidate.

    The pieces first, in one batch; then, in a second, the runs of pieces
    that could still win: a run whose pieces, taken apart, already score at
    least what the run could at best (a sure digit of full height) never
    wins, whatever the model would say of it.
    """
    pieces = [(g, a, a + 1) for g, group in enumerate(groups) for a in range(len(group))]
    by_run = dict(zip(pieces, _score(ink, score, [groups[g][a] for g, a, _ in pieces])))
    runs = []
    for g, group in enumerate(groups):
        ends = _boundary_odds(group, height)
        alone = [_log_odds(by_run[(g, a, a + 1)], height) for a in range(len(group))]
        for a in range(len(group)):
            for b in range(a + 2, min(a + MAX_PIECES, len(group)) + 1):
                apart = sum(alone[a:b]) + np.log(ends[a:b - 1]).sum()
                if (np.log(1 - ends[a:b - 1]).sum() > apart
                        and _width(group[a:b]) <= MAX_DIGIT_WIDTH * height):
                    runs.append((g, a, b))
    by_run.update(zip(runs, _score(ink, score, [sum(groups[g][a:b], ()) for g, a, b in runs])))
    return by_run


def _log_odds(run: _Candidate, height: float) -> float:
    """A candidate's own log-likelihood as a digit: the model's confidence and its height."""
    return run.log_confidence + float(np.log(_height_odds(run, height) + 1e-9))


def _boundary_odds(group: list[tuple[_Mark, ...]], height: float) -> np.ndarray:
    """For each pair of neighbouring pieces, how likely a digit ends between them.

    The more the two overlap (as a share of the narrower, thin ones counted
    MIN_EXTENT * H wide), the less likely: neighbours that only touch are two
    digits, a stroke that lies half over another is part of it.
    """
    extents = np.array([[min(m.x0 for m in p), max(m.x1 for m in p)] for p in group])
    centre = extents.mean(axis=1)
    half = np.maximum((extents[:, 1] - extents[:, 0]) / 2, MIN_EXTENT * height / 2)
    lo, hi = centre - half, centre + half
    overlap = np.minimum(hi[:-1], hi[1:]) - np.maximum(lo[:-1], lo[1:])
    share = overlap / (2 * np.minimum(half[:-1], half[1:]))
    odds = 1.0 / (1.0 + np.exp((share - JOINED_AT) / JOIN_SOFTNESS))
    return np.clip(odds, 1 - SURE_OF_BOUNDARY, SURE_OF_BOUNDARY)


def _height_odds(candidate: _Candidate, height: float) -> float:
    """How likely a group this tall is a digit of its own: digits of a number are of a height."""
    tall = (max(m.y1 for m in candidate.marks) - min(m.y0 for m in candidate.marks)) / height
    return float(1.0 / (1.0 + np.exp((SHORT_AT - tall) / SHORT_SOFTNESS)))


def _best_grouping(ends: np.ndarray, candidate, height: float) -> list[_Candidate]:
    """The likeliest grouping of pieces into digits (dynamic programming).

    A grouping's log-likelihood: each digit's log-confidence and the log-odds
    that a group of its height is a digit, plus for each boundary between
    neighbouring pieces the log-odds that a digit ends there or not (`ends`),
    as the grouping has it.
    """
    count = len(ends) + 1
    log_end, log_join = np.log(ends + 1e-9), np.log(1.0 - ends + 1e-9)
    best: list[tuple[float, list[_Candidate]] | None] = [(0.0, [])] + [None] * count
    for stop in range(1, count + 1):
        options = []
        for start in range(max(0, stop - MAX_PIECES), stop):
            run = candidate(start, stop)
            if run is None or best[start] is None:
                continue
            total = (best[start][0] + _log_odds(run, height) + log_join[start:stop - 1].sum()
                     + (log_end[start - 1] if start else 0.0))
            options.append((total, best[start][1] + [run]))
        best[stop] = max(options, key=lambda o: o[0])
    return best[count][1]


def _cut_wide(ink, score: Score, chosen: list[_Candidate], height: float) -> list[_Candidate]:
    """Wide digits the model is unsure of, tried cut at the valleys of their ink.

    One cut, or two for a digit wide enough to hold three. A cut stays when
    every piece is about a digit's height, the model is sure of each
    (HALF_SURE), and surer of them (their mean log-probability) than of the whole.
    """
    for _ in range(CUT_ROUNDS):
        trials: list[tuple[int, list[tuple[_Mark, ...]]]] = []
        for i, digit in enumerate(chosen):
            x0, x1 = digit.extent
            if x1 - x0 < ink.split_width * height or digit.confidence >= KEEP_WHOLE:
                continue
            cuts = ink.valleys(digit.marks, height)
            options = [(c,) for c in cuts]
            if x1 - x0 >= 2 * ink.split_width * height:
                options += [pair for pair in _pairs(sorted(cuts[:PAIRED_CUTS]))
                            if pair[1] - pair[0] >= height / 3]
            for option in options:
                pieces, rest = [], digit.marks
                for c in option:
                    left, rest = ink.cut(rest, c)
                    pieces.append(left)
                pieces.append(rest)
                if all(p and max(m.y1 for m in p) - min(m.y0 for m in p) >= MIN_CUT_HEIGHT * height
                       for p in pieces):
                    trials.append((i, pieces))
        if not trials:
            return chosen
        scored = iter(_score(ink, score, [p for _, pieces in trials for p in pieces]))
        better: dict[int, tuple[float, list[_Candidate]]] = {}
        for i, pieces in trials:
            parts = [next(scored) for _ in pieces]
            if min(p.confidence for p in parts) < HALF_SURE:
                continue
            mean = sum(p.log_confidence for p in parts) / len(parts)
            if mean > better.get(i, (chosen[i].log_confidence, None))[0]:
                better[i] = (mean, parts)
        if not better:
            return chosen
        chosen = [part for i, digit in enumerate(chosen)
                  for part in (better[i][1] if i in better else [digit])]
    return chosen


def _pairs(values: list[float]) -> list[tuple[float, float]]:
    return [(a, b) for i, a in enumerate(values) for b in values[i + 1:]]


def _valleys(ink: np.ndarray, x0: float, scale: float, height: float,
             spans: bool) -> list[float]:
    """Places to cut a digit's ink (rows by columns), away from its ends: its necks.

    Touching digits meet where a column holds little ink: the CUTS_TRIED
    lowest valleys of the column sums. With `spans`, also where the ink in a
    column is short from top to bottom: a thick pen fills the columns where
    two round digits touch (two 0s side by side), though only at one point.
    The first column is at x0, `scale` columns to a pixel of the canvas;
    columns are pooled into bins H/25 wide.
    """
    size = max(1, int(round(scale * height / 25)))
    bins = ink.shape[1] // size
    if bins < 4:
        return []
    ink = ink[:, :bins * size]
    profiles = [ink.sum(axis=0).reshape(bins, size).sum(axis=1)]
    if spans:
        inked = ink > preprocessing.CROP_THRESHOLD
        rows = np.arange(ink.shape[0])[:, None]
        span = np.where(inked, rows, -1).max(axis=0) - np.where(inked, rows, len(ink)).min(axis=0)
        profiles.append(np.maximum(span, 0).reshape(bins, size).min(axis=1))
    inner = range(max(1, round(0.15 * bins)), min(bins - 1, bins - round(0.15 * bins)))
    chosen: list[int] = []
    for profile in profiles:
        valleys = [i for i in inner
                   if profile[i] <= profile[i - 1] and profile[i] <= profile[i + 1]]
        valleys.sort(key=lambda i: profile[i])
        chosen += [i for i in valleys[:CUTS_TRIED] if i not in chosen]
    return [x0 + size * (i + 0.5) / scale for i in chosen]


# ------------------------------------------------------------------ strokes


class _StrokeInk:
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
            raise TooComplex("the writing has too many points to be cut into digits; "
                             "write the number with fewer, simpler strokes")

    def marks(self) -> list[_Mark]:
        return [self._mark((np.asarray(line, np.float64).reshape(-1, 2),))
                for line in self.strokes.lines]

    def _mark(self, lines: tuple[np.ndarray, ...]) -> _Mark:
        """A mark's extent is its ink's: the pen's half width around its points."""
        points = np.concatenate(lines)
        (x0, y0), (x1, y1) = points.min(0) - self.half_pen, points.max(0) + self.half_pen
        return _Mark(float(x0), float(x1), float(y0), float(y1), lines)

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
        return _valleys(ink, -shift[0], scale, height, spans=True)

    def cut(self, marks, at: float) -> tuple[tuple[_Mark, ...], tuple[_Mark, ...]]:
        left, right = [], []
        for m in marks:
            for line in m.content:
                for piece, is_left in _clip(line, at):
                    (left if is_left else right).append(piece)
        return tuple(self._mark((p,)) for p in left), tuple(self._mark((p,)) for p in right)

    def digit(self, candidate: _Candidate) -> Digit:
        marks = candidate.marks
        box = (max(0.0, min(m.x0 for m in marks)), max(0.0, min(m.y0 for m in marks)),
               min(float(self.strokes.width), max(m.x1 for m in marks)),
               min(float(self.strokes.height), max(m.y1 for m in marks)))
        return Digit(tuple(round(float(v), 1) for v in box), candidate.mnist,
                     candidate.probabilities, strokes=self._own(candidate.marks))


def _clip(line: np.ndarray, at: float) -> list[tuple[np.ndarray, bool]]:
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


# ------------------------------------------------------------------ pictures

# Ink below this share of the strongest is anti-aliasing: it goes with the
# component it borders but does not connect components.
HAZE = 0.05


class _PictureInk:
    """A number in a picture: one mark per connected component of its ink."""

    # Touching digits fuse into one component even when narrow (a 1 beside a 7).
    split_width = 0.75

    def __init__(self, image: Image.Image):
        ink = preprocessing.ink_array(image)
        peak = float(ink.max()) if ink.size else 0.0
        if peak < 0.1:
            raise EmptyDrawing("the drawing is empty")
        self.ink = ink / peak
        labels, count = _components(self.ink > preprocessing.CROP_THRESHOLD)
        if count > MAX_MARKS:  # before any work that grows with the marks
            raise TooComplex(f"the picture holds {count} separate marks; at most {MAX_MARKS} "
                             "are read (a number, not a texture)")
        self.labels = _grow(labels, self.ink > HAZE)

    def charge(self, groups) -> None:
        """A picture's candidates cost what its pixels do: bounded by its size already."""

    def marks(self) -> list[_Mark]:
        flat = self.labels.ravel()
        order = np.argsort(flat, kind="stable")
        counts = np.bincount(flat)
        marks, start = [], counts[0]
        width = self.labels.shape[1]
        for count in counts[1:]:
            pixels = order[start:start + count]
            start += count
            ys, xs = np.divmod(pixels, width)
            marks.append(_Mark(float(xs.min()), float(xs.max() + 1), float(ys.min()),
                               float(ys.max() + 1), (ys, xs)))
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
        return _valleys(crop, x0, 1.0, height, spans=False)

    def cut(self, marks, at: float) -> tuple[tuple[_Mark, ...], tuple[_Mark, ...]]:
        left, right = [], []
        for m in marks:
            ys, xs = m.content
            for keep, side in ((xs < at, left), (xs >= at, right)):
                if keep.any():
                    y, x = ys[keep], xs[keep]
                    side.append(_Mark(float(x.min()), float(x.max() + 1), float(y.min()),
                                      float(y.max() + 1), (y, x)))
        return tuple(left), tuple(right)

    def digit(self, candidate: _Candidate) -> Digit:
        crop, box = self._crop(candidate.marks)
        return Digit(tuple(float(v) for v in box), candidate.mnist, candidate.probabilities,
                     ink=crop)


def _components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """Labels (1..n in raster order of their first pixel, 0 for paper) of the
    8-connected components of a mask, and n."""
    labels, count = ndimage.label(mask, structure=np.ones((3, 3), bool))
    return labels.astype(np.int32, copy=False), int(count)


def _grow(labels: np.ndarray, haze: np.ndarray, steps: int = 2) -> np.ndarray:
    """Unlabelled faint ink takes the label of a neighbouring component."""
    for _ in range(steps):
        padded = np.pad(labels, 1)
        h, w = labels.shape
        neighbours = np.max([padded[1 + dy:1 + dy + h, 1 + dx:1 + dx + w]
                             for dy in (-1, 0, 1) for dx in (-1, 0, 1)], axis=0)
        labels = np.where((labels == 0) & haze, neighbours, labels)
    return labels

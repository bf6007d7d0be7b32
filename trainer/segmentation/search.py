"""The search: marks grouped into digits and wide digits cut, judged by the model.

Works on an "ink" (`strokes.StrokeInk` or `pictures.PictureInk`): its marks,
how to render a group of them, where to cut one, and its cost so far.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from trainer import preprocessing
from trainer.preprocessing import EmptyDrawing
from trainer.segmentation.marks import (
    Found,
    Mark,
    TooManyDigits,
    split_separators,
    with_dots,
    writing_height,
)

Score = Callable[[np.ndarray], np.ndarray]

# Lengths are shares of the writing's height H, as in `marks`.
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


@dataclass(frozen=True)
class Candidate:
    marks: tuple[Mark, ...]
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


def find_digits(ink, score: Score, max_digits: int) -> Found:
    marks = ink.marks()
    if not marks:
        raise EmptyDrawing("the drawing is empty")
    height = writing_height(marks)
    marks, separators = split_separators(marks)
    main = sorted((m for m in marks if m.size >= DOT_SIZE * height), key=lambda m: m.x0 + m.x1)
    if not main:  # only dots: one drawing, for the model to call no digit
        groups = [[tuple(marks)]]
    else:
        units = with_dots(main, [m for m in marks if m.size < DOT_SIZE * height])
        groups = [
            [tuple(m for u in units[a:b] for m in u) for a, b in cluster]
            for cluster in _clusters(main, height, max_digits)
        ]
    by_run = _score_runs(ink, score, groups, height)
    chosen: list[Candidate] = []
    for g, group in enumerate(groups):
        chosen += _best_grouping(
            _boundary_odds(group, height), lambda a, b, g=g: by_run.get((g, a, b)), height
        )
    if len(chosen) > max_digits:  # cuts only add digits
        raise TooManyDigits(len(chosen), max_digits)
    chosen = _cut_wide(ink, score, chosen, height)
    if len(chosen) > max_digits:
        raise TooManyDigits(len(chosen), max_digits)
    return Found([ink.digit(c) for c in chosen], separators)


def _clusters(main: list[Mark], height: float, max_digits: int) -> list[list[tuple[int, int]]]:
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
        joined[first[r] : last[r]] = True
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


def score_groups(ink, score: Score, groups: list[tuple[Mark, ...]]) -> list[Candidate]:
    """Every group rendered through preprocessing and judged in one call of `score`."""
    if not groups:
        return []
    ink.charge(groups)
    inputs = np.stack([ink.render(group) for group in groups])
    rows = np.asarray(score(inputs), np.float64)
    return [Candidate(group, image, row) for group, image, row in zip(groups, inputs, rows)]


def _score_runs(
    ink, score: Score, groups: list[list[tuple[Mark, ...]]], height: float
) -> dict[tuple[int, int, int], Candidate]:
    """The candidate digits of every cluster, scored: (cluster, first piece, end) to candidate.

    The pieces first, in one batch; then, in a second, the runs of pieces
    that could still win: a run whose pieces, taken apart, already score at
    least what the run could at best (a sure digit of full height) never
    wins, whatever the model would say of it.
    """
    pieces = [(g, a, a + 1) for g, group in enumerate(groups) for a in range(len(group))]
    by_run = dict(zip(pieces, score_groups(ink, score, [groups[g][a] for g, a, _ in pieces])))
    runs = []
    for g, group in enumerate(groups):
        ends = _boundary_odds(group, height)
        alone = [_log_odds(by_run[(g, a, a + 1)], height) for a in range(len(group))]
        for a in range(len(group)):
            for b in range(a + 2, min(a + MAX_PIECES, len(group)) + 1):
                apart = sum(alone[a:b]) + np.log(ends[a : b - 1]).sum()
                if (
                    np.log(1 - ends[a : b - 1]).sum() > apart
                    and _width(group[a:b]) <= MAX_DIGIT_WIDTH * height
                ):
                    runs.append((g, a, b))
    by_run.update(
        zip(runs, score_groups(ink, score, [sum(groups[g][a:b], ()) for g, a, b in runs]))
    )
    return by_run


def _log_odds(run: Candidate, height: float) -> float:
    """A candidate's own log-likelihood as a digit: the model's confidence and its height."""
    return run.log_confidence + float(np.log(_height_odds(run, height) + 1e-9))


def _boundary_odds(group: list[tuple[Mark, ...]], height: float) -> np.ndarray:
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


def _height_odds(candidate: Candidate, height: float) -> float:
    """How likely a group this tall is a digit of its own: digits of a number are of a height."""
    tall = (max(m.y1 for m in candidate.marks) - min(m.y0 for m in candidate.marks)) / height
    return float(1.0 / (1.0 + np.exp((SHORT_AT - tall) / SHORT_SOFTNESS)))


def _best_grouping(ends: np.ndarray, candidate, height: float) -> list[Candidate]:
    """The likeliest grouping of pieces into digits (dynamic programming).

    A grouping's log-likelihood: each digit's log-confidence and the log-odds
    that a group of its height is a digit, plus for each boundary between
    neighbouring pieces the log-odds that a digit ends there or not (`ends`),
    as the grouping has it.
    """
    count = len(ends) + 1
    log_end, log_join = np.log(ends + 1e-9), np.log(1.0 - ends + 1e-9)
    best: list[tuple[float, list[Candidate]] | None] = [(0.0, [])] + [None] * count
    for stop in range(1, count + 1):
        options = []
        for start in range(max(0, stop - MAX_PIECES), stop):
            run, before = candidate(start, stop), best[start]
            if run is None or before is None:
                continue
            total = (
                before[0]
                + _log_odds(run, height)
                + log_join[start : stop - 1].sum()
                + (log_end[start - 1] if start else 0.0)
            )
            options.append((total, before[1] + [run]))
        best[stop] = max(options, key=lambda o: o[0])
    end = best[count]
    assert end is not None, "a single piece always reaches the end"
    return end[1]


def _cut_wide(ink, score: Score, chosen: list[Candidate], height: float) -> list[Candidate]:
    """Wide digits the model is unsure of, tried cut at the valleys of their ink.

    One cut, or two for a digit wide enough to hold three. A cut stays when
    every piece is about a digit's height, the model is sure of each
    (HALF_SURE), and surer of them (their mean log-probability) than of the whole.
    """
    for _ in range(CUT_ROUNDS):
        trials: list[tuple[int, list[tuple[Mark, ...]]]] = []
        for i, digit in enumerate(chosen):
            x0, x1 = digit.extent
            if x1 - x0 < ink.split_width * height or digit.confidence >= KEEP_WHOLE:
                continue
            cuts = ink.valleys(digit.marks, height)
            options: list[tuple[float, ...]] = [(c,) for c in cuts]
            if x1 - x0 >= 2 * ink.split_width * height:
                options += [
                    pair
                    for pair in _pairs(sorted(cuts[:PAIRED_CUTS]))
                    if pair[1] - pair[0] >= height / 3
                ]
            for option in options:
                pieces, rest = [], digit.marks
                for c in option:
                    left, rest = ink.cut(rest, c)
                    pieces.append(left)
                pieces.append(rest)
                if all(
                    p and max(m.y1 for m in p) - min(m.y0 for m in p) >= MIN_CUT_HEIGHT * height
                    for p in pieces
                ):
                    trials.append((i, pieces))
        if not trials:
            return chosen
        scored = iter(score_groups(ink, score, [p for _, pieces in trials for p in pieces]))
        better: dict[int, tuple[float, list[Candidate]]] = {}
        for i, pieces in trials:
            parts = [next(scored) for _ in pieces]
            if min(p.confidence for p in parts) < HALF_SURE:
                continue
            mean = sum(p.log_confidence for p in parts) / len(parts)
            if mean > better.get(i, (chosen[i].log_confidence, None))[0]:
                better[i] = (mean, parts)
        if not better:
            return chosen
        chosen = [
            part
            for i, digit in enumerate(chosen)
            for part in (better[i][1] if i in better else [digit])
        ]
    return chosen


def _pairs(values: list[float]) -> list[tuple[float, float]]:
    return [(a, b) for i, a in enumerate(values) for b in values[i + 1 :]]


def valleys(ink: np.ndarray, x0: float, scale: float, height: float, spans: bool) -> list[float]:
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
    ink = ink[:, : bins * size]
    profiles = [ink.sum(axis=0).reshape(bins, size).sum(axis=1)]
    if spans:
        inked = ink > preprocessing.CROP_THRESHOLD
        rows = np.arange(ink.shape[0])[:, None]
        span = np.where(inked, rows, -1).max(axis=0) - np.where(inked, rows, len(ink)).min(axis=0)
        profiles.append(np.maximum(span, 0).reshape(bins, size).min(axis=1))
    inner = range(max(1, round(0.15 * bins)), min(bins - 1, bins - round(0.15 * bins)))
    chosen: list[int] = []
    for profile in profiles:
        valleys = [
            i for i in inner if profile[i] <= profile[i - 1] and profile[i] <= profile[i + 1]
        ]
        valleys.sort(key=lambda i: profile[i])
        chosen += [i for i in valleys[:CUTS_TRIED] if i not in chosen]
    return [x0 + size * (i + 0.5) / scale for i in chosen]

"""Find the ink of a picture of real paper: a photo or a scan, not a clean canvas.

`preprocessing.ink_array` calls `find_ink` for every picture. A picture whose
paper is one flat level (a canvas, a digit drawn in an editor, MNIST on
white) keeps today's path byte for byte; anything else goes through the
steps below, each undoing one thing paper and cameras do to ink:

1. Uneven light and shadows: the paper's brightness is estimated by a grey
   closing far wider than a pen stroke and divided out.
2. Binarisation: ink is what is much darker than the flattened paper,
   relative to the darkest ink in the picture; faint ink connected to dark
   ink is kept (hysteresis), so a light printed background pattern and
   scanner haze drop out while anti-aliased stroke edges stay.
3. Ruled lines, boxes and underlines: runs of ink far longer than any stroke
   of a digit, horizontal or vertical, are removed, except where a stroke
   crosses them (ink just above and below is kept joined).
4. Specks: components far smaller than a separator's dot go.

NumPy, SciPy and scikit-image; no Flask, no HTTP.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage
from skimage.filters import apply_hysteresis_threshold, threshold_otsu

# A picture is a clean canvas when at least this share of its pixels sit at
# the paper's level, within this much (of 1.0).
CLEAN_SHARE = 0.5
CLEAN_TOLERANCE = 2 / 255
# The paper's light is estimated over windows this share of the picture's
# short side (at least LIGHT_MIN_WINDOW pixels): far wider than a stroke.
LIGHT_WINDOW = 0.25
LIGHT_MIN_WINDOW = 15
# Ink is darker than INK_SHARE of the darkest ink (its 99.5th percentile);
# faint ink down to FAINT_SHARE joins it where the two touch.
INK_SHARE = 0.5
FAINT_SHARE = 0.25
# A straight run of ink longer than this share of the picture's height (a
# number fills about half of it) is a line of the form, not a stroke.
LINE_SHARE = 1.0
# A vertical one (a box's side, a grid) at least this share of that, and
# DIGIT_TO_LINE times as tall as the digits (a tightly cropped number's 1 is
# never taken for a line).
VERTICAL_SHARE = 0.5
DIGIT_TO_LINE = 1.25
# Components smaller than this share of the picture's height squared are specks.
SPECK_SHARE = 0.0015


def is_clean(gray: np.ndarray, paper: float) -> bool:
    """Most pixels exactly at the paper's level: a canvas, not a photo or a scan."""
    return float(np.mean(np.abs(gray - paper) <= CLEAN_TOLERANCE)) >= CLEAN_SHARE


def find_ink(gray: np.ndarray) -> np.ndarray:
    """Ink (0..1, paper 0) of a photographed or scanned picture given in gray levels (0..1)."""
    h, w = gray.shape
    if h < 8 or w < 8:
        return np.clip(1.0 - gray, 0.0, 1.0)
    darkness = _flattened(gray)
    ink = _binarised(darkness)
    if not ink.any():
        return np.zeros_like(gray)
    ink = _without_lines(ink, h)
    ink = _without_specks(ink, h)
    level = float(np.percentile(darkness[ink], 99.5)) if ink.any() else 1.0
    return np.where(ink, np.clip(darkness / max(level, 1e-3), 0.0, 1.0), 0.0).astype(np.float32)


def _flattened(gray: np.ndarray) -> np.ndarray:
    """How much darker than the paper around it each pixel is (0 paper .. 1 black)."""
    h, w = gray.shape
    size = max(LIGHT_MIN_WINDOW, int(LIGHT_WINDOW * min(h, w))) | 1
    # Dark ink on light paper; a picture of light ink on dark paper is inverted first.
    if float(np.median(np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]]))) < 0.5:
        gray = 1.0 - gray
    light = ndimage.grey_closing(gray, size=(size, size))
    light = ndimage.uniform_filter(light, size=size // 2 | 1)
    return np.clip(1.0 - gray / np.maximum(light, 1e-3), 0.0, 1.0)


def _binarised(darkness: np.ndarray) -> np.ndarray:
    peak = float(np.percentile(darkness, 99.5))
    if peak < 0.1:
        return np.zeros(darkness.shape, bool)
    # Otsu between paper and ink when the picture holds enough of both, but
    # never below half the ink's level (a printed pattern is lighter than a pen).
    high = max(INK_SHARE * peak, float(threshold_otsu(darkness)) if darkness.std() > 0 else 0.0)
    low = max(FAINT_SHARE * peak, 0.5 * high)
    return apply_hysteresis_threshold(darkness, low, high)


def _without_lines(ink: np.ndarray, height: int) -> np.ndarray:
    """Remove straight runs far longer than a digit's strokes, keeping the strokes that cross.

    The lines are found with the paper turned level (a photo is rarely
    square to the form), and removed from the picture as it is.
    """
    angle = _tilt(ink)
    level = _turned(ink, angle) if angle else ink
    length = max(9, int(LINE_SHARE * height))
    thick = ndimage.binary_dilation(level, structure=np.ones((3, 1), bool))
    horizontal = _long_runs(thick, length) & level
    thick = ndimage.binary_dilation(level, structure=np.ones((1, 3), bool))
    tall = max(
        int(VERTICAL_SHARE * height),
        int(DIGIT_TO_LINE * _digit_height(level & ~horizontal, height)),
    )
    vertical = _long_runs(thick.T, tall).T & level if tall < height else np.zeros_like(level)
    if not (horizontal.any() or vertical.any()):
        return ink
    rest = level & ~(horizontal | vertical)
    # Where a stroke crosses a line, its ink lies on both sides of the line:
    # that part of the line is the stroke's, and stays.
    reach = max(3, height // 30)
    lines = (horizontal & ~_crossed(rest, horizontal, reach, 0)) | (
        vertical & ~_crossed(rest, vertical, reach, 1)
    )
    if angle:
        lines = ndimage.binary_dilation(_turned(lines, -angle), structure=np.ones((3, 3), bool))
    return ink & ~lines


def _digit_height(ink: np.ndarray, height: int) -> float:
    """How tall the digits are: the median height of the tall marks that span less
    than the whole picture (those are the form's lines)."""
    labels, count = ndimage.label(ink, structure=np.ones((3, 3), bool))
    if count == 0:
        return float(height)
    spans = np.array([s[0].stop - s[0].start for s in ndimage.find_objects(labels)])
    tall = spans[(spans >= 0.25 * height) & (spans < 0.95 * height)]
    return float(np.median(tall)) if tall.size else float(height)


def _long_runs(mask: np.ndarray, length: int) -> np.ndarray:
    """The pixels of each row's runs of at least `length` set pixels (an opening by a
    1 x length line, in one pass)."""
    h, w = mask.shape
    edges = np.diff(np.pad(mask, ((0, 0), (1, 1))).astype(np.int8), axis=1)
    rows, starts = np.nonzero(edges == 1)
    _, ends = np.nonzero(edges == -1)
    keep = ends - starts >= length
    out = np.zeros(h * (w + 1), np.int32)
    flat_starts = rows[keep] * (w + 1) + starts[keep]
    flat_ends = rows[keep] * (w + 1) + ends[keep]
    np.add.at(out, flat_starts, 1)
    np.add.at(out, flat_ends, -1)
    return np.cumsum(out).reshape(h, w + 1)[:, :w] > 0


# Tilts tried when levelling a picture (degrees): every degree, then the
# half degrees either side of the best.
TILTS = np.arange(-6.0, 6.01, 1.0)


def _tilt(ink: np.ndarray) -> float:
    """The angle that turns the form's lines level: where one row holds the most ink.

    A ruled line or an underline, turned level, puts its whole length in one
    row; digits never do. Measured at half size (a pixel inked if any of its
    four is, so a thin line survives).
    """
    h, w = (ink.shape[0] // 2) * 2, (ink.shape[1] // 2) * 2
    small = np.asarray(ink[:h, :w].reshape(h // 2, 2, w // 2, 2).any(axis=(1, 3)))
    if small.sum() < 20:
        return 0.0
    best, best_score = 0.0, -1

    def try_angle(angle: float) -> None:
        nonlocal best, best_score
        score = int(_turned(small, angle).sum(axis=1).max())
        if score > best_score or (score == best_score and abs(angle) < abs(best)):
            best, best_score = angle, score

    for angle in TILTS:
        try_angle(float(angle))
    for angle in (best - 0.5, best + 0.5):
        try_angle(angle)
    return best


def _turned(mask: np.ndarray, angle: float) -> np.ndarray:
    return ndimage.rotate(mask, angle, reshape=False, order=0, mode="constant", cval=0)


def _crossed(rest: np.ndarray, line: np.ndarray, reach: int, axis: int) -> np.ndarray:
    """Line pixels with other ink within `reach` on both sides across the line."""
    before = np.zeros_like(rest)
    after = np.zeros_like(rest)
    n = rest.shape[axis]
    for k in range(1, min(reach, n - 1) + 1):
        if axis == 0:
            before[k:] |= rest[:-k]
            after[:-k] |= rest[k:]
        else:
            before[:, k:] |= rest[:, :-k]
            after[:, :-k] |= rest[:, k:]
    return line & before & after


def _without_specks(ink: np.ndarray, height: int) -> np.ndarray:
    labels, count = ndimage.label(ink, structure=np.ones((3, 3), bool))
    if count == 0:
        return ink
    sizes = np.bincount(labels.ravel())
    keep = sizes >= max(3, SPECK_SHARE * height * height)
    keep[0] = False
    return keep[labels]

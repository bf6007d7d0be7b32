"""Cut a written number into its digits, left to right.

NumPy and SciPy only, like the rest of `trainer/`. The caller hands in `score`: a
function from a batch of 28x28 inputs to probability rows (ten digits, then
"not a digit"), so the served model judges the candidate cuts without this
module knowing how it is served. Every candidate digit goes through
`preprocessing` exactly as a single drawn digit does.

The same rules for strokes and for pictures, in the writing's own unit, its
height H (the median height of its tall marks), measured on the ink:

1. Marks are strokes, or the connected components of a picture's ink.
   Between the digits, a short wide mark across the middle of the writing is
   a dash, a small low one a point or a comma: separators, kept apart from
   the digits ("1.5" reads 15, written "1.5"); a flat sliver is dropped. A
   mark smaller than DOT_SIZE * H inside a digit's extent belongs to it.
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

`marks` holds what a reading is made of (marks, digits, separators), `search`
the grouping and cutting, `strokes` and `pictures` the two kinds of ink.
"""

from __future__ import annotations

from PIL import Image

from trainer.preprocessing import Strokes
from trainer.segmentation.marks import (
    MAX_MARKS,
    MAX_RENDERED_POINTS,
    Digit,
    Found,
    Separator,
    TooManyDigits,
)
from trainer.segmentation.pictures import PictureInk
from trainer.segmentation.search import MAX_DIGITS, Score, find_digits
from trainer.segmentation.strokes import StrokeInk

__all__ = [
    "MAX_DIGITS",
    "MAX_MARKS",
    "MAX_RENDERED_POINTS",
    "Digit",
    "Found",
    "Score",
    "Separator",
    "TooManyDigits",
    "read_image",
    "read_strokes",
]


def read_strokes(strokes: Strokes, score: Score, max_digits: int = MAX_DIGITS) -> Found:
    """The digits of a number drawn as strokes, left to right, and its separators."""
    return find_digits(StrokeInk(strokes), score, max_digits)


def read_image(image: Image.Image, score: Score, max_digits: int = MAX_DIGITS) -> Found:
    """The digits of a number in a picture, left to right, and its separators."""
    return find_digits(PictureInk(image), score, max_digits)

"""Read a drawing from a request: an image (data URL, base64, upload) or strokes."""

from __future__ import annotations

import base64
import binascii
import io
import json
import re
from dataclasses import dataclass

import numpy as np
from PIL import Image

from trainer import preprocessing
from trainer.preprocessing import PreprocessError

_DATA_URL = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+)?(;[\w=.-]+)*;base64,", re.I)


STROKES_TYPE = "application/vnd.digitpad.strokes+json"

# Stored pictures are re-encoded as PNG with at most this long side: what a
# reviewer needs to see, not whatever bytes a client sent.
STORED_SIDE = 512


@dataclass(frozen=True)
class Drawing:
    """What the client drew (validated strokes, or the picture re-encoded) and its 28x28 input."""

    raw: bytes
    content_type: str
    mnist: np.ndarray | None  # None for a picture read as a number: its digits have their own
    # Where the drawing's pixels landed in `mnist` (canvas pixels, or the picture's of `size`).
    placement: preprocessing.Placement | None = None
    size: tuple[int, int] | None = None


def from_image_bytes(data: bytes, whole: bool = True) -> Drawing:
    """A picture as it is stored; with `whole`, its 28x28 input as one digit too."""
    image = preprocessing.decode_image(data)
    if not whole:
        return Drawing(_stored_png(image), "image/png", None)
    mnist, placement = preprocessing.preprocess_image_placed(image)
    return Drawing(_stored_png(image), "image/png", mnist, placement, image.size)


def _stored_png(image: Image.Image) -> bytes:
    """The picture as a small PNG: upright, at most STORED_SIDE, no metadata or extra chunks."""
    keep = image.convert("LA" if "A" in image.getbands() or "transparency" in image.info else "L")
    keep.thumbnail((STORED_SIDE, STORED_SIDE))
    buffer = io.BytesIO()
    keep.save(buffer, "PNG")  # zlib's default level: a third of optimize's time, 5% larger
    return buffer.getvalue()


def from_base64(text: object, whole: bool = True) -> Drawing:
    if not isinstance(text, str) or not text.strip():
        raise PreprocessError("image must be a data URL or base64 string")
    text = text.strip()
    match = _DATA_URL.match(text)
    if match:
        text = text[match.end() :]
    elif text.startswith("data:"):
        raise PreprocessError("image data URLs must be base64-encoded")
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise PreprocessError("image is not valid base64") from exc
    return from_image_bytes(data, whole)


def stroke_body(payload: dict, max_points: int) -> preprocessing.Strokes:
    """The validated strokes of a JSON body {"strokes", "width", "height", "line_width"?}."""
    return preprocessing.parse_strokes(
        payload.get("strokes"),
        payload.get("width"),
        payload.get("height"),
        payload.get("line_width"),
        max_points=max_points,
    )


def from_strokes(payload: dict, max_points: int) -> Drawing:
    strokes = stroke_body(payload, max_points)
    return of_strokes(strokes, *preprocessing.preprocess_strokes_placed(strokes))


def of_strokes(
    strokes: preprocessing.Strokes,
    mnist: np.ndarray,
    placement: preprocessing.Placement | None = None,
) -> Drawing:
    """Validated strokes as they are stored (compact JSON), with their 28x28 input."""
    raw = json.dumps(
        {
            "strokes": strokes.lines,
            "width": strokes.width,
            "height": strokes.height,
            "line_width": strokes.line_width,
        },
        separators=(",", ":"),
    ).encode()
    return Drawing(raw, STROKES_TYPE, mnist, placement)

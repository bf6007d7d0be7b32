"""Turn a drawing into the MNIST format the network was trained on.

This is the one preprocessing module of DigitPad: the web app, the trainer and
the tests all call it. It depends on NumPy and Pillow only, so the web process
can import it without TensorFlow.

MNIST's recipe, which we follow: white ink on black, the digit's bounding box
scaled (aspect ratio kept, anti-aliased) to fit a 20x20 box, then placed in a
28x28 field so that its intensity centre of mass sits at the centre.

On top of that recipe we normalise stroke thickness: people draw with pens of
every width, and a digit drawn thick on a small canvas is otherwise a blob
once shrunk to 20 pixels.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageOps

from trainer import document

MNIST_SIZE = 28
FIT_BOX = 20
# Ink below this share of the strongest ink is anti-aliasing or paper noise
# and does not count for the bounding box.
CROP_THRESHOLD = 0.3
# Working resolution for stroke normalisation: the digit's long side in pixels.
WORK_SIZE = 80
# Stroke width (twice area over perimeter, in pixels of the 20x20 box) that
# MNIST digits typically have (median 1.8, 5th-95th percentile 1.2-3.0),
# and the band we leave alone. Outside it strokes are thinned or thickened.
TARGET_STROKE = 1.9
STROKE_BAND = (1.3, 3.0)
# A drawing narrower than this share of its height whose rows mostly cross
# two strokes (a 0 written tall and narrow, a narrow 8) is widened to it
# before fitting: at 20 pixels tall its hole would close and it would read as
# a 1. A 1 crosses one stroke in most rows and is never widened.
MIN_LOOP_WIDTH = 0.45
TWO_STROKE_ROWS = 0.5

# The largest canvas or picture side accepted.
MAX_SIDE = 4096
MAX_IMAGE_PIXELS = MAX_SIDE * MAX_SIDE
# Lossless formats cannot be decoded at a reduced scale (JPEG can): they are
# held to fewer pixels, so that a small file that inflates (a 16-bit RGBA PNG
# of one colour) costs a fraction of a second and tens of megabytes at most.
MAX_LOSSLESS_PIXELS = 2048 * 2048
# Larger pictures are reduced to this long side as they are decoded, so a
# request's memory stays bounded (a digit needs far fewer pixels than this).
MAX_DECODE_SIDE = 1024
MAX_STROKE_POINTS = 20_000
MAX_STROKES = 500
# The widest pen accepted, as a share of the canvas's short side (the pad's
# own is a sixteenth): a pen that paints the whole canvas draws no digit and
# only costs time.
MAX_PEN_SHARE = 0.25
# Stored and rendered strokes keep what the pad can show: points rounded to
# POINT_DECIMALS, and a point less than MIN_POINT_STEP (|dx| + |dy|, canvas
# pixels) from the last one kept dropped, as the pad itself does.
POINT_DECIMALS = 1
MIN_POINT_STEP = 1.0
# Stroke points may lie this far outside the canvas (a share of its size):
# enough for a pen that slips off the edge, little enough that drawing the
# strokes stays cheap whatever the input.
CANVAS_MARGIN = 0.5
# The thinnest pen we render, in pixels of the rendering: thinner lines are
# drawn point by point and cost far more than they tell.
MIN_RENDER_WIDTH = 2
# The widest pen we render, in pixels of the rendering: a wider one is drawn
# at a lower resolution. The pad's pen (a sixteenth of the short side) is
# about 25 pixels wide at 400 pixels, well under it.
MAX_RENDER_PEN = 40


class PreprocessError(ValueError):
    """The input cannot be turned into a digit image."""


class EmptyDrawing(PreprocessError):
    """No ink at all: nothing to predict."""


class ImageTooLarge(PreprocessError):
    """The image has more pixels than we agree to decode."""


class TooComplex(PreprocessError):
    """Valid input past the cost budget of one request (too many marks, too wide a pen)."""


@dataclass(frozen=True)
class Strokes:
    """Polylines in canvas coordinates, as a drawing pad records them."""

    lines: list[list[tuple[float, float]]]
    width: int
    height: int
    line_width: float | None = None


# ---------------------------------------------------------------- decoding


def decode_image(data: bytes) -> Image.Image:
    """Decode PNG/JPEG/WebP bytes, refusing oversized images and bombs."""
    if not data:
        raise PreprocessError("the image is empty")
    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in {"PNG", "JPEG", "WEBP", "GIF", "BMP"}:
                raise PreprocessError(f"unsupported image format: {probe.format}")
            width, height = probe.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_IMAGE_PIXELS:
                raise ImageTooLarge(
                    f"the image is {width}x{height}; at most 4096x4096 pixels are accepted"
                )
            if probe.format != "JPEG" and width * height > MAX_LOSSLESS_PIXELS:
                raise ImageTooLarge(
                    f"the {probe.format} image is {width}x{height}; at most "
                    f"{MAX_LOSSLESS_PIXELS // 1_000_000} megapixels are accepted (JPEG: 4096x4096)"
                )
            probe.seek(0)
            if probe.format == "JPEG":  # decode at a reduced scale straight away
                probe.draft(probe.mode, (MAX_DECODE_SIDE, MAX_DECODE_SIDE))
            image = probe.copy() if probe.format != "GIF" else probe.convert("RGBA")
            image.load()
            source_format = probe.format
            image = _bounded(image)
            # Phone photos are stored sideways with an EXIF note saying so.
            image = ImageOps.exif_transpose(image)
            image.info["source_format"] = source_format
    except PreprocessError:
        raise
    except Image.DecompressionBombError as exc:
        raise ImageTooLarge(
            "the image decompresses to too many pixels (at most 4096x4096)"
        ) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise PreprocessError("the image could not be decoded") from exc
    return image


def _bounded(image: Image.Image) -> Image.Image:
    """The picture with its long side at most MAX_DECODE_SIDE (box-filtered)."""
    long_side = max(image.size)
    if long_side <= MAX_DECODE_SIDE:
        return image
    if image.mode not in ("L", "LA", "RGB", "RGBA", "I", "F"):
        image = image.convert("RGBA")
    return image.reduce(math.ceil(long_side / MAX_DECODE_SIDE))


def ink_array(image: Image.Image) -> np.ndarray:
    """Gray levels in 0..1 with ink high and paper at zero.

    Transparent pixels are paper. Polarity is detected: whichever level the
    border of the picture mostly has is the paper, the other is the ink.
    """
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if alpha.min() < 0.99:
            # Paper shows where the picture is transparent; the ink is what is
            # opaque. Put the ink on the opposite shade so it always shows.
            opaque = alpha > 0.5
            ink_is_dark = not opaque.any() or float(np.median(gray[opaque])) < 0.5
            paper = 1.0 if ink_is_dark else 0.0
            gray = gray * alpha + paper * (1.0 - alpha)
    else:
        gray = np.asarray(image.convert("L"), dtype=np.float32) / 255.0
    return _ink_from_gray(gray)


def _ink_from_gray(gray: np.ndarray) -> np.ndarray:
    border = np.concatenate([gray[0], gray[-1], gray[:, 0], gray[:, -1]])
    paper = float(np.median(border))
    if not document.is_clean(gray, paper):  # a photo or a scan of real paper
        return document.find_ink(gray)
    ink = paper - gray if paper >= 0.5 else gray - paper
    np.clip(ink, 0.0, None, out=ink)
    return ink


def _pen_and_scale(strokes: Strokes) -> tuple[float, float]:
    """The pen's width in canvas pixels, and the scale the strokes are drawn at."""
    width, height = strokes.width, strokes.height
    line_width = strokes.line_width or max(2.0, round(min(width, height) / 18))
    # Render at a modest resolution: enough detail for a 20x20 result, and
    # never a pen wider than MAX_RENDER_PEN (its cost grows with its width).
    return line_width, min(1.0, 400.0 / max(width, height), MAX_RENDER_PEN / line_width)


def render_strokes(strokes: Strokes) -> np.ndarray:
    """Draw polylines as ink on black; width follows the canvas unless given."""
    width, height = strokes.width, strokes.height
    line_width, scale = _pen_and_scale(strokes)
    w, h = max(1, round(width * scale)), max(1, round(height * scale))
    lw = max(MIN_RENDER_WIDTH, round(line_width * scale))
    canvas = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(canvas)
    r = lw / 2
    for line in strokes.lines:
        pts = [(x * scale, y * scale) for x, y in line]
        if len(pts) > 1:
            draw.line(pts, fill=255, width=lw, joint="curve")
        for x, y in (pts[0], pts[-1]) if len(pts) > 1 else pts:
            draw.ellipse((x - r, y - r, x + r, y + r), fill=255)
    return np.asarray(canvas, dtype=np.float32) / 255.0


# ------------------------------------------------------------- normalising


def stroke_width(mask: np.ndarray) -> float:
    """Estimate the stroke width of a binary shape: twice area over perimeter."""
    area = float(mask.sum())
    if area == 0:
        return 0.0
    m = mask.astype(np.int8)
    edges = np.abs(np.diff(m, axis=0)).sum() + np.abs(np.diff(m, axis=1)).sum()
    edges += m[0].sum() + m[-1].sum() + m[:, 0].sum() + m[:, -1].sum()
    return 2.0 * area / max(float(edges), 1.0)


def _bounding_box(ink: np.ndarray) -> tuple[int, int, int, int]:
    peak = float(ink.max()) if ink.size else 0.0
    if peak < 0.1:
        raise EmptyDrawing("the drawing is empty")
    rows = np.flatnonzero((ink > CROP_THRESHOLD * peak).any(axis=1))
    cols = np.flatnonzero((ink > CROP_THRESHOLD * peak).any(axis=0))
    return rows[0], rows[-1] + 1, cols[0], cols[-1] + 1


def _normalise_thickness(work: Image.Image, long_side: float) -> Image.Image:
    """Thin or thicken the strokes toward MNIST's typical width."""
    arr = np.asarray(work, dtype=np.uint8)
    width = stroke_width(arr > 127) * FIT_BOX / long_side
    low, high = STROKE_BAND
    if low <= width <= high or width == 0:
        return work
    px_per_box = long_side / FIT_BOX
    change = (width - TARGET_STROKE) * px_per_box  # in working pixels, both sides
    size = 2 * int(round(abs(change) / 2)) + 1
    if size < 3:
        return work
    if change > 0:
        thinner = work.filter(ImageFilter.MinFilter(size))
        # Never erode a digit away: keep the original if too little is left.
        if np.asarray(thinner).max() < 128:
            return work
        return thinner
    return work.filter(ImageFilter.MaxFilter(size))


def two_stroke_rows(mask: np.ndarray) -> float:
    """The share of a shape's rows that cross at least two separate strokes."""
    if not mask.size:
        return 0.0
    starts = (np.diff(mask.astype(np.int8), axis=1, prepend=0) == 1).sum(axis=1)
    return float((starts >= 2).mean())


def _widen_narrow_loop(crop: np.ndarray) -> np.ndarray:
    """A tall narrow loop (see MIN_LOOP_WIDTH) stretched sideways to that width."""
    h, w = crop.shape
    if w >= MIN_LOOP_WIDTH * h or two_stroke_rows(crop > 0.5) < TWO_STROKE_ROWS:
        return crop
    wide = Image.fromarray(np.uint8(np.clip(crop, 0, 1) * 255)).resize(
        (max(w + 1, round(MIN_LOOP_WIDTH * h)), h), Image.Resampling.BILINEAR
    )
    return np.asarray(wide, np.float32) / 255.0


@dataclass(frozen=True)
class Placement:
    """Where the drawing's pixels landed in the 28x28 input: x28 = x * sx + ox (y alike).

    The crop, the stretch of a narrow loop, both resizes and the centring by
    mass compose to a scale and an offset per axis; thinning or thickening the
    strokes moves nothing.
    """

    sx: float
    sy: float
    ox: float
    oy: float

    def then(self, sx: float, sy: float, ox: float, oy: float) -> Placement:
        """This placement followed by another scale and offset."""
        return Placement(
            float(self.sx * sx),
            float(self.sy * sy),
            float(self.ox * sx + ox),
            float(self.oy * sy + oy),
        )

    def scaled(self, by: float) -> Placement:
        """The placement of coordinates that are multiplied by `by` before it (drawn at a scale)."""
        return Placement(self.sx * by, self.sy * by, self.ox, self.oy)

    def as_json(self) -> dict:
        return {"sx": self.sx, "sy": self.sy, "ox": self.ox, "oy": self.oy}


def normalise(ink: np.ndarray) -> np.ndarray:
    """Crop, fix the stroke width, fit in 20x20 and centre by mass in 28x28."""
    return normalise_placed(ink)[0]


def normalise_placed(ink: np.ndarray) -> tuple[np.ndarray, Placement]:
    """`normalise`, and where the ink's pixels landed in the 28x28 result."""
    ink = ink / float(ink.max()) if ink.size and ink.max() > 0 else ink
    top, bottom, left, right = _bounding_box(ink)
    crop = ink[top:bottom, left:right]
    # Suppress faint haze inside the box so it does not shift the centre.
    before = crop.shape[1]
    crop = _widen_narrow_loop(np.where(crop > 0.1, crop, 0.0))
    h, w = crop.shape
    placed = Placement(w / before, 1.0, -left * w / before, -float(top))
    # Bring the digit to the working resolution (long side WORK_SIZE), pad a
    # little so thickening has room, then normalise the strokes.
    scale = WORK_SIZE / max(h, w)
    wh, ww = max(1, round(h * scale)), max(1, round(w * scale))
    work = Image.fromarray(np.uint8(np.clip(crop, 0, 1) * 255)).resize(
        (ww, wh), Image.Resampling.BOX if scale < 1 else Image.Resampling.BILINEAR
    )
    pad = WORK_SIZE // 8
    padded = Image.new("L", (ww + 2 * pad, wh + 2 * pad), 0)
    padded.paste(work, (pad, pad))
    padded = _normalise_thickness(padded, WORK_SIZE)
    arr = np.asarray(padded, dtype=np.float32) / 255.0
    top, bottom, left, right = _bounding_box(arr)
    arr = arr[top:bottom, left:right]
    placed = placed.then(ww / w, wh / h, pad - left, pad - top)
    h, w = arr.shape
    scale = FIT_BOX / max(h, w)
    fh, fw = max(1, round(h * scale)), max(1, round(w * scale))
    fitted = Image.fromarray(np.uint8(arr * 255)).resize((fw, fh), Image.Resampling.LANCZOS)
    small = np.asarray(fitted, dtype=np.float32) / 255.0
    centred, (top, left) = _centred_by_mass(small)
    return centred, placed.then(fw / w, fh / h, left, top)


def centre_by_mass(small: np.ndarray) -> np.ndarray:
    """Place an image inside 28x28 with its centre of mass at the centre."""
    return _centred_by_mass(small)[0]


def _centred_by_mass(small: np.ndarray) -> tuple[np.ndarray, tuple[int, int]]:
    """`centre_by_mass`, and where the image's top left corner went."""
    total = float(small.sum())
    h, w = small.shape
    if total <= 0:
        raise EmptyDrawing("the drawing is empty")
    ys, xs = np.indices(small.shape)
    cy = float((ys * small).sum()) / total
    cx = float((xs * small).sum()) / total
    # MNIST's centre of mass sits at pixel (14, 14), counting from 0.
    top = int(round(MNIST_SIZE / 2 - cy))
    left = int(round(MNIST_SIZE / 2 - cx))
    # Keep the whole digit inside the field even for lopsided shapes.
    top = min(max(top, 0), MNIST_SIZE - h)
    left = min(max(left, 0), MNIST_SIZE - w)
    out = np.zeros((MNIST_SIZE, MNIST_SIZE), dtype=np.float32)
    out[top : top + h, left : left + w] = small
    return np.clip(out, 0.0, 1.0), (top, left)


# ------------------------------------------------------------------ entry


def preprocess_image(image: Image.Image) -> np.ndarray:
    """Any picture of a digit to a 28x28 float32 array, white ink on black."""
    return normalise(ink_array(image))


def preprocess_image_placed(image: Image.Image) -> tuple[np.ndarray, Placement]:
    """`preprocess_image`, and where the picture's pixels landed in the 28x28 input."""
    return normalise_placed(ink_array(image))


def preprocess_bytes(data: bytes) -> np.ndarray:
    return preprocess_image(decode_image(data))


def preprocess_strokes(strokes: Strokes) -> np.ndarray:
    return normalise(render_strokes(strokes))


def preprocess_strokes_placed(strokes: Strokes) -> tuple[np.ndarray, Placement]:
    """`preprocess_strokes`, and where the canvas's pixels landed in the 28x28 input."""
    image, placed = normalise_placed(render_strokes(strokes))
    return image, placed.scaled(_pen_and_scale(strokes)[1])


def preprocess_array(gray: np.ndarray, ink_is_white: bool = True) -> np.ndarray:
    """A grayscale array (any size, values 0..1 or 0..255) to MNIST format."""
    arr = np.asarray(gray, dtype=np.float32)
    if arr.size and arr.max() > 1.0:
        arr = arr / 255.0
    return normalise(arr if ink_is_white else 1.0 - arr)


def parse_strokes(
    raw: object,
    width: object,
    height: object,
    line_width: object = None,
    max_points: int = MAX_STROKE_POINTS,
) -> Strokes:
    """Validate JSON stroke input, raising PreprocessError with a clear reason."""
    w = _positive_number(width, "width")
    h = _positive_number(height, "height")
    if w > MAX_SIDE or h > MAX_SIDE:
        raise ImageTooLarge(f"width and height must be at most {MAX_SIDE}")
    lw = None if line_width is None else _positive_number(line_width, "line_width")
    if lw is not None and lw > MAX_PEN_SHARE * min(w, h):
        raise TooComplex(
            f"line_width must be at most {MAX_PEN_SHARE:g} of the canvas's "
            f"short side ({MAX_PEN_SHARE * min(w, h):g} here)"
        )
    if not isinstance(raw, list):
        raise PreprocessError("strokes must be a list of strokes")
    if len(raw) > MAX_STROKES:
        raise PreprocessError(f"too many strokes (at most {MAX_STROKES})")
    lines: list[list[tuple[float, float]]] = []
    count = 0
    x_range = (-CANVAS_MARGIN * w, (1 + CANVAS_MARGIN) * w)
    y_range = (-CANVAS_MARGIN * h, (1 + CANVAS_MARGIN) * h)
    for stroke in raw:
        if not isinstance(stroke, list):
            raise PreprocessError("each stroke must be a list of [x, y] points")
        count += len(stroke)
        if count > max_points:
            raise PreprocessError(f"too many stroke points (at most {max_points})")
        line: list[tuple[float, float]] = []
        last = None
        for point in stroke:
            if not (isinstance(point, (list, tuple)) and len(point) == 2):
                raise PreprocessError("each point must be a pair [x, y]")
            x, y = (_finite(v, "coordinates") for v in point)
            if not (x_range[0] <= x <= x_range[1] and y_range[0] <= y <= y_range[1]):
                raise PreprocessError("stroke points must lie on the canvas (or just off its edge)")
            # Off the edge the pad shows nothing: the point is kept at the edge.
            kept = (
                round(min(max(x, 0.0), w), POINT_DECIMALS),
                round(min(max(y, 0.0), h), POINT_DECIMALS),
            )
            if line and abs(kept[0] - line[-1][0]) + abs(kept[1] - line[-1][1]) < MIN_POINT_STEP:
                last = kept  # a stroke still ends where the pen lifted
                continue
            last = None
            line.append(kept)
        if line:
            if last is not None and last != line[-1]:
                line.append(last)
            lines.append(line)
    if not lines:
        raise EmptyDrawing("the drawing is empty")
    return Strokes(lines=lines, width=int(round(w)), height=int(round(h)), line_width=lw)


def _finite(value: object, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PreprocessError(f"{name} must be numbers")
    try:
        number = float(value)
    except OverflowError:  # an integer beyond any float
        raise PreprocessError(f"{name} must be finite numbers") from None
    if not math.isfinite(number):
        raise PreprocessError(f"{name} must be finite numbers")
    return number


def _positive_number(value: object, name: str) -> float:
    number = _finite(value, name)
    if number < 1:
        raise PreprocessError(f"{name} must be a positive number")
    return number


def to_png(mnist: np.ndarray) -> bytes:
    """A 28x28 array as PNG bytes (white ink on black, as the model sees it)."""
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(np.clip(mnist, 0, 1) * 255 + 0.5)).save(buffer, "PNG")
    return buffer.getvalue()

"""The preprocessing turns every rendering of a digit into nearly the same input."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from trainer import preprocessing as P


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two images (1.0 for identical ones)."""
    a, b = a.ravel(), b.ravel()
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def big(digit: np.ndarray, factor: int = 8) -> Image.Image:
    return Image.fromarray(np.uint8(digit * 255)).resize(
        (28 * factor, 28 * factor), Image.Resampling.BICUBIC
    )


def on_page(ink: Image.Image, long_side: int, at: tuple[int, int], size: int = 400) -> Image.Image:
    ink = ink.crop(ink.getbbox())
    scale = long_side / max(ink.size)
    ink = ink.resize(
        (round(ink.width * scale), round(ink.height * scale)), Image.Resampling.BICUBIC
    )
    page = Image.new("L", (size, size), 0)
    page.paste(ink, at)
    return page


def test_output_format(mnist_sample):
    images, _ = mnist_sample
    out = P.preprocess_image(big(images[0]))
    assert out.shape == (28, 28) and out.dtype == np.float32
    assert out.min() >= 0.0 and out.max() == pytest.approx(1.0, abs=0.02)
    rows = np.flatnonzero(out.max(axis=1) > 0.3)
    cols = np.flatnonzero(out.max(axis=0) > 0.3)
    assert max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) in (19, 20, 21)
    ys, xs = np.indices(out.shape)
    assert (ys * out).sum() / out.sum() == pytest.approx(14.0, abs=0.75)
    assert (xs * out).sum() / out.sum() == pytest.approx(14.0, abs=0.75)


def test_mnist_digits_are_nearly_unchanged(mnist_sample):
    images, _ = mnist_sample
    sims = [similarity(P.preprocess_array(im), im) for im in images[:100]]
    assert np.median(sims) > 0.93


@pytest.mark.parametrize(
    "render",
    [
        "dark_on_light",
        "shifted_small",
        "large",
        "thick",
        "thin",
        "transparent",
        "jpeg",
    ],
)
def test_renderings_land_close_to_the_original(mnist_sample, render):
    images, _ = mnist_sample
    sims = []
    for digit in images[:40]:
        ink = big(digit)
        if render == "dark_on_light":
            picture = Image.eval(on_page(ink, 200, (100, 100)), lambda v: 255 - v)
        elif render == "shifted_small":
            picture = Image.eval(on_page(ink, 40, (350, 10)), lambda v: 255 - v)
        elif render == "large":
            picture = on_page(ink, 390, (5, 5))
        elif render == "thick":
            picture = on_page(ink, 200, (60, 60)).filter(ImageFilter.MaxFilter(15))
        elif render == "thin":
            picture = on_page(ink.point(lambda v: 255 if v > 200 else 0), 200, (60, 60))
            thinner = picture.filter(ImageFilter.MinFilter(5))
            picture = thinner if thinner.getbbox() else picture
        elif render == "transparent":
            # Black strokes on a fully transparent canvas, as browsers export.
            alpha = on_page(ink, 200, (80, 80))
            picture = Image.merge("RGBA", [Image.new("L", alpha.size, 0)] * 3 + [alpha])
        else:
            buffer = io.BytesIO()
            Image.eval(on_page(ink, 220, (90, 30)), lambda v: 255 - v).convert("RGB").save(
                buffer, "JPEG", quality=70
            )
            picture = Image.open(io.BytesIO(buffer.getvalue()))
        sims.append(similarity(P.preprocess_image(picture), P.preprocess_array(digit)))
    assert np.median(sims) > 0.85, render
    assert min(sims) > 0.5, render


def test_corner_digit_comes_out_like_the_centred_one(mnist_sample):
    images, _ = mnist_sample
    digit = big(images[3])
    corner = P.preprocess_image(on_page(digit, 30, (2, 2)))
    middle = P.preprocess_image(on_page(digit, 300, (50, 50)))
    assert similarity(corner, middle) > 0.9
    ys, xs = np.indices(corner.shape)
    assert (ys * corner).sum() / corner.sum() == pytest.approx(14.0, abs=0.75)
    assert (xs * corner).sum() / corner.sum() == pytest.approx(14.0, abs=0.75)


def test_thick_strokes_are_thinned_towards_mnist():
    page = Image.new("L", (300, 300), 0)
    from PIL import ImageDraw

    ImageDraw.Draw(page).line([(150, 40), (150, 260)], fill=255, width=50)
    ImageDraw.Draw(page).line([(80, 80), (150, 40)], fill=255, width=50)
    out = P.preprocess_image(page)
    width = P.stroke_width(out > 0.5)
    assert width < 3.6


def test_strokes_render_to_a_digit():
    one = P.parse_strokes([[[100, 20], [100, 180]]], 200, 200)
    out = P.preprocess_strokes(one)
    cols = np.flatnonzero(out.max(axis=0) > 0.3)
    rows = np.flatnonzero(out.max(axis=1) > 0.3)
    assert rows[-1] - rows[0] + 1 >= 19  # tall
    assert cols[-1] - cols[0] + 1 <= 6  # narrow, not stretched to a square


def test_faint_noise_is_ignored():
    page = np.zeros((200, 200), dtype=np.float32)
    page[40:160, 95:105] = 1.0  # a "1"
    page[5, 5] = 0.15  # a speck of dust
    page[190:195, 190:195] = 0.2
    out = P.preprocess_array(page)
    rows = np.flatnonzero(out.max(axis=1) > 0.3)
    assert rows[-1] - rows[0] + 1 >= 19


@pytest.mark.parametrize(
    "picture",
    [
        Image.new("L", (100, 100), 255),
        Image.new("RGBA", (100, 100), (0, 0, 0, 0)),
        Image.new("L", (100, 100), 0),
    ],
)
def test_blank_pictures_are_empty(picture):
    with pytest.raises(P.EmptyDrawing):
        P.preprocess_image(picture)


@pytest.mark.parametrize(
    "strokes,message",
    [
        ([[[1, float("nan")]]], "finite"),
        ([[[1, float("inf")]]], "finite"),
        ([[["a", 2]]], "numbers"),
        ([[[1, 2, 3]]], "pair"),
        ("nope", "list"),
        ([[[1, 2]] * 30], "too many"),
    ],
)
def test_bad_strokes_are_refused(strokes, message):
    with pytest.raises(P.PreprocessError, match=message):
        P.parse_strokes(strokes, 100, 100, max_points=20)


def test_empty_strokes_are_an_empty_drawing():
    with pytest.raises(P.EmptyDrawing):
        P.parse_strokes([[], []], 100, 100)

"""Segmentation: numbers cut into digits, strokes and pictures, judged by the bundled model."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from app.services.predictor import Predictor
from trainer import segmentation
from trainer.calibration import verdict
from trainer.preprocessing import EmptyDrawing, Strokes, preprocess_strokes
from trainer.segmentation.pictures import PictureInk, components

CANVAS = (900, 280)
PEN = 16


@pytest.fixture(scope="module")
def score():
    return Predictor("models/default").probabilities_many


# ------------------------------------------------------------------ crafted digits
def ellipse(cx, cy, rx, ry, start=-np.pi / 2, n=40):
    t = start + np.linspace(0, 2 * np.pi, n)
    return [(float(cx + rx * np.cos(a)), float(cy + ry * np.sin(a))) for a in t]


def one(x, top=60, h=160):
    return [[(x + 14, top + 12), (x + 24, top), (x + 24, top + h)]]


def two(x, top=60, h=160, w=100):
    return [
        [
            (x + 0.05 * w, top + 0.25 * h),
            (x + 0.3 * w, top + 0.02 * h),
            (x + 0.7 * w, top),
            (x + 0.95 * w, top + 0.22 * h),
            (x + 0.85 * w, top + 0.5 * h),
            (x, top + h),
            (x + w, top + h),
        ]
    ]


def three(x, top=60, h=160, w=100):
    return [
        [
            (x, top + 0.1 * h),
            (x + 0.5 * w, top),
            (x + w, top + 0.2 * h),
            (x + 0.4 * w, top + 0.48 * h),
            (x + w, top + 0.7 * h),
            (x + 0.6 * w, top + h),
            (x, top + 0.9 * h),
        ]
    ]


def four(x, top=60, h=160, w=100):
    """In two strokes: the slant and the bar, then the upright."""
    return [
        [(x + 55, top), (x, top + 0.65 * h), (x + w, top + 0.65 * h)],
        [(x + 0.7 * w, top + 0.2 * h), (x + 0.7 * w, top + h)],
    ]


def seven(x, top=60, h=160, w=100):
    """The body, then the bar across it."""
    return [
        [(x, top), (x + w, top), (x + 0.35 * w, top + h)],
        [(x + 0.3 * w, top + 0.5 * h), (x + 0.85 * w, top + 0.5 * h)],
    ]


def zero(x, top=60, h=160, w=100):
    return [ellipse(x + w / 2, top + h / 2, w / 2, h / 2)]


def read(lines, score, **kwargs):
    return segmentation.read_strokes(Strokes(lines, *CANVAS, PEN), score, **kwargs).digits


def text(digits) -> str:
    return "".join(
        "?"
        if verdict(d.probabilities)[0] == "not_a_digit"
        else str(int(np.argmax(d.probabilities[:10])))
        for d in digits
    )


def points_of(digit) -> int:
    return sum(len(line) for line in digit.strokes.lines)


# ------------------------------------------------------------------ strokes
@pytest.mark.parametrize("order", ["4 then 1", "1 then 4"])
def test_a_two_stroke_4_next_to_a_1(score, order):
    strokes = four(100) + one(300) if order == "4 then 1" else one(300) + four(100)
    digits = read(strokes, score)
    assert text(digits) == "41"
    assert [len(d.strokes.lines) for d in digits] == [2, 1]


def test_a_7s_bar_drawn_after_the_next_digit_joins_the_7(score):
    body, bar = seven(100)
    digits = read([body] + two(260) + [bar], score)
    assert text(digits) == "72"
    assert len(digits[0].strokes.lines) == 2  # the bar went with the 7, not the 2
    assert points_of(digits[0]) == len(body) + len(bar)


def test_two_touching_0s_drawn_in_one_stroke_are_cut_apart(score):
    left = ellipse(150, 140, 50, 80, start=0.0)  # ends where the right one starts
    right = ellipse(250, 140, 50, 80, start=np.pi)
    stroke = Strokes([left + right], *CANVAS, PEN)
    whole = score(np.stack([preprocess_strokes(stroke)]))[0]
    assert whole[:10].max() < 0.5  # as one drawing, the model makes nothing of it
    digits = segmentation.read_strokes(stroke, score).digits
    assert text(digits) == "00"
    (_, _, left_end, _), (right_start, _, _, _) = digits[0].box, digits[1].box
    assert abs(left_end - 200) < 25 and abs(right_start - 200) < 25


def test_a_number_drawn_right_to_left_reads_left_to_right(score):
    digits = read(three(460) + two(300) + one(150), score)
    assert text(digits) == "123"
    lefts = [d.box[0] for d in digits]
    assert lefts == sorted(lefts)


def test_a_dot_between_digits_is_no_digit(score):
    found = segmentation.read_strokes(
        Strokes(one(150) + [[(262.0, 215.0)]] + two(300), *CANVAS, PEN), score
    )
    assert [s.text for s in found.separators] == ["."]
    assert found.written([str(int(np.argmax(d.probabilities[:10]))) for d in found.digits]) == "1.2"
    digits = found.digits
    assert text(digits) == "12"
    assert all(
        (262.0, 215.0) not in [tuple(p) for line in d.strokes.lines for p in line] for d in digits
    )
    assert points_of(digits[0]) == 3  # the 1 alone


def test_a_dot_alone_is_one_drawing_that_is_no_digit(score):
    digits = read([[(200.0, 100.0)]], score)
    assert len(digits) == 1 and verdict(digits[0].probabilities)[0] == "not_a_digit"


def test_more_than_ten_digits_are_refused_before_the_model_runs():
    def no_model(_):
        raise AssertionError("scored a drawing of too many digits")

    with pytest.raises(segmentation.TooManyDigits, match="at least 11 digits"):
        read(sum((one(30 + 78 * i) for i in range(11)), []), no_model)
    assert (
        len(
            read(
                sum((one(30 + 78 * i) for i in range(10)), []),
                lambda x: np.eye(11)[np.ones(len(x), int)],
            )
        )
        == 10
    )


def test_each_digit_is_preprocessed_exactly_as_a_digit_drawn_alone(score):
    calls = []

    def counting(images):
        calls.append(len(images))
        return score(images)

    digits = read(two(100) + zero(240) + two(380) + one(520), counting)
    assert text(digits) == "2021"
    assert calls == [4]  # clear gaps: one batch, one input per digit
    for digit in digits:
        own = digit.strokes
        assert min(own.width, own.height) == min(CANVAS) and own.line_width == PEN
        assert np.array_equal(digit.mnist, preprocess_strokes(own))
        assert np.allclose(digit.probabilities, score(digit.mnist[None])[0])


def test_boxes_are_in_canvas_pixels_around_each_digits_ink(score):
    digits = read(zero(100) + one(300), score)
    half = PEN / 2
    assert digits[0].box == pytest.approx((100 - half, 60 - half, 200 + half, 220 + half), abs=0.5)
    assert digits[1].box == pytest.approx((314 - half, 60 - half, 324 + half, 220 + half), abs=0.5)


# ------------------------------------------------------------------ pictures
def picture(mnist_sample, picks: list[int], gaps: list[int], size: int = 40) -> Image.Image:
    """MNIST digits side by side, dark on white; gaps in pixels (negative: overlapping)."""
    images, _ = mnist_sample
    crops = []
    for i in picks:
        ink = Image.fromarray(np.uint8(images[i] * 255))
        ink = ink.crop(ink.getbbox())
        crops.append(
            np.asarray(ink.resize((max(1, round(ink.width * size / ink.height)), size)), np.float32)
            / 255
        )
    width = sum(c.shape[1] for c in crops) + sum(gaps) + 40
    page = np.zeros((size + 30, width), np.float32)
    x = 20
    for crop, gap in zip(crops, [0] + gaps):
        x += gap
        region = page[15 : 15 + size, x : x + crop.shape[1]]
        np.maximum(region, crop, out=region)
        x += crop.shape[1]
    return Image.fromarray(np.uint8(255 - page * 255))


def test_digits_in_a_picture_read_left_to_right(score, mnist_sample):
    _, labels = mnist_sample
    picks = [int(np.flatnonzero(labels == d)[0]) for d in (2, 0, 2, 6)]
    digits = segmentation.read_image(picture(mnist_sample, picks, [12, 15, 10]), score).digits
    assert text(digits) == "2026"
    assert all(a.box[2] <= b.box[0] for a, b in zip(digits, digits[1:]))
    assert all(d.ink.shape == (d.box[3] - d.box[1], d.box[2] - d.box[0]) for d in digits)


def test_touching_digits_in_a_picture_are_cut_apart(score, mnist_sample):
    _, labels = mnist_sample
    picks = [int(np.flatnonzero(labels == d)[0]) for d in (0, 0)]
    image = picture(mnist_sample, picks, [-3])
    assert len(PictureInk(image).marks()) == 1  # one blob of ink
    assert text(segmentation.read_image(image, score).digits) == "00"


def test_a_blank_picture_is_empty(score):
    with pytest.raises(EmptyDrawing):
        segmentation.read_image(Image.new("L", (200, 80), 255), score)


def test_components_are_8_connected():
    mask = np.zeros((6, 8), bool)
    mask[0, 0] = mask[1, 1] = mask[2, 2] = True  # a diagonal: one component
    mask[4:6, 5:8] = True
    mask[0, 6] = True
    labels, count = components(mask)
    assert labels[0, 0] == labels[1, 1] == labels[2, 2] != 0
    assert len({labels[0, 0], labels[4, 5], labels[0, 6]}) == 3
    assert (labels[~mask] == 0).all() and labels.max() == count == 3

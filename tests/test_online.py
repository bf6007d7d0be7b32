"""The online writers' pen strokes and the non-digits, drawn through the pad's path."""

from __future__ import annotations

import numpy as np
import pytest

from trainer import negatives, online
from trainer.calibration import (
    NOT_A_DIGIT,
    apply_temperature,
    fit_temperature,
    reliability,
    verdict,
)
from trainer.preprocessing import preprocess_strokes


@pytest.fixture(scope="module")
def samples():
    return online.read_online()


def test_both_sources_are_read_whole(samples):
    by_source = {s: [x for x in samples if x.source == s] for s in online.SOURCES}
    assert len(by_source["uji"]) == 1200 and len(by_source["pendigits"]) == 7494
    assert len({x.writer for x in by_source["uji"]}) == 60
    assert len({x.writer for x in by_source["pendigits"]}) == 30
    for source in online.SOURCES:
        counts = np.bincount([x.label for x in by_source[source]], minlength=10)
        assert counts.min() > 0.08 * len(by_source[source])  # every digit, roughly evenly


def test_whole_writers_are_held_out_and_never_trained_on(samples):
    train, held = online.split_by_writer(samples)
    trained = {x.writer for x in train}
    for source, count in online.HOLDOUT_WRITERS.items():
        writers = {x.writer for x in held[source]}
        assert len(writers) == count
        assert not writers & trained
        assert all(x.source == source for x in held[source])
    assert len(train) + sum(len(h) for h in held.values()) == len(samples)


def _spread(images: np.ndarray, rows: slice) -> float:
    """Mean number of columns with ink in these rows."""
    return float(np.mean([(image[rows] > 0.5).any(axis=0).sum() for image in images]))


def test_pendigits_are_drawn_upright(samples):
    # A 7's bar is wide and at the top; upside down, the wide part is at the bottom.
    for source in online.SOURCES:
        sevens = [x.strokes for x in samples if x.source == source and x.label == 7][:60]
        images = online.render(sevens, seed=1)
        assert _spread(images, slice(4, 9)) > 1.6 * _spread(images, slice(19, 24)), source


def test_placement_matches_the_pad(samples):
    rng = np.random.default_rng(0)
    for x in samples[:50]:
        strokes = online.place_on_pad(x.strokes, rng)
        assert 320 <= strokes.width <= 500 and 320 <= strokes.height <= 500
        points = np.concatenate([np.asarray(line) for line in strokes.lines])
        assert points.min() >= -1e-6
        assert (points[:, 0] <= strokes.width + 1e-6).all()
        assert (points[:, 1] <= strokes.height + 1e-6).all()
        pad = online.pad_line_width(strokes.width, strokes.height)
        assert 0.7 * pad - 1e-6 <= strokes.line_width <= 1.3 * pad + 1e-6


def test_renderings_differ_but_are_reproducible(samples):
    drawings = [x.strokes for x in samples[:30]]
    first, again = online.render(drawings, 5), online.render(drawings, 5)
    other = online.render(drawings, 6)
    assert np.array_equal(first, again)
    assert not np.allclose(first, other)
    many = online.render_many(drawings, [5, 6])
    assert len(many) == 2 and many[0].shape == (30, 28, 28)


def test_negatives_have_ink_and_unseen_fonts_stay_unseen():
    images = np.stack(
        [
            preprocess_strokes(online.place_on_pad(d, np.random.default_rng(i)))
            for i, d in enumerate(negatives.negative_drawings(40, seed=2))
        ]
    )
    assert images.shape == (40, 28, 28) and (images.reshape(40, -1).max(1) > 0.5).all()
    assert not set(negatives.HELDOUT_FONTS) & set(negatives.TRAIN_FONTS)
    assert not set(negatives.LETTERS) & set("OoIlSsZzBbGgqDdLJjiy")
    letters = negatives.render_letters(seed=0, per_letter=1)
    assert letters.shape == (len(negatives.LETTERS) * len(negatives.HELDOUT_FONTS), 28, 28)


def test_taps_stay_dots():
    dot = online.place_on_pad([np.array([[3.0, 4.0]], np.float32)], np.random.default_rng(0))
    assert len(dot.lines) == 1 and len(dot.lines[0]) == 1


def test_temperature_is_recovered_and_calibration_improves():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (4000, 10))
    true = np.exp(logits) / np.exp(logits).sum(1, keepdims=True)
    labels = np.array([rng.choice(10, p=p) for p in true])
    overconfident = apply_temperature(true, 1 / 2.5)  # as if the logits were 2.5x too large
    t = fit_temperature(overconfident, labels)
    assert t == pytest.approx(2.5, rel=0.1)
    before = reliability(overconfident, labels)["ece"]
    after = reliability(apply_temperature(overconfident, t), labels)["ece"]
    assert after < before / 3 and after < 0.03


def test_verdict_rules():
    sure = np.full(11, 0.001)
    sure[7] = 1 - sure.sum() + 0.001
    assert verdict(sure) == ("sure", [])
    torn = np.zeros(11)
    torn[[4, 9, 1]] = [0.5, 0.4, 0.1]
    assert verdict(torn) == ("unsure", [4, 9, 1])
    refused = np.zeros(11)
    refused[[NOT_A_DIGIT, 4]] = [0.8, 0.2]
    assert verdict(refused) == ("not_a_digit", [])
    assert verdict(torn[:10])[0] == "unsure"  # ten-class models have no refusal

"""Numbers on paper: pictures made here (tests/utils/paper.py) read as a person wrote them.

A number on a printed security pattern, on ruled paper, in blue ink, tilted
under a shadow, with separators and a trailing dash; each read exactly, the
separators in "written" only. A clean canvas picture keeps today's path to
the byte.
"""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
from PIL import Image

from tests.utils import paper
from tests.utils.images import data_url, page_png
from trainer import document, preprocessing

# Digits of the MNIST test sample (40 of each, in label order): index 40 * d + k.
NUMBER = [3, 8, 0, 5, 2]


def digits_of(mnist_sample, labels: list[int], k: int = 3):
    images, found = mnist_sample
    picks = [int(np.flatnonzero(found == d)[k]) for d in labels]
    return [images[i] for i in picks], [int(found[i]) for i in picks]


def read(client, png: bytes) -> dict:
    reply = client.post(
        "/api/read",
        data={"image": (io.BytesIO(png), "photo.png"), "store": "false"},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize(
    "background, pen, tilt",
    [
        ("guilloche", "black", 0.0),
        ("ruled", "black", 0.0),
        ("plain", "blue", 0.0),
        ("underline", "dark blue", 3.0),
        ("box", "black", -2.5),
        ("grid", "blue", 1.5),
    ],
)
def test_a_number_on_paper_is_read_exactly(client, mnist_sample, background, pen, tilt):
    images, labels = digits_of(mnist_sample, NUMBER)
    made = paper.page(
        images,
        labels,
        np.random.default_rng(11),
        background=background,
        pen=pen,
        tilt=tilt,
        separators=False,
    )
    answer = read(client, made.png)
    assert answer["text"] == made.text == "38052", (background, answer["written"])
    assert answer["separators"] == []


def test_a_tilted_photo_under_a_shadow_is_read(client, mnist_sample):
    images, labels = digits_of(mnist_sample, [7, 4, 1, 9], k=5)
    for seed in range(3):  # the shadow falls somewhere else each time
        made = paper.page(
            images,
            labels,
            np.random.default_rng(100 + seed),
            background="ruled",
            pen="blue",
            tilt=-3.5,
            separators=False,
        )
        assert read(client, made.png)["text"] == "7419", seed


# Seeds whose pages hold every separator: "12,428-", "12,428", "12.428-", "12'428",
# "12,428=", "12'428-", "12'428=", "12.428".
@pytest.mark.parametrize("seed", [0, 1, 2, 4, 6, 9, 10, 12])
def test_separators_and_a_trailing_mark_are_written_but_not_digits(client, mnist_sample, seed):
    images, labels = digits_of(mnist_sample, [1, 2, 4, 2, 8], k=2)
    made = paper.page(
        images,
        labels,
        np.random.default_rng(seed),
        background="plain",
        pen="black",
        tilt=0.0,
        separators=True,
    )
    answer = read(client, made.png)
    assert made.written[:6] in ("12.428", "12,428", "12'428")
    assert answer["text"] == "12428"
    assert answer["written"] == made.written
    boxes = [s["box"] for s in answer["separators"]]
    assert [s["mark"] for s in answer["separators"]] == [c for c in made.written if c in ".,'-="]
    digit_boxes = [d["box"] for d in answer["digits"]]
    # The separator sits between the 2nd and 3rd digits; a dash or "=" after the last.
    assert digit_boxes[1][2] <= boxes[0][0] + 2 and boxes[0][2] <= digit_boxes[2][0] + 2
    if made.written[-1] in "-=":
        assert boxes[-1][0] >= digit_boxes[-1][2] - 2


def test_a_clean_canvas_picture_keeps_todays_path_to_the_byte(client, mnist_sample):
    images, labels = mnist_sample
    png = page_png(images[7])
    gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"), np.float32) / 255
    assert document.is_clean(gray, 1.0)
    # Today's path: paper minus gray, nothing else.
    expected = preprocessing.to_png(preprocessing.normalise(np.clip(1.0 - gray, 0, None)))
    reply = client.post("/api/predict", json={"image": data_url(png), "store": False})
    assert base64.b64decode(reply.get_json()["preprocessed"].split(",", 1)[1]) == expected


def test_a_photo_is_not_taken_for_a_clean_canvas(mnist_sample):
    images, labels = digits_of(mnist_sample, NUMBER)
    made = paper.page(
        images,
        labels,
        np.random.default_rng(3),
        background="plain",
        pen="black",
        tilt=0.0,
        separators=False,
    )
    gray = np.asarray(Image.open(io.BytesIO(made.png)).convert("L"), np.float32) / 255
    assert not document.is_clean(gray, float(np.median(gray[0])))
    ink = document.find_ink(gray)
    # The paper's light and noise are gone: ink only where the digits are.
    assert 0.02 < float((ink > 0.3).mean()) < 0.35 and float(ink[:3].max()) < 0.3


def test_a_tightly_cropped_photo_keeps_its_ones(client, mnist_sample):
    """A 1 as tall as the picture is a digit, not a box's side."""
    images, labels = digits_of(mnist_sample, [1, 7, 1], k=1)
    made = paper.page(
        images,
        labels,
        np.random.default_rng(8),
        background="plain",
        pen="black",
        tilt=0.0,
        separators=False,
    )
    photo = Image.open(io.BytesIO(made.png)).convert("L")
    dark = np.flatnonzero((np.asarray(photo) < 100).any(axis=1))
    cropped = photo.crop((0, max(0, dark[0] - 2), photo.width, dark[-1] + 3))
    buffer = io.BytesIO()
    cropped.save(buffer, "PNG")
    assert read(client, buffer.getvalue())["text"] == "171"

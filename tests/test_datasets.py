"""Every dataset loader reads a small fixture and rejects a corrupt one clearly."""

from __future__ import annotations

import gzip
import hashlib
import io

import numpy as np
import pytest
from PIL import Image

from tests.utils.datasets import write_csv
from trainer import datasets
from trainer.datasets import DatasetError


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(
        int(n).to_bytes(4, "big") for n in array.shape
    )
    return header + np.ascontiguousarray(array, np.uint8).tobytes()


def test_csv_round_trips_kaggle_layout(tmp_path, mnist_sample):
    images, labels = mnist_sample
    path = write_csv(tmp_path / "train.csv", images[:50], labels[:50])
    read_images, read_labels = datasets.read_csv_digits(path)
    assert read_images.shape == (50, 28, 28)
    assert np.array_equal(read_labels, labels[:50])
    assert np.abs(read_images - images[:50]).max() <= 0.5 / 255 + 1e-6


def test_csv_tolerates_no_header_and_a_renamed_label_column(tmp_path, mnist_sample):
    images, labels = mnist_sample
    plain = write_csv(tmp_path / "plain.csv", images[:20], labels[:20], header=None)
    renamed = write_csv(
        tmp_path / "renamed.csv", images[:20], labels[:20], header="digit", label_last=True
    )
    for path in (plain, renamed):
        _, read_labels = datasets.read_csv_digits(path)
        assert np.array_equal(read_labels, labels[:20])


@pytest.mark.parametrize(
    "mutate, message",
    [
        (
            lambda rows: rows[:2] + [rows[2][: rows[2].rindex(",")]] + rows[3:],
            "line 3: expected a label and 784",
        ),
        (
            lambda rows: rows[:1] + ["12" + rows[1][1:]] + rows[2:],
            "line 2: label '12' is not a digit",
        ),
        (lambda rows: rows[:1] + [rows[1] + "x"] + rows[2:], "line 2: a value is not a number"),
        (
            lambda rows: rows[:1] + [rows[1][:-1] + "999"] + rows[2:],
            "line 2: pixel values must be 0-255",
        ),
        (lambda rows: rows[:1], "has a header but no rows"),
        (lambda rows: [], "is empty"),
    ],
)
def test_csv_rejects_corrupt_files(tmp_path, mnist_sample, mutate, message):
    images, labels = mnist_sample
    path = write_csv(tmp_path / "train.csv", images[:5], labels[:5])
    rows = path.read_text().splitlines()
    path.write_text("\n".join(mutate(rows)) + "\n")
    with pytest.raises(DatasetError, match=message):
        datasets.read_csv_digits(path)


def test_csv_without_labels_is_refused(tmp_path, mnist_sample):
    images, _ = mnist_sample
    pixels = np.uint8(images[:3].reshape(3, -1) * 255)
    lines = [",".join(f"pixel{i}" for i in range(784))] + [",".join(map(str, r)) for r in pixels]
    path = tmp_path / "test.csv"
    path.write_text("\n".join(lines))
    with pytest.raises(DatasetError, match="no label column"):
        datasets.read_csv_digits(path)


def test_idx_reader_checks_gzip_checksum_and_size(tmp_path, mnist_sample):
    images, _ = mnist_sample
    raw = idx_bytes(np.uint8(images[:10] * 255))
    path = tmp_path / "images-idx3-ubyte.gz"
    path.write_bytes(gzip.compress(raw))
    assert datasets.read_idx(path, hashlib.md5(raw).hexdigest()).shape == (10, 28, 28)
    with pytest.raises(DatasetError, match="checksum does not match"):
        datasets.read_idx(path, "0" * 32)
    path.write_bytes(raw[:-7])
    with pytest.raises(DatasetError, match="truncated"):
        datasets.read_idx(path)
    path.write_bytes(b"\x1f\x8bnot really gzip")
    with pytest.raises(DatasetError, match="not a valid gzip"):
        datasets.read_idx(path)


def test_mnist_directory_with_mislabelled_files(tmp_path, mnist_sample):
    images, labels = mnist_sample
    bad_labels = labels.copy()
    bad_labels[3] = 11
    for part, n in (("train", 300), ("t10k", 100)):
        (tmp_path / f"{part}-images-idx3-ubyte").write_bytes(idx_bytes(np.uint8(images[:n] * 255)))
        (tmp_path / f"{part}-labels-idx1-ubyte").write_bytes(idx_bytes(np.uint8(bad_labels[:n])))
    with pytest.raises(DatasetError, match="labels must be digits 0-9"):
        datasets.load_mnist_idx(tmp_path, verify=False)
    (tmp_path / "train-labels-idx1-ubyte").write_bytes(idx_bytes(np.uint8(labels[:299])))
    with pytest.raises(DatasetError, match="300 images but 299 labels"):
        datasets.load_mnist_idx(tmp_path, verify=False)


def test_missing_mnist_directory_is_named():
    with pytest.raises(DatasetError, match="does not exist"):
        datasets.load_mnist("/nonexistent/mnist")


def test_uci_digits_come_out_in_mnist_format():
    data = datasets.load_uci_digits(seed=3)
    assert data.train.images.shape[1:] == (28, 28) and data.test.images.shape[1:] == (28, 28)
    assert len(data.train) + len(data.test) == 1797
    assert abs(len(data.test) / 1797 - 0.25) < 0.01
    assert set(np.unique(data.test.labels)) == set(range(10))
    image = data.train.images[0]
    assert image.max() > 0.9 and image[0].max() == 0  # white ink, black border
    rows, cols = np.indices(image.shape)
    centre = (float((rows * image).sum() / image.sum()), float((cols * image).sum() / image.sum()))
    assert abs(centre[0] - 14) < 1.0 and abs(centre[1] - 14) < 1.0
    # The split is reproducible from the seed.
    again = datasets.load_uci_digits(seed=3)
    assert np.array_equal(again.test.labels, data.test.labels)


def test_the_test_split_is_the_asked_share_of_the_whole_and_of_each_digit():
    # 3,000 rows whose digit counts do not divide by five: rounding each digit
    # alone would give 599 or 601 test rows.
    labels = np.repeat(np.arange(10), [303, 297, 301, 299, 302, 298, 300, 300, 304, 296])
    images = np.zeros((len(labels), 28, 28), np.float32)
    data = datasets.split_arrays("uneven", images, labels, 0.2, seed=1)
    assert len(data.test) == 600 and len(data.train) == 2400
    per_digit = np.bincount(data.test.labels, minlength=10)
    assert np.all(np.abs(per_digit - np.bincount(labels) * 0.2) < 1)


def test_mixture_repeats_the_extra_data_and_keeps_the_base_test(mnist_sample):
    images, labels = mnist_sample
    base = datasets.split_arrays("base", images[:200], labels[:200], 0.25)
    extra = datasets.split_arrays("feedback", images[200:220], labels[200:220], 0.2)
    mixed = datasets.mix(base, extra, weight=5)
    assert len(mixed.train) == len(base.train) + 5 * len(extra.train)
    assert mixed.test is base.test
    assert [s["weight"] for s in mixed.describe()] == [1, 5]
    with pytest.raises(DatasetError):
        datasets.mix(base, extra, weight=0)


def test_unknown_dataset_name():
    with pytest.raises(DatasetError, match="unknown dataset 'emnist'"):
        datasets.load_named("emnist")


def test_feedback_dataset_reads_confirmed_flags(app, client, mnist_sample):
    from app.extensions import db
    from app.models import Flag
    from app.services.training import feedback_dataset, is_holdout
    from tests.utils.flags import store_flag

    images, labels = mnist_sample
    ids = []
    for i in range(12):
        buffer = io.BytesIO()
        Image.fromarray(np.uint8(255 - images[i] * 255)).resize((140, 140)).save(buffer, "PNG")
        reply = client.post(
            "/api/predict", data={"image": (io.BytesIO(buffer.getvalue()), "d.png")}
        )
        assert reply.status_code == 200
        pid = reply.get_json()["prediction_id"]
        store_flag(app, pid, int(labels[i]))
        ids.append(pid)
    with app.app_context():
        flags = db.session.query(Flag).order_by(Flag.id).all()
        for flag in flags[:10]:
            flag.status = "confirmed"
        db.session.commit()
        data = feedback_dataset()
        confirmed = flags[:10]
        held = [f for f in confirmed if is_holdout(f.id)]
        assert len(data.train) + len(data.test) == 10
        assert len(data.test) == len(held)
        assert sorted(data.test.labels.tolist()) == sorted(f.label for f in held)
        assert data.train.images.shape[1:] == (28, 28) and data.train.images.max() <= 1.0
        # The held-out choice depends on the flag alone, so it is stable.
        assert [is_holdout(f.id) for f in confirmed] == [is_holdout(f.id) for f in confirmed]

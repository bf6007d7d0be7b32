"""Training on small datasets works, and drawn data mixes into MNIST with its held-out writers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.extensions import db
from app.models import BaselineResult, TrainingRun
from tests.utils.datasets import write_csv
from trainer import online
from trainer.datasets import load_mnist


def _run(app) -> TrainingRun:
    with app.app_context():
        run = db.session.query(TrainingRun).order_by(TrainingRun.id.desc()).first()
        _ = run.baselines, run.epochs  # load them while the session is open
        return run


@pytest.mark.training
def test_quick_cnn_on_uci_digits_beats_its_baselines(app, runner):
    # The seeds' own dataset: 1,348 training images. A short run used to serve
    # a network at chance (batch-norm statistics never settled).
    # 250 optimiser steps: a few times the handful a short run used to take.
    result = runner.invoke(
        args=[
            "train",
            "--profile",
            "quick",
            "--dataset",
            "uci-digits",
            "--min-steps",
            "250",
            "--name",
            "uci",
        ]
    )
    assert result.exit_code == 0, result.output
    run = _run(app)
    assert run.status == "succeeded" and run.test_size == 449  # 25% of 1,797
    assert run.test_accuracy > 0.90
    best = max(b.accuracy for b in run.baselines)
    assert run.test_accuracy > best - 0.03
    assert run.suspect is None and "SUSPECT" not in result.output
    # More epochs than the profile's three: at least min_steps optimiser steps.
    assert len(run.main_epochs) > 3


@pytest.mark.training
def test_quick_cnn_on_a_small_csv_beats_its_baselines(app, runner, tmp_path):
    mnist = load_mnist()
    rng = np.random.default_rng(3)
    pick = rng.choice(len(mnist.train), 3000, replace=False)
    path = write_csv(tmp_path / "digits.csv", mnist.train.images[pick], mnist.train.labels[pick])
    result = runner.invoke(
        args=[
            "train",
            "--profile",
            "quick",
            "--dataset",
            "csv",
            "--csv",
            str(path),
            "--min-steps",
            "250",
            "--name",
            "small csv",
        ]
    )
    assert result.exit_code == 0, result.output
    run = _run(app)
    assert run.test_size == 600 and run.test_accuracy > 0.90
    assert run.test_accuracy > max(b.accuracy for b in run.baselines)
    assert run.suspect is None


def test_a_run_far_below_its_baselines_is_suspect(app):
    with app.app_context():
        run = TrainingRun(name="broken", status="succeeded", kind="cnn", test_accuracy=0.16)
        run.baselines.append(
            BaselineResult(
                name="svm_rbf",
                accuracy=0.97,
                macro_f1=0.97,
                fit_seconds=1,
                predict_ms_per_image=0.1,
                train_samples=10,
                test_samples=10,
            )
        )
        db.session.add(run)
        db.session.commit()
        assert "near chance" in run.suspect
        run.test_accuracy = 0.80
        assert "far below the best baseline" in run.suspect and "SVM (RBF kernel)" in run.suspect
        run.test_accuracy = 0.95
        assert run.suspect is None


@pytest.fixture
def tiny_online(tmp_path):
    """The two collections cut down: 15 UJI writers and 8 pendigits writers."""
    source = online.online_dir()
    uji = json.loads((source / online.SOURCES["uji"]).read_text())["rawData"]
    folder = tmp_path / "online"
    folder.mkdir()
    (folder / online.SOURCES["uji"]).write_text(
        json.dumps({"rawData": {digit: items[:30] for digit, items in uji.items()}})
    )
    kept, keep_writers, per_writer = [], set(), {}
    block: list[str] = []
    for line in (source / online.SOURCES["pendigits"]).read_text().splitlines() + [".SEGMENT"]:
        if line.startswith(".SEGMENT") and block:
            writer = next((b.split()[2] for b in block if b.startswith(".COMMENT")), None)
            if writer and (writer in keep_writers or len(keep_writers) < 8):
                keep_writers.add(writer)
                if per_writer.get(writer, 0) < 12:
                    per_writer[writer] = per_writer.get(writer, 0) + 1
                    kept.extend(block)
            block = []
        if line.startswith(".SEGMENT DIGIT") or block:
            block.append(line)
    (folder / online.SOURCES["pendigits"]).write_text("\n".join(kept) + "\n")
    return folder


@pytest.mark.training
def test_online_writers_mixed_in_record_each_source_of_held_out_writers(
    app, runner, tiny_online, monkeypatch, mnist_sample, tmp_path
):
    monkeypatch.setenv(online.ONLINE_ENV, str(tiny_online))
    images, labels = mnist_sample  # the base dataset's size does not matter here
    base = write_csv(tmp_path / "base.csv", images, labels)
    result = runner.invoke(
        args=[
            "train",
            "--profile",
            "quick",
            "--dataset",
            "csv+online+negatives",
            "--csv",
            str(base),
            "--epochs",
            "1",
            "--min-steps",
            "0",
            "--val-split",
            "0.05",
            "--online-weight",
            "2",
            "--negatives",
            "300",
            "--no-baselines",
            "--name",
            "mixed",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "held out online:uji" in result.output
    run = _run(app)
    sources = {d["name"]: d for d in run.datasets}
    assert sources["online:uji"]["writers"] == 3 and sources["online:uji"]["heldout_writers"] == 12
    assert sources["online:pendigits"]["heldout_writers"] == 6
    assert sources["online:uji"]["weight"] == 2
    holdout = run.metrics["holdout"]
    assert holdout["online:uji"]["samples"] == 240
    assert holdout["online:pendigits"]["samples"] == 6 * 12
    for name in ("online:uji", "online:pendigits"):
        assert 0.0 <= holdout[name]["accuracy"] <= 1.0
    assert holdout["negatives:letters"]["accuracy"] is None
    assert 0.0 <= holdout["negatives:letters"]["refused"] <= 1.0
    calibration = run.metrics["calibration"]
    assert calibration["temperature"] > 0 and calibration["fitted_on"] > 0
    assert set(calibration["ece"]) >= {"test", "online:uji", "online:pendigits"}
    assert len(calibration["reliability"]["before"]) == 10
    previews = set(run.metrics["previews"])
    assert {"online:uji", "online:pendigits", "negatives"} <= previews
    assert any(name.startswith("csv") for name in previews)
    # The network has an eleventh output (not a digit); the test metrics stay on digits.
    assert len(run.metrics["per_class"]) == 10
    files = run.artifacts["files"]
    assert {"model.tflite", "model-int8.tflite"} <= set(files)
    assert run.artifacts["serve"] in files
    quantized = run.metrics["quantized"]
    assert quantized["bytes"]["int8"] < quantized["bytes"]["float32"]
    assert set(quantized["sets"]) == {"test", "online:uji", "online:pendigits"}

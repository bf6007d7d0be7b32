"""Training end to end on tiny data: the run record is complete, failures are recorded."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from app.extensions import db
from app.models import TrainingRun
from tests.utils.datasets import write_csv
from trainer.export import sha256


@pytest.fixture
def tiny_csv(tmp_path, mnist_sample):
    images, labels = mnist_sample
    return write_csv(tmp_path / "tiny.csv", images[:300], labels[:300])


@pytest.mark.training
def test_tiny_run_writes_a_complete_record(app, runner, tiny_csv, tmp_path):
    result = runner.invoke(
        args=[
            "train",
            "--profile",
            "quick",
            "--dataset",
            "csv",
            "--csv",
            str(tiny_csv),
            "--epochs",
            "1",
            "--min-steps",
            "0",
            "--val-split",
            "0.1",
            "--kfold",
            "2",
            "--name",
            "tiny",
            "--seed",
            "4",
        ]
    )
    assert result.exit_code == 0, result.output
    assert "epoch  1 [1/3]" in result.output  # progress lines: main run, then two folds
    assert "candidate model" in result.output
    with app.app_context():
        run = db.session.query(TrainingRun).one()
        assert (run.name, run.status, run.error, run.profile) == (
            "tiny",
            "succeeded",
            None,
            "quick",
        )
        assert run.dataset == "csv" and run.datasets[0]["name"] == "csv:tiny.csv"
        assert run.train_size == 240 and run.test_size == 60  # stratified 20% test split
        assert run.duration_seconds > 0 and run.finished_at >= run.started_at
        assert run.params["epochs"] == 1 and run.params["batch_size"] == 128
        assert run.params["val_split"] == 0.1 and run.seed == 4 and run.params["kfold"] == 2
        assert {"tensorflow", "keras", "scikit-learn", "numpy", "python"} <= set(run.versions)
        assert run.param_count == sum(layer["params"] for layer in run.layers) > 1000
        assert sum(run.label_distribution) == 240
        # Epochs: one for the main network, one per fold; validation only on the main one.
        assert [(e.fold, e.epoch) for e in run.epochs] == [(None, 1), (1, 1), (2, 1)]
        main = run.main_epochs[0]
        assert main.val_accuracy is not None and main.seconds > 0 and main.lr > 0
        assert run.epoch == run.total_epochs == 3
        metrics = run.metrics
        assert np.array(metrics["confusion_matrix"]).sum() == 60
        assert run.test_accuracy == metrics["accuracy"]
        assert run.test_accuracy == pytest.approx(np.trace(metrics["confusion_matrix"]) / 60)
        assert run.macro_f1 == metrics["macro"]["f1"]
        assert len(metrics["per_class"]) == 10 and "precision" in metrics["report"]
        assert 0.5 <= metrics["macro"]["roc_auc"] <= 1.0
        assert len(run.kfold["folds"]) == 2 and sum(f["test"] for f in run.kfold["folds"]) == 240
        assert run.kfold["mean"] == pytest.approx(
            np.mean([f["accuracy"] for f in run.kfold["folds"]])
        )
        wrong = 60 - np.trace(metrics["confusion_matrix"])
        assert len(run.mistakes) == min(24, wrong)
        assert {b.name for b in run.baselines} == {
            "logistic_regression",
            "svm_rbf",
            "random_forest",
            "knn",
        }
        for b in run.baselines:
            assert 0.3 < b.accuracy <= 1 and b.train_samples == 240 and b.test_samples == 60
            assert b.fit_seconds >= 0 and b.predict_ms_per_image > 0
        # The candidate model exists, its checksums are the recorded ones, and it
        # is not the served model.
        files = run.artifacts["files"]
        folder = tmp_path / "models" / run.model_version
        assert set(files) == {"model.keras", "model.tflite", "model-int8.tflite"}
        for name, info in files.items():
            assert sha256(folder / name) == info["sha256"]
        assert json.loads((folder / "model.json").read_text())["run_name"] == "tiny"
        assert app.config["MODEL_DIR"] != str(folder)

    listing = runner.invoke(args=["runs", "list"])
    assert "tiny" in listing.output and "succeeded" in listing.output
    shown = runner.invoke(args=["runs", "show", "1"])
    assert "confusion matrix" in shown.output and "2-fold accuracy" in shown.output

    # A record exported and imported elsewhere is the same run, stored once.
    exported = tmp_path / "run.json"
    assert runner.invoke(args=["runs", "export", "1", str(exported)]).exit_code == 0
    with app.app_context():
        db.session.query(TrainingRun).delete()
        db.session.commit()
    assert "imported" in runner.invoke(args=["runs", "import", str(exported)]).output
    assert "already stored" in runner.invoke(args=["runs", "import", str(exported)]).output
    with app.app_context():
        again = db.session.query(TrainingRun).one()
        assert again.test_accuracy == json.loads(exported.read_text())["metrics"]["accuracy"]
        assert len(again.epochs) == 3 and len(again.baselines) == 4


@pytest.mark.training
def test_baselines_alone_are_a_run(app, runner, tiny_csv):
    result = runner.invoke(
        args=[
            "baselines",
            "--dataset",
            "csv",
            "--csv",
            str(tiny_csv),
            "--sample",
            "100",
            "--name",
            "classical",
        ]
    )
    assert result.exit_code == 0, result.output
    with app.app_context():
        run = db.session.query(TrainingRun).one()
        assert run.kind == "baselines" and run.status == "succeeded"
        assert run.test_accuracy is None and run.artifacts is None
        assert [b.train_samples for b in run.baselines] == [100] * 4


def test_a_failed_run_is_recorded_with_its_error(app, runner, tmp_path):
    broken = tmp_path / "broken.csv"
    broken.write_text("label,pixel0\n3,0\n")
    result = runner.invoke(
        args=[
            "train",
            "--profile",
            "quick",
            "--dataset",
            "csv",
            "--csv",
            str(broken),
            "--name",
            "broken",
        ]
    )
    assert result.exit_code != 0
    assert "failed" in result.output and "line 2" in result.output
    with app.app_context():
        run = db.session.query(TrainingRun).one()
        assert run.status == "failed" and run.finished_at is not None
        assert "line 2: expected a label and 784 pixels" in run.error
        assert run.test_accuracy is None


def test_feedback_without_confirmed_flags_fails_clearly(app, runner):
    result = runner.invoke(args=["train", "--profile", "quick", "--dataset", "feedback"])
    assert result.exit_code != 0 and "no confirmed flagged drawings" in result.output
    with app.app_context():
        assert db.session.query(TrainingRun).one().status == "failed"


def test_profiles_and_overrides():
    from trainer.experiment import PROFILES, profile_config

    quick = profile_config("quick", epochs=2, seed=None)
    assert quick.epochs == 2 and quick.width == PROFILES["quick"].width
    assert quick.seed == PROFILES["quick"].seed
    assert profile_config("full").epochs == PROFILES["full"].epochs
    with pytest.raises(ValueError):
        profile_config("huge")


def test_train_help_documents_the_options(runner):
    text = runner.invoke(args=["train", "--help"]).output
    for option in (
        "--dataset",
        "--data-dir",
        "--epochs",
        "--batch-size",
        "--lr",
        "--val-split",
        "--seed",
        "--augment / --no-augment",
        "--kfold",
        "--name",
        "--profile",
    ):
        assert option in text


def test_seed_stores_the_bundled_run_once(app, runner):
    model_meta = json.loads((Path(app.config["MODEL_DIR"]) / "model.json").read_text())
    first = runner.invoke(args=["seed"])
    assert first.exit_code == 0 and "seeded: run 1" in first.output
    assert "already seeded" in runner.invoke(args=["seed"]).output
    with app.app_context():
        run = db.session.query(TrainingRun).one()
        # The bundled model is the product of this run: same version, same accuracy.
        assert run.model_version == model_meta["version"]
        assert run.test_accuracy == pytest.approx(model_meta["test_accuracy"])
        assert run.profile == "full" and run.status == "succeeded"
        assert len(run.main_epochs) == (
            run.params["epochs"] + run.params["polish_epochs"]
        ) * run.params.get("ensemble", 1)
        assert len(run.baselines) == 4 and len(run.mistakes) > 0
        assert (
            run.artifacts["files"]["model.tflite"]["sha256"]
            == model_meta["files"]["model.tflite"]["sha256"]
        )


@pytest.mark.training
def test_fine_tuning_keeps_the_batch_norm_statistics(mnist_sample):
    """Frozen batch norm: the network learns, the statistics learnt on MNIST stay."""
    from trainer.datasets import Dataset, Split
    from trainer.train import TrainConfig, fit_networks

    images, labels = mnist_sample
    data = Dataset(
        "sample", Split(images[:200], labels[:200]), Split(images[200:240], labels[200:240])
    )
    base = Path(__file__).resolve().parents[1] / "models" / "default" / "model.keras"
    runs = {}
    for freeze in (True, False):
        cfg = TrainConfig(
            epochs=0,
            polish_epochs=1,
            val_split=0.0,
            lr=0.02,
            init_from=str(base),
            freeze_batchnorm=freeze,
        )
        runs[freeze] = fit_networks(data, cfg).model
    import keras

    from trainer.train import all_layers

    def layer(model, name):  # the first network's, in an ensemble
        return next(x for x in all_layers(model) if x.name == name)

    original = keras.saving.load_model(base)
    for freeze, model in runs.items():
        bn = layer(model, "stage2_bn1")
        moved = not np.allclose(
            bn.moving_mean.numpy(), layer(original, "stage2_bn1").moving_mean.numpy()
        )
        assert moved is not freeze
        conv = layer(model, "stage2_conv1").kernel.numpy()
        assert not np.allclose(conv, layer(original, "stage2_conv1").kernel.numpy())

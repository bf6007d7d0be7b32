"""One training run, start to finish, described as a record a person can judge.

`conduct(spec, data, reporter)` trains the CNN (and k-fold copies when asked),
evaluates it on the test split, runs the classical baselines on the same split,
exports the model as a candidate, and returns the run record: a plain dict
that the app stores in its database and that `run.json` files carry. The
reporter hears about every phase and epoch as it happens, so progress can be
shown while the run goes on. Nothing here knows about Flask.
"""

from __future__ import annotations

import functools
import platform
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from importlib import metadata
from pathlib import Path

import numpy as np

from trainer.datasets import Dataset, DatasetError, Split, load_named, mix
from trainer.online import CREDITS as ONLINE_CREDITS
from trainer.train import TrainConfig, Trained

PROFILES: dict[str, TrainConfig] = {
    # Small network, no augmentation, three epochs: a check in about a minute.
    "quick": TrainConfig(
        epochs=3,
        polish_epochs=0,
        batch_size=128,
        lr=3e-3,
        val_split=0.0,
        augment=False,
        width=16,
        first_stage_convs=1,
        min_steps=400,
    ),
    # The bundled model's recipe: heavy augmentation for drawn digits, then a
    # short polish at a low learning rate.
    "full": TrainConfig(min_steps=1500),
}
BASELINE_SAMPLE = {"quick": 2_000, "full": 10_000}


@dataclass
class RunSpec:
    name: str
    datasets: list[str] = field(default_factory=lambda: ["mnist"])
    profile: str = "full"
    config: TrainConfig = field(default_factory=TrainConfig)
    kfold: int = 0
    train_cnn: bool = True
    baselines: bool = True
    baseline_sample: int = 10_000
    # Each confirmed flag appears this often per epoch (more drags MNIST along).
    feedback_weight: int = 5
    # Each drawing of the online writers appears this often per epoch, each
    # time rendered anew.
    online_weight: int = 3
    # How many drawings that are no digit the negatives dataset makes.
    negatives: int = 6000
    data_dir: str | None = None
    csv_path: str | None = None
    out_dir: str | None = None
    version: str | None = None

    def stored(self) -> dict:
        """The spec as a run keeps it (plain JSON); `from_stored` reads it back."""
        return {
            **self.params(),
            "datasets": list(self.datasets),
            "data_dir": self.data_dir,
            "csv_path": self.csv_path,
        }

    @classmethod
    def from_stored(cls, name: str, stored: dict) -> RunSpec:
        """A spec from what `stored` wrote (keys missing from older runs take the defaults)."""
        default = cls(name=name)
        config = TrainConfig(
            **{f.name: stored[f.name] for f in fields(TrainConfig) if f.name in stored}
        )
        return cls(
            name=name,
            datasets=list(stored.get("datasets") or default.datasets),
            profile=stored.get("profile") or default.profile,
            config=config,
            kfold=stored.get("kfold") or 0,
            train_cnn=stored.get("train_cnn", True),
            baselines=stored.get("baselines", True),
            baseline_sample=stored.get("baseline_sample") or default.baseline_sample,
            feedback_weight=stored.get("feedback_weight") or default.feedback_weight,
            online_weight=stored.get("online_weight") or default.online_weight,
            negatives=stored.get("negatives") or default.negatives,
            data_dir=stored.get("data_dir"),
            csv_path=stored.get("csv_path"),
        )

    def params(self) -> dict:
        return {
            "profile": self.profile,
            **asdict(self.config),
            "kfold": self.kfold,
            "train_cnn": self.train_cnn,
            "baselines": self.baselines,
            "baseline_sample": self.baseline_sample,
            "feedback_weight": self.feedback_weight if "feedback" in self.datasets else None,
            "online_weight": self.online_weight if "online" in self.datasets else None,
            "negatives": self.negatives if "negatives" in self.datasets else None,
        }


def profile_config(profile: str, **overrides) -> TrainConfig:
    """The profile's settings with every given (not None) override applied."""
    if profile not in PROFILES:
        raise ValueError(f"unknown profile {profile!r}: choose from {', '.join(PROFILES)}")
    return replace(PROFILES[profile], **{k: v for k, v in overrides.items() if v is not None})


class Reporter:
    """Hears a run's progress; the app's subclass writes it to the database."""

    def phase(self, text: str) -> None: ...

    def data(self, info: dict) -> None: ...

    def epoch(self, row: dict) -> None: ...

    def baseline(self, result: dict) -> None: ...


def load_data(spec: RunSpec, feedback: Dataset | None = None) -> Dataset:
    """The datasets named in the spec; later ones are mixed into the first.

    Feedback drawings are few, so they repeat `feedback_weight` times; the
    online writers' drawings `online_weight` times, each a new rendering.
    """
    if not spec.datasets:
        raise DatasetError("no dataset given")
    loaded = [
        load_named(
            name,
            data_dir=spec.data_dir,
            csv_path=spec.csv_path,
            seed=spec.config.seed,
            feedback=feedback,
            negatives=spec.negatives,
        )
        for name in spec.datasets
    ]
    data = loaded[0]
    weights = {"feedback": spec.feedback_weight, "online": spec.online_weight}
    for name, extra in zip(spec.datasets[1:], loaded[1:]):
        data = mix(data, extra, weights.get(name, 1))
    if len(data.train) == 0 or len(data.test) == 0:
        raise DatasetError(f"{data.name} needs both training and test images")
    return data


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for package in ("tensorflow", "keras", "numpy", "scikit-learn", "pillow", "ai-edge-litert"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def layer_summary(model) -> list[dict]:
    rows = []
    for layer in model.layers:
        shape = getattr(layer, "output", None)
        rows.append(
            {
                "name": layer.name,
                "type": type(layer).__name__,
                "output_shape": str(tuple(shape.shape)) if shape is not None else "",
                "params": int(layer.count_params()),
            }
        )
    return rows


def _fold_epoch(reporter: Reporter, fold: int, row: dict) -> None:
    reporter.epoch({**row, "fold": fold})


def kfold_scores(data: Dataset, cfg: TrainConfig, k: int, reporter: Reporter) -> dict:
    """Train k networks, each tested on the fold it never saw (stratified folds)."""
    from sklearn.model_selection import StratifiedKFold

    from trainer.train import fit_networks, predict_probabilities

    if k < 2:
        raise ValueError("k-fold needs k of at least 2")
    folds = []
    splitter = StratifiedKFold(n_splits=k, shuffle=True, random_state=cfg.seed)
    for number, (train_idx, test_idx) in enumerate(
        splitter.split(np.zeros(len(data.train)), data.train.labels), start=1
    ):
        reporter.phase(f"fold {number} of {k}")
        fold_data = Dataset(
            f"{data.name}-fold{number}",
            Split(data.train.images[train_idx], data.train.labels[train_idx]),
            Split(data.train.images[test_idx], data.train.labels[test_idx]),
        )
        trained = fit_networks(
            fold_data,
            replace(cfg, val_split=0.0),
            on_epoch=functools.partial(_fold_epoch, reporter, number),
        )
        probs = predict_probabilities(trained.model, fold_data.test.images)
        accuracy, loss = accuracy_and_loss(probs, fold_data.test.labels)
        folds.append(
            {
                "fold": number,
                "accuracy": accuracy,
                "loss": loss,
                "train": int(len(train_idx)),
                "test": int(len(test_idx)),
                "seconds": round(trained.seconds, 1),
            }
        )
    accuracies = np.array([f["accuracy"] for f in folds])
    return {
        "k": k,
        "folds": folds,
        "mean": float(accuracies.mean()),
        "std": float(accuracies.std(ddof=1)),
    }


def accuracy_and_loss(probabilities: np.ndarray, labels: np.ndarray) -> tuple[float, float]:
    """How often the top digit is right, and the mean cross-entropy of the true labels."""
    if not len(labels):
        return 0.0, 0.0
    accuracy = float((probabilities[:, :10].argmax(1) == labels).mean())
    picked = probabilities[np.arange(len(probabilities)), labels]
    return accuracy, float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())


def judge(
    probabilities_of: Callable[[np.ndarray], np.ndarray],
    data: Dataset,
    trained: Trained,
    test_probabilities: np.ndarray,
    data_dir: str | None = None,
) -> dict:
    """Calibrate on the validation images, choose the verdict's rule, measure every held-out set.

    `probabilities_of(images)` runs the model. The rule's thresholds are
    chosen on the held-out writers of the fixed suite (`trainer.yardstick`),
    people no recipe trains on, whatever this run was trained on. Returns
    the calibration (the temperature, ECE before and after, reliability
    bins), the rule and per-set scores.
    """
    from trainer.calibration import apply_temperature, fit_temperature, reliability
    from trainer.evaluate import set_scores
    from trainer.yardstick import rule_on_writers

    temperature = 1.0
    if trained.val_probabilities is not None and trained.val_labels is not None:
        temperature = fit_temperature(trained.val_probabilities, trained.val_labels)
    rule = rule_on_writers(
        lambda images: apply_temperature(probabilities_of(images), temperature), data_dir
    )
    sets = {"test": (test_probabilities, data.test.labels)}
    for name, split in data.holdout.items():
        sets[name] = (probabilities_of(split.images), split.labels)
    scores, ece = {}, {}
    for name, (probs, labels) in sets.items():
        calibrated = apply_temperature(probs, temperature)
        scores[name] = set_scores(calibrated, labels, rule)
        digits = labels < 10
        if digits.any():
            ece[name] = {
                "before": reliability(probs[digits], labels[digits]),
                "after": reliability(calibrated[digits], labels[digits]),
            }
    # The reliability diagram: people the model never saw, where there are some.
    shown = next((n for n in ece if n.startswith("online:")), "test")
    calibration = {
        "temperature": temperature,
        "fitted_on": int(len(trained.val_labels)) if trained.val_labels is not None else 0,
        "ece": {
            n: {"before": e["before"]["ece"], "after": e["after"]["ece"]} for n, e in ece.items()
        },
        "reliability": {
            "set": shown,
            "before": ece[shown]["before"]["bins"],
            "after": ece[shown]["after"]["bins"],
        }
        if shown in ece
        else None,
    }
    return {
        "calibration": calibration,
        "verdict_rule": rule.as_json(),
        "holdout": {n: scores[n] for n in data.holdout},
        "test_verdicts": scores["test"],
    }


def conduct(spec: RunSpec, data: Dataset, reporter: Reporter | None = None) -> dict:
    """Run everything the spec asks for; return the run record."""
    from trainer.baselines import run_baselines
    from trainer.calibration import digit_probabilities
    from trainer.evaluate import classification_metrics, confident_mistakes, label_distribution

    reporter = reporter or Reporter()
    started = time.monotonic()
    record: dict = {
        "name": spec.name,
        "profile": spec.profile,
        "params": spec.params(),
        "seed": spec.config.seed,
        "datasets": data.describe(),
        "train_size": int(len(data.train)),
        "test_size": int(len(data.test)),
        "label_distribution": label_distribution(data.train.labels),
        "versions": library_versions(),
    }
    reporter.data(record)
    if spec.train_cnn:
        from trainer.export import export_model
        from trainer.train import fit_networks, predict_probabilities

        reporter.phase("training")
        trained = fit_networks(
            data, spec.config, on_epoch=lambda row: reporter.epoch({**row, "fold": None})
        )
        model = trained.model
        record["history"] = trained.history
        record["train_seconds"] = round(trained.seconds, 1)
        record["layers"] = layer_summary(model)
        record["param_count"] = int(model.count_params())
        reporter.phase("evaluating")
        probs = predict_probabilities(model, data.test.images)
        record["metrics"] = classification_metrics(data.test.labels, digit_probabilities(probs))
        record["mistakes"] = confident_mistakes(
            data.test.images, data.test.labels, digit_probabilities(probs)
        )
        judged = judge(
            lambda images: predict_probabilities(model, images),
            data,
            trained,
            probs,
            spec.data_dir,
        )
        record["metrics"].update(judged)
        record["metrics"]["previews"] = data.previews
        if spec.kfold:
            record["kfold"] = kfold_scores(data, spec.config, spec.kfold, reporter)
        if spec.out_dir:
            reporter.phase("exporting")
            meta = export_model(
                model,
                Path(spec.out_dir),
                version=spec.version,
                extra={
                    "test_accuracy": record["metrics"]["accuracy"],
                    "test_loss": record["metrics"]["loss"],
                    "train_seconds": record["train_seconds"],
                    "run_name": spec.name,
                    "datasets": record["datasets"],
                    "config": asdict(spec.config),
                    "history": trained.history,
                    "classes": int(probs.shape[1]),
                    "temperature": judged["calibration"]["temperature"],
                    "verdict_rule": judged["verdict_rule"],
                    "holdout": judged["holdout"],
                    **({"credits": ONLINE_CREDITS} if "online" in spec.datasets else {}),
                },
                representative=data.train.images[::97],
                int8_sets={
                    "test": (data.test.images, data.test.labels),
                    **{n: (h.images, h.labels) for n, h in data.holdout.items()},
                },
            )
            record["artifacts"] = {
                "version": meta["version"],
                "dir": str(spec.out_dir),
                "files": meta["files"],
                "serve": meta.get("serve"),
            }
            if "quantized" in meta:
                record["metrics"]["quantized"] = meta["quantized"]
    if spec.baselines:
        reporter.phase("baselines")
        # Baselines learn digits; drawings that are no digit are the CNN's alone.
        digits = Dataset(
            data.name,
            Split(
                data.train.images[data.train.labels < 10], data.train.labels[data.train.labels < 10]
            ),
            data.test,
        )
        record["baselines"] = run_baselines(
            digits, spec.baseline_sample, spec.config.seed, on_result=reporter.baseline
        )
    record["duration_seconds"] = round(time.monotonic() - started, 1)
    return record

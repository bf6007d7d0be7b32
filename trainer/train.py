"""Train the CNN on MNIST: prepare data, build, train, evaluate, export."""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from trainer.datasets import Dataset, load_mnist


@dataclass
class TrainConfig:
    epochs: int = 20
    batch_size: int = 128
    lr: float = 2e-3
    val_split: float = 0.05
    seed: int = 1
    augment: bool = True
    width: int = 32
    first_stage_convs: int = 2
    last_stage_convs: int = 1
    # Final epochs at a low learning rate with light augmentation only: the
    # heavy augmentation makes the network robust, these sharpen it on MNIST.
    polish_epochs: int = 4
    init_from: str = ""
    # Fine-tuning: keep the batch-norm statistics learnt on MNIST, so a few
    # repeated drawings in every batch do not shift them.
    freeze_batchnorm: bool = False


@dataclass
class TrainResult:
    model: object
    history: list[dict] = field(default_factory=list)
    test_accuracy: float = 0.0
    test_loss: float = 0.0
    seconds: float = 0.0
    test_probabilities: np.ndarray | None = None


EpochCallback = Callable[[dict], None]


def _datasets(data: Dataset, cfg: TrainConfig, light: bool = False):
    import tensorflow as tf

    from trainer.augment import LIGHT, AugmentConfig, augment_batch

    aug_cfg = LIGHT if light else AugmentConfig()

    rng = np.random.default_rng(cfg.seed)
    order = rng.permutation(len(data.train))
    n_val = int(round(len(order) * cfg.val_split))
    val_idx, train_idx = order[:n_val], order[n_val:]
    x = data.train.images[..., None]
    y = data.train.labels
    train = (
        tf.data.Dataset.from_tensor_slices((x[train_idx], y[train_idx]))
        .shuffle(len(train_idx), seed=cfg.seed, reshuffle_each_iteration=True)
        .batch(cfg.batch_size)
    )
    if cfg.augment:
        train = train.map(lambda a, b: (augment_batch(a, aug_cfg), b),
                          num_parallel_calls=tf.data.AUTOTUNE)
    train = train.prefetch(tf.data.AUTOTUNE)
    val = None
    if n_val:
        val = tf.data.Dataset.from_tensor_slices((x[val_idx], y[val_idx])).batch(512)
    return train, val, len(train_idx)


def train(data: Dataset, cfg: TrainConfig, on_epoch: EpochCallback | None = None) -> TrainResult:
    """Train a fresh model with a one-cycle learning rate; evaluate on the test split."""
    import keras

    from trainer.model import build_model

    keras.utils.set_random_seed(cfg.seed)
    train_ds, val_ds, n_train = _datasets(data, cfg)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    steps = steps_per_epoch * cfg.epochs
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=cfg.lr / 10,
        decay_steps=max(1, steps - steps // 10),
        warmup_target=cfg.lr,
        warmup_steps=steps // 10,
        alpha=0.01,
    )
    if cfg.init_from:
        model = keras.saving.load_model(cfg.init_from)
    else:
        model = build_model(width=cfg.width, first_stage_convs=cfg.first_stage_convs,
                            last_stage_convs=cfg.last_stage_convs)
    if cfg.freeze_batchnorm:
        for layer in model.layers:
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    result = TrainResult(model=model)
    started = time.monotonic()
    total_epochs = cfg.epochs + cfg.polish_epochs

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            seconds = time.monotonic() - self.t0
            row = {
                "epoch": epoch + 1,
                "loss": float(logs.get("loss", float("nan"))),
                "accuracy": float(logs.get("accuracy", float("nan"))),
                "val_loss": float(logs["val_loss"]) if "val_loss" in logs else None,
                "val_accuracy": float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
                "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                "seconds": seconds,
                "eta_seconds": seconds * (total_epochs - len(result.history) - 1),
            }
            row["epoch"] = len(result.history) + 1
            result.history.append(row)
            if on_epoch:
                on_epoch(row)

    if cfg.epochs:
        model.fit(train_ds, validation_data=val_ds, epochs=cfg.epochs, verbose=0, shuffle=False,
                  callbacks=[Progress()])
    if cfg.polish_epochs:
        light_ds, _, _ = _datasets(data, cfg, light=True)
        polish = keras.optimizers.schedules.CosineDecay(
            cfg.lr / 20, steps_per_epoch * cfg.polish_epochs, alpha=0.01)
        model.compile(optimizer=keras.optimizers.Adam(polish),
                      loss="sparse_categorical_crossentropy", metrics=["accuracy"])
        model.fit(light_ds, validation_data=val_ds, epochs=cfg.polish_epochs, verbose=0, shuffle=False,
                  callbacks=[Progress()])
    result.seconds = time.monotonic() - started
    if len(data.test):
        probs = model.predict(data.test.images[..., None], batch_size=1000, verbose=0)
        result.test_probabilities = probs
        result.test_accuracy = float((probs.argmax(1) == data.test.labels).mean())
        picked = probs[np.arange(len(probs)), data.test.labels]
        result.test_loss = float(-np.log(np.clip(picked, 1e-7, 1.0)).mean())
    return result


def print_epoch(row: dict) -> None:
    val = (f" val_loss {row['val_loss']:.4f} val_acc {row['val_accuracy']:.4f}"
           if row["val_loss"] is not None else "")
    print(f"epoch {row['epoch']:>3}  loss {row['loss']:.4f} acc {row['accuracy']:.4f}{val}"
          f"  lr {row['lr']:.2e}  {row['seconds']:.0f}s  (about {row['eta_seconds']:.0f}s left)",
          flush=True)


def main(argv: list[str] | None = None) -> None:
    from trainer.export import export_model

    parser = argparse.ArgumentParser(description="Train DigitPad's CNN on MNIST.")
    parser.add_argument("--data-dir", help="folder with the MNIST IDX files")
    parser.add_argument("--out", default="models/default", help="where to write the model files")
    parser.add_argument("--version", default=None, help="model version name")
    for name, value in asdict(TrainConfig()).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=value)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    args = parser.parse_args(argv)
    cfg = TrainConfig(**{k: getattr(args, k) for k in asdict(TrainConfig())})
    data = load_mnist(args.data_dir)
    print(f"training on {len(data.train)} MNIST images: {cfg}", flush=True)
    result = train(data, cfg, on_epoch=print_epoch)
    print(f"test accuracy {result.test_accuracy:.4%}  loss {result.test_loss:.4f}  "
          f"in {result.seconds:.0f}s", flush=True)
    meta = export_model(result.model, Path(args.out), version=args.version,
                        extra={"test_accuracy": result.test_accuracy,
                               "test_loss": result.test_loss,
                               "train_seconds": round(result.seconds, 1),
                               "config": asdict(cfg), "history": result.history})
    print(json.dumps({k: v for k, v in meta.items() if k != "history"}, indent=2))


if __name__ == "__main__":
    main()

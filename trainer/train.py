"""Train the CNN: prepare data, build, train, evaluate, export.

Two things keep small datasets from breaking training (the seeds' UCI digits,
a CSV of a few thousand rows): every run takes at least `min_steps` optimiser
steps (more epochs when the data is short), and after training the batch-norm
statistics are measured exactly on the training images. Keras keeps them as a
moving average that needs hundreds of steps to forget its initial values; a
short run otherwise serves a network that scored 98% in training at chance.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trainer.datasets import Dataset


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
    # Short datasets train for more epochs, so that every run takes at least
    # this many optimiser steps (0: exactly `epochs`).
    min_steps: int = 0
    # Networks trained with seeds seed, seed+1, ...; served as their average.
    ensemble: int = 1


@dataclass
class Trained:
    """What training produced: the network, its epochs, and its validation outputs.

    Nothing is evaluated on the test split here; that is the experiment's.
    """

    model: Any
    history: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    # The validation images' probabilities and labels: what calibration is fitted on.
    val_probabilities: np.ndarray | None = None
    val_labels: np.ndarray | None = None


EpochCallback = Callable[[dict], None]


def validation_indices(size: int, cfg: TrainConfig) -> tuple[np.ndarray, np.ndarray]:
    """(validation, training) indices of a training split, fixed by the seed."""
    order = np.random.default_rng(cfg.seed).permutation(size)
    n_val = int(round(size * cfg.val_split))
    return order[:n_val], order[n_val:]


def _datasets(data: Dataset, cfg: TrainConfig, light: bool = False, epoch: int = 0):
    """The epoch's training batches (augmented) and the validation images.

    The validation indices depend only on the seed: drawn data is rendered
    anew for each epoch, but a sample is always on the same side.
    """
    import tensorflow as tf

    from trainer.augment import LIGHT, AugmentConfig, augment_batch

    aug_cfg = LIGHT if light else AugmentConfig()
    split = data.train_for_epoch(epoch)
    val_idx, train_idx = validation_indices(len(split), cfg)
    x = split.images[..., None]
    y = split.labels
    train = (
        tf.data.Dataset.from_tensor_slices((x[train_idx], y[train_idx]))
        .shuffle(len(train_idx), seed=cfg.seed + epoch, reshuffle_each_iteration=True)
        .batch(cfg.batch_size)
    )
    if cfg.augment:
        train = train.map(
            lambda a, b: (augment_batch(a, aug_cfg), b), num_parallel_calls=tf.data.AUTOTUNE
        )
    train = train.prefetch(tf.data.AUTOTUNE)
    val = None
    if len(val_idx):
        val = tf.data.Dataset.from_tensor_slices((x[val_idx], y[val_idx])).batch(512)
    return train, val, len(train_idx)


def class_count(data: Dataset) -> int:
    """Ten digits, plus "not a digit" when the data has such drawings."""
    from trainer.calibration import NOT_A_DIGIT

    return 11 if (data.train.labels == NOT_A_DIGIT).any() else 10


def epochs_for(cfg: TrainConfig, steps_per_epoch: int) -> int:
    """The profile's epochs, or more when the data is too short for min_steps."""
    if not cfg.epochs:
        return 0
    return max(cfg.epochs, math.ceil(cfg.min_steps / max(1, steps_per_epoch)))


def all_layers(model):
    """Every layer, including those inside nested models (an ensemble's members)."""
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from all_layers(layer)


def recalibrate_batchnorm(
    model, images: np.ndarray, batch: int = 1024, limit: int = 16_384, seed: int = 0
) -> None:
    """Set every batch-norm layer's statistics to their exact training-set values.

    A running mean over up to `limit` training images, in training mode
    (dropout as in training), replaces Keras's moving average.
    """
    import keras

    norms = [
        layer
        for layer in all_layers(model)
        if isinstance(layer, keras.layers.BatchNormalization) and layer.trainable
    ]
    if not norms or not len(images):
        return
    pick = np.random.default_rng(seed).permutation(len(images))[:limit]
    saved = [layer.momentum for layer in norms]
    try:
        for i, start in enumerate(range(0, len(pick), batch)):
            for layer in norms:
                layer.momentum = i / (i + 1)  # an exact running mean of the chunks
            chunk = images[np.sort(pick[start : start + batch])][..., None]
            model(chunk, training=True)
    finally:
        for layer, momentum in zip(norms, saved):
            layer.momentum = momentum


def fit_networks(data: Dataset, cfg: TrainConfig, on_epoch: EpochCallback | None = None) -> Trained:
    """Train `cfg.ensemble` networks (one by default) on the training split; their average.

    The test split is never looked at: the caller evaluates what comes back.
    """
    import keras

    started = time.monotonic()
    members: list[Any] = []
    history: list[dict] = []
    for member in range(max(1, cfg.ensemble)):
        network, rows = _train_one(data, cfg, on_epoch, member, max(1, cfg.ensemble), len(history))
        members.append(network)
        history.extend(rows)
    if len(members) == 1:
        model = members[0]
    else:
        inputs = keras.Input(shape=(28, 28, 1), name="image")
        for i, member in enumerate(members):
            member.name = f"member{i + 1}"
        outputs = keras.layers.Average(name="probabilities")([m(inputs) for m in members])
        model = keras.Model(inputs, outputs, name="digitpad_ensemble")
    trained = Trained(model=model, history=history, seconds=time.monotonic() - started)
    split = data.train_for_epoch(0)
    val_idx, _ = validation_indices(len(split), cfg)
    if len(val_idx):
        trained.val_probabilities = predict_probabilities(model, split.images[val_idx])
        trained.val_labels = split.labels[val_idx]
    return trained


def predict_probabilities(model, images: np.ndarray) -> np.ndarray:
    """The model's output for (n, 28, 28) images, in batches (no Keras predict loop)."""
    outs = [
        np.asarray(model(images[i : i + 1000][..., None], training=False))
        for i in range(0, len(images), 1000)
    ]
    return np.concatenate(outs) if outs else np.zeros((0, 10), np.float32)


def _train_one(
    data: Dataset,
    cfg: TrainConfig,
    on_epoch: EpochCallback | None,
    member: int,
    members: int,
    epochs_before: int,
) -> tuple[Any, list[dict]]:
    """One member network and its epoch rows (numbered after `epochs_before` earlier ones)."""
    import keras

    from trainer.model import build_model

    # Members differ in their seed; all keep the same validation images out.
    keras.utils.set_random_seed(cfg.seed + member)
    train_ds, val_ds, n_train = _datasets(data, cfg)
    steps_per_epoch = math.ceil(n_train / cfg.batch_size)
    epochs = epochs_for(cfg, steps_per_epoch)
    steps = steps_per_epoch * epochs
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
        model = build_model(
            width=cfg.width,
            first_stage_convs=cfg.first_stage_convs,
            last_stage_convs=cfg.last_stage_convs,
            classes=class_count(data),
        )
    if cfg.freeze_batchnorm:
        for layer in all_layers(model):
            if isinstance(layer, keras.layers.BatchNormalization):
                layer.trainable = False
    model.compile(
        optimizer=keras.optimizers.Adam(schedule),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    total_epochs = (epochs + cfg.polish_epochs) * members
    history: list[dict] = []

    class Progress(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.t0 = time.monotonic()

        def on_epoch_end(self, epoch, logs=None):
            logs = logs or {}
            seconds = time.monotonic() - self.t0
            row = {
                "epoch": epochs_before + len(history) + 1,
                "loss": float(logs.get("loss", float("nan"))),
                "accuracy": float(logs.get("accuracy", float("nan"))),
                "val_loss": float(logs["val_loss"]) if "val_loss" in logs else None,
                "val_accuracy": float(logs["val_accuracy"]) if "val_accuracy" in logs else None,
                "lr": float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)),
                "seconds": seconds,
                "eta_seconds": seconds * (total_epochs - epochs_before - len(history) - 1),
            }
            if members > 1:
                row["member"] = member + 1
            history.append(row)
            if on_epoch:
                on_epoch(row)

    def fit(count: int, light: bool, first: tuple | None = None) -> None:
        """`count` epochs; drawn data gets a fresh rendering for each."""
        if data.renderer is None:
            datasets = first or _datasets(data, cfg, light=light)
            model.fit(
                datasets[0],
                validation_data=datasets[1],
                epochs=count,
                verbose=0,
                shuffle=False,
                callbacks=[Progress()],
            )
            return
        for epoch in range(count):
            index = epochs_before + len(history)
            datasets = first if (first and epoch == 0) else _datasets(data, cfg, light, index)
            model.fit(
                datasets[0],
                validation_data=datasets[1],
                epochs=1,
                verbose=0,
                shuffle=False,
                callbacks=[Progress()],
            )

    if epochs:
        fit(epochs, light=False, first=(train_ds, val_ds))
    if cfg.polish_epochs:
        polish = keras.optimizers.schedules.CosineDecay(
            cfg.lr / 20, steps_per_epoch * cfg.polish_epochs, alpha=0.01
        )
        model.compile(
            optimizer=keras.optimizers.Adam(polish),
            loss="sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        fit(cfg.polish_epochs, light=True)
    if not cfg.freeze_batchnorm:
        recalibrate_batchnorm(model, data.train_for_epoch(0).images, seed=cfg.seed)
    return model, history

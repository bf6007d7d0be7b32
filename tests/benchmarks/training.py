"""Training-time benchmark: the profiles against the Keras reference convnet.

    .venv/bin/python -m tests.benchmarks.training            # quick + reference
    .venv/bin/python -m tests.benchmarks.training --full     # and the full profile (~20 min)

Each entry trains from scratch on the 60,000 MNIST training images and is
scored on the 10,000 test images. Times are training time (data already in
memory), measured in the same invocation, so the ratio to the reference holds
on a noisy machine. Targets: quick >= 99.2% in <= 60 s, full >= 99.65% in
<= 20 min.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

import numpy as np

from trainer.datasets import load_mnist


def keras_reference(data, epochs: int = 12, seed: int = 1) -> tuple[float, float, int]:
    """The Keras example's MNIST convnet, as published: (accuracy, seconds, parameters)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(32, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Conv2D(64, kernel_size=(3, 3), activation="relu"),
            layers.MaxPooling2D(pool_size=(2, 2)),
            layers.Flatten(),
            layers.Dropout(0.5),
            layers.Dense(10, activation="softmax"),
        ]
    )
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    y = keras.utils.to_categorical(data.train.labels, 10)
    started = time.perf_counter()
    model.fit(
        data.train.images[..., None],
        y,
        batch_size=128,
        epochs=epochs,
        validation_split=0.1,
        verbose=0,
    )
    seconds = time.perf_counter() - started
    probs = model.predict(data.test.images[..., None], batch_size=1000, verbose=0)
    return float((probs.argmax(1) == data.test.labels).mean()), seconds, model.count_params()


def profile_run(data, profile: str) -> tuple[float, float, int]:
    from trainer.experiment import PROFILES, accuracy_and_loss
    from trainer.train import fit_networks, predict_probabilities

    trained = fit_networks(data, replace(PROFILES[profile]))
    probs = predict_probabilities(trained.model, data.test.images)
    accuracy, _ = accuracy_and_loss(probs, data.test.labels)
    return accuracy, trained.seconds, int(trained.model.count_params())


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir")
    parser.add_argument("--full", action="store_true", help="also train the full profile")
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args(argv)
    data = load_mnist(args.data_dir)
    targets = {"quick": (0.992, 60), "full": (0.9965, 1200)}
    rows = []
    for profile in ["quick"] + (["full"] if args.full else []):
        acc, secs, params = profile_run(data, profile)
        rows.append((f"profile {profile}", acc, secs, params, targets[profile]))
        print(f"{rows[-1][0]}: {acc:.4%} in {secs:.0f}s", flush=True)
    if not args.no_reference:
        acc, secs, params = keras_reference(data)
        rows.append(("keras reference (12 epochs)", acc, secs, params, None))
    reference = rows[-1][2] if not args.no_reference else None
    print(f"\n{'model':<30} {'params':>8} {'accuracy':>9} {'seconds':>8} {'vs ref':>7}  target")
    for name, acc, secs, params, target in rows:
        ratio = f"{secs / reference:.2f}x" if reference else "-"
        verdict = ""
        if target:
            ok = acc >= target[0] and secs <= target[1]
            verdict = f">= {target[0]:.2%} in <= {target[1]}s: {'met' if ok else 'NOT met'}"
        print(f"{name:<30} {params:>8,} {acc:>9.4%} {secs:>8.1f} {ratio:>7}  {verdict}")
    print(f"(numpy {np.__version__}; times are training only, data in memory)")


if __name__ == "__main__":
    main()

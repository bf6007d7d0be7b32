"""Command-line tools: `flask train`, `flask predict FILE`."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask, current_app


def register(app: Flask) -> None:
    @app.cli.command("train")
    @click.option("--data-dir", type=click.Path(file_okay=False), help="folder with the MNIST IDX files (default: $MNIST_DIR, then ../shared/data/mnist)")
    @click.option("--out", type=click.Path(file_okay=False), default="models/candidate", show_default=True, help="where the model files go")
    @click.option("--epochs", type=int, default=20, show_default=True)
    @click.option("--batch-size", type=int, default=128, show_default=True)
    @click.option("--lr", type=float, default=2e-3, show_default=True)
    @click.option("--val-split", type=float, default=0.05, show_default=True)
    @click.option("--seed", type=int, default=1, show_default=True)
    @click.option("--augment/--no-augment", default=True, show_default=True)
    @click.option("--version", "version", default=None, help="version name of the new model")
    def train(data_dir, out, epochs, batch_size, lr, val_split, seed, augment, version):
        """Train the CNN on MNIST and export .keras, .tflite and model.json."""
        from trainer import train as training

        args = ["--out", out, "--epochs", str(epochs), "--batch-size", str(batch_size),
                "--lr", str(lr), "--val-split", str(val_split), "--seed", str(seed),
                "--augment" if augment else "--no-augment"]
        if data_dir:
            args += ["--data-dir", data_dir]
        if version:
            args += ["--version", version]
        training.main(args)

    @app.cli.command("predict")
    @click.argument("image", type=click.Path(exists=True, dir_okay=False))
    def predict(image):
        """Print the digit the served model sees in IMAGE (not stored)."""
        from app.services import drawings, predictions

        drawing = drawings.from_image_bytes(Path(image).read_bytes())
        result = predictions.predict(drawing, store=False)
        click.echo(f"{result.digit} ({result.confidence:.1%}) by {result.model_version} "
                   f"from {current_app.config['MODEL_DIR']}")

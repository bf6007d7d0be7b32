"""The CNN on small datasets against the classical baselines on the same split.

Runs through the same path as `flask train` (a recorded run on a scratch
database): the UCI optical digits with the `full` profile, and a CSV of
6,000 MNIST training digits (Kaggle layout) with the `quick` profile. For
each it prints the CNN's test accuracy beside every baseline's and whether the
run was marked suspect.

    python -m tests.benchmarks.small_datasets [--csv-rows 6000]
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np


def write_csv(path: Path, images: np.ndarray, labels: np.ndarray) -> Path:
    pixels = np.uint8(np.round(images.reshape(len(images), -1) * 255))
    rows = ["label," + ",".join(f"pixel{i}" for i in range(784))]
    rows += [f"{label}," + ",".join(map(str, row)) for label, row in zip(labels, pixels)]
    path.write_text("\n".join(rows) + "\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--csv-rows", type=int, default=6000)
    args = parser.parse_args()
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db
    from app.models import TrainingRun
    from trainer.datasets import load_mnist

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite3",
                "CANDIDATES_DIR": f"{tmp}/models",
            }
        )
        with app.app_context():
            upgrade()
        mnist = load_mnist()
        pick = np.random.default_rng(0).choice(len(mnist.train), args.csv_rows, replace=False)
        csv_path = write_csv(
            Path(tmp) / "digits.csv", mnist.train.images[pick], mnist.train.labels[pick]
        )
        runner = app.test_cli_runner()
        jobs = [
            ("uci-digits, full profile", ["--profile", "full", "--dataset", "uci-digits"]),
            (
                f"CSV of {args.csv_rows:,} digits, quick profile",
                ["--profile", "quick", "--dataset", "csv", "--csv", str(csv_path)],
            ),
        ]
        for title, options in jobs:
            result = runner.invoke(args=["train", *options, "--name", title])
            assert result.exit_code == 0, result.output
            with app.app_context():
                run = db.session.query(TrainingRun).order_by(TrainingRun.id.desc()).first()
                baselines = "  ".join(f"{b.name} {b.accuracy:.2%}" for b in run.baselines)
                print(
                    f"{title}: CNN {run.test_accuracy:.2%} on {run.test_size} test images "
                    f"({len(run.main_epochs)} epochs, {run.duration_seconds:.0f} s); {baselines}; "
                    f"suspect: {run.suspect or 'no'}",
                    flush=True,
                )


if __name__ == "__main__":
    main()

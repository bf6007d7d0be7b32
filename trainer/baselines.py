"""The classical models the CNN must beat, on the same split and preprocessing.

Each sees the 784 pixels of the same 28x28 images the CNN sees. SVM and k-NN
grow slow with the training set, so every baseline trains on a stratified
sub-sample of at most `sample` images (recorded with its result); all are
tested on the whole test split.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn import metrics
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC

from trainer.datasets import Dataset

DEFAULT_SAMPLE = 10_000


def baseline_models(seed: int = 0) -> dict[str, Any]:
    return {
        "logistic_regression": make_pipeline(
            StandardScaler(), LogisticRegression(C=0.05, max_iter=300, random_state=seed)
        ),
        "svm_rbf": SVC(kernel="rbf", C=5.0, gamma="scale", random_state=seed),
        "random_forest": RandomForestClassifier(n_estimators=200, n_jobs=-1, random_state=seed),
        "knn": KNeighborsClassifier(n_neighbors=3, weights="distance", n_jobs=-1),
    }


def stratified_sample(labels: np.ndarray, size: int, seed: int = 0) -> np.ndarray:
    """Indices of exactly `size` items (all if fewer) keeping the digits' proportions."""
    if size >= len(labels):
        return np.arange(len(labels))
    from sklearn.model_selection import train_test_split

    try:
        chosen, _ = train_test_split(
            np.arange(len(labels)), train_size=size, stratify=labels, random_state=seed
        )
    except ValueError:  # a digit too rare to stratify: sample plainly
        chosen = np.random.default_rng(seed).choice(len(labels), size, replace=False)
    return np.sort(chosen)


def run_baselines(
    data: Dataset,
    sample: int = DEFAULT_SAMPLE,
    seed: int = 0,
    names: list[str] | None = None,
    on_result: Callable[[dict], None] | None = None,
) -> list[dict]:
    """Fit and test every baseline; one result dict per model."""
    idx = stratified_sample(data.train.labels, sample, seed)
    x_train = data.train.images[idx].reshape(len(idx), -1)
    y_train = data.train.labels[idx]
    x_test = data.test.images.reshape(len(data.test), -1)
    y_test = data.test.labels
    results = []
    for name, model in baseline_models(seed).items():
        if names and name not in names:
            continue
        started = time.perf_counter()
        model.fit(x_train, y_train)
        fit_seconds = time.perf_counter() - started
        started = time.perf_counter()
        predicted = model.predict(x_test)
        predict_seconds = time.perf_counter() - started
        result = {
            "name": name,
            "accuracy": float(metrics.accuracy_score(y_test, predicted)),
            "macro_f1": float(
                metrics.f1_score(
                    y_test, predicted, average="macro", labels=list(range(10)), zero_division=0
                )
            ),
            "fit_seconds": fit_seconds,
            "predict_ms_per_image": 1000 * predict_seconds / max(1, len(y_test)),
            "train_samples": int(len(idx)),
            "test_samples": int(len(y_test)),
            "params": _params(model),
        }
        results.append(result)
        if on_result:
            on_result(result)
    return results


def _params(model) -> dict:
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    keep = ("C", "kernel", "gamma", "n_estimators", "n_neighbors", "weights", "max_iter")
    return {k: v for k, v in estimator.get_params().items() if k in keep}

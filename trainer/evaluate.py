"""Judge a classifier's test predictions with scikit-learn's metrics."""

from __future__ import annotations

import base64

import numpy as np
from sklearn import metrics

DIGITS = list(range(10))


def _num(value) -> float | None:
    value = float(value)
    return None if np.isnan(value) else value


def classification_metrics(labels: np.ndarray, probabilities: np.ndarray) -> dict:
    """Accuracy, loss, per-class and averaged precision/recall/F1, ROC AUC, confusion.

    ROC AUC is one-vs-rest per digit; a digit absent from `labels` has no AUC
    (None) and the macro AUC averages the digits that have one.
    """
    labels = np.asarray(labels, dtype=np.int64)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    predicted = probabilities.argmax(axis=1)
    precision, recall, f1, support = metrics.precision_recall_fscore_support(
        labels, predicted, labels=DIGITS, zero_division=0
    )
    per_class = []
    aucs = []
    for digit in DIGITS:
        positives = labels == digit
        auc = None
        if 0 < positives.sum() < len(labels):
            auc = float(metrics.roc_auc_score(positives, probabilities[:, digit]))
            aucs.append(auc)
        per_class.append(
            {
                "digit": digit,
                "precision": float(precision[digit]),
                "recall": float(recall[digit]),
                "f1": float(f1[digit]),
                "support": int(support[digit]),
                "roc_auc": auc,
            }
        )
    averages: dict[str, dict[str, float | None]] = {}
    for average in ("macro", "weighted"):
        p, r, f, _ = metrics.precision_recall_fscore_support(
            labels, predicted, labels=DIGITS, average=average, zero_division=0
        )
        averages[average] = {"precision": float(p), "recall": float(r), "f1": float(f)}
    averages["macro"]["roc_auc"] = float(np.mean(aucs)) if aucs else None
    clipped = np.clip(probabilities, 1e-7, 1.0)
    return {
        "accuracy": float(metrics.accuracy_score(labels, predicted)),
        "loss": float(
            metrics.log_loss(labels, clipped / clipped.sum(1, keepdims=True), labels=DIGITS)
        ),
        "samples": int(len(labels)),
        "per_class": per_class,
        "macro": averages["macro"],
        "weighted": averages["weighted"],
        "confusion_matrix": metrics.confusion_matrix(labels, predicted, labels=DIGITS).tolist(),
        "report": metrics.classification_report(
            labels,
            predicted,
            labels=DIGITS,
            target_names=[str(d) for d in DIGITS],
            digits=4,
            zero_division=0,
        ),
    }


def confident_mistakes(
    images: np.ndarray, labels: np.ndarray, probabilities: np.ndarray, limit: int = 24
) -> list[dict]:
    """The wrong answers the model was surest of, most confident first, with their images."""
    from trainer.preprocessing import to_png

    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != labels)
    confidence = probabilities[wrong, predicted[wrong]]
    order = wrong[np.argsort(-confidence, kind="stable")][:limit]
    return [
        {
            "index": int(i),
            "true": int(labels[i]),
            "predicted": int(predicted[i]),
            "confidence": float(probabilities[i, predicted[i]]),
            "png": base64.b64encode(to_png(images[i])).decode(),
        }
        for i in order
    ]


def set_scores(probabilities: np.ndarray, labels: np.ndarray, rule=None) -> dict:
    """A held-out set judged as served: digit accuracy and the verdicts' shares.

    `probabilities` are calibrated. Digits count as read right when the top
    digit is right; a set of non-digits (label 10) only has a refusal rate.
    """
    from trainer.calibration import DEFAULT_RULE, NOT_A_DIGIT, Verdict, verdicts

    labels = np.asarray(labels, np.int64)
    said = verdicts(probabilities, rule or DEFAULT_RULE)
    share = {v: (sum(s == v for s in said) / len(said)) if said else None for v in Verdict}
    digits = labels != NOT_A_DIGIT
    accuracy = None
    if digits.any():
        accuracy = float((probabilities[digits, :10].argmax(1) == labels[digits]).mean())
    return {
        "samples": int(len(labels)),
        "accuracy": accuracy,
        "refused": share[Verdict.NOT_A_DIGIT],
        "unsure": share[Verdict.UNSURE],
    }


def label_distribution(labels: np.ndarray) -> list[int]:
    return np.bincount(np.asarray(labels, dtype=np.int64), minlength=10)[:10].tolist()

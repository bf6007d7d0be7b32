"""Calibrated probabilities and the verdict: sure, unsure, or not a digit.

NumPy only: the web app applies the same functions to every prediction that
the trainer used to fit and judge them.

A network's softmax is over-confident ("100.0% sure" for almost anything).
Temperature scaling divides its log-probabilities by one number T, fitted on
held-out data to minimise the log loss; T > 1 softens. The expected
calibration error (ECE) says how far confidence is from accuracy on average.
"""

from __future__ import annotations

import numpy as np

NOT_A_DIGIT = 10
# The verdict's rules, on calibrated probabilities.
REJECT_AT = 0.5  # P(not a digit) at or above this: "not_a_digit"
SURE_AT = 0.75  # top digit's probability below this: "unsure"
ALTERNATIVE_AT = 0.08  # digits at least this likely are offered when unsure
MAX_ALTERNATIVES = 3


def apply_temperature(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """Rescale probabilities (rows summing to 1) by a temperature."""
    p = np.asarray(probabilities, np.float64)
    logits = np.log(np.clip(p, 1e-12, 1.0)) / float(temperature)
    logits -= logits.max(axis=-1, keepdims=True)
    scaled = np.exp(logits)
    return scaled / scaled.sum(axis=-1, keepdims=True)


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The temperature (0.3-10) that minimises the log loss on these labels."""
    labels = np.asarray(labels, np.int64)
    if not len(labels):
        return 1.0
    rows = np.arange(len(labels))

    def loss(t: float) -> float:
        return float(-np.log(np.clip(apply_temperature(probabilities, t)[rows, labels],
                                     1e-12, 1.0)).mean())

    # The loss is unimodal in log T: golden-section search.
    lo, hi = np.log(0.3), np.log(10.0)
    ratio = (np.sqrt(5) - 1) / 2
    for _ in range(60):
        a, b = hi - ratio * (hi - lo), lo + ratio * (hi - lo)
        if loss(np.exp(a)) < loss(np.exp(b)):
            hi = b
        else:
            lo = a
    return float(np.exp((lo + hi) / 2))


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = 10) -> dict:
    """Confidence against accuracy in equal-width bins, and the ECE they give."""
    p = np.asarray(probabilities, np.float64)
    labels = np.asarray(labels, np.int64)
    confidence = p.max(axis=1) if len(p) else np.zeros(0)
    correct = (p.argmax(axis=1) == labels) if len(p) else np.zeros(0, bool)
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows, ece = [], 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):
        inside = (confidence > lo) & (confidence <= hi)
        count = int(inside.sum())
        row = {"lo": float(lo), "hi": float(hi), "count": count,
               "confidence": float(confidence[inside].mean()) if count else None,
               "accuracy": float(correct[inside].mean()) if count else None}
        if count:
            ece += count / len(p) * abs(row["confidence"] - row["accuracy"])
        rows.append(row)
    return {"ece": float(ece), "samples": int(len(p)), "bins": rows}


def verdict(probabilities: np.ndarray) -> tuple[str, list[int]]:
    """"sure", "unsure" (with the likely digits, most likely first) or "not_a_digit".

    `probabilities` are calibrated: ten digits, or eleven with "not a digit" last.
    """
    p = np.asarray(probabilities, np.float64)
    if len(p) > NOT_A_DIGIT and p[NOT_A_DIGIT] >= REJECT_AT:
        return "not_a_digit", []
    digits = p[:NOT_A_DIGIT]
    order = np.argsort(-digits, kind="stable")
    if digits[order[0]] >= SURE_AT:
        return "sure", []
    likely = [int(d) for d in order[:MAX_ALTERNATIVES] if digits[d] >= ALTERNATIVE_AT]
    return "unsure", likely if len(likely) >= 2 else [int(d) for d in order[:2]]


def verdicts(probabilities: np.ndarray) -> list[str]:
    return [verdict(row)[0] for row in np.asarray(probabilities)]


def digit_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """The ten digits' probabilities given that the drawing is a digit (rows sum to 1)."""
    p = np.asarray(probabilities, np.float64)[..., :NOT_A_DIGIT]
    return p / np.clip(p.sum(axis=-1, keepdims=True), 1e-12, None)

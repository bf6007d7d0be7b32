"""Calibrated probabilities and the verdict: sure, unsure, or not a digit.

NumPy only: the web app applies the same functions to every prediction that
the trainer used to fit and judge them.

A network's softmax is over-confident ("100.0% sure" for almost anything).
Temperature scaling divides its log-probabilities by one number T, fitted on
held-out data to minimise the log loss; T > 1 softens. The expected
calibration error (ECE) says how far confidence is from accuracy on average.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any

import numpy as np

NOT_A_DIGIT = 10


class Verdict(StrEnum):
    """What the app says of a drawing: a digit it is sure of, a guess, or no digit at all."""

    SURE = "sure"
    UNSURE = "unsure"
    NOT_A_DIGIT = "not_a_digit"


# An unsure answer offers the likeliest digits that together hold this much
# of the probability (at least two).
LIKELY_MASS = 0.95
# What "sure" must mean on people the model never saw: at least this share of
# the answers called sure are right, on held-out writers of every source...
SURE_PRECISION = 0.998
# ...and a digit is refused as "not a digit" at most this often on any of them.
MAX_DIGITS_REFUSED = 0.003


@dataclass(frozen=True)
class VerdictRule:
    """The two thresholds of the verdict, on calibrated probabilities.

    Each model has its own, chosen on held-out writers when it is trained
    (`choose_rule`) and kept in its model.json; `DEFAULT_RULE` is for a model
    that has none (trained before rules were chosen).
    """

    sure_at: float  # the top digit's probability at or above this: "sure"
    reject_at: float  # P(not a digit) at or above this: "not_a_digit"
    chosen_on: str = "default"  # the sets it was chosen on, in words
    # On those sets: the share of sure answers that were right (the worst
    # set's), the share of digits answered sure, and the share refused.
    sure_right: float | None = None
    coverage: float | None = None
    digits_refused: float | None = None

    def as_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, value: object) -> VerdictRule:
        """A rule as model.json keeps it; DEFAULT_RULE for anything unusable."""
        if not isinstance(value, dict):
            return DEFAULT_RULE
        try:
            sure_at, reject_at = float(value["sure_at"]), float(value["reject_at"])
        except (KeyError, TypeError, ValueError):
            return DEFAULT_RULE
        if not (0 < sure_at <= 1 and 0 < reject_at <= 1):
            return DEFAULT_RULE
        extra = {
            k: value.get(k)
            for k in ("sure_right", "coverage", "digits_refused")
            if isinstance(value.get(k), (int, float))
        }
        return cls(sure_at, reject_at, str(value.get("chosen_on") or "model.json"), **extra)


DEFAULT_RULE = VerdictRule(sure_at=0.99, reject_at=0.5)


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
        return float(
            -np.log(np.clip(apply_temperature(probabilities, t)[rows, labels], 1e-12, 1.0)).mean()
        )

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
        row: dict[str, Any] = {
            "lo": float(lo),
            "hi": float(hi),
            "count": count,
            "confidence": float(confidence[inside].mean()) if count else None,
            "accuracy": float(correct[inside].mean()) if count else None,
        }
        if count:
            ece += count / len(p) * abs(row["confidence"] - row["accuracy"])
        rows.append(row)
    return {"ece": float(ece), "samples": int(len(p)), "bins": rows}


def verdict(probabilities: np.ndarray, rule: VerdictRule = DEFAULT_RULE) -> tuple[str, list[int]]:
    """ "sure", "unsure" (with the likely digits, most likely first) or "not_a_digit".

    `probabilities` are calibrated: ten digits, or eleven with "not a digit" last.
    """
    p = np.asarray(probabilities, np.float64)
    if len(p) > NOT_A_DIGIT and p[NOT_A_DIGIT] >= rule.reject_at:
        return Verdict.NOT_A_DIGIT, []
    digits = p[:NOT_A_DIGIT]
    order = np.argsort(-digits, kind="stable")
    if digits[order[0]] >= rule.sure_at:
        return Verdict.SURE, []
    shares = digit_probabilities(digits)[order]
    count = int(np.searchsorted(np.cumsum(shares), LIKELY_MASS - 1e-9)) + 1
    return Verdict.UNSURE, [int(d) for d in order[: max(2, min(count, NOT_A_DIGIT))]]


def verdicts(probabilities: np.ndarray, rule: VerdictRule = DEFAULT_RULE) -> list[str]:
    """The verdict of each row (vectorised: the alternatives are left out)."""
    p = np.asarray(probabilities, np.float64).reshape(-1, np.shape(probabilities)[-1])
    refused = (
        (p[:, NOT_A_DIGIT] >= rule.reject_at)
        if p.shape[1] > NOT_A_DIGIT
        else np.zeros(len(p), bool)
    )
    sure = p[:, :NOT_A_DIGIT].max(axis=1) >= rule.sure_at
    return [
        Verdict.NOT_A_DIGIT if r else Verdict.SURE if s else Verdict.UNSURE
        for r, s in zip(refused, sure)
    ]


SURE_CANDIDATES = np.unique(
    np.concatenate([np.linspace(0.5, 0.99, 50), 1 - np.logspace(-2, -5, 31)])
)
REJECT_CANDIDATES = np.linspace(0.5, 0.99, 50)


def choose_rule(
    held_out: dict[str, tuple[np.ndarray, np.ndarray]],
    precision: float = SURE_PRECISION,
    max_refused: float = MAX_DIGITS_REFUSED,
) -> VerdictRule:
    """The verdict's thresholds, chosen on sets of people the model never saw.

    `held_out` maps a set's name to its calibrated probabilities and labels
    (digits; no-digit drawings are ignored here). The refusal threshold is
    the lowest that refuses at most `max_refused` of the digits of every set
    (refusing as many drawings that are no digit as that allows); the sure
    threshold the lowest at which at least `precision` of the sure answers
    are right on every set. A set where even the highest threshold falls
    short gets the highest.
    """
    sets = {}
    for name, (probs, labels) in held_out.items():
        probs, labels = np.asarray(probs, np.float64), np.asarray(labels, np.int64)
        digits = labels < NOT_A_DIGIT
        if digits.any():
            sets[name] = (probs[digits], labels[digits])
    if not sets:
        return DEFAULT_RULE

    def refused(probs: np.ndarray, at: float) -> np.ndarray:
        if probs.shape[1] <= NOT_A_DIGIT:
            return np.zeros(len(probs), bool)
        return probs[:, NOT_A_DIGIT] >= at

    reject_at = next(
        (
            float(r)
            for r in REJECT_CANDIDATES
            if all(refused(p, r).mean() <= max_refused for p, _ in sets.values())
        ),
        float(REJECT_CANDIDATES[-1]),
    )

    def sure_scores(at: float) -> tuple[float, float]:
        worst, answered, total = 1.0, 0, 0
        for probs, labels in sets.values():
            sure = ~refused(probs, reject_at) & (probs[:, :NOT_A_DIGIT].max(1) >= at)
            right = probs[:, :NOT_A_DIGIT].argmax(1) == labels
            if sure.any():
                worst = min(worst, float(right[sure].mean()))
            answered, total = answered + int(sure.sum()), total + len(labels)
        return worst, answered / total

    sure_at = next(
        (float(t) for t in SURE_CANDIDATES if sure_scores(t)[0] >= precision),
        float(SURE_CANDIDATES[-1]),
    )
    worst, coverage = sure_scores(sure_at)
    digits_refused = max(float(refused(p, reject_at).mean()) for p, _ in sets.values())
    return VerdictRule(sure_at, reject_at, ", ".join(sets), worst, coverage, digits_refused)


def digit_probabilities(probabilities: np.ndarray) -> np.ndarray:
    """The ten digits' probabilities given that the drawing is a digit (rows sum to 1)."""
    p = np.asarray(probabilities, np.float64)[..., :NOT_A_DIGIT]
    return p / np.clip(p.sum(axis=-1, keepdims=True), 1e-12, None)

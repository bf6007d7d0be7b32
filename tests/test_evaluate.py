"""Metrics for a small known confusion, checked by hand."""

from __future__ import annotations

import numpy as np
import pytest

from trainer.evaluate import classification_metrics, confident_mistakes, label_distribution


def one_hot(predicted, confidence=0.9):
    probs = np.full((len(predicted), 10), (1 - confidence) / 9)
    probs[np.arange(len(predicted)), predicted] = confidence
    return probs


def test_known_confusion():
    # Digit 0: four right. Digit 1: three right, one called 7. Digit 7: two right,
    # two called 1. Every other digit absent.
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1, 7, 7, 7, 7])
    predicted = np.array([0, 0, 0, 0, 1, 1, 1, 7, 7, 7, 1, 1])
    m = classification_metrics(labels, one_hot(predicted))
    assert m["accuracy"] == pytest.approx(9 / 12)
    assert m["samples"] == 12
    cm = np.array(m["confusion_matrix"])
    assert cm[0, 0] == 4 and cm[1, 1] == 3 and cm[1, 7] == 1 and cm[7, 1] == 2 and cm[7, 7] == 2
    assert cm.sum() == 12
    one, seven = m["per_class"][1], m["per_class"][7]
    # Digit 1: predicted 5 times, 3 right -> precision 3/5; recall 3/4.
    assert one["precision"] == pytest.approx(3 / 5)
    assert one["recall"] == pytest.approx(3 / 4)
    assert one["f1"] == pytest.approx(2 * (3 / 5) * (3 / 4) / (3 / 5 + 3 / 4))
    # Digit 7: predicted 3 times, 2 right -> precision 2/3; recall 2/4.
    assert seven["precision"] == pytest.approx(2 / 3)
    assert seven["recall"] == pytest.approx(1 / 2)
    assert seven["support"] == 4
    # Absent digits have no support and no ROC AUC; the macro AUC skips them.
    assert m["per_class"][5]["support"] == 0 and m["per_class"][5]["roc_auc"] is None
    # Digit 0's scores separate it perfectly from the rest.
    assert m["per_class"][0]["roc_auc"] == pytest.approx(1.0)
    # Digit 1 scores 0.9 on five items (three are 1s), 0.011 on the rest.
    # Pairs (positive, negative): 4 * 8 = 32; positives at 0.9 beat negatives
    # at 0.011 (3*6 = 18), tie with the two 7s at 0.9 (3*2*0.5 = 3); the 1
    # called 7 sits at 0.011: ties with 6 negatives there (0.5*6 = 3), loses
    # to the two 7s. AUC = (18 + 3 + 3) / 32.
    assert m["per_class"][1]["roc_auc"] == pytest.approx(24 / 32)
    present = [m["per_class"][d]["roc_auc"] for d in (0, 1, 7)]
    assert m["macro"]["roc_auc"] == pytest.approx(np.mean(present))
    # sklearn's macro average over all ten labels counts absent digits as zero.
    f1s = [m["per_class"][d]["f1"] for d in range(10)]
    assert m["macro"]["f1"] == pytest.approx(np.mean(f1s))
    assert m["weighted"]["recall"] == pytest.approx(9 / 12)
    assert "0.7500" in m["report"]


def test_confident_mistakes_ranks_surest_wrong_first(mnist_sample):
    images, labels = mnist_sample
    images, labels = images[:5], labels[:5]
    probs = one_hot(labels, 0.95)
    wrong_a, wrong_b = (labels[1] + 1) % 10, (labels[3] + 2) % 10
    probs[1] = one_hot([wrong_a], 0.6)[0]
    probs[3] = one_hot([wrong_b], 0.99)[0]
    gallery = confident_mistakes(images, labels, probs)
    assert [g["index"] for g in gallery] == [3, 1]
    assert gallery[0]["predicted"] == wrong_b and gallery[0]["true"] == labels[3]
    assert gallery[0]["confidence"] == pytest.approx(0.99)
    assert gallery[0]["png"].startswith("iVBOR")  # base64 of a PNG signature


def test_label_distribution_counts_every_digit():
    assert label_distribution(np.array([0, 0, 3, 9])) == [2, 0, 0, 1, 0, 0, 0, 0, 0, 1]

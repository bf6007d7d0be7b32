"""Predict a drawing's digit, store it, and record people's corrections."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, replace

import numpy as np
from sqlalchemy import select

from app.errors import AppError, NotFound
from app.extensions import db
from app.models import NO_DIGIT_LABEL, NO_DIGIT_NAME, Flag, FlagStatus, Prediction
from app.ratelimits import charge_storage
from app.services import serving
from app.services.database import commit
from app.services.drawings import Drawing
from app.services.predictor import ModelInfo
from trainer.calibration import NOT_A_DIGIT, Verdict, digit_probabilities, verdict
from trainer.preprocessing import to_png


@dataclass(frozen=True)
class Result:
    prediction_id: int | None
    digit: int
    confidence: float
    probabilities: list[float]
    model_version: str
    input_png: bytes
    verdict: str = "sure"
    alternatives: tuple[int, ...] = ()
    not_a_digit: float | None = None

    def as_json(self) -> dict:
        body = {
            "prediction_id": self.prediction_id,
            "digit": self.digit,
            "confidence": self.confidence,
            "probabilities": self.probabilities,
            "verdict": self.verdict,
            "model_version": self.model_version,
            "preprocessed": "data:image/png;base64," + base64.b64encode(self.input_png).decode(),
        }
        if self.verdict == "unsure":
            body["alternatives"] = list(self.alternatives)
        if self.not_a_digit is not None:
            body["not_a_digit_probability"] = self.not_a_digit
        return body


class FlagRefused(AppError):
    """A flag that may not be set: someone else's drawing (403), or already reviewed (409)."""


def predict(
    drawing: Drawing,
    store: bool = True,
    author: str | None = None,
    replaces: int | None = None,
    request_key: str | None = None,
) -> Result:
    """Run the model on a drawing; store the prediction unless told not to.

    `replaces` names the prediction of the same drawing before its latest
    stroke: that row is updated in place (same id), so a digit drawn in three
    strokes is one stored prediction, not three. It must be this author's and
    not yet flagged; otherwise a new row is stored. `request_key` (the
    client's Idempotency-Key): a request this author already stored under it
    is answered with that row, and nothing is stored again.
    """
    if drawing.mnist is None:
        raise ValueError("a picture read as a number has no single 28x28 input")
    model = serving.predictor()
    result = answer(model.probabilities(drawing.mnist), drawing.mnist, model.info)
    if store:
        request_key = request_key if author else None
        if request_key is not None:
            earlier = db.session.scalar(
                select(Prediction.id).where(
                    Prediction.author == author, Prediction.request_key == request_key
                )
            )
            if earlier is not None:
                return replace(result, prediction_id=earlier)
        charge_storage(len(drawing.raw) + len(result.input_png))
        row = _replaceable(replaces, author) or Prediction(author=author)
        row.request_key = request_key
        fill(row, drawing, result)
        db.session.add(row)
        result = replace(result, prediction_id=commit(lambda: row.id))
    return result


def answer(calibrated: np.ndarray, mnist: np.ndarray, model: ModelInfo) -> Result:
    """What the model says of one 28x28 input, from its calibrated probabilities (not stored).

    The verdict follows the model's own rule (chosen on held-out writers).
    """
    said, alternatives = verdict(calibrated, model.rule)
    # The digits' bars: how likely each digit is, if the drawing is a digit.
    probabilities = [round(float(p), 6) for p in digit_probabilities(calibrated)]
    digit = int(np.argmax(probabilities))
    not_a_digit = (
        round(float(calibrated[NOT_A_DIGIT]), 6) if len(calibrated) > NOT_A_DIGIT else None
    )
    return Result(
        None,
        digit,
        probabilities[digit],
        probabilities,
        model.version,
        to_png(mnist),
        said,
        tuple(alternatives),
        not_a_digit,
    )


def fill(row: Prediction, drawing: Drawing, result: Result) -> None:
    """Write a drawing and what the model said of it into a prediction row."""
    row.drawing = drawing.raw
    row.drawing_type = drawing.content_type
    row.input_png = result.input_png
    row.digit = result.digit
    row.confidence = result.confidence
    row.probabilities_json = json.dumps(result.probabilities)
    row.model_version = result.model_version
    row.verdict = result.verdict


def _replaceable(prediction_id: int | None, author: str | None) -> Prediction | None:
    if prediction_id is None or author is None:
        return None
    row = db.session.get(Prediction, prediction_id)
    # A digit of a number is replaced only by reading its number again.
    if row is None or row.author != author or row.flag is not None or row.number_id is not None:
        return None
    return row


@dataclass(frozen=True)
class Flagged:
    label: int
    status: str


def parse_label(value: object) -> int:
    """A flag's label as sent: a digit 0-9, or "none" for a drawing that is no digit."""
    if value == NO_DIGIT_NAME:
        return NO_DIGIT_LABEL
    if isinstance(value, str) and value.isdigit() and len(value) == 1:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 9:
        raise AppError(
            f'"label" must be a digit from 0 to 9, or "{NO_DIGIT_NAME}" for a '
            "drawing that is no digit"
        )
    return value


def flag(prediction_id: int, label: int, author: str) -> Flagged | None:
    """Record (or change) the right digit for a prediction; None if unknown.

    Only the browser that drew it may, and only while the flag is open: a
    reviewed flag is the admin's (FlagRefused). A flag names what the model
    should have said, so it may not repeat the answer (422): the digit it
    read, or "no digit" where it refused the drawing.
    """
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None:
        return None
    _refuse_others(prediction, author)
    refused = prediction.verdict == Verdict.NOT_A_DIGIT
    if label == NO_DIGIT_LABEL and refused:
        raise FlagRefused(
            "the model already said this is no digit; flag it with the digit it is", 422
        )
    if label == prediction.digit and not refused:
        raise FlagRefused(
            f"the model already answered {label}; "
            "flag a drawing with the digit it should have said",
            422,
        )
    if prediction.flag is None:
        prediction.flag = Flag(label=label)
    else:
        _refuse_reviewed(prediction.flag)
        prediction.flag.label = label
    stored = prediction.flag
    return commit(lambda: Flagged(stored.label, stored.status))


def unflag(prediction_id: int, author: str) -> None:
    """Take back an open flag (the pad's "Undo"); NotFound if there is none.

    The same rules as flagging: only its author, and only while it is open.
    """
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None:
        raise NotFound(f"prediction {prediction_id} does not exist")
    # Whose drawing it is comes first: nobody learns whether another's is flagged.
    _refuse_others(prediction, author)
    if prediction.flag is None:
        raise NotFound(f"prediction {prediction_id} has no flag")
    _refuse_reviewed(prediction.flag)
    db.session.delete(prediction.flag)
    commit()


def _refuse_others(prediction: Prediction, author: str) -> None:
    if prediction.author is None or prediction.author != author:
        raise FlagRefused("only the person who made this drawing can flag it", 403)


def _refuse_reviewed(flag: Flag) -> None:
    if flag.status != FlagStatus.OPEN:
        raise FlagRefused(f"this flag was already reviewed ({flag.status})", 409)

"""Read a number written in one go, digit by digit; each digit is a prediction of its own.

`trainer/segmentation/` finds the digits (the served model judging the
candidate cuts in one batched call); each digit is then answered and stored
exactly as a digit drawn alone is (`predictions.answer`, `predictions.fill`):
its own strokes, or its own part of the picture, and its 28x28 input, linked
to a `Number` row. So flags, review, exports, retention and retraining work on
the digits of numbers unchanged.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace

import numpy as np
from PIL import Image
from sqlalchemy import select

from app.errors import AppError
from app.extensions import db
from app.models import Number, Prediction, label_name
from app.ratelimits import charge_storage
from app.services import drawings, predictions, serving
from app.services.database import commit
from app.services.drawings import Drawing
from app.services.predictions import Result
from trainer import segmentation
from trainer.calibration import Verdict
from trainer.preprocessing import Strokes

MAX_DIGITS = 10
# How a digit the model calls no digit shows in the text.
NOT_A_DIGIT_MARK = "?"


@dataclass(frozen=True)
class ReadDigit:
    result: Result
    box: tuple[float, float, float, float]
    drawing: Drawing
    flag: int | str | None = None  # what someone already flagged this one as (a digit or "none")

    def as_json(self) -> dict:
        body = self.result.as_json()
        del body["model_version"]  # the reading's, once
        body["box"] = list(self.box)
        if self.flag is not None:
            body["flag"] = self.flag
        return body


@dataclass(frozen=True)
class Reading:
    number_id: int | None
    text: str
    digits: list[ReadDigit]
    model_version: str
    size: tuple[int, int]
    written: str = ""  # the text with its separators, as written ("12.428")
    separators: list[segmentation.Separator] = field(default_factory=list)

    def as_json(self) -> dict:
        return {
            "text": self.text,
            "written": self.written,
            "number_id": self.number_id,
            "digits": [d.as_json() for d in self.digits],
            "separators": [s.as_json() for s in self.separators],
            "model_version": self.model_version,
            "size": list(self.size),
        }


def read(
    source: Strokes | Drawing,
    *,
    store: bool = True,
    author: str | None = None,
    replaces: int | None = None,
    request_key: str | None = None,
) -> Reading:
    """The digits of a number, left to right; stored unless told not to.

    `source` is validated strokes (boxes in canvas pixels), or a picture
    from `drawings`, read as DigitPad keeps it (upright, grayscale, at most
    512 px; boxes in its pixels, `size` says how large it is).

    `replaces` names the previous reading of the same drawing (the pad reads
    again after every stroke): its number keeps its id, its unflagged digits
    are replaced, its flagged ones are kept. It must be this author's;
    otherwise a new number is stored. More than MAX_DIGITS digits is 422.
    `request_key` (the client's Idempotency-Key): a request this author
    already stored under it is read again into the same number, never a second.
    """
    model = serving.predictor()
    try:
        if isinstance(source, Strokes):
            found = segmentation.read_strokes(source, model.probabilities_many, MAX_DIGITS)
            size = (source.width, source.height)
        else:
            picture = Image.open(io.BytesIO(source.raw))
            found = segmentation.read_image(picture, model.probabilities_many, MAX_DIGITS)
            size = picture.size
    except segmentation.TooManyDigits as exc:
        raise AppError(f"{exc}: write fewer digits at a time", 422) from exc
    version = model.info.version
    digits = [
        ReadDigit(predictions.answer(d.probabilities, d.mnist, model.info), d.box, _drawing(d))
        for d in found.digits
    ]
    texts = [
        NOT_A_DIGIT_MARK if d.result.verdict == Verdict.NOT_A_DIGIT else str(d.result.digit)
        for d in digits
    ]
    text = "".join(texts)
    number_id = None
    if store:
        number_id, rows = _store(
            digits, text, version, author, replaces, request_key if author else None
        )
        digits = [
            replace(d, result=replace(d.result, prediction_id=i), flag=label)
            for d, (i, label) in zip(digits, rows)
        ]
    return Reading(number_id, text, digits, version, size, found.written(texts), found.separators)


def _drawing(digit: segmentation.Digit) -> Drawing:
    """A digit as a drawing of its own, in the format a digit drawn alone is stored in."""
    if digit.strokes is not None:
        return drawings.of_strokes(digit.strokes, digit.mnist)
    assert digit.ink is not None, "a digit cut from a picture keeps its ink"
    buffer = io.BytesIO()
    Image.fromarray(np.uint8(255 - np.clip(digit.ink, 0, 1) * 255 + 0.5)).save(buffer, "PNG")
    return Drawing(buffer.getvalue(), "image/png", digit.mnist)


def _store(
    digits: list[ReadDigit],
    text: str,
    version: str,
    author: str | None,
    replaces: int | None,
    request_key: str | None,
) -> tuple[int, list[tuple[int, int | str | None]]]:
    """The number and one prediction per digit, in one transaction; their ids,
    each with the label of its flag if a kept digit was already flagged.

    Replacing a reading, a digit whose drawing did not change keeps its row
    (a flagged one untouched but for its place); the other digits reuse the
    remaining unflagged rows, left to right; unflagged rows left over go.
    """
    earlier = None
    if request_key:
        earlier = db.session.scalar(
            select(Number).where(Number.author == author, Number.request_key == request_key)
        )
    number: Number | None
    if earlier is not None:  # a retry: the same drawing, read again into the same rows
        number = earlier
    else:
        charge_storage(sum(len(d.drawing.raw) + len(d.result.input_png) for d in digits))
        number = _replaceable(replaces, author)
    if number is None:
        number = Number(author=author)
        db.session.add(number)
    number.request_key = request_key
    old = list(number.digits)
    same: dict[bytes, list[Prediction]] = {}
    for row in old:
        same.setdefault(row.drawing, []).append(row)
    unchanged: list[Prediction | None] = []
    for d in digits:
        pool = same.get(d.drawing.raw)
        unchanged.append(pool.pop(0) if pool else None)
    taken = {id(row) for row in unchanged if row is not None}
    spare = [row for row in old if row.flag is None and id(row) not in taken]
    rows: list[Prediction] = []
    for position, (digit, kept) in enumerate(zip(digits, unchanged)):
        row = kept or (spare.pop(0) if spare else Prediction(author=author))
        rows.append(row)
        if row.flag is None:
            predictions.fill(row, digit.drawing, digit.result)
        row.number, row.number_position = number, position
        db.session.add(row)
    for row in spare:
        db.session.delete(row)
    number.text, number.model_version = text, version
    return commit(
        lambda: (
            number.id,
            [
                (row.id, label_name(row.flag.label) if row.flag is not None else None)
                for row in rows
            ],
        )
    )


def _replaceable(number_id: int | None, author: str | None) -> Number | None:
    if number_id is None or author is None:
        return None
    number = db.session.get(Number, number_id)
    if number is None or number.author != author:
        return None
    return number

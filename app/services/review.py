"""Reviewing flagged drawings: list, confirm, relabel, dismiss, export."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from dataclasses import dataclass

import numpy as np
from PIL import Image
from sqlalchemy import func, select

from app.errors import AppError
from app.extensions import db
from app.models import NO_DIGIT_LABEL, Flag, FlagStatus, Prediction, label_name, utcnow
from trainer import preprocessing

ACTIONS = ("confirm", "relabel", "dismiss", "reopen")


class ReviewError(AppError):
    """A review action that cannot be applied (HTTP 400)."""


@dataclass
class FlagFilter:
    digit: int | None = None  # the corrected label (NO_DIGIT_LABEL: "none")
    status: str | None = None

    @classmethod
    def parse(cls, digit: str | None, status: str | None) -> FlagFilter:
        from app.services.predictions import parse_label

        parsed = cls()
        if digit not in (None, "", "all"):
            try:
                parsed.digit = parse_label(digit)
            except AppError as exc:
                raise ReviewError('digit must be 0-9 or "none"') from exc
        if status not in (None, "", "all"):
            if status not in tuple(FlagStatus):
                raise ReviewError(f"status must be one of {', '.join(FlagStatus)}")
            parsed.status = status
        return parsed


def _filtered(query, flt: FlagFilter):
    query = query.join(Flag.prediction)
    if flt.digit is not None:
        query = query.where(Flag.label == flt.digit)
    if flt.status:
        query = query.where(Flag.status == flt.status)
    return query


def list_flags(flt: FlagFilter, limit: int = 200, offset: int = 0) -> list[Flag]:
    """The flags the filter lets through, newest first: `limit` of them after the first `offset`."""
    query = _filtered(select(Flag), flt).order_by(Flag.created_at.desc(), Flag.id.desc())
    return list(db.session.scalars(query.limit(limit).offset(offset)))


def count_flags(flt: FlagFilter) -> int:
    """How many flags the filter lets through."""
    return db.session.scalar(_filtered(select(func.count(Flag.id)).select_from(Flag), flt))


def status_counts() -> dict[str, int]:
    rows = db.session.execute(select(Flag.status, func.count()).group_by(Flag.status)).all()
    counts: dict[str, int] = {status.value: 0 for status in FlagStatus}
    counts.update({str(status): n for status, n in rows})
    return counts


def review(flag_id: int, action: str, label: object = None) -> Flag | None:
    """Apply a review action; None for an unknown flag."""
    if action not in ACTIONS:
        raise ReviewError(f"action must be one of {', '.join(ACTIONS)}")
    flag = db.session.get(Flag, flag_id)
    if flag is None:
        return None
    if action == "relabel":
        from app.services.predictions import parse_label

        try:
            flag.label = parse_label(label)
        except AppError as exc:
            raise ReviewError('label must be a digit 0-9, or "none" for no digit') from exc
        flag.status = FlagStatus.CONFIRMED
    else:
        flag.status = {
            "confirm": FlagStatus.CONFIRMED,
            "dismiss": FlagStatus.DISMISSED,
            "reopen": FlagStatus.OPEN,
        }[action]
    flag.updated_at = utcnow()
    db.session.commit()
    return flag


def feedback_confusion() -> list[list[int]]:
    """Predicted (columns) against corrected (rows) digits over flags not dismissed.

    The last row holds the drawings flagged as no digit at all.
    """
    matrix = np.zeros((NO_DIGIT_LABEL + 1, 10), dtype=int)
    rows = db.session.execute(
        select(Flag.label, Prediction.digit, func.count())
        .join(Flag.prediction)
        .where(Flag.status != FlagStatus.DISMISSED)
        .group_by(Flag.label, Prediction.digit)
    ).all()
    for corrected, predicted, n in rows:
        matrix[corrected, predicted] = n
    return matrix.tolist()


def _confirmed() -> list[Flag]:
    return list(
        db.session.scalars(
            select(Flag).where(Flag.status == FlagStatus.CONFIRMED).order_by(Flag.id)
        )
    )


def input_pixels(flag: Flag) -> np.ndarray:
    """The 28x28 input the model saw, as 0-255 integers."""
    return np.asarray(Image.open(io.BytesIO(flag.prediction.input_png)).convert("L"), np.uint8)


def export_csv() -> str:
    """Confirmed flags in the Kaggle layout: label (a digit, or "none"), then 784 pixels 0-255."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["label"] + [f"pixel{i}" for i in range(784)])
    for flag in _confirmed():
        writer.writerow([label_name(flag.label)] + input_pixels(flag).ravel().tolist())
    return out.getvalue()


def export_zip() -> bytes:
    """Confirmed flags as PNGs: the 28x28 input and the drawing as drawn, in a folder per label."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for flag in _confirmed():
            stem = f"{label_name(flag.label)}/flag-{flag.id}"
            archive.writestr(f"{stem}-28x28.png", flag.prediction.input_png)
            archive.writestr(f"{stem}-drawing.png", drawing_png(flag.prediction))
    return buffer.getvalue()


def drawing_png(prediction: Prediction) -> bytes:
    """The drawing as the person made it, as a PNG (strokes are rendered)."""
    if prediction.drawing_type == "image/png":
        return prediction.drawing
    if prediction.drawing_type.endswith("strokes+json"):
        payload = json.loads(prediction.drawing)
        strokes = preprocessing.parse_strokes(
            payload["strokes"], payload["width"], payload["height"], payload.get("line_width")
        )
        ink = preprocessing.render_strokes(strokes)
        image = Image.fromarray(np.uint8(255 - np.clip(ink, 0, 1) * 255))
    else:
        image = preprocessing.decode_image(prediction.drawing).convert("RGB")
    image.thumbnail((280, 280))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()

"""Stored data: every prediction made, and the corrections people flag."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from sqlalchemy import CheckConstraint, ForeignKey, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Prediction(db.Model):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The drawing exactly as the client sent it: image bytes, or strokes as JSON.
    drawing: Mapped[bytes] = mapped_column(LargeBinary)
    drawing_type: Mapped[str] = mapped_column(String(40))
    # The 28x28 input the model saw, as a PNG.
    input_png: Mapped[bytes] = mapped_column(LargeBinary)
    digit: Mapped[int]
    confidence: Mapped[float]
    probabilities_json: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(64), index=True)

    flag: Mapped[Flag | None] = relationship(back_populates="prediction", uselist=False)

    __table_args__ = (CheckConstraint("digit BETWEEN 0 AND 9", name="digit_range"),)

    @property
    def probabilities(self) -> list[float]:
        return json.loads(self.probabilities_json)


class Flag(db.Model):
    """A person's statement that a prediction was wrong, with the right digit."""

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[int] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), unique=True
    )
    label: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    prediction: Mapped[Prediction] = relationship(back_populates="flag")

    __table_args__ = (CheckConstraint("label BETWEEN 0 AND 9", name="label_range"),)

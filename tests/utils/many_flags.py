"""Many flags at once, written straight to the database: hundreds in well under a second.

Each flag gets a prediction of its own (a small real PNG, so the grid's pictures
load) and a creation time one minute after the one before, so the grid's order
(newest first) is known.
"""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

from PIL import Image
from sqlalchemy import insert, select

from app.extensions import db
from app.models import Flag, Prediction

START = datetime(2026, 1, 1, 8, 0)


def _png(ink: int, paper: int) -> bytes:
    image = Image.new("L", (28, 28), paper)
    image.paste(ink, (12, 4, 16, 24))  # a "1"
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def store_many_flags(app, flags: list[tuple[int, str]], tag: str = "bulk") -> list[int]:
    """Store one flag per (label, status), oldest first; their ids, in that order.

    `tag` names the predictions' model version, to tell batches apart.
    """
    drawing, model_input = _png(0, 255), _png(255, 0)  # drawn dark on white; the input inverted
    probabilities = json.dumps([0.1] * 10)
    with app.app_context():
        db.session.execute(
            insert(Prediction),
            [
                {
                    "created_at": START + timedelta(minutes=i),
                    "drawing": drawing,
                    "drawing_type": "image/png",
                    "input_png": model_input,
                    "digit": (i + 1) % 10,
                    "confidence": 0.5,
                    "probabilities_json": probabilities,
                    "model_version": tag,
                }
                for i in range(len(flags))
            ],
        )
        prediction_ids = list(
            db.session.scalars(
                select(Prediction.id).where(Prediction.model_version == tag).order_by(Prediction.id)
            )
        )
        db.session.execute(
            insert(Flag),
            [
                {
                    "prediction_id": pid,
                    "label": label,
                    "status": status,
                    "created_at": START + timedelta(minutes=i),
                    "updated_at": START + timedelta(minutes=i),
                }
                for i, (pid, (label, status)) in enumerate(zip(prediction_ids, flags))
            ],
        )
        db.session.commit()
        return list(
            db.session.scalars(
                select(Flag.id)
                .join(Flag.prediction)
                .where(Prediction.model_version == tag)
                .order_by(Flag.created_at, Flag.id)
            )
        )

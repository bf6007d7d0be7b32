"""Retention: drawings nobody flagged are not kept forever.

After `RETENTION_DAYS` a prediction that carries no flag loses its drawing and
its 28x28 input; the row stays (digit, confidence, verdict, version, time), so
usage figures still count it. Flagged drawings are kept: they are what
retraining learns from.

The digits of a number read by `POST /api/read` are predictions like any
other, each purged or kept on its own (a flagged digit keeps its drawing while
its neighbours lose theirs). The `numbers` row holds no drawing, only what was
read, and stays like a prediction's row.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from app.extensions import db
from app.models import Flag, Prediction

PURGED = "purged"


def purge(days: int, now: datetime | None = None) -> int:
    """Forget the drawings of unflagged predictions older than `days`; how many were purged."""
    if days < 1:
        raise ValueError("retention must be at least one day")
    cutoff = (now or datetime.now(timezone.utc)) - timedelta(days=days)
    result = db.session.execute(
        update(Prediction)
        .where(Prediction.created_at < cutoff, Prediction.drawing_type != PURGED,
               ~Prediction.id.in_(select(Flag.prediction_id)))
        .values(drawing=b"", input_png=b"", drawing_type=PURGED)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount

"""Retention: only what retraining learns from is kept for good.

After `RETENTION_DAYS` a prediction loses its drawing and its 28x28 input
unless the admin confirmed a flag on it; the row stays (digit, confidence,
verdict, version, time), so usage figures still count it. The flags that
keep nothing alive go first, with their drawings:

- a dismissed flag, `RETENTION_DAYS` after the admin dismissed it;
- an open flag nobody reviewed, `RETENTION_DAYS` after it was made (changing
  its digit does not renew it), so that flagging one's own drawings cannot
  keep them forever.

The digits of a number read by `POST /api/read` are predictions like any
other, each purged or kept on its own (a flagged digit keeps its drawing while
its neighbours lose theirs). The `numbers` row holds no drawing, only what was
read, and stays like a prediction's row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, or_, select, update

from app.extensions import db
from app.models import Flag, FlagStatus, Prediction
from app.services.database import changed

PURGED = "purged"


def purge(days: int, now: datetime | None = None) -> int:
    """Forget expired flags, then the drawings of unflagged predictions older than `days`;
    how many drawings were purged."""
    if days < 1:
        raise ValueError("retention must be at least one day")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
    db.session.execute(
        delete(Flag)
        .where(
            or_(
                (Flag.status == FlagStatus.DISMISSED) & (Flag.updated_at < cutoff),
                (Flag.status == FlagStatus.OPEN) & (Flag.created_at < cutoff),
            )
        )
        .execution_options(synchronize_session=False)
    )
    purged = changed(
        update(Prediction)
        .where(
            Prediction.created_at < cutoff,
            Prediction.drawing_type != PURGED,
            ~Prediction.id.in_(select(Flag.prediction_id)),
        )
        .values(drawing=b"", input_png=b"", drawing_type=PURGED)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return purged

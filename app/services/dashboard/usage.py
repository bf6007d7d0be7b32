"""The front page's key figures: predictions today and in total, open flags."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from app.extensions import db
from app.models import Flag, FlagStatus, Prediction


def key_figures(now: datetime | None = None) -> dict:
    """Predictions today (UTC) and in total, open flags, and the share flagged."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    # Stored times are UTC wall-clock values without a zone.
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0, tzinfo=None)
    total = db.session.scalar(select(func.count(Prediction.id))) or 0
    today = (
        db.session.scalar(
            select(func.count(Prediction.id)).where(Prediction.created_at >= midnight)
        )
        or 0
    )
    flagged = db.session.scalar(select(func.count(Flag.id))) or 0
    open_flags = (
        db.session.scalar(select(func.count(Flag.id)).where(Flag.status == FlagStatus.OPEN)) or 0
    )
    return {
        "predictions_today": today,
        "predictions_total": total,
        "open_flags": open_flags,
        "flagged": flagged,
        "flagged_share": flagged / total if total else None,
    }

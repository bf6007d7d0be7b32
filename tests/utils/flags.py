"""Flags as test data: a drawing's true label, whatever the model answered.

The API refuses a flag that repeats the model's answer (people flag mistakes);
tests of review, datasets and retraining need flags on any drawing, so they
store them directly.
"""

from __future__ import annotations

from app.extensions import db
from app.models import Flag


def store_flag(app, prediction_id: int, label: int, status: str = "open") -> int:
    """Store (or relabel) the flag of a prediction; its flag id."""
    with app.app_context():
        flag = db.session.query(Flag).filter_by(prediction_id=prediction_id).one_or_none()
        if flag is None:
            flag = Flag(prediction_id=prediction_id, label=label, status=status)
            db.session.add(flag)
        else:
            flag.label, flag.status = label, status
        db.session.commit()
        return flag.id

"""A retraining's candidate against the model that was active, as the gate judged them."""

from __future__ import annotations

from app.models import TrainingRun
from app.services import yardstick


def gate_view(run: TrainingRun) -> dict | None:
    """A retraining's candidate against the model that was active, as the gate judged them."""
    recorded = (run.metrics or {}).get("gate")
    if not recorded:
        return None
    candidate, active = recorded.get("candidate") or {}, recorded.get("active") or {}
    drop = f"at most {yardstick.MAX_DROP * 100:g} points lower"
    if "parts" in candidate:  # measured on the yardstick
        rows = [
            {
                "key": row["name"],
                "label": row["label"],
                "active": row["against"],
                "candidate": row["right"],
                "diff": row["diff"],
                "rule": "higher" if row["name"] == "flags" else drop,
            }
            for row in yardstick.rows(candidate, active)
        ]
    else:  # judged before the yardstick: the base test split and the flags
        rows = []
        split = recorded.get("test_split", "mnist")
        for key, label, rule in (
            ("mnist", "MNIST test" if split == "mnist" else f"{split} test split", drop),
            ("holdout", f"held-out flags ({recorded.get('holdout_flags', 0)})", "higher"),
        ):
            a, c = active.get(key), candidate.get(key)
            rows.append(
                {
                    "key": key,
                    "label": label,
                    "rule": rule,
                    "active": a,
                    "candidate": c,
                    "diff": None if a is None or c is None else c - a,
                }
            )
    return {
        "promoted": bool(recorded.get("promoted")),
        "reason": recorded.get("reason", ""),
        "active_version": recorded.get("active_version"),
        "rows": rows,
    }


def gate_summary(view: dict | None) -> str | None:
    """The gate's figures in one line: "MNIST 99.37% against 99.52%; held-out flags ..."."""
    if not view:
        return None
    parts = []
    for row in view["rows"]:
        if (
            row["key"] in ("mnist", "flags", "holdout")
            and row["candidate"] is not None
            and row["active"] is not None
        ):
            parts.append(f"{row['label']} {row['candidate']:.2%} against {row['active']:.2%}")
    return "; ".join(parts) or None

"""What a run learnt about people it never saw: held-out sets, calibration, the
training data's previews and the int8 model, shaped for the run page.

Old or partial run records lack some of these; every function then returns
None (or an empty list) and the page leaves the section out.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Any, cast

from app.models import TrainingRun
from trainer.calibration import MAX_DIGITS_REFUSED, SURE_PRECISION
from trainer.online import HOLDOUT_WRITERS

# Where the pen-drawn held-out sets come from (source -> collection, country).
ONLINE_SOURCES = {"uji": ("UJI Pen Characters", "Spain"), "pendigits": ("pendigits", "Turkey")}


def set_label(name: str, run: TrainingRun) -> str:
    """What the page calls an evaluation set ("test" is the run's own test split)."""
    if name == "test":
        return f"{run.dataset} test split"
    kind, _, source = name.partition(":")
    if kind == "online" and source in ONLINE_SOURCES:
        collection, country = ONLINE_SOURCES[source]
        writers = HOLDOUT_WRITERS.get(source)
        who = f"{writers} held-out writers" if writers else "held-out writers"
        return f"{collection}: {who} ({country})"
    if name == "negatives:letters":
        return "Letters in fonts never trained on (not digits)"
    return name


def _number(value: Any) -> float | None:
    """A stored number, or None for anything else (old or partial records)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


def _mapping(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def held_out(run: TrainingRun) -> dict | None:
    """The test split and every held-out set as served: accuracy, refused and unsure shares.

    Sets of non-digits have no accuracy; their refused share is the one that counts.
    """
    metrics = run.metrics or {}
    sets = _mapping(metrics.get("holdout"))
    test = _mapping(metrics.get("test_verdicts"))
    if not sets and not test:
        return None
    rows = [
        {
            "name": "test",
            "label": set_label("test", run),
            "held_out": False,
            "samples": _number(test.get("samples")) or _number(run.test_size),
            "accuracy": _number(test.get("accuracy"))
            if test.get("accuracy") is not None
            else _number(run.test_accuracy),
            "refused": _number(test.get("refused")),
            "unsure": _number(test.get("unsure")),
        }
    ]
    for name, scores in sets.items():
        scores = _mapping(scores)
        rows.append(
            {
                "name": name,
                "label": set_label(name, run),
                "held_out": True,
                "samples": _number(scores.get("samples")),
                "accuracy": _number(scores.get("accuracy")),
                "refused": _number(scores.get("refused")),
                "unsure": _number(scores.get("unsure")),
            }
        )
    for row in rows:
        samples = row["samples"]
        row["samples"] = None if samples is None else int(cast(float, samples))
    return {"rows": rows, "writers": any(n.startswith("online:") for n in sets)}


def verdict_rule(run: TrainingRun) -> dict | None:
    """The thresholds the run chose for "sure" and "not a digit", and what they gave."""
    recorded = _mapping((run.metrics or {}).get("verdict_rule"))
    if _number(recorded.get("sure_at")) is None or _number(recorded.get("reject_at")) is None:
        return None
    chosen_on = [n.strip() for n in str(recorded.get("chosen_on") or "").split(",") if n.strip()]
    return {
        "sure_at": _number(recorded["sure_at"]),
        "reject_at": _number(recorded["reject_at"]),
        "sure_right": _number(recorded.get("sure_right")),
        "coverage": _number(recorded.get("coverage")),
        "digits_refused": _number(recorded.get("digits_refused")),
        "chosen_on": [set_label(n, run) for n in chosen_on],
        "target": SURE_PRECISION,
        "max_refused": MAX_DIGITS_REFUSED,
    }


def calibration(run: TrainingRun) -> dict | None:
    """The fitted temperature, ECE before and after per set, and the reliability bins."""
    recorded = _mapping((run.metrics or {}).get("calibration"))
    if not recorded:
        return None
    rows = []
    for name, ece in _mapping(recorded.get("ece")).items():
        ece = _mapping(ece)
        before, after = _number(ece.get("before")), _number(ece.get("after"))
        rows.append(
            {
                "name": name,
                "label": set_label(name, run),
                "before": before,
                "after": after,
                "diff": None if before is None or after is None else after - before,
            }
        )
    diagram = _mapping(recorded.get("reliability"))
    reliability = None
    if diagram:
        bins_before = [_bin(b) for b in diagram.get("before") or []]
        bins_after = [_bin(b) for b in diagram.get("after") or []]
        if any(b["count"] for b in bins_before + bins_after):
            name = str(diagram.get("set") or "test")
            reliability = {
                "set": name,
                "label": set_label(name, run),
                "before": bins_before,
                "after": bins_after,
                "bins": list(zip(bins_before, bins_after)),
            }
    fitted_on = _number(recorded.get("fitted_on"))
    return {
        "temperature": _number(recorded.get("temperature")),
        "fitted_on": None if fitted_on is None else int(fitted_on),
        "rows": rows,
        "reliability": reliability,
    }


def _bin(raw: Any) -> dict:
    raw = _mapping(raw)
    count = _number(raw.get("count"))
    return {
        "lo": _number(raw.get("lo")),
        "hi": _number(raw.get("hi")),
        "count": int(count) if count else 0,
        "confidence": _number(raw.get("confidence")),
        "accuracy": _number(raw.get("accuracy")),
    }


def previews(run: TrainingRun) -> list[dict]:
    """Each source's grid of sample training images: a base64 PNG, its size and alt text."""
    shown = []
    for name, png in _mapping((run.metrics or {}).get("previews")).items():
        if not isinstance(png, str) or not png:
            continue
        if name == "negatives":
            alt = (
                f"Sample training drawings from {name} that are not digits: "
                "one row, the not-a-digit class"
            )
        else:
            alt = (
                f"Sample training images from {name}: one row per digit, "
                "0 at the top, 9 at the bottom"
            )
        width, height = _png_size(png)
        shown.append(
            {
                "name": name,
                "png": png,
                "alt": alt,
                "width": width,
                "height": height,
                "wide": bool(width and height and width > 4 * height),
            }
        )
    return shown


def _png_size(png_base64: str) -> tuple[int | None, int | None]:
    """Width and height from a base64 PNG's header (its first 24 bytes), else None."""
    try:
        head = base64.b64decode(png_base64[:32], validate=True)
    except (binascii.Error, ValueError):
        return None, None
    if len(head) < 24 or head[:8] != b"\x89PNG\r\n\x1a\n":
        return None, None
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def quantized(run: TrainingRun) -> dict | None:
    """The int8 model beside the float one: sizes, accuracy and speed per set, the served file."""
    recorded = _mapping((run.metrics or {}).get("quantized"))
    if not recorded:
        return None
    sizes = _mapping(recorded.get("bytes"))
    float_bytes, int8_bytes = _number(sizes.get("float32")), _number(sizes.get("int8"))
    rows = []
    for name, scores in _mapping(recorded.get("sets")).items():
        scores = _mapping(scores)
        full, small = _number(scores.get("float32")), _number(scores.get("int8"))
        rows.append(
            {
                "name": name,
                "label": set_label(name, run),
                "float32": full,
                "int8": small,
                "diff": None if full is None or small is None else small - full,
                "float32_ms": _number(scores.get("float32_ms_per_image")),
                "int8_ms": _number(scores.get("int8_ms_per_image")),
            }
        )
    served = recorded.get("served")
    return {
        "float32_bytes": None if float_bytes is None else int(float_bytes),
        "int8_bytes": None if int8_bytes is None else int(int8_bytes),
        "ratio": int8_bytes / float_bytes if float_bytes and int8_bytes is not None else None,
        "rows": rows,
        "largest_loss": _number(recorded.get("largest_loss")),
        "served": served if isinstance(served, str) else None,
        "int8_served": isinstance(served, str) and "int8" in served,
    }


def learned_filters(version) -> list[dict]:
    """The first convolution's learned filters of a run's model version, with words for each.

    None to show (an empty list) when the version's files cannot be opened here.
    """
    from app.errors import AppError
    from app.services import inside, serving
    from app.services.predictor import ModelUnavailable

    if version is None:
        return []
    try:
        filters = inside.first_filters(serving.folder_of(version))
    except (AppError, ModelUnavailable, OSError):
        return []
    for f in filters:
        rows = ["  ".join(f"{v:+.2f}" for v in row) for row in f["weights"]]
        f["alt"] = f"Filter {f['filter'] + 1}, 3x3 weights by row: " + "; ".join(rows)
    return filters

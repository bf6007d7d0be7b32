"""Count matrices (confusions, flags) as heatmap cells."""

from __future__ import annotations

import math

# Shades of the heatmap, white (0) to full blue (HEAT_LEVELS).
HEAT_LEVELS = 10


def heatmap(
    matrix: list[list[int]], rows_are: str = "true", columns_are: str = "predicted"
) -> dict:
    """A count matrix as heatmap cells.

    Shades follow a logarithmic scale so that a handful of mistakes stays
    visible beside a diagonal of a thousand; any non-zero cell gets at least
    the lightest shade. Rates are per row (row-normalised).
    """
    totals = [sum(row) for row in matrix]
    rates = [
        [count / total if total else 0.0 for count in row] for row, total in zip(matrix, totals)
    ]
    peak_count = max((count for row in matrix for count in row), default=0)
    peak_rate = max((rate for row in rates for rate in row), default=0.0)
    rows = []
    for true, (row, rate_row) in enumerate(zip(matrix, rates)):
        cells = [
            {
                "true": true,
                "predicted": predicted,
                "count": count,
                "rate": rate,
                "level_count": _heat_level(count, peak_count, 1.0),
                "level_rate": _heat_level(rate, peak_rate, 1000.0),
                "diagonal": true == predicted,
                "title": f"{rows_are} {true}, {columns_are} {predicted}: {count} ({rate:.1%})",
            }
            for predicted, (count, rate) in enumerate(zip(row, rate_row))
        ]
        rows.append({"true": true, "total": totals[true], "cells": cells})
    return {"labels": list(range(len(matrix))), "rows": rows, "total": sum(totals)}


def _heat_level(value: float, peak: float, scale: float) -> int:
    if value <= 0 or peak <= 0:
        return 0
    level = round(HEAT_LEVELS * math.log1p(value * scale) / math.log1p(peak * scale))
    return min(HEAT_LEVELS, max(1, level))

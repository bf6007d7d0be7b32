"""Digits written out as a dataset file, the way a user would bring one."""

from __future__ import annotations

import numpy as np


def write_csv(path, images, labels, header: str | None = "label", label_last: bool = False):
    pixels = np.uint8(np.round(images.reshape(len(images), -1) * 255))
    lines = []
    if header:
        names = [f"pixel{i}" for i in range(784)]
        lines.append(",".join(names + [header] if label_last else [header] + names))
    for label, row in zip(labels, pixels):
        values = [str(v) for v in row]
        lines.append(",".join(values + [str(label)] if label_last else [str(label)] + values))
    path.write_text("\n".join(lines) + "\n")
    return path

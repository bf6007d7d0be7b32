"""Digits as the pictures a client sends: a page PNG, a data URL."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image


def page_png(
    digit28: np.ndarray, size: int = 280, box: tuple[int, int, int] = (100, 40, 60)
) -> bytes:
    """A 28x28 digit drawn dark on white on a size x size page (long side, left, top)."""
    long_side, left, top = box
    ink = Image.fromarray(np.uint8(digit28 * 255))
    ink = ink.crop(ink.getbbox())
    scale = long_side / max(ink.size)
    ink = ink.resize(
        (max(1, round(ink.width * scale)), max(1, round(ink.height * scale))),
        Image.Resampling.BICUBIC,
    )
    page = Image.new("L", (size, size), 0)
    page.paste(ink, (left, top))
    buffer = io.BytesIO()
    Image.eval(page, lambda v: 255 - v).save(buffer, "PNG")
    return buffer.getvalue()


def data_url(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode()

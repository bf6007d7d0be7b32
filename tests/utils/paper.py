"""Numbers written on synthesised paper: what a photo or a scan of a form looks like.

Held-out MNIST test digits composed into a number (touching neighbours
sometimes, size jitter, baseline drift), written in a pen colour on a paper
with a printed background (a guilloche security pattern, ruled lines, a box,
an underline), under uneven light, maybe tilted, blurred and JPEG-compressed,
with separators drawn in ("12.428", "1,250", "1'250", a trailing dash or
equals sign). Useful for
the front end's tests and benchmark; never sufficient: real paper has pens,
patterns and touching digits no composition predicts.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

PENS = {"black": (20, 20, 30), "blue": (25, 45, 150), "dark blue": (10, 20, 90)}
BACKGROUNDS = ("plain", "guilloche", "ruled", "box", "underline", "grid")


@dataclass(frozen=True)
class Page:
    png: bytes
    text: str  # the digits only
    written: str  # with the separators as drawn


def _ink_layer(
    digits: list[np.ndarray], marks: list[str], rng: np.random.Generator, height: int
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The number's ink (0..1) on a transparent strip; digits and separators left to right."""
    pieces = []
    for digit, mark in zip(digits, marks):
        ink = Image.fromarray(np.uint8(digit * 255))
        ink = ink.crop(ink.getbbox())
        h = height * rng.uniform(0.9, 1.1)
        scale = h / ink.height
        ink = ink.resize(
            (max(1, round(ink.width * scale)), max(1, round(h))), Image.Resampling.BICUBIC
        )
        pieces.append(("digit", np.asarray(ink, np.float32) / 255))
        if mark:
            pieces.append(("mark", mark))
    width = int(
        sum(p.shape[1] if kind == "digit" else height * 0.5 for kind, p in pieces)
        + height * (0.25 * len(pieces) + 2)
    )
    strip = np.zeros((int(height * 1.8), width), np.float32)
    x = height * 0.6
    base = int(height * 0.4)
    stroke = max(2, round(height / 9))
    for kind, piece in pieces:
        if kind == "digit":
            gap = height * (
                rng.uniform(-0.05, 0.05) if rng.random() < 0.15 else rng.uniform(0.1, 0.35)
            )
            x = max(0.0, x + gap)
            y = base + int(rng.uniform(-0.05, 0.05) * height) + (height - piece.shape[0])
            x0 = int(x)
            region = strip[y : y + piece.shape[0], x0 : x0 + piece.shape[1]]
            np.maximum(region, piece[: region.shape[0], : region.shape[1]], out=region)
            x = x0 + piece.shape[1]
            continue
        layer = Image.new("L", (strip.shape[1], strip.shape[0]), 0)
        draw = ImageDraw.Draw(layer)
        bottom = base + height
        if piece in (".", ","):
            cx, r = x + height * 0.18, stroke * 0.9
            draw.ellipse((cx - r, bottom - 2 * r, cx + r, bottom), fill=255)
            if piece == ",":
                draw.line(
                    (cx + r * 0.3, bottom - r, cx - r, bottom + height * 0.2),
                    fill=255,
                    width=stroke,
                )
            x += height * 0.4
        elif piece == "'":
            cx = x + height * 0.18
            draw.line(
                (cx + stroke * 0.4, base - height * 0.05, cx - stroke * 0.4, base + height * 0.22),
                fill=255,
                width=stroke,
            )
            x += height * 0.4
        elif piece in ("-", "="):
            mid = base + height * rng.uniform(0.45, 0.6)
            for y in (mid,) if piece == "-" else (mid - height * 0.12, mid + height * 0.12):
                draw.line((x + height * 0.15, y, x + height * 0.65, y), fill=255, width=stroke)
            x += height * 0.8
        strip = np.maximum(strip, np.asarray(layer, np.float32) / 255)
    return strip[:, : int(x + height * 0.6)], []


def _background(
    shape: tuple[int, int], kind: str, rng: np.random.Generator, height: int
) -> np.ndarray:
    """Printed ink of the paper itself (0..1 darkness) and its colour tint."""
    h, w = shape
    layer = Image.new("L", (w, h), 0)
    draw = ImageDraw.Draw(layer)
    if kind == "guilloche":
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
        period = rng.uniform(5, 12)
        waves = np.sin(xs / period + 3 * np.sin(ys / (period * 3))) * np.sin(
            ys / period * 0.7 + 2 * np.cos(xs / (period * 4))
        )
        return np.where(np.abs(waves) < 0.12, rng.uniform(0.25, 0.5), 0.0).astype(np.float32)
    if kind in ("ruled", "grid"):
        step = int(height * rng.uniform(1.2, 1.8))
        for y in range(int(rng.uniform(0, step)), h, step):
            draw.line((0, y, w, y), fill=255, width=max(1, height // 25))
        if kind == "grid":
            for x in range(int(rng.uniform(0, step)), w, step):
                draw.line((x, 0, x, h), fill=255, width=max(1, height // 25))
    elif kind == "box":
        m = int(height * 0.15)
        draw.rectangle((m, m, w - m, h - m), outline=255, width=max(1, height // 18))
    elif kind == "underline":
        y = int(h * 0.86)
        draw.line((int(w * 0.03), y, int(w * 0.97), y), fill=255, width=max(1, height // 16))
    return np.asarray(layer, np.float32) / 255 * rng.uniform(0.5, 0.9)


def page(
    digits: list[np.ndarray],
    labels: list[int],
    rng: np.random.Generator,
    background: str | None = None,
    pen: str | None = None,
    tilt: float | None = None,
    separators: bool | None = None,
) -> Page:
    """One number on synthesised paper, as a phone photo or a scan might show it."""
    height = int(rng.integers(28, 64))
    text = "".join(str(d) for d in labels)
    marks = [""] * len(digits)
    if separators if separators is not None else rng.random() < 0.5:
        sep = str(rng.choice([".", ",", "'"]))
        for i in range(len(digits) - 4, -1, -3):
            marks[i] = sep
        if rng.random() < 0.5:
            marks[-1] = str(rng.choice(["-", "-", "="]))
    written = "".join(t + m for t, m in zip(text, marks))
    ink, _ = _ink_layer(digits, marks, rng, height)
    kind = background or str(rng.choice(BACKGROUNDS))
    printed = _background(ink.shape, kind, rng, height)
    paper = np.array([rng.uniform(0.85, 1.0)] * 3, np.float32)
    tint = np.array(rng.choice([[0.55, 0.75, 0.6], [0.75, 0.6, 0.7], [0.6, 0.6, 0.65]]), np.float32)
    colour = np.array(PENS[pen or str(rng.choice(list(PENS)))], np.float32) / 255
    rgb = paper * (1 - printed[..., None]) + (paper * tint) * printed[..., None]
    rgb = rgb * (1 - ink[..., None]) + colour * ink[..., None]
    # Uneven light: a gradient and maybe a soft shadow across one side.
    h, w = ink.shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    light = 1 - rng.uniform(0, 0.25) * (xs / w) - rng.uniform(0, 0.15) * (ys / h)
    if rng.random() < 0.4:
        edge = rng.uniform(0.2, 0.8) * w
        light *= np.where(xs < edge, rng.uniform(0.6, 0.85), 1.0)
        light = (
            np.asarray(
                Image.fromarray(np.uint8(light * 255)).filter(ImageFilter.GaussianBlur(w * 0.03)),
                np.float32,
            )
            / 255
        )
    rgb = np.clip(rgb * light[..., None] + rng.normal(0, 0.015, rgb.shape), 0, 1)
    image = Image.fromarray(np.uint8(rgb * 255))
    angle = tilt if tilt is not None else rng.uniform(-4, 4)
    if angle:
        fill = tuple(int(v * 255 * 0.9) for v in paper)
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
    if rng.random() < 0.5:
        image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 1.0)))
    buffer = io.BytesIO()
    if rng.random() < 0.5:
        image.save(buffer, "JPEG", quality=int(rng.integers(50, 90)))
        image = Image.open(io.BytesIO(buffer.getvalue()))
        buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return Page(buffer.getvalue(), text, written)

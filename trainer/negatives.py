"""Drawings that are not digits: what the network learns to refuse.

Dots and taps, straight lines far from upright, scribbles, geometric shapes
and letters that look like no digit (from the Hershey stroke fonts, with the
wobble of a hand). All are strokes, placed on a pad-sized canvas and drawn
through the pad's own path, like the online digits. Nothing here is a digit:
no circle (a 0), no upright line (a 1), no S (a 5) or Z (a 2).

Letters from some fonts are kept out of training (`HELDOUT_FONTS`), so the
refusal rate on them says how letters never seen are handled.
"""

from __future__ import annotations

import math

import numpy as np

# Letters that look like no digit (O, I, l, S, Z, B, G, b, g, q... do).
LETTERS = "ACEFHKMNPRTUVWXYacefhkmnprtuvwx"
# Marks that look like no digit: a question mark is a 7 or a 2 without its dot.
MARKS = "?#%&@*"
TRAIN_FONTS = ("futural", "futuram", "rowmans", "scripts", "cursive", "timesi", "timesr")
HELDOUT_FONTS = ("scriptc", "rowmand", "timesib")

_glyph_cache: dict[tuple[str, str], list[np.ndarray]] = {}


def glyph(font: str, letter: str) -> list[np.ndarray]:
    """A letter's strokes in a Hershey font (y downwards)."""
    key = (font, letter)
    if key not in _glyph_cache:
        from HersheyFonts import HersheyFonts

        hf = HersheyFonts()
        hf.load_default_font(font)
        _glyph_cache[key] = [
            np.asarray(s, np.float32) for s in hf.strokes_for_text(letter) if len(s) > 0
        ]
    return _glyph_cache[key]


def _densify(points: np.ndarray, step: float) -> np.ndarray:
    out = [points[0]]
    for a, b in zip(points[:-1], points[1:]):
        n = max(1, int(np.linalg.norm(b - a) / step))
        out.extend(a + (b - a) * t for t in np.linspace(1 / n, 1, n))
    return np.asarray(out, np.float32)


def hand_wobble(strokes: list[np.ndarray], rng: np.random.Generator) -> list[np.ndarray]:
    """A random affine warp and a smooth tremor, so shapes look drawn by hand."""
    points = np.concatenate(strokes)
    centre = (points.min(0) + points.max(0)) / 2
    size = float(np.ptp(points, axis=0).max()) or 1.0
    angle = rng.uniform(-0.3, 0.3)
    shear = rng.uniform(-0.35, 0.35)
    sx, sy = rng.uniform(0.75, 1.25, 2)
    rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    matrix = rot @ np.array([[1.0, shear], [0.0, 1.0]]) @ np.diag([sx, sy])
    out = []
    phase = rng.uniform(0, 2 * np.pi, 4)
    amp = rng.uniform(0.005, 0.03) * size
    for s in strokes:
        dense = _densify(s, size / 40) if len(s) > 1 else s
        t = np.linspace(0, 1, len(dense))[:, None]
        tremor = amp * np.hstack(
            [
                np.sin(7 * t + phase[0]) + np.sin(13 * t + phase[1]),
                np.sin(5 * t + phase[2]) + np.sin(11 * t + phase[3]),
            ]
        )
        out.append(((dense - centre) @ matrix.T + tremor).astype(np.float32))
    return out


def letter(rng: np.random.Generator, fonts=TRAIN_FONTS, letters=LETTERS) -> list[np.ndarray]:
    return hand_wobble(glyph(str(rng.choice(fonts)), str(rng.choice(list(letters)))), rng)


def _polygon(corners: int, rng, star: bool = False) -> list[np.ndarray]:
    turns = np.linspace(0, 2 * np.pi, corners + 1) + rng.uniform(0, 2 * np.pi)
    radius = np.where(np.arange(corners + 1) % 2, 0.45, 1.0) if star else np.ones(corners + 1)
    return [np.stack([np.cos(turns) * radius, np.sin(turns) * radius], 1).astype(np.float32)]


def shape(rng: np.random.Generator) -> list[np.ndarray]:
    """A geometric shape or sign that is no digit."""
    kind = rng.integers(0, 9)
    if kind == 0:
        strokes = _polygon(3, rng)
    elif kind == 1:
        w, h = rng.uniform(0.6, 1.6, 2)
        strokes = [np.array([[0, 0], [w, 0], [w, h], [0, h], [0, 0]], np.float32)]
    elif kind == 2:
        strokes = _polygon(10, rng, star=True)
    elif kind == 3:  # a cross: x or +
        if rng.random() < 0.5:
            strokes = [
                np.array([[0, 0], [1, 1]], np.float32),
                np.array([[1, 0], [0, 1]], np.float32),
            ]
        else:
            strokes = [
                np.array([[0.5, 0], [0.5, 1]], np.float32),
                np.array([[0, 0.5], [1, 0.5]], np.float32),
            ]
    elif kind == 4:  # a wave
        t = np.linspace(0, rng.uniform(2, 5) * np.pi, 60)
        strokes = [np.stack([t / np.pi, 0.4 * np.sin(t)], 1).astype(np.float32)]
    elif kind == 5:  # a spiral of several turns
        t = np.linspace(0, rng.uniform(4, 7) * np.pi, 150)
        r = 0.15 + t / t[-1]
        strokes = [np.stack([r * np.cos(t), r * np.sin(t)], 1).astype(np.float32)]
    elif kind == 6:  # a heart
        t = np.linspace(0, 2 * np.pi, 80)
        x = 16 * np.sin(t) ** 3
        y = -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
        strokes = [np.stack([x, y], 1).astype(np.float32)]
    elif kind == 7:  # an arrow
        strokes = [
            np.array([[0, 0.5], [1, 0.5]], np.float32),
            np.array([[0.7, 0.2], [1, 0.5], [0.7, 0.8]], np.float32),
        ]
    else:  # a zigzag
        n = int(rng.integers(4, 9))
        strokes = [
            np.stack([np.arange(n) / 2, (np.arange(n) % 2) * rng.uniform(0.6, 1.2)], 1).astype(
                np.float32
            )
        ]
    return hand_wobble(strokes, rng)


def question_mark(rng: np.random.Generator) -> list[np.ndarray]:
    """A hand-drawn question mark: a hook (open or curled) down to a stem, and its dot."""
    turn = rng.uniform(1.1, 1.6) * np.pi
    t = np.linspace(np.pi * rng.uniform(0.9, 1.1), np.pi - turn, 24)
    hook = np.stack([np.cos(t), -np.sin(t)], 1)
    stem_end = hook[-1] + [rng.uniform(-0.15, 0.15), rng.uniform(0.5, 0.9)]
    stroke = np.vstack([hook, stem_end]).astype(np.float32)
    dot = (stem_end + [rng.uniform(-0.1, 0.1), rng.uniform(0.35, 0.6)]).astype(np.float32)
    # A dot is a tap or a short dash.
    dot = np.stack([dot, dot + rng.uniform(-0.06, 0.06, 2)]).astype(np.float32)
    return hand_wobble([stroke, dot], rng)


def mark(rng: np.random.Generator, fonts=TRAIN_FONTS) -> list[np.ndarray]:
    """A mark that is no digit: a question mark by hand, or a sign from a font."""
    if rng.random() < 0.5:
        return question_mark(rng)
    return hand_wobble(glyph(str(rng.choice(fonts)), str(rng.choice(list(MARKS)))), rng)


def scribble(rng: np.random.Generator) -> list[np.ndarray]:
    """Back-and-forth scrawl covering an area: the pad wiped with a finger."""
    n = int(rng.integers(8, 30))
    points = rng.uniform(0, 1, (n, 2)).astype(np.float32)
    points[:, 0] *= rng.uniform(0.5, 1.5)
    return [points]


def line(rng: np.random.Generator) -> list[np.ndarray]:
    """A straight stroke at least 40 degrees away from upright (upright is a 1)."""
    angle = math.radians(rng.uniform(40, 140))  # from vertical
    end = np.array([math.sin(angle), math.cos(angle)], np.float32)
    return hand_wobble([np.stack([np.zeros(2, np.float32), end])], rng)


def taps(rng: np.random.Generator) -> list[np.ndarray]:
    """One to three taps (dots) where a finger touched the pad."""
    count = int(rng.choice([1, 1, 1, 2, 3]))
    return [rng.uniform(0, 1, (1, 2)).astype(np.float32) for _ in range(count)]


def negative_drawing(rng: np.random.Generator, fonts=TRAIN_FONTS) -> list[np.ndarray]:
    """One random non-digit: letters, marks, shapes, scribbles, lines and taps."""
    pick = rng.random()
    if pick < 0.08:
        return taps(rng)
    if pick < 0.42:
        return letter(rng, fonts)
    if pick < 0.5:
        return mark(rng, fonts)
    if pick < 0.72:
        return shape(rng)
    if pick < 0.86:
        return scribble(rng)
    return line(rng)


def negative_drawings(count: int, seed: int, fonts=TRAIN_FONTS) -> list[list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return [negative_drawing(rng, fonts) for _ in range(count)]


def render_letters(
    seed: int, fonts=HELDOUT_FONTS, per_letter: int = 4, letters: str = LETTERS
) -> np.ndarray:
    """Every letter of `letters` from the given fonts, `per_letter` hands each."""
    from trainer.online import render

    rng = np.random.default_rng(seed)
    drawings = [
        hand_wobble(glyph(font, ch), rng)
        for font in fonts
        for ch in letters
        for _ in range(per_letter)
    ]
    return render(drawings, seed)


def render_marks(seed: int, fonts=HELDOUT_FONTS, per_mark: int = 4) -> np.ndarray:
    """Every mark of MARKS from the given fonts, `per_mark` hands each."""
    return render_letters(seed + 1, fonts, per_mark, MARKS)

"""Digits as pen strokes (points in 0..1 of the canvas), and a page's mouse or finger drawing them."""

from __future__ import annotations

import math


def draw(page, strokes):
    """Drag the mouse along each stroke (points in 0..1 of the canvas)."""
    box = page.locator("#pad").bounding_box()
    for stroke in strokes:
        x, y = stroke[0]
        page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"])
        page.mouse.down()
        for x, y in stroke[1:]:
            page.mouse.move(box["x"] + x * box["width"], box["y"] + y * box["height"], steps=8)
        page.mouse.up()


def finger(page, stroke, pointer_id=7):
    """One finger stroke as touch pointer events (points in 0..1 of the canvas)."""
    page.locator("#pad").evaluate(
        """(c, [points, id]) => {
        const r = c.getBoundingClientRect();
        const at = (t, [x, y]) => c.dispatchEvent(new PointerEvent(t, {pointerId: id,
            pointerType: 'touch', isPrimary: true, bubbles: true, cancelable: true,
            clientX: r.left + x * r.width, clientY: r.top + y * r.height, button: 0}));
        at('pointerdown', points[0]);
        for (let i = 1; i < points.length; i++) {
            const [x0, y0] = points[i - 1], [x1, y1] = points[i];
            for (let k = 1; k <= 10; k++) at('pointermove', [x0 + (x1 - x0) * k / 10, y0 + (y1 - y0) * k / 10]);
        }
        at('pointerup', points[points.length - 1]);
    }""",
        [stroke, pointer_id],
    )


SEVEN = [[(0.25, 0.2), (0.75, 0.2), (0.6, 0.5), (0.45, 0.85)]]
ONE = [[(0.5, 0.15), (0.5, 0.85)]]
DOT = [[(0.5, 0.5), (0.502, 0.5)]]
# An open-topped 4 that could be a 9.
FOUR_OR_NINE = [[(0.65, 0.3), (0.35, 0.3), (0.32, 0.5), (0.68, 0.5)], [(0.68, 0.2), (0.68, 0.85)]]
LETTER_A = [[(0.275, 0.825), (0.5, 0.175), (0.725, 0.825)], [(0.375, 0.575), (0.625, 0.575)]]

# Digits in a unit box, for numbers.
TWO = [[(0.1, 0.25), (0.3, 0.07), (0.6, 0.05), (0.85, 0.2), (0.8, 0.45), (0.1, 0.95), (0.95, 0.95)]]
ZERO = [
    [
        (0.5 + 0.42 * math.sin(t * math.pi / 6), 0.5 - 0.47 * math.cos(t * math.pi / 6))
        for t in range(13)
    ]
]
SIX = [
    [
        (0.8, 0.05),
        (0.4, 0.3),
        (0.15, 0.65),
        (0.3, 0.95),
        (0.7, 0.95),
        (0.85, 0.72),
        (0.6, 0.5),
        (0.2, 0.65),
    ]
]


def number(*digits):
    """Strokes of a number written left to right across the strip (0..1 of the canvas)."""
    strokes = []
    for i, digit in enumerate(digits):
        x0 = 0.1 + i * 0.21
        strokes += [[(x0 + x * 0.16, 0.2 + y * 0.6) for x, y in stroke] for stroke in digit]
    return strokes


# A continental 7 in a unit box: the bar at the top, a crossbar through the stem.
SEVEN_CROSSED = [[(0.1, 0.1), (0.9, 0.1), (0.45, 0.95)], [(0.3, 0.55), (0.8, 0.55)]]

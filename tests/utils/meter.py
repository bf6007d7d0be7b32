"""How much work a request made the preprocessing do, measured in pixels rather than seconds.

A bound on the canvases drawn and the pictures decoded is what keeps a
request cheap; asserting on it instead of on a clock fails for the same
inputs on any machine, however loaded.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field

from trainer import preprocessing

# render_strokes draws at most 400 px a side; decode_image keeps at most MAX_DECODE_SIDE.
MAX_CANVAS_SIDE = 400


@dataclass
class Meter:
    canvases: list[tuple[int, int]] = field(default_factory=list)
    pictures: list[tuple[int, int]] = field(default_factory=list)

    def reset(self) -> None:
        self.canvases.clear()
        self.pictures.clear()

    def assert_cheap(self) -> None:
        """Every canvas and picture within its bound, and not too many canvases."""
        for width, height in self.canvases:
            assert max(width, height) <= MAX_CANVAS_SIDE, (width, height)
        for width, height in self.pictures:
            assert max(width, height) <= preprocessing.MAX_DECODE_SIDE, (width, height)
        assert len(self.pictures) <= 1, len(self.pictures)


@contextlib.contextmanager
def metered() -> Iterator[Meter]:
    """Count what preprocessing draws and decodes while the block runs."""
    meter = Meter()
    render, decode = preprocessing.render_strokes, preprocessing.decode_image

    def counted_render(strokes):
        ink = render(strokes)
        meter.canvases.append((ink.shape[1], ink.shape[0]))
        return ink

    def counted_decode(data):
        image = decode(data)
        meter.pictures.append(image.size)
        return image

    preprocessing.render_strokes = counted_render
    preprocessing.decode_image = counted_decode
    try:
        yield meter
    finally:
        preprocessing.render_strokes, preprocessing.decode_image = render, decode

"""Inside the network: a drawing's activation maps, and which ink made the answer.

Everything is computed by the served LiteRT model in this process (never
TensorFlow), and only when someone asks:

- `layers`: the input, each convolution stage's activation maps (strongest
  filter first), the pooled maps, and the scores before and after
  calibration. An ensemble shows one member's layers, named. The maps come
  from the served float model run once with its intermediate tensors kept.
- `why`: occlusion over the 28x28 input. The ink's bounding box is cut into a
  4x4 grid; each cell that holds ink is removed in turn (one batched call of
  the served model) and the answer's lead over the runner-up, in calibrated
  log-probabilities, is measured again: ink whose removal shrinks the lead
  argued for the answer, ink whose removal grows it argued for the runner-up.
  `Placement` maps the 28x28 result back onto the canvas.
- `first_filters`: the learned first-layer filters of a model folder.
"""

from __future__ import annotations

import base64
import io
import json
import os
import re
import threading
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from app.errors import AppError, NotFound
from app.extensions import db
from app.models import Prediction, label_name
from app.services import registry, serving
from app.services.predictor import ModelUnavailable, Predictor
from trainer import preprocessing
from trainer.calibration import NOT_A_DIGIT, apply_temperature

# Filters shown per stage unless all are asked for.
STRONGEST = 8
# Occlusion: the ink's bounding box cut into GRID x GRID cells (about 5 pixels
# square on a digit fitted in 20x20); the cells with ink, about a dozen, are
# removed one at a time in one batched call.
GRID = 4
# A cell with fewer ink pixels than this is left alone: its removal says little.
MIN_CELL_INK = 4
INK = 0.2  # an input pixel at least this bright is ink
# Networks kept open per process (a run page may show another version's filters).
KEPT_OPEN = 3

_TENSOR = re.compile(
    r"(?:member(?P<member>\d+)_\d+/)?(?P<layer>stage\d+_(?:relu\d+|pool)|pool|dense)_\d+/"
)
CAPTIONS = {
    "input": "What the network reads: your drawing cropped, scaled into 20x20 and centred in "
    "28x28, white on black like MNIST.",
    "relu1": "Each filter slides a 3x3 window over the image below it; bright pixels show where "
    "its pattern (an edge, a corner, a curve) was found.",
    "relu2": "A second layer of filters combines the first layer's findings into larger shapes.",
    "pool": "Pooling keeps the strongest response in each 2x2 square: half the width and height, "
    "the same patterns.",
    "global": "Each of the last filters is averaged over the whole image: one number per filter, "
    "how strongly its shape is present anywhere.",
    "dense": "The dense layer weighs those numbers into a score for every answer.",
    "scores": "The scores as probabilities: the network's own, then calibrated (softened or "
    "sharpened by one fitted number) into what the page shows.",
}


# ------------------------------------------------------------------ the network's layers
@dataclass(frozen=True)
class Layer:
    key: str  # e.g. "stage1_relu1"
    index: int  # the tensor's index in the interpreter
    shape: tuple[int, ...]


class Network:
    """A served model folder's float network, run with every intermediate tensor kept."""

    def __init__(self, model_dir: str | os.PathLike):
        from ai_edge_litert.interpreter import Interpreter

        directory = Path(model_dir)
        meta = json.loads((directory / "model.json").read_text())
        served = str(meta.get("serve", "model.tflite"))
        # The int8 file's maps are quantized: the float file, when there is one, shows them.
        name = "model.tflite" if (directory / "model.tflite").is_file() else served
        try:
            with warnings.catch_warnings():  # keeping every tensor is the point here
                warnings.simplefilter("ignore", UserWarning)
                self._interpreter = Interpreter(
                    model_path=str(directory / name),
                    num_threads=1,
                    experimental_preserve_all_tensors=True,
                )
            self._interpreter.allocate_tensors()
        except (RuntimeError, ValueError) as exc:
            raise ModelUnavailable(f"{directory / name} cannot be opened: {exc}") from exc
        self._input = self._interpreter.get_input_details()[0]["index"]
        self._output = self._interpreter.get_output_details()[0]["index"]
        # The served file itself: its output is the served model's, no second run needed.
        self.is_served_file = name == served
        self._lock = threading.Lock()
        members: dict[int, list[Layer]] = {}
        self.filters: np.ndarray | None = None
        for detail in self._interpreter.get_tensor_details():
            tensor_name = detail["name"].split(";")[0]
            found = _TENSOR.search(tensor_name + "/")
            shape = tuple(int(v) for v in detail["shape"])
            first_conv = "stage1_conv1" in tensor_name and len(shape) == 4 and shape[-1] == 1
            if first_conv and self.filters is None:  # the first member's learned 3x3 filters
                self.filters = self._interpreter.get_tensor(detail["index"])[..., 0]
            if not found or shape[:1] != (1,):
                continue
            member = int(found["member"] or 1)
            layer = found["layer"]
            if layer == "dense" and "MatMul" not in tensor_name:
                continue
            members.setdefault(member, []).append(Layer(layer, detail["index"], shape[1:]))
        if not members:
            raise ModelUnavailable(f"{directory / name} has no layers this page can show")
        self.members = len(members)
        first = min(members)
        seen: dict[str, Layer] = {}
        for layer in sorted(members[first], key=lambda item: item.index):
            seen.setdefault(layer.key, layer)
        self.layers = list(seen.values())

    def run(self, image: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
        """Every layer's output for one 28x28 image (the first member's, for an ensemble),
        and the network's own output."""
        with self._lock:
            self._interpreter.set_tensor(
                self._input, image.reshape(1, 28, 28, 1).astype(np.float32)
            )
            self._interpreter.invoke()
            outputs = {
                layer.key: np.array(self._interpreter.get_tensor(layer.index)[0])
                for layer in self.layers
            }
            return outputs, np.array(self._interpreter.get_tensor(self._output)[0], np.float64)


_networks: dict[str, tuple[int, Network]] = {}
_networks_lock = threading.Lock()


def network(model_dir: str) -> Network:
    """This process's `Network` for a model folder, opened once (after a fork, again)."""
    pid = os.getpid()
    with _networks_lock:
        entry = _networks.get(model_dir)
        if entry is None or entry[0] != pid:
            entry = (pid, Network(model_dir))
            _networks[model_dir] = entry
            while len(_networks) > KEPT_OPEN:  # the served version and a few a page showed
                del _networks[next(iter(_networks))]
        return entry[1]


def _png(values: np.ndarray, peak: float | None = None) -> str:
    """A picture as a grayscale PNG data URL, 0 black to `peak` (its own maximum) white."""
    top = float(values.max()) if peak is None else peak
    scaled = (
        np.zeros(values.shape, np.uint8)
        if top <= 0
        else np.uint8(np.clip(values / top, 0, 1) * 255)
    )
    buffer = io.BytesIO()
    Image.fromarray(scaled).save(buffer, "PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _bytes(values: np.ndarray, peak: float) -> str:
    """A map as base64 bytes, row by row, 0 black to `peak` white (the page draws them)."""
    scaled = (
        np.uint8(np.clip(values / peak, 0, 1) * 255)
        if peak > 0
        else np.zeros(values.shape, np.uint8)
    )
    return base64.b64encode(scaled.tobytes()).decode()


def _stage_title(key: str) -> tuple[str, str]:
    """A layer's title and the caption that explains it."""
    stage, _, kind = key.partition("_")
    number = stage.removeprefix("stage")
    if key == "pool":
        return "Global average pooling", CAPTIONS["global"]
    if key == "dense":
        return "Dense layer", CAPTIONS["dense"]
    if kind == "pool":
        return f"Stage {number}: pooled", CAPTIONS["pool"]
    which = kind.removeprefix("relu")
    return f"Stage {number}: convolution {which}", CAPTIONS["relu1" if which == "1" else "relu2"]


def layers(
    predictor: Predictor, model_dir: str, image: np.ndarray, every_filter: bool = False
) -> dict:
    """The input, each stage's maps (strongest first), the pooled maps and both scores."""
    net = network(model_dir)
    outputs, output = net.run(image)
    stages = []
    for layer in net.layers:
        values = outputs[layer.key]
        title, caption = _stage_title(layer.key)
        entry: dict = {
            "key": layer.key,
            "title": title,
            "caption": caption,
            "shape": list(values.shape),
        }
        if values.ndim == 3:  # maps: height x width x filters
            strength = values.mean(axis=(0, 1))
            order = np.argsort(-strength, kind="stable")
            shown = order if every_filter else order[:STRONGEST]
            peak = float(values.max())
            entry["filters"] = int(values.shape[-1])
            entry["maps"] = [
                {
                    "filter": int(f),
                    "strength": float(strength[f]),
                    "pixels": _bytes(values[..., f], peak),
                }
                for f in shown
            ]
        else:  # one number per filter or unit
            order = np.argsort(-values, kind="stable")
            entry["units"] = int(values.shape[0])
            entry["strongest"] = [
                {"unit": int(u), "value": float(values[u])} for u in order[:STRONGEST]
            ]
            entry["values"] = [float(v) for v in values]
        stages.append(entry)
    raw = output if net.is_served_file else predictor.raw_probabilities(image)
    calibrated = apply_temperature(raw, predictor.info.temperature)
    return {
        "input": {"png": _png(image, 1.0), "shape": [28, 28], "caption": CAPTIONS["input"]},
        "stages": stages,
        "scores": {
            "caption": CAPTIONS["scores"],
            "labels": [label_name(i) for i in range(len(raw))],
            "before": [float(p) for p in raw],
            "after": [float(p) for p in calibrated],
            "temperature": predictor.info.temperature,
        },
        "member": (
            {"shown": 1, "of": net.members, "name": f"network 1 of the {net.members} averaged"}
            if net.members > 1
            else None
        ),
    }


# ------------------------------------------------------------------ why this digit
def _cells(image: np.ndarray) -> list[tuple[slice, slice]]:
    """The grid cells over the ink's bounding box that hold ink."""
    rows, cols = np.nonzero(image >= INK)
    if not len(rows):
        return []
    ys = np.linspace(rows.min(), rows.max() + 1, GRID + 1).round().astype(int)
    xs = np.linspace(cols.min(), cols.max() + 1, GRID + 1).round().astype(int)
    cells = []
    for y0, y1 in zip(ys[:-1], ys[1:]):
        for x0, x1 in zip(xs[:-1], xs[1:]):
            cell = (slice(y0, max(y1, y0 + 1)), slice(x0, max(x1, x0 + 1)))
            if (image[cell] >= INK).sum() >= MIN_CELL_INK:
                cells.append(cell)
    return cells


def _region(weights: np.ndarray, ink: np.ndarray) -> str:
    """Where most of `weights` lies within the ink's bounding box, in words."""
    rows, cols = np.nonzero(ink)
    if not len(rows) or weights.sum() <= 0:
        return "the ink"
    top, bottom, left, right = rows.min(), rows.max() + 1, cols.min(), cols.max() + 1
    ys, xs = np.indices(weights.shape)
    cy = float((ys * weights).sum() / weights.sum())
    cx = float((xs * weights).sum() / weights.sum())
    v = min(2, int(3 * (cy - top) / max(1, bottom - top)))
    h = min(2, int(3 * (cx - left) / max(1, right - left)))
    vertical = ("top", "middle", "bottom")[v]
    horizontal = ("left", "middle", "right")[h]
    if vertical == "middle" and horizontal == "middle":
        return "the ink in the middle"
    if vertical == "middle":
        return f"the ink on the {horizontal}"
    if horizontal == "middle":
        return f"the ink at the {vertical}"
    return f"the ink at the {vertical} {horizontal}"


def _named(label: int) -> str:
    if label == NOT_A_DIGIT:
        return "no digit"
    return "an 8" if label == 8 else f"a {label}"


def why(predictor: Predictor, image: np.ndarray, base: np.ndarray | None = None) -> dict:
    """Which ink argued for the answer and which for the runner-up (occlusion, one batch).

    `map`: 28x28 values in -1..1 on the ink (0 elsewhere): positive for the
    answer, negative for the runner-up, scaled by the largest effect.
    """
    image = np.asarray(image, np.float32)
    if base is None:  # the calibrated probabilities of the image as it is
        base = predictor.probabilities(image)
    order = np.argsort(-base)
    top, runner = int(order[0]), int(order[1])
    cells = _cells(image)
    batch = np.repeat(image[None], len(cells), axis=0)
    for i, cell in enumerate(cells):
        batch[i][cell] = 0.0
    eps = 1e-6
    lead = float(np.log(base[top] + eps) - np.log(base[runner] + eps))
    occluded = predictor.probabilities_many(batch) if cells else np.empty((0, len(base)))
    effect = lead - (np.log(occluded[:, top] + eps) - np.log(occluded[:, runner] + eps))
    total = np.zeros((28, 28), np.float64)
    count = np.zeros((28, 28), np.float64)
    for cell, value in zip(cells, effect):
        total[cell] += value
        count[cell] += 1
    ink = image >= INK
    attribution = np.where(ink & (count > 0), total / np.maximum(count, 1), 0.0)
    largest = float(np.abs(attribution).max())
    scaled = attribution / largest if largest > 0 else attribution
    towards, against = np.clip(scaled, 0, None), np.clip(-scaled, 0, None)
    sentence = f"{_region(towards * image, ink).capitalize()} made it look like {_named(top)}"
    if against.max() > 0.15:
        sentence += f"; {_region(against * image, ink)} argued for {_named(runner)}"
    return {
        "top": label_name(top),
        "runner_up": label_name(runner),
        "map": [[round(float(v), 3) for v in row] for row in scaled],
        "sentence": sentence + ".",
        "cells": len(cells),
        "method": f"occlusion: the ink cut into a {GRID}x{GRID} grid, each part removed in turn "
        "and the answer's lead over the runner-up measured again",
    }


# ------------------------------------------------------------------ first-layer filters
def first_filters(model_dir: str) -> list[dict]:
    """The first convolution's learned 3x3 filters as small images (light: positive weights)."""
    try:
        net = network(model_dir)
    except (ModelUnavailable, OSError, ValueError) as exc:
        raise AppError(f"the model's filters cannot be read: {exc}", 404) from exc
    if net.filters is None:
        return []
    out = []
    for i, kernel in enumerate(net.filters):
        peak = float(np.abs(kernel).max()) or 1.0
        grey = (kernel / peak + 1) / 2  # -peak black, 0 grey, +peak white
        big = np.kron(grey, np.ones((8, 8)))
        out.append(
            {"filter": i, "png": _png(big, 1.0), "weights": [[float(v) for v in r] for r in kernel]}
        )
    return out


# ------------------------------------------------------------------ what the API answers
def explain(
    image: np.ndarray,
    placement: preprocessing.Placement | None,
    size: tuple[int, int] | None = None,
    every_filter: bool = False,
) -> dict:
    """Layers and the overlay of one 28x28 input, by the served model.

    `placement` maps the drawing's pixels (canvas pixels for strokes, the
    picture's for a picture of `size`) to the 28x28 input, for the page to lay
    the overlay on the ink.
    """
    predictor = serving.predictor()
    out = layers(predictor, predictor.info.path, image, every_filter)
    out["why"] = why(predictor, image, np.asarray(out["scores"]["after"]))
    out["placement"] = placement.as_json() if placement else None
    out["size"] = list(size) if size else None
    out["model_version"] = predictor.info.version
    return out


def _image_of_png(png: bytes) -> np.ndarray:
    with Image.open(io.BytesIO(png)) as picture:
        return np.asarray(picture.convert("L"), np.float32) / 255.0


def of_prediction(
    prediction_id: int, author: str | None, any_drawing: bool, every_filter: bool = False
) -> dict:
    """`explain` for a stored prediction: its author's, or anyone's when `any_drawing`."""
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None:
        raise NotFound(f"prediction {prediction_id} does not exist")
    if not any_drawing and (prediction.author is None or prediction.author != author):
        raise AppError("only the person who made this drawing can look inside it", 403)
    if not prediction.input_png:  # purged: the drawing and its input are gone
        raise NotFound(f"the drawing of prediction {prediction_id} is no longer kept")
    placement, size = _placement_of(prediction)
    image = _image_of_png(prediction.input_png)
    return {"prediction_id": prediction.id, **explain(image, placement, size, every_filter)}


def _placement_of(prediction: Prediction) -> tuple[preprocessing.Placement | None, tuple | None]:
    """Where the stored drawing's pixels land in its 28x28 input (None if it cannot be said)."""
    from app.services.drawings import STROKES_TYPE

    try:
        if prediction.drawing_type == STROKES_TYPE:
            body = json.loads(prediction.drawing)
            strokes = preprocessing.parse_strokes(
                body["strokes"], body["width"], body["height"], body.get("line_width")
            )
            return preprocessing.preprocess_strokes_placed(strokes)[1], None
        picture = preprocessing.decode_image(prediction.drawing)
        return preprocessing.preprocess_image_placed(picture)[1], picture.size
    except (preprocessing.PreprocessError, ValueError, KeyError, TypeError):
        return None, None


def why_of_input(prediction_id: int) -> dict:
    """`why` for a stored prediction's 28x28 input, by the served model (for the flag review)."""
    prediction = db.session.get(Prediction, prediction_id)
    if prediction is None or not prediction.input_png:
        raise NotFound(f"prediction {prediction_id} has no drawing kept")
    predictor = serving.predictor()
    return {
        **why(predictor, _image_of_png(prediction.input_png)),
        "model_version": predictor.info.version,
    }


def why_of_mistake(run, index: int) -> dict:
    """`why` for one of a run's confident test mistakes, by its own model when it loads here."""
    mistakes = run.mistakes or []
    if not 0 <= index < len(mistakes) or not isinstance(mistakes[index], dict):
        raise NotFound(f"run {run.id} has no mistake {index}")
    try:
        image = _image_of_png(base64.b64decode(mistakes[index]["png"]))
    except (KeyError, ValueError, OSError) as exc:
        raise NotFound(f"mistake {index} of run {run.id} has no image") from exc
    version = registry.get_version(run.model_version) if run.model_version else None
    predictor = None
    if version is not None:
        try:
            predictor = serving.load(serving.folder_of(version))
        except (ModelUnavailable, OSError):
            predictor = None
    own = predictor is not None
    predictor = predictor or serving.predictor()
    return {**why(predictor, image), "model_version": predictor.info.version, "own_model": own}

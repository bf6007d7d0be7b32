"""Inside the network: every stage of the served model, and the ink that made the answer."""

from __future__ import annotations

import base64

import numpy as np
import pytest
from ai_edge_litert.interpreter import Interpreter

from app.config import Config
from app.extensions import db
from app.models import Prediction
from trainer.preprocessing import Strokes, preprocess_strokes, preprocess_strokes_placed

# A continental 7: its bar at the top, a crossbar through the stem.
SEVEN = {
    "strokes": [[[70, 60], [210, 60], [130, 240]], [[100, 150], [200, 150]]],
    "width": 280,
    "height": 280,
    "line_width": 18,
}
TOP_BAR = [(x, 60) for x in range(80, 200, 10)]
STEM = [(210 - 80 * t / 10, 60 + 180 * t / 10) for t in range(3, 10)]
# The stages of the bundled networks, as their layers are built (trainer/model.py).
STAGES = {
    "stage1_relu1": [28, 28, 32],
    "stage1_relu2": [28, 28, 32],
    "stage1_pool": [14, 14, 32],
    "stage2_relu1": [14, 14, 64],
    "stage2_relu2": [14, 14, 64],
    "stage2_pool": [7, 7, 64],
    "stage3_relu1": [7, 7, 128],
    "pool": [128],
    "dense": [128],
}


def drawn(client, body=SEVEN) -> int:
    reply = client.post("/api/predict", json=body)
    assert reply.status_code == 200
    return reply.get_json()["prediction_id"]


def at(placement: dict, points, image: np.ndarray | list) -> list[float]:
    """The values of a 28x28 map under canvas points, through the reply's placement."""
    grid = np.asarray(image)
    out = []
    for x, y in points:
        col = int(x * placement["sx"] + placement["ox"])
        row = int(y * placement["sy"] + placement["oy"])
        out.append(float(grid[min(max(row, 0), 27), min(max(col, 0), 27)]))
    return out


def test_placement_lands_the_canvas_on_the_28x28_ink():
    strokes = Strokes([[(70, 60), (210, 60), (130, 240)]], 280, 280, 18)
    image, placed = preprocess_strokes_placed(strokes)
    assert np.array_equal(image, preprocess_strokes(strokes))  # the same input as ever
    values = at(placed.as_json(), [(70, 60), (140, 60), (210, 60), (170, 150), (130, 240)], image)
    assert min(values) > 0.3, values  # every stroke point is on ink
    assert at(placed.as_json(), [(240, 240), (40, 200)], image) == [0.0, 0.0]  # paper stays paper


def test_the_bar_of_a_seven_is_what_made_it_a_seven(client):
    pid = drawn(client)
    reply = client.get(f"/api/predictions/{pid}/inside")
    assert reply.status_code == 200
    data = reply.get_json()
    why = data["why"]
    assert why["top"] == 7 and why["runner_up"] != 7
    bar = at(data["placement"], TOP_BAR, why["map"])
    stem = at(data["placement"], STEM, why["map"])
    assert np.mean(bar) > 0.3, bar  # the bar argued for 7, strongly
    assert np.mean(bar) > np.mean(stem)
    assert "at the top" in why["sentence"] and "a 7" in why["sentence"]
    assert data["model_version"] and why["method"].startswith("occlusion")


def test_every_stage_has_the_shape_the_served_model_has(client):
    pid = drawn(client)
    data = client.get(f"/api/predictions/{pid}/inside").get_json()
    assert {s["key"]: s["shape"] for s in data["stages"]} == STAGES
    # ... as the .tflite itself says.
    tflite = Interpreter(model_path=str(Config.MODEL_DIR) + "/model.tflite")
    details = tflite.get_tensor_details()
    shapes = {tuple(int(v) for v in d["shape"][1:]) for d in details if list(d["shape"][:1]) == [1]}
    assert all(tuple(shape) in shapes for shape in STAGES.values())
    for stage in data["stages"]:
        if "maps" in stage:
            h, w, filters = stage["shape"]
            assert stage["filters"] == filters and len(stage["maps"]) == 8
            strengths = [m["strength"] for m in stage["maps"]]
            assert strengths == sorted(strengths, reverse=True)  # the strongest first
            assert all(len(base64.b64decode(m["pixels"])) == h * w for m in stage["maps"])
        else:
            assert len(stage["values"]) == stage["units"] == stage["shape"][0]
    assert data["member"] == {"shown": 1, "of": 2, "name": "network 1 of the 2 averaged"}
    scores = data["scores"]
    assert len(scores["labels"]) == 11 and scores["labels"][-1] == "none"
    assert sum(scores["before"]) == pytest.approx(1, abs=1e-4)
    assert sum(scores["after"]) == pytest.approx(1, abs=1e-4)
    every = client.get(f"/api/predictions/{pid}/inside?all=1").get_json()
    assert [len(s.get("maps", [])) for s in every["stages"]] == [32, 32, 32, 64, 64, 64, 128, 0, 0]


def test_the_calibrated_scores_are_the_answer(client):
    reply = client.post("/api/predict", json=SEVEN).get_json()
    data = client.get(f"/api/predictions/{reply['prediction_id']}/inside").get_json()
    assert data["scores"]["after"][:10] == pytest.approx(reply["probabilities"], abs=1e-3)
    # Nothing of this is added to /api/predict itself.
    assert not {"stages", "why", "placement", "scores"} & set(reply)


def test_another_clients_drawing_is_refused(app, client):
    pid = drawn(client)
    stranger = app.test_client()
    refused = stranger.get(f"/api/predictions/{pid}/inside")
    assert refused.status_code == 403 and "only the person" in refused.get_json()["error"]
    app.config["FLAGS_PUBLIC"] = True  # a classroom demo: every drawing open
    assert stranger.get(f"/api/predictions/{pid}/inside").status_code == 200


def test_unknown_and_purged_drawings_are_404(app, client):
    assert client.get("/api/predictions/999/inside").status_code == 404
    pid = drawn(client)
    with app.app_context():
        row = db.session.get(Prediction, pid)
        row.drawing, row.input_png, row.drawing_type = b"", b"", "purged"
        db.session.commit()
    gone = client.get(f"/api/predictions/{pid}/inside")
    assert gone.status_code == 404 and "no longer kept" in gone.get_json()["error"]


def test_a_drawing_sent_as_predict_takes_it_is_read_without_storing(app, client):
    reply = client.post("/api/inside", json=SEVEN)
    assert reply.status_code == 200 and reply.get_json()["why"]["top"] == 7
    with app.app_context():
        assert db.session.query(Prediction).count() == 0
    assert client.post("/api/inside", json={"strokes": "no"}).status_code == 400
    assert client.post("/api/inside", data=b"[", content_type="application/json").status_code == 400


def test_the_run_page_shows_the_learned_first_layer_filters(app, client, seeded):
    from app.models import TrainingRun

    with app.app_context():
        run_id = db.session.query(TrainingRun).filter_by(model_version=seeded).one().id
    page = client.get(f"/dashboard/runs/{run_id}").get_data(as_text=True)
    section = page.split('id="filters"', 1)[1].split("</section>", 1)[0]
    images = section.count("<img ")
    assert images == 32 and section.count('alt="Filter ') == 32
    assert "3x3 weights by row" in section and 'href="#filters"' in page


def test_a_flagged_drawing_and_a_confident_mistake_say_why(app, client, seeded):
    from app.models import TrainingRun
    from tests.utils.admin import sign_in

    pid = drawn(client)
    asked = client.get(f"/dashboard/predictions/{pid}/why", headers={"Accept": "application/json"})
    assert asked.status_code in (401, 403) and asked.get_json()["error"]  # people's drawings
    sign_in(app, client)
    why = client.get(f"/dashboard/predictions/{pid}/why").get_json()
    assert why["top"] == 7 and "a 7" in why["sentence"] and len(why["map"]) == 28
    with app.app_context():
        run = db.session.query(TrainingRun).filter_by(model_version=seeded).one()
        run_id, mistakes = run.id, len(run.mistakes)
        first = run.mistakes[0]
    assert mistakes > 0
    mistake = client.get(f"/dashboard/runs/{run_id}/mistakes/0/why").get_json()
    assert mistake["own_model"] is True and mistake["model_version"] == seeded
    assert str(mistake["top"]) == str(first["predicted"])  # the wrong answer it explains
    assert client.get(f"/dashboard/runs/{run_id}/mistakes/{mistakes}/why").status_code == 404
    page = client.get(f"/dashboard/runs/{run_id}").get_data(as_text=True)
    assert f'data-why-url="/dashboard/runs/{run_id}/mistakes/0/why"' in page
    assert "js/why.js" in page

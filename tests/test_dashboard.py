"""The dashboard pages show the stored numbers, follow live runs, and refuse bad input."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import datetime, timedelta, timezone

import pytest
from PIL import Image

from app.extensions import db
from app.models import Flag, Prediction, TrainingRun
from app.services.training import import_record

# The MNIST training set's label counts.
LABELS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]


def tiny_png() -> str:
    buffer = io.BytesIO()
    Image.new("L", (28, 28), 0).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def confusion_matrix() -> list[list[int]]:
    matrix = [[0] * 10 for _ in range(10)]
    for digit in range(10):
        matrix[digit][digit] = 980 + digit
    matrix[4][9] = 12  # row 4: 984 + 12 = 996 true fours, 12 read as 9 (1.2%)
    matrix[7][2] = 3
    return matrix


def make_record(name: str = "full-mnist-one", version: str | None = "cnn-test-1",
                accuracy: float = 0.9954, artifacts_dir=None, **overrides) -> dict:
    per_class = [{"digit": d, "precision": 0.99 + d / 1000, "recall": 0.98 + d / 1000,
                  "f1": 0.985 + d / 1000, "support": 996 if d == 4 else 980 + d,
                  "roc_auc": 0.9999} for d in range(10)]
    record = {
        "name": name,
        "status": "succeeded",
        "profile": "full",
        "started_at": "2026-11-21T07:43:45+00:00",
        "finished_at": "2026-11-21T08:00:45+00:00",
        "duration_seconds": 1020.0,
        "datasets": [{"name": "mnist", "train": 60000, "test": 10000, "weight": 1}],
        "train_size": 60000,
        "test_size": 10000,
        "params": {"profile": "full", "epochs": 2, "batch_size": 128, "lr": 0.002, "kfold": 2},
        "seed": 1,
        "versions": {"python": "3.11.2", "tensorflow": "2.18.0", "numpy": "2.0.2"},
        "layers": [
            {"name": "conv2d", "type": "Conv2D", "output_shape": "(None, 28, 28, 32)",
             "params": 320},
            {"name": "dense", "type": "Dense", "output_shape": "(None, 10)", "params": 1290},
        ],
        "param_count": 157994,
        "label_distribution": LABELS,
        "metrics": {
            "accuracy": accuracy,
            "loss": 0.01284,
            "samples": 10000,
            "per_class": per_class,
            "macro": {"precision": 0.9953, "recall": 0.9952, "f1": 0.9951, "roc_auc": 0.99998},
            "weighted": {"precision": 0.9955, "recall": 0.9954, "f1": 0.9954},
            "confusion_matrix": confusion_matrix(),
            "report": "precision recall f1-score support",
        },
        "kfold": {"k": 2, "mean": 0.9921, "std": 0.0014,
                  "folds": [{"fold": 1, "accuracy": 0.9911, "loss": 0.031, "train": 30000,
                             "test": 30000, "seconds": 100.0},
                            {"fold": 2, "accuracy": 0.9931, "loss": 0.027, "train": 30000,
                             "test": 30000, "seconds": 101.0}]},
        "mistakes": [{"index": 1234, "true": 4, "predicted": 9, "confidence": 0.973,
                      "png": tiny_png()}],
        "history": [
            {"fold": None, "epoch": 1, "loss": 0.6386, "accuracy": 0.8010, "val_loss": 0.2040,
             "val_accuracy": 0.9373, "lr": 0.0011, "seconds": 39.4},
            {"fold": None, "epoch": 2, "loss": 0.1585, "accuracy": 0.9533, "val_loss": 0.0616,
             "val_accuracy": 0.9793, "lr": 0.002, "seconds": 42.0},
            {"fold": 1, "epoch": 1, "loss": 0.7777, "accuracy": 0.7777, "val_loss": None,
             "val_accuracy": None, "lr": 0.0011, "seconds": 20.0},
        ],
        "baselines": [
            {"name": "logistic_regression", "accuracy": 0.9214, "macro_f1": 0.9203,
             "fit_seconds": 12.5, "predict_ms_per_image": 0.004, "train_samples": 10000,
             "test_samples": 10000, "params": {"C": 1.0}},
            {"name": "random_forest", "accuracy": 0.9688, "macro_f1": 0.9685,
             "fit_seconds": 30.25, "predict_ms_per_image": 0.021, "train_samples": 10000,
             "test_samples": 10000, "params": {}},
        ],
    }
    if version:
        record["artifacts"] = {
            "version": version, "dir": str(artifacts_dir or "/nonexistent"),
            "files": {"model.json": {"sha256": "ab" * 32, "bytes": 17},
                      "model.tflite": {"sha256": "cd" * 32, "bytes": 632540}},
        }
    record.update(overrides)
    return record


def seed(app, record: dict) -> int:
    with app.app_context():
        run, created = import_record(record)
        assert created
        return run.id


@pytest.fixture
def model_dir(app, tmp_path):
    """The served model: a model.json naming version cnn-test-1."""
    folder = tmp_path / "served"
    folder.mkdir()
    (folder / "model.json").write_text(json.dumps({
        "version": "cnn-test-1", "created": "2026-11-21T08:00:45+00:00",
        "test_accuracy": 0.9954000115394592}))
    app.config["MODEL_DIR"] = str(folder)
    return folder


def add_prediction(created_at: datetime, flag_status: str | None = None) -> None:
    prediction = Prediction(drawing=b"{}", drawing_type="strokes", input_png=b"png", digit=3,
                            confidence=0.9, probabilities_json=json.dumps([0.01] * 10),
                            model_version="cnn-test-1", created_at=created_at)
    db.session.add(prediction)
    db.session.flush()
    if flag_status:
        db.session.add(Flag(prediction_id=prediction.id, label=8, status=flag_status))
    db.session.commit()


def run_row(html: str, run_id: int) -> str:
    match = re.search(rf'<tr id="run-row-{run_id}".*?</tr>', html, re.S)
    assert match, f"no row for run {run_id}"
    return match.group(0)


def assert_csp_safe(html: str) -> None:
    """No inline script or style: the Content-Security-Policy would block it."""
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag or 'type="application/json"' in tag, tag
    for match in re.finditer(r"<script\b([^>]*)>(.*?)</script>", html, re.S):
        if "src=" in match.group(1):
            assert match.group(2).strip() == ""
    assert " style=" not in html
    assert re.search(r"\son[a-z]+=", html) is None


def page_data(html: str, block_id: str) -> dict:
    match = re.search(rf'<script type="application/json" id="{block_id}">(.*?)</script>',
                      html, re.S)
    assert match, block_id
    return json.loads(match.group(1))


# ------------------------------------------------------------------ index
def test_index_shows_model_figures_and_runs(app, client, model_dir):
    active_id = seed(app, make_record())
    other_id = seed(app, make_record(name="quick-mnist-two", version="cnn-test-2",
                                     accuracy=0.9812, kfold=None))
    now = datetime.now(timezone.utc)
    with app.app_context():
        add_prediction(now, flag_status="open")
        add_prediction(now)
        add_prediction(now - timedelta(days=2), flag_status="confirmed")

    reply = client.get("/dashboard")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert_csp_safe(html)
    assert 'href="/dashboard"' in html and 'aria-current="page"' in html

    assert '<code id="active-version">cnn-test-1</code>' in html
    assert '<dd id="active-accuracy">99.54%</dd>' in html
    assert '<dd id="fig-today">2</dd>' in html
    assert '<dd id="fig-total">3</dd>' in html
    assert '<dd id="fig-open-flags">1</dd>' in html
    assert '<dd id="fig-flagged-share">66.7%</dd>' in html

    active_row, other_row = run_row(html, active_id), run_row(html, other_id)
    assert 'class="is-active"' in active_row and ">active</span>" in active_row
    assert ">active</span>" not in other_row and "is-active" not in other_row
    assert f'href="/dashboard/runs/{active_id}"' in active_row
    assert "99.54%" in active_row and "0.9951" in active_row and "17 min 00 s" in active_row
    assert 'data-sort="0.9954"' in active_row
    assert "98.12%" in other_row
    assert f'name="runs" value="{other_id}"' in other_row
    assert page_data(html, "dashboard-data")["live"] == []


def test_index_without_model_or_runs(app, client, tmp_path):
    app.config["MODEL_DIR"] = str(tmp_path / "nothing-here")
    reply = client.get("/dashboard/")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert "No model.json in" in html
    assert "No training runs yet" in html
    assert '<dd id="fig-flagged-share">—</dd>' in html


def test_unreadable_model_json_is_reported(app, client, tmp_path):
    (tmp_path / "model.json").write_text("{not json")
    app.config["MODEL_DIR"] = str(tmp_path)
    reply = client.get("/dashboard")
    assert reply.status_code == 200
    assert "cannot be read" in reply.get_data(as_text=True)


def test_running_run_polls_its_progress(app, client, model_dir):
    record = make_record(name="full-mnist-live", version=None, status="running",
                         metrics={}, kfold=None, mistakes=[], baselines=[],
                         finished_at=None, duration_seconds=None)
    run_id = seed(app, record)
    with app.app_context():
        run = db.session.get(TrainingRun, run_id)
        run.phase, run.epoch, run.total_epochs, run.eta_seconds = "training", 3, 24, 924.0
        db.session.commit()

    html = client.get("/dashboard").get_data(as_text=True)
    row = run_row(html, run_id)
    assert "status-running" in row and "training" in row
    assert "epoch 3/24" in row and 'max="24" value="3"' in row
    assert "about 15 min 24 s left" in row
    data = page_data(html, "dashboard-data")
    assert data["live"] == [{"id": run_id, "progress_url": f"/dashboard/runs/{run_id}/progress"}]
    assert data["poll_ms"] == 2000

    reply = client.get(f"/dashboard/runs/{run_id}/progress")
    assert reply.status_code == 200
    assert reply.headers["Cache-Control"] == "no-store"
    progress = reply.get_json()
    assert progress["status"] == "running"
    assert progress["phase"] == "training"
    assert (progress["epoch"], progress["total_epochs"]) == (3, 24)
    assert progress["eta_seconds"] == 924.0
    assert [e["epoch"] for e in progress["epochs"]] == [1, 2, 1]
    assert progress["epochs"][1]["val_accuracy"] == pytest.approx(0.9793)
    assert progress["epochs"][2]["fold"] == 1

    page = client.get(f"/dashboard/runs/{run_id}").get_data(as_text=True)
    assert 'id="progress"' in page and "epoch 3/24" in page
    run_data = page_data(page, "run-data")
    assert run_data["live"] is True and run_data["progress_url"].endswith("/progress")
    assert 'id="chart-loss"' in page  # curves so far, updated while it runs


def test_progress_of_unknown_run_is_json_404(client):
    reply = client.get("/dashboard/runs/999/progress")
    assert reply.status_code == 404
    assert "999" in reply.get_json()["error"]


# ------------------------------------------------------------------ run page
def test_run_page_shows_stored_numbers(app, client, model_dir, tmp_path):
    run_id = seed(app, make_record(artifacts_dir=tmp_path))
    reply = client.get(f"/dashboard/runs/{run_id}")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert_csp_safe(html)
    assert "chart.umd.js" in html and "js/dashboard.js" in html

    assert ">active</span>" in html
    assert '<dd id="sum-accuracy">99.54%</dd>' in html
    assert '<dd id="sum-loss">0.0128</dd>' in html
    assert '<dd id="sum-f1">0.9951</dd>' in html
    assert '<dd id="sum-auc">0.99998</dd>' in html

    # Confusion matrix: a count in every cell, the rate and hover text.
    cells = re.findall(r'<td class="heat heat-(\d+)[^"]*"[^>]*>(\d+)</td>', html)
    assert len(cells) == 100
    cell = re.search(r'<td [^>]*data-true="4" data-predicted="9"[^>]*>(\d+)</td>', html)
    assert cell and cell.group(1) == "12"
    assert 'title="true 4, predicted 9: 12 (1.2%)"' in cell.group(0)
    assert 'data-rate="1.2%"' in cell.group(0)
    assert 'title="true 0, predicted 1: 0 (0.0%)"' in html
    assert 'id="confusion-toggle" aria-pressed="false"' in html

    # Per-class table with averages.
    assert "0.9953" in html and "0.9954" in html and "weighted average" in html
    # k-fold
    assert '<strong id="kfold-mean">99.21%</strong>' in html
    assert '<span id="kfold-std">0.14%</span>' in html
    assert "99.11%" in html and "99.31%" in html
    # Baselines, the CNN beside them.
    assert "logistic_regression" in html and "92.14%" in html and "96.88%" in html
    assert "12.5 s" in html and "0.004" in html and "0.021" in html
    assert "CNN (this run)" in html
    # Mistakes gallery
    assert f'src="data:image/png;base64,{tiny_png()}"' in html
    assert "97.3% sure" in html
    # Label distribution, set-up, layers, versions
    assert "6,742" in html and "11.2%" in html  # 6,742 of 60,000 labels
    assert "batch_size" in html and "tensorflow" in html and "2.18.0" in html
    assert "Conv2D" in html and "(None, 28, 28, 32)" in html and "157,994" in html
    # Text alternatives: a label on every canvas.
    canvases = re.findall(r"<canvas [^>]*>", html)
    assert len(canvases) == 4
    assert all('role="img"' in c and "aria-label=" in c for c in canvases)
    assert html.count("<details class=\"chart-data\">") == 4

    data = page_data(html, "run-data")
    assert [e["epoch"] for e in data["history"]] == [1, 2]  # the fold's epoch left out
    assert data["history"][1]["val_accuracy"] == pytest.approx(0.9793)
    assert data["baselines"][0] == {"name": "CNN (this run)", "accuracy": 0.9954, "is_cnn": True}
    assert data["baselines"][2]["accuracy"] == pytest.approx(0.9688)
    assert data["label_distribution"] == LABELS
    assert data["live"] is False


def test_failed_run_shows_its_error(app, client, model_dir):
    run_id = seed(app, make_record(name="broken", version=None, status="failed",
                                   error="DatasetError: cannot read train-images",
                                   metrics={}, kfold=None, baselines=[], mistakes=[]))
    html = client.get(f"/dashboard/runs/{run_id}").get_data(as_text=True)
    assert "The run failed" in html
    assert "DatasetError: cannot read train-images" in html
    assert "status-failed" in html
    assert 'id="confusion-table"' not in html


def test_unknown_run_is_a_404_page(client):
    reply = client.get("/dashboard/runs/4242")
    assert reply.status_code == 404
    html = reply.get_data(as_text=True)
    assert "There is no training run with id 4242." in html
    assert "<h1>Not found</h1>" in html


# ------------------------------------------------------------------ artifacts
def test_artifact_download_only_for_listed_files(app, client, model_dir, tmp_path):
    artifacts = tmp_path / "candidate"
    artifacts.mkdir()
    (artifacts / "model.json").write_text('{"version": "x"}')
    (artifacts / "secret.txt").write_text("not listed")
    run_id = seed(app, make_record(artifacts_dir=artifacts))

    html = client.get(f"/dashboard/runs/{run_id}").get_data(as_text=True)
    assert f'href="/dashboard/runs/{run_id}/artifacts/model.json"' in html
    assert "ab" * 32 in html
    # model.tflite is listed but not on disk: no link, and a 404.
    assert f"/dashboard/runs/{run_id}/artifacts/model.tflite" not in html
    assert "no longer on disk" in html

    reply = client.get(f"/dashboard/runs/{run_id}/artifacts/model.json")
    assert reply.status_code == 200
    assert reply.data == b'{"version": "x"}'
    assert "attachment" in reply.headers["Content-Disposition"]
    reply.close()

    assert client.get(f"/dashboard/runs/{run_id}/artifacts/secret.txt").status_code == 404
    assert client.get(f"/dashboard/runs/{run_id}/artifacts/model.tflite").status_code == 404
    assert client.get(f"/dashboard/runs/{run_id}/artifacts/..%2Fsecret.txt").status_code == 404
    assert client.get("/dashboard/runs/999/artifacts/model.json").status_code == 404


def test_artifacts_of_a_run_without_any_are_404(app, client, model_dir):
    run_id = seed(app, make_record(version=None))
    assert client.get(f"/dashboard/runs/{run_id}/artifacts/model.json").status_code == 404


# ------------------------------------------------------------------ compare
def test_compare_two_runs(app, client, model_dir):
    first = seed(app, make_record())
    second = seed(app, make_record(name="quick-mnist-two", version="cnn-test-2",
                                   accuracy=0.9974, kfold=None, param_count=160042,
                                   duration_seconds=960.0,
                                   history=[{"fold": None, "epoch": 1, "loss": 0.5,
                                             "accuracy": 0.85, "val_loss": None,
                                             "val_accuracy": None, "lr": 0.003,
                                             "seconds": 10.0}]))
    reply = client.get(f"/dashboard/compare?runs={first},{second}")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert_csp_safe(html)
    assert "full-mnist-one" in html and "quick-mnist-two" in html
    assert "99.54%" in html and "99.74%" in html
    assert "+0.20 pp" in html  # accuracy vs the first run
    assert "+2,048" in html  # parameters
    assert "\u22121 min 00 s" in html  # duration
    assert "k-fold accuracy (mean)" in html
    canvases = re.findall(r"<canvas [^>]*>", html)
    assert len(canvases) == 2 and all("aria-label=" in c for c in canvases)

    data = page_data(html, "compare-data")
    assert [r["id"] for r in data["runs"]] == [first, second]
    assert data["runs"][0]["source"] == "validation"
    assert data["runs"][0]["accuracy"] == pytest.approx([0.9373, 0.9793])
    assert data["runs"][1]["source"] == "training"  # no validation split: training curve
    assert data["runs"][1]["loss"] == [0.5]

    # The order given is kept (the first is the reference); repeated parameters work too.
    reply = client.get(f"/dashboard/compare?runs={second}&runs={first}")
    assert reply.status_code == 200
    assert "\u22120.20 pp" in reply.get_data(as_text=True)


@pytest.mark.parametrize("query, status, message", [
    ("", 400, "Choose at least two runs"),
    ("?runs=", 400, "Choose at least two runs"),
    ("?runs=1", 400, "at least two different runs"),
    ("?runs=1,1", 400, "at least two different runs"),
    ("?runs=1,abc", 400, "&#39;abc&#39; is not one"),
    ("?runs=1,-2", 400, "is not one"),
    ("?runs=1,2.5", 400, "is not one"),
    ("?runs=1,2,3,4,5,6,7,8,9", 400, "at most 8"),
    ("?runs=1,999", 404, "There is no training run with id 999."),
    ("?runs=998,999", 404, "There are no training runs with ids 998, 999."),
])
def test_compare_refuses_bad_input(app, client, query, status, message):
    seed(app, make_record())
    seed(app, make_record(name="second", version="cnn-test-2"))
    reply = client.get("/dashboard/compare" + query)
    assert reply.status_code == status
    html = reply.get_data(as_text=True)
    assert message in html
    assert "Back to the dashboard" in html


def test_static_assets_are_served_locally(client):
    for path in ("/static/js/dashboard.js", "/static/css/dashboard.css",
                 "/static/vendor/chartjs/chart.umd.js"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        reply.close()
    reply = client.get("/static/vendor/chartjs/chart.umd.js")
    assert b"Chart.js v4.4.9" in reply.data[:200]
    reply.close()


def test_every_page_links_to_the_dashboard(client):
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/dashboard">Dashboard</a>' in html

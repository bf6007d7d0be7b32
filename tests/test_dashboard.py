"""The dashboard pages show the stored numbers, follow live runs, and refuse bad input."""

from __future__ import annotations

import base64
import io
import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from PIL import Image

from app.extensions import db
from app.models import Flag, Prediction, TrainingRun
from app.services.training import import_record

pytestmark = pytest.mark.databases("sqlite", "postgresql")

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


def make_record(
    name: str = "full-mnist-one",
    version: str | None = "cnn-test-1",
    accuracy: float = 0.9954,
    artifacts_dir=None,
    **overrides,
) -> dict:
    per_class = [
        {
            "digit": d,
            "precision": 0.99 + d / 1000,
            "recall": 0.98 + d / 1000,
            "f1": 0.985 + d / 1000,
            "support": 996 if d == 4 else 980 + d,
            "roc_auc": 0.9999,
        }
        for d in range(10)
    ]
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
            {
                "name": "conv2d",
                "type": "Conv2D",
                "output_shape": "(None, 28, 28, 32)",
                "params": 320,
            },
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
        "kfold": {
            "k": 2,
            "mean": 0.9921,
            "std": 0.0014,
            "folds": [
                {
                    "fold": 1,
                    "accuracy": 0.9911,
                    "loss": 0.031,
                    "train": 30000,
                    "test": 30000,
                    "seconds": 100.0,
                },
                {
                    "fold": 2,
                    "accuracy": 0.9931,
                    "loss": 0.027,
                    "train": 30000,
                    "test": 30000,
                    "seconds": 101.0,
                },
            ],
        },
        "mistakes": [
            {"index": 1234, "true": 4, "predicted": 9, "confidence": 0.973, "png": tiny_png()}
        ],
        "history": [
            {
                "fold": None,
                "epoch": 1,
                "loss": 0.6386,
                "accuracy": 0.8010,
                "val_loss": 0.2040,
                "val_accuracy": 0.9373,
                "lr": 0.0011,
                "seconds": 39.4,
            },
            {
                "fold": None,
                "epoch": 2,
                "loss": 0.1585,
                "accuracy": 0.9533,
                "val_loss": 0.0616,
                "val_accuracy": 0.9793,
                "lr": 0.002,
                "seconds": 42.0,
            },
            {
                "fold": 1,
                "epoch": 1,
                "loss": 0.7777,
                "accuracy": 0.7777,
                "val_loss": None,
                "val_accuracy": None,
                "lr": 0.0011,
                "seconds": 20.0,
            },
        ],
        "baselines": [
            {
                "name": "logistic_regression",
                "accuracy": 0.9214,
                "macro_f1": 0.9203,
                "fit_seconds": 12.5,
                "predict_ms_per_image": 0.004,
                "train_samples": 10000,
                "test_samples": 10000,
                "params": {"C": 1.0},
            },
            {
                "name": "random_forest",
                "accuracy": 0.9688,
                "macro_f1": 0.9685,
                "fit_seconds": 30.25,
                "predict_ms_per_image": 0.021,
                "train_samples": 10000,
                "test_samples": 10000,
                "params": {},
            },
        ],
    }
    if version:
        record["artifacts"] = {
            "version": version,
            "dir": str(artifacts_dir or "/nonexistent"),
            "files": {
                "model.json": {"sha256": "ab" * 32, "bytes": 17},
                "model.tflite": {"sha256": "cd" * 32, "bytes": 632540},
            },
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
    (folder / "model.json").write_text(
        json.dumps(
            {
                "version": "cnn-test-1",
                "created": "2026-11-21T08:00:45+00:00",
                "test_accuracy": 0.9954000115394592,
            }
        )
    )
    app.config["MODEL_DIR"] = str(folder)
    return folder


def add_prediction(created_at: datetime, flag_status: str | None = None) -> None:
    prediction = Prediction(
        drawing=b"{}",
        drawing_type="strokes",
        input_png=b"png",
        digit=3,
        confidence=0.9,
        probabilities_json=json.dumps([0.01] * 10),
        model_version="cnn-test-1",
        created_at=created_at,
    )
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
    match = re.search(
        rf'<script type="application/json" id="{block_id}">(.*?)</script>', html, re.S
    )
    assert match, block_id
    return json.loads(match.group(1))


# ------------------------------------------------------------------ index
def test_index_shows_model_figures_and_runs(app, client, model_dir):
    active_id = seed(app, make_record())
    other_id = seed(
        app, make_record(name="quick-mnist-two", version="cnn-test-2", accuracy=0.9812, kfold=None)
    )
    now = datetime.now(UTC)
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
    record = make_record(
        name="full-mnist-live",
        version=None,
        status="running",
        metrics={},
        kfold=None,
        mistakes=[],
        baselines=[],
        finished_at=None,
        duration_seconds=None,
    )
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
    assert "chart.umd.js" in html and "js/dashboard/main.js" in html

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
    assert "Logistic regression" in html and "92.14%" in html and "96.88%" in html
    assert (
        "logistic_regression"
        not in html.split('<table id="baselines-table"')[1].split("</table>")[0]
    )
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
    assert html.count('<details class="chart-data">') == 4

    data = page_data(html, "run-data")
    assert [e["epoch"] for e in data["history"]] == [1, 2]  # the fold's epoch left out
    assert data["history"][1]["val_accuracy"] == pytest.approx(0.9793)
    assert data["baselines"][0] == {"name": "CNN (this run)", "accuracy": 0.9954, "is_cnn": True}
    assert data["baselines"][2]["accuracy"] == pytest.approx(0.9688)
    assert data["label_distribution"] == LABELS
    assert data["live"] is False


def test_failed_run_shows_its_error(app, client, model_dir):
    run_id = seed(
        app,
        make_record(
            name="broken",
            version=None,
            status="failed",
            error="DatasetError: cannot read train-images",
            metrics={},
            kfold=None,
            baselines=[],
            mistakes=[],
        ),
    )
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


# ------------------------------------------------------------------ held-out sets, calibration
def grid_png(width: int, height: int) -> str:
    buffer = io.BytesIO()
    Image.new("L", (width, height), 0).save(buffer, "PNG")
    return base64.b64encode(buffer.getvalue()).decode()


MNIST_GRID = grid_png(28 * 12, 28 * 10)  # rows 0-9, twelve images each
NEGATIVES_GRID = grid_png(28 * 40, 28)  # one row: not a digit


def bins(pairs: dict[int, tuple[int, float, float]]) -> list[dict]:
    """Ten reliability bins; `pairs` gives (count, confidence, accuracy) of the non-empty ones."""
    rows = []
    for i in range(10):
        count, confidence, accuracy = pairs.get(i, (0, None, None))
        rows.append(
            {
                "lo": i / 10,
                "hi": (i + 1) / 10,
                "count": count,
                "confidence": confidence,
                "accuracy": accuracy,
            }
        )
    return rows


def verdict_metrics() -> dict:
    return {
        "holdout": {
            "online:uji": {
                "samples": 1200,
                "accuracy": 0.9875,
                "refused": 0.0125,
                "unsure": 0.0433,
            },
            "online:pendigits": {
                "samples": 600,
                "accuracy": 0.9650,
                "refused": 0.02,
                "unsure": 0.05,
            },
            "negatives:letters": {
                "samples": 520,
                "accuracy": None,
                "refused": 0.9135,
                "unsure": 0.0577,
            },
        },
        "test_verdicts": {
            "samples": 10000,
            "accuracy": 0.9954,
            "refused": 0.0012,
            "unsure": 0.0087,
        },
        "calibration": {
            "temperature": 1.4321,
            "fitted_on": 6000,
            "ece": {
                "test": {"before": 0.0123, "after": 0.0045},
                "online:uji": {"before": 0.0512, "after": 0.0234},
            },
            "reliability": {
                "set": "online:uji",
                "before": bins({6: (20, 0.65, 0.45), 9: (1180, 0.995, 0.9903)}),
                "after": bins({5: (31, 0.56, 0.52), 9: (1169, 0.981, 0.9931)}),
            },
        },
        "previews": {"mnist": MNIST_GRID, "negatives": NEGATIVES_GRID},
        "quantized": {
            "bytes": {"float32": 632540, "int8": 171234},
            "sets": {
                "test": {
                    "float32": 0.9954,
                    "int8": 0.9951,
                    "float32_ms_per_image": 0.412,
                    "int8_ms_per_image": 0.198,
                },
                "online:uji": {
                    "float32": 0.9875,
                    "int8": 0.9858,
                    "float32_ms_per_image": 0.405,
                    "int8_ms_per_image": 0.201,
                },
            },
            "largest_loss": 0.0017,
            "served": "model-int8.tflite",
        },
    }


def with_metrics(extra: dict, **overrides) -> dict:
    record = make_record(**overrides)
    record["metrics"].update(extra)
    return record


def element(html: str, tag: str, element_id: str) -> str:
    match = re.search(rf'<{tag}\b[^>]*\bid="{element_id}"[^>]*>.*?</{tag}>', html, re.S)
    assert match, f"no <{tag} id={element_id}>"
    return match.group(0)


def test_run_page_shows_held_out_sets_calibration_previews_and_int8(app, client, model_dir):
    run_id = seed(app, with_metrics(verdict_metrics()))
    reply = client.get(f"/dashboard/runs/{run_id}")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    assert_csp_safe(html)

    # Held-out writers, the test split beside them.
    section = element(html, "section", "held-out")
    assert "These writers were never trained on" in section
    test_row = element(section, "tr", "held-out-test")
    assert "mnist test split" in test_row and "10,000" in test_row
    assert "99.54%" in test_row and "0.12%" in test_row and "0.87%" in test_row
    uji = element(section, "tr", "held-out-online-uji")
    assert "UJI Pen Characters" in uji and "held-out writers" in uji and "Spain" in uji
    assert ">1,200<" in uji and ">98.75%<" in uji and ">1.25%<" in uji and ">4.33%<" in uji
    pendigits = element(section, "tr", "held-out-online-pendigits")
    assert "Turkey" in pendigits and ">600<" in pendigits and ">96.50%<" in pendigits
    letters = element(section, "tr", "held-out-negatives-letters")
    assert "not digits" in letters and ">91.35%<" in letters and ">5.77%<" in letters
    assert section.index("held-out-test") < section.index("held-out-online-uji")

    # Calibration: the temperature, ECE per set, the reliability diagram and its table.
    section = element(html, "section", "calibration")
    assert '<dd id="calibration-temperature">1.432</dd>' in section
    assert '<dd id="calibration-fitted-on">6,000</dd>' in section
    ece = element(section, "tr", "ece-online-uji")
    assert ">5.12%<" in ece and ">2.34%<" in ece and "\u22122.78 pp" in ece
    assert "\u22120.78 pp" in element(section, "tr", "ece-test")
    assert '<canvas id="chart-reliability" role="img"' in section
    table = element(section, "table", "reliability-table")
    rows = re.findall(r"<tr><th scope=\"row\">(.*?)</th>(.*?)</tr>", table, re.S)
    assert [label for label, _ in rows] == [f"{i * 10}–{i * 10 + 10}%" for i in range(10)]
    top = rows[9][1]
    assert re.findall(r'<td class="num">([^<]*)</td>', top) == [
        "1,180",
        "99.5%",
        "99.0%",
        "1,169",
        "98.1%",
        "99.3%",
    ]
    assert re.findall(r'<td class="num">([^<]*)</td>', rows[0][1]) == ["0", "—", "—"] * 2
    data = page_data(html, "run-data")["reliability"]
    assert "UJI Pen Characters" in data["label"]
    assert [b["count"] for b in data["before"]] == [0] * 6 + [20, 0, 0, 1180]
    assert data["after"][5] == {
        "lo": 0.5,
        "hi": 0.6,
        "count": 31,
        "confidence": 0.56,
        "accuracy": 0.52,
    }

    # The training data: every preview grid as an image with caption and alt text.
    section = element(html, "section", "training-data")
    figures = re.findall(
        r"<li( class=\"wide\")?>\s*<figure>\s*(<img [^>]*>)\s*"
        r"<figcaption><code>([^<]+)</code></figcaption>",
        section,
    )
    assert [name for _, _, name in figures] == ["mnist", "negatives"]
    (mnist_wide, mnist_img, _), (negatives_wide, negatives_img, _) = figures
    assert f'src="data:image/png;base64,{MNIST_GRID}"' in mnist_img
    assert 'width="336" height="280"' in mnist_img and "one row per digit" in mnist_img
    assert f'src="data:image/png;base64,{NEGATIVES_GRID}"' in negatives_img
    assert 'width="1120" height="28"' in negatives_img and "not digits" in negatives_img
    assert (mnist_wide, negatives_wide) == ("", ' class="wide"')

    # The int8 model: sizes, both accuracies per set, speed, the file served.
    section = element(html, "section", "int8")
    assert '<dd id="int8-float-size">632.5 KB</dd>' in section
    assert '<dd id="int8-size">171.2 KB</dd>' in section
    assert '<dd id="int8-ratio">27%</dd>' in section
    served = element(section, "p", "int8-served")
    assert "<code>model-int8.tflite</code>, the int8 model" in served and "0.17 points" in served
    row = re.findall(r'<td class="num">([^<]*)</td>', element(section, "tr", "int8-test"))
    assert row == ["99.54%", "99.51%", "\u22120.03 pp", "0.412", "0.198"]
    assert "\u22120.17 pp" in element(section, "tr", "int8-online-uji")

    # Five charts now, each with its text alternative.
    canvases = re.findall(r"<canvas [^>]*>", html)
    assert len(canvases) == 5 and all("aria-label=" in c for c in canvases)
    assert html.count('<details class="chart-data">') == 5
    assert 'id="suspect"' not in html and "status-suspect" not in html


def test_partial_new_metrics_render_what_there_is(app, client, model_dir):
    extra = {
        "holdout": {
            "negatives:letters": {"samples": 40, "accuracy": None, "refused": 0.5, "unsure": None}
        },
        "calibration": {
            "temperature": 1.2,
            "fitted_on": 100,
            "ece": {"test": {"before": 0.02, "after": 0.01}},
            "reliability": None,
        },
        "previews": {"mnist": ""},
        "quantized": {
            "bytes": {"float32": 1000, "int8": 400},
            "sets": {},
            "largest_loss": 0.02,
            "served": "model.tflite",
        },
    }
    run_id = seed(app, with_metrics(extra))
    reply = client.get(f"/dashboard/runs/{run_id}")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    held_out = element(html, "section", "held-out")
    assert "These writers were never trained on" not in held_out  # letters only: no writers
    assert ">50.00%<" in element(held_out, "tr", "held-out-negatives-letters")
    # No test_verdicts: the test split shows the run's test accuracy, no shares.
    assert re.findall(
        r'<td class="num">([^<]*)</td>', element(held_out, "tr", "held-out-test")
    ) == ["10,000", "99.54%", "—", "—"]
    calibration = element(html, "section", "calibration")
    assert "\u22121.00 pp" in calibration and "chart-reliability" not in calibration
    assert "reliability" not in page_data(html, "run-data")
    assert 'class="previews"' not in html
    served = element(html, "p", "int8-served")
    assert "<code>model.tflite</code>, the float32 model" in served and "2.00 points" in served
    assert 'id="int8-table"' not in html


def test_old_run_renders_without_the_new_sections(app, client, model_dir):
    run_id = seed(app, make_record())
    reply = client.get(f"/dashboard/runs/{run_id}")
    assert reply.status_code == 200
    html = reply.get_data(as_text=True)
    for marker in (
        'id="held-out"',
        'id="calibration"',
        'id="int8"',
        'id="suspect"',
        'class="previews"',
        "chart-reliability",
        "status-suspect",
    ):
        assert marker not in html, marker
    assert 'id="training-data"' in html  # its datasets and labels still show
    assert "reliability" not in page_data(html, "run-data")


def suspect_record(name: str, version: str, accuracy: float, baseline: float) -> dict:
    return make_record(
        name=name,
        version=version,
        accuracy=accuracy,
        baselines=[
            {
                "name": "random_forest",
                "accuracy": baseline,
                "macro_f1": baseline,
                "fit_seconds": 30.0,
                "predict_ms_per_image": 0.02,
                "train_samples": 10000,
                "test_samples": 10000,
                "params": {},
            }
        ],
    )


def test_suspect_runs_are_marked_on_run_page_and_index(app, client, model_dir):
    healthy = seed(app, make_record())
    collapsed = seed(app, suspect_record("collapsed", "cnn-bad-1", 0.16, 0.95))
    lagging = seed(app, suspect_record("lagging", "cnn-bad-2", 0.88, 0.95))

    html = client.get(f"/dashboard/runs/{collapsed}").get_data(as_text=True)
    assert_csp_safe(html)
    heading = re.search(r"<h1>.*?</h1>", html, re.S).group(0)
    assert "status-suspect" in heading and "status-succeeded" not in heading
    box = element(html, "section", "suspect")
    assert "notice-suspect" in box
    assert "The run succeeded, but test accuracy 16.0% is near chance (10%)." in box
    html = client.get(f"/dashboard/runs/{lagging}").get_data(as_text=True)
    assert "test accuracy 88.0% is far below the best baseline (Random forest 95.0%)" in element(
        html, "section", "suspect"
    )
    html = client.get(f"/dashboard/runs/{healthy}").get_data(as_text=True)
    assert 'id="suspect"' not in html and "status-suspect" not in html

    html = client.get("/dashboard").get_data(as_text=True)
    assert_csp_safe(html)
    row = run_row(html, collapsed)
    assert 'class="badge status-suspect"' in row and "status-succeeded" not in row
    assert "succeeded, but test accuracy 16.0% is near chance (10%)" in row
    assert 'data-sort="succeeded suspect"' in row
    assert "far below the best baseline" in run_row(html, lagging)
    row = run_row(html, healthy)
    assert SUCCEEDED_BADGE in row and "suspect" not in row

    # The comparison marks them too: the suspect run never reads "succeeded".
    html = client.get(f"/dashboard/compare?runs={healthy},{collapsed}").get_data(as_text=True)
    heads = re.findall(r'<th scope="col" class="num">.*?</th>', html, re.S)
    assert SUCCEEDED_BADGE in heads[0] and "status-suspect" not in heads[0]
    assert "status-suspect" in heads[1] and "succeeded</span>" not in heads[1]


SUCCEEDED_BADGE = (
    'class="badge status-succeeded"><span aria-hidden="true">✓ </span>succeeded</span>'
)
FAILED_BADGE = 'class="badge status-failed"><span aria-hidden="true">✗ </span>failed</span>'


def test_failed_runs_wear_their_own_badge_everywhere(app, client, model_dir):
    good = seed(app, make_record())
    failed = seed(
        app,
        make_record(
            name="crashed",
            version=None,
            status="failed",
            error="RuntimeError: out of memory",
            metrics={},
            history=[],
            baselines=[],
        ),
    )
    index = client.get("/dashboard").get_data(as_text=True)
    assert FAILED_BADGE in run_row(index, failed) and "succeeded" not in run_row(index, failed)
    assert SUCCEEDED_BADGE in run_row(index, good)
    heading = re.search(
        r"<h1>.*?</h1>", client.get(f"/dashboard/runs/{failed}").get_data(as_text=True), re.S
    ).group(0)
    assert FAILED_BADGE in heading
    html = client.get(f"/dashboard/compare?runs={good},{failed}").get_data(as_text=True)
    heads = re.findall(r'<th scope="col" class="num">.*?</th>', html, re.S)
    assert SUCCEEDED_BADGE in heads[0] and FAILED_BADGE in heads[1]


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
    second = seed(
        app,
        make_record(
            name="quick-mnist-two",
            version="cnn-test-2",
            accuracy=0.9974,
            kfold=None,
            param_count=160042,
            duration_seconds=960.0,
            history=[
                {
                    "fold": None,
                    "epoch": 1,
                    "loss": 0.5,
                    "accuracy": 0.85,
                    "val_loss": None,
                    "val_accuracy": None,
                    "lr": 0.003,
                    "seconds": 10.0,
                }
            ],
        ),
    )
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


@pytest.mark.databases("sqlite")  # nothing here differs between the databases
@pytest.mark.parametrize(
    "query, status, message",
    [
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
    ],
)
def test_compare_refuses_bad_input(app, client, query, status, message):
    seed(app, make_record())
    seed(app, make_record(name="second", version="cnn-test-2"))
    reply = client.get("/dashboard/compare" + query)
    assert reply.status_code == status
    html = reply.get_data(as_text=True)
    assert message in html
    assert "Back to the dashboard" in html


def test_static_assets_are_served_locally(client):
    for path in (
        "/static/js/dashboard/main.js",
        "/static/css/dashboard.css",
        "/static/vendor/chartjs/chart.umd.js",
    ):
        reply = client.get(path)
        assert reply.status_code == 200, path
        reply.close()
    reply = client.get("/static/vendor/chartjs/chart.umd.js")
    assert b"Chart.js v4.4.9" in reply.data[:200]
    reply.close()


def test_every_page_links_to_the_dashboard(client):
    html = client.get("/").get_data(as_text=True)
    assert '<a href="/dashboard">Dashboard</a>' in html


def test_run_page_has_a_section_index(app, client, model_dir):
    run_id = seed(app, make_record())
    html = client.get(f"/dashboard/runs/{run_id}").get_data(as_text=True)
    anchors = re.findall(r'href="#([^"]+)"', element(html, "nav", "toc"))
    assert anchors[:2] == ["results", "model-version"]
    assert {
        "curves",
        "confusion",
        "per-digit",
        "kfold",
        "baselines",
        "mistakes",
        "training-data",
        "setup",
        "artifacts",
    } <= set(anchors)
    for anchor in anchors:  # each entry leads somewhere, once
        assert html.count(f'id="{anchor}"') == 1, anchor
    assert "held-out" not in anchors and 'id="held-out"' not in html  # only what the page shows

    failed = seed(
        app,
        make_record(
            name="crashed",
            version=None,
            status="failed",
            error="boom",
            metrics={},
            history=[],
            baselines=[],
            kfold=None,
            mistakes=[],
        ),
    )
    html = client.get(f"/dashboard/runs/{failed}").get_data(as_text=True)
    anchors = re.findall(r'href="#([^"]+)"', element(html, "nav", "toc"))
    assert anchors[0] == "failure" and "results" not in anchors


def versions_row(html: str, version: str) -> str:
    match = re.search(rf'<tr id="version-{re.escape(version)}".*?</tr>', html, re.S)
    assert match, f"no row for version {version}"
    return match.group(0)


def test_versions_say_when_they_were_trained_and_last_made_active(app, client, seeded):
    from app.dashboard.routes import when
    from app.models import ModelVersion

    trained = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)
    rolled_back = datetime(2026, 12, 2, 10, 31, tzinfo=UTC)
    registered = datetime(2026, 11, 25, 16, 5, tzinfo=UTC)
    with app.app_context():
        bundled = db.session.query(ModelVersion).filter_by(version=seeded).one()
        bundled_trained = bundled.run.finished_at
        # Registered long after training; rolled back to last week by someone on a shell.
        bundled.created_at = datetime(2026, 12, 1, 23, 0)
        bundled.activated_at = rolled_back
        bundled.activation, bundled.activated_by = "rollback", "root@vm"
        bundled.activation_reason = "too many sevens read as ones"
        run = TrainingRun(
            name="retrain",
            status="succeeded",
            kind="retrain",
            model_version="cnn-promoted",
            finished_at=trained,
        )
        db.session.add(run)
        db.session.flush()
        db.session.add_all(
            [
                ModelVersion(
                    version="cnn-promoted",
                    path="/nowhere",
                    status="retired",
                    run_id=run.id,
                    created_at=trained + timedelta(minutes=1),
                    activated_at=datetime(2026, 11, 21, 8, 0),
                    activation="promote",
                    activated_by="the admin (dashboard)",
                    activation_reason="reads outlines",
                ),
                ModelVersion(
                    version="cnn-never", path="/nowhere", status="candidate", created_at=registered
                ),
            ]
        )
        db.session.commit()
    html = client.get("/dashboard").get_data(as_text=True)
    assert "Rolled back to by" not in html and '<th scope="col">Trained</th>' in html

    row = versions_row(html, seeded)
    trained_cell, activated_cell = re.findall(
        r'<td class="(?:date version-trained|version-activated)">(.*?)</td>', row, re.S
    )
    assert when(bundled_trained) in trained_cell  # its run's end, not when it was registered
    assert "2026-12-01 23:00" not in trained_cell and when(rolled_back) not in trained_cell
    assert when(rolled_back) in activated_cell
    assert (
        "Rollback by root@vm" in activated_cell and "too many sevens read as ones" in activated_cell
    )

    row = versions_row(html, "cnn-promoted")
    assert when(trained) in row and "Promoted by the admin (dashboard)" in row
    assert "2026-11-21 08:00 UTC" in row and "reads outlines" in row
    row = versions_row(html, "cnn-never")
    assert when(registered) in row and "(registered; its run is not recorded here)" in row
    assert re.search(r'<td class="version-activated"><span class="unit">never</span></td>', row)

    # The active model's card says the same: trained then, last made active by a rollback.
    card = html[html.index('id="model-title"') : html.index('id="usage-title"')]
    assert "<dt>Created</dt>" not in card and "<dt>Made active</dt>" not in card
    trained_dd = re.search(r'<dd id="active-trained">(.*?)</dd>', card, re.S).group(1)
    assert when(bundled_trained) in trained_dd and when(rolled_back) not in trained_dd
    activation = re.search(r'<dd id="active-activation">(.*?)</dd>', card, re.S).group(1)
    assert when(rolled_back) in activation and "Rollback by root@vm" in activation

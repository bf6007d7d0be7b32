"""Dashboard pages: parse the request, ask `app.services.dashboard`, render."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

from flask import current_app, jsonify, render_template, request, send_from_directory, url_for
from jinja2 import Undefined
from markupsafe import Markup, escape

from app.dashboard import bp, downloads_limited
from app.errors import AppError, json_view
from app.models import RunStatus
from app.services import jobs, yardstick
from app.services.dashboard import artifacts, comparison, gates, results, usage, versions
from app.services.dashboard import runs as runs_view

POLL_MS = 2000
# Line and bar colours (Okabe-Ito), in the order runs and series take them.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#000000", "#F0E442")


# ------------------------------------------------------------------ formatting
# Each formatter shows a dash for a value that was not recorded.
def _missing(value) -> bool:
    return value is None or isinstance(value, Undefined)


def pct(value, digits: int = 2) -> str:
    return "—" if _missing(value) else f"{value:.{digits}%}"


def dec(value, digits: int = 4) -> str:
    return "—" if _missing(value) else f"{value:.{digits}f}"


def count(value) -> str:
    return "—" if _missing(value) else f"{value:,}"


def duration(seconds) -> str:
    if _missing(seconds):
        return "—"
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def size(num_bytes) -> str:
    if _missing(num_bytes):
        return "—"
    if num_bytes < 1000:
        return f"{num_bytes:,} bytes"
    value = num_bytes / 1000
    for unit in ("KB", "MB"):
        if value < 1000:
            return f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:,.1f} GB"


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def when(value: datetime | None) -> str:
    value = _utc(value)
    return "—" if value is None else value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def iso(value: datetime | None) -> str:
    value = _utc(value)
    return "" if value is None else value.isoformat()


def metric_value(value, kind: str) -> str:
    """A compared metric, formatted by its kind (see `comparison.COMPARED`)."""
    if _missing(value):
        return "—"
    return {
        "pct": lambda v: pct(v),
        "decimal": lambda v: dec(v),
        "auc": lambda v: dec(v, 5),
        "seconds": duration,
        "count": count,
    }.get(kind, str)(value)


def metric_diff(diff, kind: str) -> str:
    """A difference from the reference run, with its sign (a true minus sign)."""
    if diff is None:
        return ""
    if abs(diff) < 1e-12:
        return "±0"
    if kind == "pct":
        text = f"{diff * 100:+.2f} pp"
    elif kind == "decimal":
        text = f"{diff:+.4f}"
    elif kind == "auc":
        text = f"{diff:+.5f}"
    elif kind == "seconds":
        text = ("-" if diff < 0 else "+") + duration(abs(diff))
    else:
        text = f"{diff:+,}"
    return text.replace("-", "\u2212", 1)


def code_spans(text) -> Markup:
    """A message with `backticked` commands, escaped, the commands shown as code."""
    if _missing(text):
        return Markup("")
    return Markup(re.sub(r"`([^`]+)`", r"<code>\1</code>", str(escape(text))))


# A run's status is shown in words and a symbol, never by colour alone.
STATUS_MARKS: dict[str, str] = {
    RunStatus.SUCCEEDED: "✓",
    RunStatus.FAILED: "✗",
    RunStatus.RUNNING: "▶",
    RunStatus.QUEUED: "…",
}


@bp.app_template_global("status_mark")
def status_mark(status: str) -> str:
    return STATUS_MARKS.get(status, "")


@bp.app_template_filter("code_spans")
def _code_spans_filter(text) -> Markup:
    return code_spans(text)


@bp.context_processor
def formatting():
    return {
        "pct": pct,
        "dec": dec,
        "count": count,
        "duration": duration,
        "size": size,
        "when": when,
        "iso": iso,
        "metric_value": metric_value,
        "metric_diff": metric_diff,
        "palette": PALETTE,
        "waiting_message": jobs.waiting_message,
        "on_yardstick": yardstick.headlines,
    }


def _project_root() -> Path:
    return Path(current_app.root_path).parent


def _model_roots() -> list[Path]:
    """The folders model files may be served from: the bundled models and the candidates."""
    return [
        Path(current_app.config["MODEL_DIR"]).resolve().parent,
        Path(current_app.config["CANDIDATES_DIR"]).resolve(),
    ]


# ------------------------------------------------------------------ pages
@bp.get("/")  # registered second: links use /dashboard
@bp.get("")
def index():
    """The served model, usage figures, and every training run."""
    runs = runs_view.list_runs()
    live = [r for r in runs if runs_view.is_live(r)]
    page_data = {
        "poll_ms": POLL_MS,
        "compare_url": url_for(".compare"),
        "live": [{"id": r.id, "progress_url": url_for(".run_progress", run_id=r.id)} for r in live],
    }
    from app.auth import is_admin
    from app.services import serving

    admin = is_admin()
    return render_template(
        "dashboard/index.html",
        served=serving.served(),
        figures=usage.key_figures(),
        runs=runs,
        run_date=runs_view.run_date,
        is_live=runs_view.is_live,
        page_data=page_data,
        versions=versions.versions_with_runs(),
        admin=admin,
        retrain=versions.retrain_status() if admin else None,
    )


@bp.get("/runs/<int:run_id>")
def run_detail(run_id: int):
    """Everything stored about one run, with charts."""
    run = runs_view.get_run(run_id)
    history = runs_view.history(run)
    baselines = runs_view.baseline_rows(run)
    live = runs_view.is_live(run)
    page_data = {
        "id": run.id,
        "status": run.status,
        "live": live,
        "poll_ms": POLL_MS,
        "progress_url": url_for(".run_progress", run_id=run.id),
        "history": history,
        "baselines": [
            {"name": b["name"], "accuracy": b["accuracy"], "is_cnn": b["is_cnn"]} for b in baselines
        ],
        "label_distribution": list(run.label_distribution or []),
    }
    calibration = results.calibration(run)
    reliability = calibration and calibration["reliability"]
    if reliability:
        page_data["reliability"] = {
            "label": reliability["label"],
            "before": reliability["before"],
            "after": reliability["after"],
        }
    from app.auth import is_admin
    from app.services import registry, serving

    served = serving.served()
    version = registry.get_version(run.model_version) if run.model_version else None
    parts = {
        "summary": runs_view.run_summary(run),
        "history": history,
        "confusion": runs_view.confusion(run),
        "baselines": baselines,
        "gate": gates.gate_view(run),
        "held_out": results.held_out(run),
        "calibration": calibration,
        "verdict_rule": results.verdict_rule(run),
        "previews": results.previews(run),
        "quantized": results.quantized(run),
        "artifacts": artifacts.artifacts(run, _project_root(), _model_roots()),
        "filters": results.learned_filters(version),
    }
    return render_template(
        "dashboard/run.html",
        run=run,
        live=live,
        **parts,
        is_active=bool(served.version) and run.model_version == served.version,
        run_date=runs_view.run_date(run),
        active_run=served.run,
        version=version,
        admin=is_admin(),
        sections=run_sections(run, live, parts),
        page_data=page_data,
    )


def run_sections(run, live: bool, parts: dict) -> list[tuple[str, str]]:
    """The run page's section index: (anchor, title) of each section the page shows."""
    metrics = run.metrics or {}
    shown = (
        ("suspect", "Suspect run", run.suspect),
        ("failure", "The error", run.status == "failed"),
        ("progress", "Progress", live),
        ("results", "Test results", parts["summary"]["accuracy"] is not None),
        ("held-out", "Held-out writers", parts["held_out"]),
        ("verdict-rule", "When it says sure", parts["verdict_rule"]),
        ("calibration", "Calibration", parts["calibration"]),
        ("gate", "Promotion gate", parts["gate"]),
        ("model-version", "Model version", run.model_version),
        (
            "curves",
            "Learning curves",
            parts["history"] or (live and run.kind in ("cnn", "retrain")),
        ),
        ("confusion", "Confusion matrix", parts["confusion"]),
        ("per-digit", "Per digit", metrics.get("per_class")),
        ("kfold", "k-fold", run.kfold),
        ("filters", "Learned filters", parts["filters"]),
        ("baselines", "Baselines", parts["baselines"]),
        ("mistakes", "Confident mistakes", run.mistakes),
        (
            "training-data",
            "Training data",
            run.label_distribution or run.datasets or parts["previews"],
        ),
        ("setup", "Set-up", True),
        ("int8", "Int8 model", parts["quantized"]),
        ("artifacts", "Artifacts", parts["artifacts"]),
    )
    return [(anchor, title) for anchor, title, show in shown if show]


@bp.get("/runs/<int:run_id>/progress")
@json_view
def run_progress(run_id: int):
    """JSON polled by the pages while a run is queued or running."""
    progress = runs_view.progress(runs_view.get_run(run_id))
    response = jsonify({**progress, "mark": status_mark(progress["status"])})
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/runs/<int:run_id>/mistakes/<int:index>/why")
@json_view
def mistake_why(run_id: int, index: int):
    """Which ink of one of the run's confident mistakes argued for its wrong answer."""
    from app.services import inside

    return jsonify(inside.why_of_mistake(runs_view.get_run(run_id), index))


@bp.get("/runs/<int:run_id>/artifacts/<filename>")
@downloads_limited
def artifact(run_id: int, filename: str):
    """A file the run exported, only if the run lists it."""
    run = runs_view.get_run(run_id)
    directory = artifacts.artifact_location(run, filename, _project_root(), _model_roots())
    return send_from_directory(directory, filename, as_attachment=True)


# ------------------------------------------------------------------ comparison
def parse_run_ids(values: list[str]) -> list[int]:
    """Run ids from `?runs=1,2,3` (or `?runs=1&runs=2`): distinct, in the order given."""
    parts = [part.strip() for value in values for part in value.split(",") if part.strip()]
    if not parts:
        raise AppError(
            "Choose at least two runs to compare, for example /dashboard/compare?runs=1,2."
        )
    ids: list[int] = []
    for part in parts:
        if not (part.isascii() and part.isdigit()):
            raise AppError(f"Run ids are whole numbers; {part[:40]!r} is not one.")
        digits = part.lstrip("0") or "0"  # int() of thousands of digits is refused
        number = int(digits) if len(digits) <= 19 else 2**63
        if number >= 2**63:  # past any database id
            raise AppError(f"There is no run {part[:40]}.", 404)
        if number not in ids:
            ids.append(number)
    if len(ids) < 2:
        raise AppError("Choose at least two different runs to compare.")
    if len(ids) > comparison.MAX_COMPARE:
        raise AppError(f"Compare at most {comparison.MAX_COMPARE} runs at a time.")
    return ids


@bp.get("/compare")
def compare():
    """Two or more runs side by side: `?runs=1,2,3` (the first is the reference)."""
    ids = parse_run_ids(request.args.getlist("runs"))
    runs = comparison.runs_by_ids(ids)
    curves = comparison.compare_curves(runs)
    page_data = {"runs": curves}
    return render_template(
        "dashboard/compare.html",
        runs=runs,
        rows=comparison.comparison(runs),
        curves=curves,
        page_data=page_data,
    )

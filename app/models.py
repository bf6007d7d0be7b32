"""Stored data: every prediction made, the numbers read, and the corrections people flag."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import UTC, datetime
from enum import StrEnum

from sqlalchemy import (
    JSON,
    CheckConstraint,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import TextClause

from app.extensions import Model
from trainer.calibration import NOT_A_DIGIT, Verdict


class RunStatus(StrEnum):
    """Where a training job is: waiting for a worker, running, or ended."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


# A job queued or running holds the one training slot; pages poll its progress.
BUSY_STATUSES = (RunStatus.QUEUED, RunStatus.RUNNING)


class RunKind(StrEnum):
    """What a training job does: train the CNN (baselines and k-fold beside it,
    when asked), only the classical baselines, or retrain on confirmed flags and gate."""

    CNN = "cnn"
    BASELINES = "baselines"
    RETRAIN = "retrain"


class VersionStatus(StrEnum):
    """A model version: trained and not (yet) served, the one served, or served before."""

    CANDIDATE = "candidate"
    ACTIVE = "active"
    RETIRED = "retired"


class Activation(StrEnum):
    """How a version became active: the gate passed it, the admin promoted it or
    rolled back to it, or it was the first version of a fresh install."""

    GATE = "gate"
    PROMOTE = "promote"
    ROLLBACK = "rollback"
    INSTALL = "install"


class FlagStatus(StrEnum):
    """A flag waits for review, or the admin confirmed it (it trains) or dismissed it."""

    OPEN = "open"
    CONFIRMED = "confirmed"
    DISMISSED = "dismissed"


def _is_one_of(column: str, values: Iterable[str]) -> str:
    return f"{column} IN ({', '.join(repr(str(value)) for value in values)})"


def one_of(column: str, values: Iterable[str], name: str) -> CheckConstraint:
    """The database's own check that `column` holds one of `values` (an enum's members)."""
    return CheckConstraint(_is_one_of(column, values), name=name)


def where_in(column: str, values: Iterable[str]) -> TextClause:
    """A partial index's condition: `column` is one of `values`."""
    return text(_is_one_of(column, values))


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime | None) -> datetime | None:
    """A stored time (UTC wall-clock, without a zone on SQLite) as an aware datetime."""
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


class Prediction(Model):
    __tablename__ = "predictions"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # The drawing exactly as the client sent it: image bytes, or strokes as JSON.
    drawing: Mapped[bytes] = mapped_column(LargeBinary)
    drawing_type: Mapped[str] = mapped_column(String(40))
    # The 28x28 input the model saw, as a PNG.
    input_png: Mapped[bytes] = mapped_column(LargeBinary)
    digit: Mapped[int]
    confidence: Mapped[float]
    probabilities_json: Mapped[str] = mapped_column(Text)
    model_version: Mapped[str] = mapped_column(String(64), index=True)
    # A Verdict (None: stored before verdicts existed).
    verdict: Mapped[str | None] = mapped_column(String(16))
    # A hash of the drawing browser's anonymous id: only it may flag the drawing.
    author: Mapped[str | None] = mapped_column(String(32))
    # The number this digit was read from (None: drawn alone), and its place in
    # it, counted from the left from 0, when it was last read.
    number_id: Mapped[int | None] = mapped_column(
        ForeignKey("numbers.id", ondelete="SET NULL"), index=True
    )
    number_position: Mapped[int | None]
    # The client's Idempotency-Key for the request that stored it: a retry of
    # that request (its reply was lost) answers this row instead of a new one.
    request_key: Mapped[str | None] = mapped_column(String(64))

    flag: Mapped[Flag | None] = relationship(back_populates="prediction", uselist=False)
    number: Mapped[Number | None] = relationship(back_populates="digits")

    __table_args__ = (
        CheckConstraint("digit BETWEEN 0 AND 9", name="digit_range"),
        one_of("verdict", Verdict, "verdict_known"),
        UniqueConstraint("author", "request_key"),
    )

    @property
    def probabilities(self) -> list[float]:
        return json.loads(self.probabilities_json)


class Number(Model):
    """A number written in one go and read digit by digit.

    Each digit is a `Prediction` of its own (its strokes, its 28x28 input), so
    flags, review, exports, retention and retraining treat it as any drawn
    digit. The number keeps only what was read: no drawing of its own.
    """

    __tablename__ = "numbers"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What was read, left to right: a digit each, "?" where the model saw no digit.
    text: Mapped[str] = mapped_column(String(16))
    model_version: Mapped[str] = mapped_column(String(64))
    # As a prediction's: only this browser may replace the reading or flag its digits.
    author: Mapped[str | None] = mapped_column(String(32))
    request_key: Mapped[str | None] = mapped_column(String(64))  # as a prediction's

    digits: Mapped[list[Prediction]] = relationship(
        back_populates="number", order_by="Prediction.number_position"
    )

    __table_args__ = (UniqueConstraint("author", "request_key"),)


# A flag's label for "that is no digit at all": the network's own no-digit
# class, stored as this number and named NO_DIGIT_NAME in the API and exports.
NO_DIGIT_LABEL = NOT_A_DIGIT
NO_DIGIT_NAME = "none"


def label_name(label: int) -> int | str:
    """A flag's label as the API and exports say it: the digit, or "none"."""
    return NO_DIGIT_NAME if label == NO_DIGIT_LABEL else label


class Flag(Model):
    """A person's statement that a prediction was wrong, with the right digit.

    `label` is the digit it should have said, or NO_DIGIT_LABEL when the
    drawing is no digit at all (the API and the pages say "none").
    """

    __tablename__ = "flags"

    id: Mapped[int] = mapped_column(primary_key=True)
    prediction_id: Mapped[int] = mapped_column(
        ForeignKey("predictions.id", ondelete="CASCADE"), unique=True
    )
    label: Mapped[int]
    status: Mapped[str] = mapped_column(String(16), default=FlagStatus.OPEN)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    prediction: Mapped[Prediction] = relationship(back_populates="flag")

    __table_args__ = (
        CheckConstraint(f"label BETWEEN 0 AND {NO_DIGIT_LABEL}", name="label_range"),
        one_of("status", FlagStatus, "status_known"),
    )


# A finished CNN run is suspect below this accuracy, or this far below its best baseline.
SUSPECT_NEAR_CHANCE = 0.3
SUSPECT_BELOW_BASELINE = 0.05


class TrainingRun(Model):
    """One training run: how it was made, how it went, and what it produced."""

    __tablename__ = "training_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    status: Mapped[str] = mapped_column(String(16), default=RunStatus.QUEUED, index=True)
    error: Mapped[str | None] = mapped_column(Text)
    profile: Mapped[str] = mapped_column(String(32), default="full")
    kind: Mapped[str] = mapped_column(String(16), default=RunKind.CNN)
    # The process executing the run ("host:pid") and when it last said it is alive.
    owner: Mapped[str | None] = mapped_column(String(120))
    heartbeat_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    duration_seconds: Mapped[float | None]
    # Live progress, polled by pages while the run goes on.
    phase: Mapped[str | None] = mapped_column(String(40))
    epoch: Mapped[int] = mapped_column(default=0)
    total_epochs: Mapped[int] = mapped_column(default=0)
    eta_seconds: Mapped[float | None]

    dataset: Mapped[str] = mapped_column(String(120), default="mnist")
    datasets: Mapped[list] = mapped_column(JSON, default=list)
    train_size: Mapped[int | None]
    test_size: Mapped[int | None]
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    seed: Mapped[int | None]
    versions: Mapped[dict] = mapped_column(JSON, default=dict)
    layers: Mapped[list] = mapped_column(JSON, default=list)
    param_count: Mapped[int | None]
    label_distribution: Mapped[list] = mapped_column(JSON, default=list)

    test_accuracy: Mapped[float | None]
    test_loss: Mapped[float | None]
    macro_f1: Mapped[float | None]
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    kfold: Mapped[dict | None] = mapped_column(JSON)
    mistakes: Mapped[list] = mapped_column(JSON, default=list)
    model_version: Mapped[str | None] = mapped_column(String(64), index=True)
    artifacts: Mapped[dict | None] = mapped_column(JSON)

    epochs: Mapped[list[RunEpoch]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="RunEpoch.id"
    )
    baselines: Mapped[list[BaselineResult]] = relationship(
        back_populates="run", cascade="all, delete-orphan", order_by="BaselineResult.id"
    )

    __table_args__ = (
        one_of("status", RunStatus, "status_known"),
        one_of("kind", RunKind, "kind_known"),
        # One training at a time, whoever starts it: at most one row is queued
        # or running (the database refuses a second).
        Index(
            "one_training_at_a_time",
            text("(1)"),
            unique=True,
            sqlite_where=where_in("status", BUSY_STATUSES),
            postgresql_where=where_in("status", BUSY_STATUSES),
        ),
    )

    @property
    def main_epochs(self) -> list[RunEpoch]:
        return [e for e in self.epochs if e.fold is None]

    @property
    def suspect(self) -> str | None:
        """Why a finished CNN run should not be trusted, or None.

        A network near chance, or far below the classical models trained on
        the same split, has failed whatever its status says.
        """
        if self.status != "succeeded" or self.kind != "cnn" or self.test_accuracy is None:
            return None
        if self.test_accuracy < SUSPECT_NEAR_CHANCE:
            return f"test accuracy {self.test_accuracy:.1%} is near chance (10%)"
        best = max(self.baselines, key=lambda b: b.accuracy, default=None)
        if best is not None and self.test_accuracy < best.accuracy - SUSPECT_BELOW_BASELINE:
            return (
                f"test accuracy {self.test_accuracy:.1%} is far below the best baseline "
                f"({best.label} {best.accuracy:.1%})"
            )
        return None


class RunEpoch(Model):
    """One epoch of a run (fold is set for k-fold copies)."""

    __tablename__ = "run_epochs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("training_runs.id", ondelete="CASCADE"), index=True
    )
    fold: Mapped[int | None]
    epoch: Mapped[int]
    loss: Mapped[float]
    accuracy: Mapped[float]
    val_loss: Mapped[float | None]
    val_accuracy: Mapped[float | None]
    lr: Mapped[float]
    seconds: Mapped[float]

    run: Mapped[TrainingRun] = relationship(back_populates="epochs")


# How people read the baselines' names (`trainer.baselines` names them).
BASELINE_LABELS = {
    "logistic_regression": "Logistic regression",
    "svm_rbf": "SVM (RBF kernel)",
    "random_forest": "Random forest",
    "knn": "k-NN",
}


class BaselineResult(Model):
    """A classical model trained and tested on the same split as its run's CNN."""

    __tablename__ = "baseline_results"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(
        ForeignKey("training_runs.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(40))
    accuracy: Mapped[float]
    macro_f1: Mapped[float]
    fit_seconds: Mapped[float]
    predict_ms_per_image: Mapped[float]
    train_samples: Mapped[int]
    test_samples: Mapped[int]
    params: Mapped[dict] = mapped_column(JSON, default=dict)

    run: Mapped[TrainingRun] = relationship(back_populates="baselines")

    @property
    def label(self) -> str:
        return BASELINE_LABELS.get(self.name, self.name.replace("_", " "))


class ModelVersion(Model):
    """A trained model's files on disk; exactly one version is active at a time."""

    __tablename__ = "model_versions"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default=VersionStatus.CANDIDATE, index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    activated_at: Mapped[datetime | None]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("training_runs.id", ondelete="SET NULL"))
    files: Mapped[dict] = mapped_column(JSON, default=dict)
    test_accuracy: Mapped[float | None]
    holdout_accuracy: Mapped[float | None]
    # How the version came to be: the gate's verdict on it, or where it came
    # from ("bundled with DigitPad"). Written once; an admin's promotion never
    # overwrites it.
    reason: Mapped[str | None] = mapped_column(Text)
    # The gate's verdict: True (passed), False (rejected), None (never judged).
    gate_passed: Mapped[bool | None]
    # Its last activation: how (an Activation), by whom, and the admin's
    # reason (activated_at says when).
    activation: Mapped[str | None] = mapped_column(String(16))
    activated_by: Mapped[str | None] = mapped_column(String(120))
    activation_reason: Mapped[str | None] = mapped_column(Text)

    # The version measured on the one fixed suite every model is judged on
    # (`app.services.yardstick`); None until it has been.
    yardstick: Mapped[dict | None] = mapped_column(JSON)

    run: Mapped[TrainingRun | None] = relationship()

    __table_args__ = (
        one_of("status", VersionStatus, "status_known"),
        one_of("activation", Activation, "activation_known"),
        # Exactly one version is served: the database refuses a second active row.
        Index(
            "one_active_version",
            text("(1)"),
            unique=True,
            sqlite_where=where_in("status", [VersionStatus.ACTIVE]),
            postgresql_where=where_in("status", [VersionStatus.ACTIVE]),
        ),
    )


class ModelFile(Model):
    """A served file of a model version, kept in the database so every web host can load it."""

    __tablename__ = "model_files"

    version_id: Mapped[int] = mapped_column(
        ForeignKey("model_versions.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class FlagUse(Model):
    """A confirmed flag that a training run learned from (each counted once per run)."""

    __tablename__ = "flag_uses"

    flag_id: Mapped[int] = mapped_column(
        ForeignKey("flags.id", ondelete="CASCADE"), primary_key=True
    )
    run_id: Mapped[int] = mapped_column(
        ForeignKey("training_runs.id", ondelete="CASCADE"), primary_key=True
    )


class Worker(Model):
    """A running `flask worker` process; it rewrites `last_seen` at every poll."""

    __tablename__ = "workers"

    # "host:pid", as jobs name their owner.
    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    kinds: Mapped[list] = mapped_column(JSON, default=list)
    poll_seconds: Mapped[float]
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen: Mapped[datetime] = mapped_column(default=utcnow)


class HealthProbe(Model):
    """One row that /api/health rewrites, to prove the database accepts writes."""

    __tablename__ = "health_probe"

    id: Mapped[int] = mapped_column(primary_key=True)
    checked_at: Mapped[datetime]


class AdminEpoch(Model):
    """Admin sessions signed in before the current epoch are void (sign-out bumps it)."""

    __tablename__ = "admin_epoch"

    id: Mapped[int] = mapped_column(primary_key=True)
    epoch: Mapped[int] = mapped_column(default=0)

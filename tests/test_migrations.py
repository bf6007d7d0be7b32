"""The migrations build exactly the schema the models describe."""

import pytest
from sqlalchemy import inspect

from app.extensions import db

pytestmark = pytest.mark.databases("sqlite", "postgresql")


def test_migrations_match_models(runner):
    result = runner.invoke(args=["db", "check"])
    assert result.exit_code == 0, result.output


def test_db_check_notices_a_model_without_migration(app, runner):
    from sqlalchemy import Column, Integer, Table

    extra = Table("not_migrated", db.metadata, Column("id", Integer, primary_key=True))
    try:
        result = runner.invoke(args=["db", "check"])
        assert result.exit_code != 0
    finally:
        db.metadata.remove(extra)


def test_tables_exist_after_upgrade(app, db_backend):
    with app.app_context():
        assert db.engine.dialect.name == db_backend
        tables = set(inspect(db.engine).get_table_names())
    assert {"predictions", "flags", "training_runs", "model_files", "alembic_version"} <= tables


def test_the_database_refuses_a_second_busy_training(app):
    from sqlalchemy.exc import IntegrityError

    from app.models import TrainingRun

    with app.app_context():
        db.session.add(TrainingRun(name="first", status="queued", kind="cnn"))
        db.session.commit()
        db.session.add(TrainingRun(name="second", status="running", kind="retrain"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(TrainingRun(name="done", status="succeeded", kind="baselines"))
        db.session.commit()
        db.session.add(TrainingRun(name="odd", status="succeeded", kind="dance"))
        with pytest.raises(IntegrityError):  # kinds are known ones only
            db.session.commit()


def test_the_database_holds_exactly_one_active_version(app):
    """A second active version is refused by the database, whatever code writes it."""
    from sqlalchemy.exc import IntegrityError

    from app.models import ModelVersion, VersionStatus

    def version(name: str, status: str) -> ModelVersion:
        return ModelVersion(version=name, path=f"/models/{name}", status=status)

    with app.app_context():
        db.session.add_all([version("one", "active"), version("two", "retired")])
        db.session.commit()
        db.session.add(version("three", "active"))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(version("four", "candidate"))
        db.session.commit()
        db.session.add(version("five", "live"))
        with pytest.raises(IntegrityError):  # statuses are VersionStatus members only
            db.session.commit()
        db.session.rollback()
        statuses = sorted(v.status for v in db.session.query(ModelVersion))
        assert statuses == ["active", "candidate", "retired"]
        assert set(statuses) <= set(VersionStatus)


def test_a_flag_status_is_one_the_review_knows(app):
    from sqlalchemy.exc import IntegrityError

    from app.models import Flag, Prediction

    with app.app_context():
        prediction = Prediction(
            drawing=b"{}",
            drawing_type="strokes",
            input_png=b"",
            digit=1,
            confidence=0.5,
            probabilities_json="[]",
            model_version="v",
        )
        db.session.add(Flag(prediction=prediction, label=7))
        db.session.commit()
        flag = db.session.query(Flag).one()
        assert flag.status == "open"
        flag.status = "maybe"
        with pytest.raises(IntegrityError):
            db.session.commit()


@pytest.mark.databases("sqlite")
def test_sqlite_uses_wal(app):
    with app.app_context():
        mode = db.session.execute(db.text("PRAGMA journal_mode")).scalar()
    assert mode == "wal"


@pytest.mark.databases("sqlite")
def test_upgrading_keeps_every_row_that_refers_to_an_altered_table(tmp_path, database_url):
    # Altering a table in SQLite copies and drops it: that must not cascade.
    from flask_migrate import downgrade, upgrade

    from app import create_app

    app = create_app(
        {
            "TESTING": True,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "CANDIDATES_DIR": str(tmp_path / "models"),
        }
    )
    with app.app_context():
        upgrade(revision="42d1deda9159")  # runs, epochs and baselines; predictions and flags
        db.session.execute(
            db.text(
                "INSERT INTO predictions (id, created_at, drawing, drawing_type, input_png, digit, "
                "confidence, probabilities_json, model_version) VALUES (1, '2026-01-01', x'00', "
                "'image/png', x'00', 7, 0.9, '[]', 'v1')"
            )
        )
        db.session.execute(
            db.text(
                "INSERT INTO flags (id, prediction_id, label, status, created_at, updated_at) "
                "VALUES (1, 1, 1, 'confirmed', '2026-01-01', '2026-01-01')"
            )
        )
        db.session.execute(
            db.text(
                "INSERT INTO training_runs (id, name, status, profile, kind, created_at, epoch, "
                "total_epochs, dataset, datasets, params, versions, layers, label_distribution, "
                "metrics, mistakes) VALUES (1, 'old', 'succeeded', 'full', 'cnn', '2026-01-01', 1, 1, "
                "'mnist', '[]', '{}', '{}', '[]', '[]', '{}', '[]')"
            )
        )
        db.session.execute(
            db.text(
                "INSERT INTO run_epochs (run_id, epoch, loss, accuracy, lr, seconds) "
                "VALUES (1, 1, 0.5, 0.9, 0.001, 1.0)"
            )
        )
        db.session.commit()
        upgrade()  # every later migration, the ones that alter these tables among them
        counts = {
            table: db.session.execute(db.text(f"SELECT COUNT(*) FROM {table}")).scalar()
            for table in ("predictions", "flags", "training_runs", "run_epochs")
        }
        assert counts == {"predictions": 1, "flags": 1, "training_runs": 1, "run_epochs": 1}
        assert db.session.execute(db.text("PRAGMA foreign_keys")).scalar() == 1
        downgrade(revision="42d1deda9159")
        assert db.session.execute(db.text("SELECT COUNT(*) FROM run_epochs")).scalar() == 1
        db.engine.dispose()


def test_a_downgrade_and_upgrade_keep_who_drew_each_drawing(app, client):
    """Downgrading past the authors' migration must not make old drawings unflaggable."""
    from flask_migrate import downgrade, upgrade

    body = {"strokes": [[[60, 50], [200, 50], [120, 230]]], "width": 280, "height": 280}
    pid = client.post("/api/predict", json=body).get_json()["prediction_id"]
    with app.app_context():
        downgrade(revision="b3c9e1f0a2d4")
        upgrade()
        db.engine.dispose()
    assert client.post(f"/api/predictions/{pid}/flag", json={"label": 1}).status_code == 201

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


@pytest.mark.databases("sqlite")
def test_sqlite_uses_wal(app):
    with app.app_context():
        mode = db.session.execute(db.text("PRAGMA journal_mode")).scalar()
    assert mode == "wal"

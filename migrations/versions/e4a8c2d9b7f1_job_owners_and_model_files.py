"""job owners and heartbeats, one training at a time, model files in the database

Revision ID: e4a8c2d9b7f1
Revises: c7d2a9e4f1b3
Create Date: 2026-12-01 18:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'e4a8c2d9b7f1'
down_revision = 'c7d2a9e4f1b3'
branch_labels = None
depends_on = None

BUSY = "status IN ('queued', 'running')"


def upgrade():
    # Older installs could hold several busy runs (left by killed processes):
    # all but the newest are failed, so that the one-at-a-time index holds.
    op.execute(
        "UPDATE training_runs SET status = 'failed', "
        "error = 'interrupted: the training process stopped before the run finished' "
        f"WHERE {BUSY} AND id < (SELECT MAX(id) FROM training_runs WHERE {BUSY})")
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('owner', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
        batch_op.create_check_constraint(
            'kind_known', "kind IN ('cnn', 'baselines', 'retrain')")
    op.create_index('one_training_at_a_time', 'training_runs', [sa.text('(1)')], unique=True,
                    sqlite_where=sa.text(BUSY), postgresql_where=sa.text(BUSY))
    op.create_table('model_files',
    sa.Column('version_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['version_id'], ['model_versions.id'],
                            name=op.f('fk_model_files_version_id_model_versions'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('version_id', 'name', name=op.f('pk_model_files'))
    )


def downgrade():
    op.drop_table('model_files')
    op.drop_index('one_training_at_a_time', table_name='training_runs')
    with op.batch_alter_table('training_runs', schema=None) as batch_op:
        batch_op.drop_constraint('kind_known', type_='check')
        batch_op.drop_column('heartbeat_at')
        batch_op.drop_column('owner')

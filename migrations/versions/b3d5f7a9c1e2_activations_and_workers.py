"""who made a model version active, when and why (beside the gate's own verdict); worker heartbeats

Revision ID: b3d5f7a9c1e2
Revises: e4a8c2d9b7f1
Create Date: 2026-12-08 12:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3d5f7a9c1e2'
down_revision = 'e4a8c2d9b7f1'
branch_labels = None
depends_on = None

ACTIONS = "activation IN ('gate', 'promote', 'rollback', 'install')"


def upgrade():
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('gate_passed', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('activation', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('activated_by', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('activation_reason', sa.Text(), nullable=True))
        batch_op.create_check_constraint('activation_known', ACTIONS)
    # Versions the gate judged before its verdict had a column of its own.
    op.execute("UPDATE model_versions SET gate_passed = TRUE "
               "WHERE reason LIKE 'promoted by the gate:%'")
    op.execute("UPDATE model_versions SET gate_passed = FALSE "
               "WHERE reason LIKE 'kept a candidate:%'")
    op.create_table('workers',
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('kinds', sa.JSON(), nullable=False),
    sa.Column('poll_seconds', sa.Double(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_workers'))
    )


def downgrade():
    op.drop_table('workers')
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_constraint('activation_known', type_='check')
        batch_op.drop_column('activation_reason')
        batch_op.drop_column('activated_by')
        batch_op.drop_column('activation')
        batch_op.drop_column('gate_passed')

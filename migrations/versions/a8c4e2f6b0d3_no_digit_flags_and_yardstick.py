"""flags that say "not a digit" (label 10); every model version measured on one yardstick

Revision ID: a8c4e2f6b0d3
Revises: f1a3c5e7b9d2
Create Date: 2026-12-02 14:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a8c4e2f6b0d3'
down_revision = 'f1a3c5e7b9d2'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_flags_label_range'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_flags_label_range'),
                                         'label BETWEEN 0 AND 10')
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('yardstick', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('model_versions', schema=None) as batch_op:
        batch_op.drop_column('yardstick')
    # A flag that says "not a digit" has no digit to go back to: it goes.
    op.execute('DELETE FROM flags WHERE label = 10')
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_flags_label_range'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_flags_label_range'),
                                         'label BETWEEN 0 AND 9')

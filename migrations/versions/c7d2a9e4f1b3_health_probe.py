"""health probe, prediction authors, admin epoch

Revision ID: c7d2a9e4f1b3
Revises: b3c9e1f0a2d4
Create Date: 2026-11-22 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c7d2a9e4f1b3'
down_revision = 'b3c9e1f0a2d4'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('health_probe',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('checked_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_health_probe'))
    )
    # A downgrade keeps the column (see below): upgrading again finds it there.
    if 'author' not in {c['name'] for c in sa.inspect(op.get_bind()).get_columns('predictions')}:
        with op.batch_alter_table('predictions', schema=None) as batch_op:
            batch_op.add_column(sa.Column('author', sa.String(length=32), nullable=True))
    op.create_table('admin_epoch',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_epoch'))
    )


def downgrade():
    op.drop_table('admin_epoch')
    # predictions.author stays: it says who may flag each drawing, and nothing
    # could restore it after an upgrade again. The older schema ignores it.
    op.drop_table('health_probe')

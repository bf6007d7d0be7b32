"""request keys: a retried request answers the row it stored, never a second one

Revision ID: f1a3c5e7b9d2
Revises: c6e8a0b2d4f6
Create Date: 2026-12-02 07:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'f1a3c5e7b9d2'
down_revision = 'c6e8a0b2d4f6'
branch_labels = None
depends_on = None


def upgrade():
    for table in ('predictions', 'numbers'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('request_key', sa.String(length=64), nullable=True))
            batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_author'),
                                              ['author', 'request_key'])


def downgrade():
    for table in ('numbers', 'predictions'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_constraint(batch_op.f(f'uq_{table}_author'), type_='unique')
            batch_op.drop_column('request_key')

"""prediction verdicts

Revision ID: b3c9e1f0a2d4
Revises: 7aba4a3495a1
Create Date: 2026-11-22 03:40:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b3c9e1f0a2d4'
down_revision = '7aba4a3495a1'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('verdict', sa.String(length=16), nullable=True))
        batch_op.create_check_constraint(
            'verdict_known', "verdict IN ('sure', 'unsure', 'not_a_digit')")


def downgrade():
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_constraint('verdict_known', type_='check')
        batch_op.drop_column('verdict')

"""numbers read digit by digit: each digit a prediction linked to its number

Revision ID: c6e8a0b2d4f6
Revises: b3d5f7a9c1e2
Create Date: 2026-12-01 20:02:37.489900

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c6e8a0b2d4f6'
down_revision = 'b3d5f7a9c1e2'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('numbers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('text', sa.String(length=16), nullable=False),
    sa.Column('model_version', sa.String(length=64), nullable=False),
    sa.Column('author', sa.String(length=32), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_numbers'))
    )
    with op.batch_alter_table('numbers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_numbers_created_at'), ['created_at'], unique=False)

    # A digit outlives its number (SET NULL): a flagged digit is kept for retraining.
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('number_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('number_position', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_predictions_number_id'), ['number_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_predictions_number_id_numbers'), 'numbers',
                                    ['number_id'], ['id'], ondelete='SET NULL')


def downgrade():
    with op.batch_alter_table('predictions', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_predictions_number_id_numbers'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_predictions_number_id'))
        batch_op.drop_column('number_position')
        batch_op.drop_column('number_id')

    with op.batch_alter_table('numbers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_numbers_created_at'))

    op.drop_table('numbers')

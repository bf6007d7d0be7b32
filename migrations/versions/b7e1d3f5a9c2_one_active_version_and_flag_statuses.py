"""exactly one active model version, held by the database; flag statuses checked

Revision ID: b7e1d3f5a9c2
Revises: a8c4e2f6b0d3
Create Date: 2026-12-02 20:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b7e1d3f5a9c2'
down_revision = 'a8c4e2f6b0d3'
branch_labels = None
depends_on = None

ACTIVE = "status IN ('active')"
FLAG_STATUSES = "status IN ('open', 'confirmed', 'dismissed')"


def upgrade():
    # Should an older install hold more than one active row, the one activated
    # last stays active (the one it served) and the others are retired.
    op.execute(
        "UPDATE model_versions SET status = 'retired' WHERE status = 'active' AND id <> ("
        "SELECT id FROM model_versions WHERE status = 'active' "
        "ORDER BY activated_at IS NULL, activated_at DESC, id DESC LIMIT 1)"
    )
    op.create_index('one_active_version', 'model_versions', [sa.text('(1)')], unique=True,
                    sqlite_where=sa.text(ACTIVE), postgresql_where=sa.text(ACTIVE))
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.create_check_constraint(batch_op.f('ck_flags_status_known'), FLAG_STATUSES)


def downgrade():
    with op.batch_alter_table('flags', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_flags_status_known'), type_='check')
    op.drop_index('one_active_version', table_name='model_versions')

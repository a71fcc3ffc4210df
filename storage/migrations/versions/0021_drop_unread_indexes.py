"""two indexes that no statement reads go

Revision ID: 0021
Revises: 0020

``ix_certificate_signature_signer`` (a stored signature's signer) and
``ix_message_reply_to`` (the question a message answers) were written with
every signature and every message, yet no statement of the gateway, its CLI
or its internal API looks either up: a signature is read by its
certificate, and an answer finds its question by the question's own id.
Found by listing the indexes that the plans of every statement the
contracts, the internal API and the delivery loop execute use
(benchmarks/PROFILE.md).
"""

from __future__ import annotations

from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_certificate_signature_signer", table_name="certificate_signature")
    op.drop_index("ix_message_reply_to", table_name="message")


def downgrade() -> None:
    op.create_index("ix_message_reply_to", "message", ["reply_to"], unique=False)
    op.create_index("ix_certificate_signature_signer", "certificate_signature", ["signer_hsa_id"], unique=False)

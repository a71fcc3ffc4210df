"""Signature verdicts stored next to the certificates they were found on."""

from __future__ import annotations

from sqlalchemy import delete, insert, select
from sqlalchemy.engine import Connection

from intygsgw.domain.records import SignatureRecord
from intygsgw.storage.limits import check_lengths
from intygsgw.storage.models import CertificateSignatureRow

_COLUMNS = [
    CertificateSignatureRow.certificate_id,
    CertificateSignatureRow.policy,
    CertificateSignatureRow.signed,
    CertificateSignatureRow.valid,
    CertificateSignatureRow.signer_subject,
    CertificateSignatureRow.signer_hsa_id,
    CertificateSignatureRow.verified_at,
]
_INSERT = insert(CertificateSignatureRow)


class SignatureRepository:
    def __init__(self, connection: Connection):
        self.connection = connection

    def add(self, record: SignatureRecord) -> None:
        values = {c.key: getattr(record, c.key) for c in _COLUMNS}
        check_lengths(CertificateSignatureRow.__table__, values)
        self.connection.execute(_INSERT, values)

    def get(self, certificate_id: str) -> SignatureRecord | None:
        row = self.connection.execute(
            select(*_COLUMNS).where(CertificateSignatureRow.certificate_id == certificate_id)
        ).first()
        return SignatureRecord(*row) if row else None

    def delete(self, certificate_id: str) -> None:
        self.connection.execute(
            delete(CertificateSignatureRow).where(CertificateSignatureRow.certificate_id == certificate_id)
        )

"""Tables of the gateway's store.

A certificate is split in two: a narrow ``certificate`` row indexed for the
list contracts, and the payload exactly as received in ``certificate_document``
so that list queries never drag ten-kilobyte blobs through the page cache.
States are append-only history; nothing updates or deletes them.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from intygsgw.domain.events import EVENT_KIND


class Base(DeclarativeBase):
    pass


class CertificateRow(Base):
    __tablename__ = "certificate"

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    type: Mapped[str] = mapped_column(String(32))  # internal id, e.g. lisjp
    type_version: Mapped[str] = mapped_column(String(16))
    person_id: Mapped[str] = mapped_column(String(12))  # yyyyMMddnnnn
    signed_at: Mapped[dt.datetime | None] = mapped_column(DateTime)
    care_unit_id: Mapped[str] = mapped_column(String(64))
    care_unit_name: Mapped[str] = mapped_column(String(255))
    care_giver_id: Mapped[str] = mapped_column(String(64))
    doctor_id: Mapped[str] = mapped_column(String(64))
    doctor_name: Mapped[str] = mapped_column(String(255))
    test_certificate: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_by_care_giver: Mapped[bool] = mapped_column(Boolean, default=False)
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)

    __table_args__ = (
        Index("ix_certificate_person_type_signed", "person_id", "type", "signed_at"),
        Index("ix_certificate_unit_signed", "care_unit_id", "signed_at"),
        Index("ix_certificate_giver", "care_giver_id"),
    )


class CertificateDocumentRow(Base):
    __tablename__ = "certificate_document"

    certificate_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("certificate.id", ondelete="CASCADE"), primary_key=True
    )
    # The RegisterCertificate element exactly as received (UTF-8).
    document: Mapped[bytes] = mapped_column(LargeBinary)
    # Namespace declarations the element inherited from the envelope, as JSON,
    # so the bytes can be parsed (and their signature checked) on their own.
    namespaces: Mapped[str] = mapped_column(Text)


class CertificateStateRow(Base):
    __tablename__ = "certificate_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certificate_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("certificate.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[str] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(32))
    timestamp: Mapped[dt.datetime] = mapped_column(DateTime)


class RevocationRow(Base):
    """The revocation request as received, kept for a send that was in flight when it came.

    A revocation is forwarded to every recipient the certificate was sent to.
    A SendCertificateToRecipient that was already talking to its recipient
    records SENT only after the revocation committed; it then queues this
    request to that recipient, so the revocation reaches it too.
    """

    __tablename__ = "revocation"

    certificate_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("certificate.id", ondelete="CASCADE"), primary_key=True
    )
    request: Mapped[bytes] = mapped_column(LargeBinary)  # the RevokeCertificate element, self-contained
    revoked_at: Mapped[dt.datetime] = mapped_column(DateTime)


class SickLeaveCertificateRow(Base):
    """A sick-leave certificate as the sick-leave lists read it, written with the certificate
    (or, for one signed in the certificate-service, when its signed event is handled).

    Only certificates of types that feed sick leave and that the lists include
    (a main diagnosis, no smittbärarpenning); never a validation person's.
    """

    __tablename__ = "sick_leave_certificate"
    __table_args__ = (
        Index("ix_sick_leave_unit_patient", "care_giver_id", "care_unit_id", "patient_id"),
        Index("ix_sick_leave_patient", "patient_id"),
        # Finds the care giver of a unit known only from certificate-service certificates.
        Index("ix_sick_leave_unit_signed", "care_unit_id", "signed_at"),
        # Holds what finds a unit's patients on sick leave, so no row is read for it (migration 0019).
        Index(
            "ix_sick_leave_unit_span",
            "care_giver_id",
            "care_unit_id",
            "last_end",
            "first_start",
            "gapless",
            "deleted",
            "patient_id",
            "certificate_id",
        ),
    )

    # No key to the certificate table: a certificate-service certificate has its row here and stays there.
    certificate_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    patient_id: Mapped[str] = mapped_column(String(64))
    patient_name: Mapped[str] = mapped_column(String(255))
    care_giver_id: Mapped[str] = mapped_column(String(64))
    care_unit_id: Mapped[str] = mapped_column(String(64))
    care_unit_name: Mapped[str] = mapped_column(String(255))
    doctor_id: Mapped[str] = mapped_column(String(64))
    doctor_name: Mapped[str] = mapped_column(String(255))
    signed_at: Mapped[dt.datetime] = mapped_column(DateTime)
    diagnosis: Mapped[str] = mapped_column(String(64))
    secondary_diagnoses: Mapped[str] = mapped_column(String(255), default="")  # comma-separated codes
    employment: Mapped[str] = mapped_column(String(255), default="")  # comma-separated codes
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)  # revoked
    # The certificate's intygsData as the rehabilitation lists show it (intygsgw.handlers.rehab_items),
    # rendered when the row is written; NULL: rendered when read.
    listed_item: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The first period's start and the last one's end: a unit's patients on sick leave are found
    # by ix_sick_leave_unit_span on these before any period is read. NULL only without periods.
    first_start: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    last_end: Mapped[dt.date | None] = mapped_column(Date, nullable=True)
    # The periods cover every day of the span: a day in it is then a day of sick leave without
    # reading a period (most certificates; their periods follow each other).
    gapless: Mapped[bool] = mapped_column(Boolean, default=False)
    # Replaced or completed (ERSATT, KOMPLT) by a sick-leave certificate that is not revoked, so the
    # lists leave it out. Derived from the relations and the newer rows, and derived again by
    # intygsgw.storage.sick_leave.refresh_derived whenever one of those changes (migration 0023):
    # the lists then filter on the row instead of probing the relations once per certificate.
    replaced: Mapped[bool] = mapped_column(Boolean, server_default=false())


class SickLeaveListingRow(Base):
    """What a unit's sick-leave list shows of one patient: the listed certificates' items, together.

    Derived from ``sick_leave_certificate``: the patient's certificates on the unit that are
    neither revoked nor replaced, in list order (signing time, then id), with their stored
    items joined. Kept up to date by every write that changes those rows
    (``intygsgw.storage.sick_leave.relist``), so that a 2,000-patient list reads 2,000 rows
    instead of 6,000 scattered ones (migration 0024). The items are the second copy of what the
    certificates' rows hold.
    """

    __tablename__ = "sick_leave_listing"
    __table_args__ = (
        Index("ix_sick_leave_listing_patient", "care_giver_id", "care_unit_id", "patient_id", unique=True),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    care_giver_id: Mapped[str] = mapped_column(String(64))
    care_unit_id: Mapped[str] = mapped_column(String(64))
    patient_id: Mapped[str] = mapped_column(String(64))
    # The listed certificate ids in list order, separated by U+001F (which no XML text holds), or
    # as a JSON list when an id holds it or the first starts with "[". NULL (and the other two with
    # it) for a patient with more than LISTED_AT_MOST of them there, read certificate by certificate.
    certificate_ids: Mapped[str | None] = mapped_column(Text, nullable=True)
    # JSON: [signing time, item length in bytes] per certificate, to merge a patient's lists on
    # several units in list order.
    item_keys: Mapped[str | None] = mapped_column(Text, nullable=True)
    # The items (UTF-8) one after the other; NULL when one of the certificates has none stored.
    listed_items: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class SickLeavePeriodRow(Base):
    """One work-capacity period of a sick-leave certificate."""

    __tablename__ = "sick_leave_period"
    # Read by certificate only (migration 0020 dropped the index on ``end``, which no query used).
    __table_args__ = (Index("ix_sick_leave_period_certificate", "certificate_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certificate_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("sick_leave_certificate.certificate_id", ondelete="CASCADE")
    )
    start: Mapped[dt.date] = mapped_column(Date)
    end: Mapped[dt.date] = mapped_column(Date)
    grade: Mapped[int] = mapped_column(Integer)


class SendClaimRow(Base):
    """A SendCertificateToRecipient under way: one claimant per certificate and recipient.

    The claim is committed before the recipient is called and removed in the
    transaction that records SENT (or when the call failed), so concurrent
    sends of one certificate to one recipient deliver it once. ``claimed_until``
    outlasts any call (route timeouts add up to at most 55 s); a claim left by
    a process that died is taken over once it has passed.
    """

    __tablename__ = "send_claim"

    certificate_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("certificate.id", ondelete="CASCADE"), primary_key=True
    )
    recipient_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner: Mapped[str] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime] = mapped_column(DateTime)


class RelationRow(Base):
    __tablename__ = "relation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    # No foreign key on purpose: a relation may point at a certificate this
    # gateway never stored (it was registered elsewhere before the cut-over).
    from_id: Mapped[str] = mapped_column(String(128), index=True)
    to_id: Mapped[str] = mapped_column(String(128), index=True)
    code: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)


_NOT_EVENTS = text(f"kind <> '{EVENT_KIND}'")


class OutboxRow(Base):
    """Outgoing work, written in the same transaction as the change that causes it.

    ``destination`` is the queue: one per (contract, logical address), so one
    receiver that is down holds back only its own deliveries.
    """

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    destination: Mapped[str] = mapped_column(String(300))
    contract: Mapped[str] = mapped_column(String(200))  # request namespace
    logical_address: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32))  # e.g. revoke, message, notification
    reference: Mapped[str] = mapped_column(String(128))  # certificate or message id
    state: Mapped[str] = mapped_column(String(16), default="PENDING")  # PENDING|DONE|DEAD|DISCARDED
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    claimed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    correlation_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    delivered_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    # A small payload (a broker event's head) rides here, saving every registration with the
    # statistics feed on a second insert; a large one is in outbox_payload (OutboxPayloadRow).
    payload: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)

    __table_args__ = (
        Index("ix_outbox_destination_due", "destination", "state", "next_attempt_at"),
        # Operators find a certificate's deliveries by it; broker events, one per registration with
        # the statistics feed on, are left out (migration 0026): a random key cost each a page.
        Index("ix_outbox_reference", "reference", sqlite_where=_NOT_EVENTS, postgresql_where=_NOT_EVENTS),
        # Lets the delivery loop skip from queue to queue instead of reading the backlog.
        Index("ix_outbox_pending_destination", "state", "destination"),
    )


class OutboxPayloadRow(Base):
    """What an outbox item sends, apart from the item, when it is larger than a few hundred bytes.

    Written once; the item's row changes with every claim and outcome. In
    SQLite a changed row is written again whole, so a payload kept in it (a
    10 KB certificate) would be written twice more per delivery.
    """

    __tablename__ = "outbox_payload"

    outbox_id: Mapped[int] = mapped_column(Integer, ForeignKey("outbox.id", ondelete="CASCADE"), primary_key=True)
    payload: Mapped[bytes] = mapped_column(LargeBinary)  # the request element, or an encoded broker event


class AccessLogRow(Base):
    """The patient-data access log: append-only, each entry chained to the one before.

    ``hash`` is SHA-256 over the previous entry's hash and this entry's
    fields (intygsgw.storage.access_log), so an edited, removed or reordered entry
    breaks the chain where it happened.
    """

    __tablename__ = "access_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    caller: Mapped[str] = mapped_column(String(128))  # HSA id of the nearest caller; "" without TLS
    original_consumer: Mapped[str] = mapped_column(String(128))
    acting_on_behalf: Mapped[str] = mapped_column(String(128))
    contract: Mapped[str] = mapped_column(String(200))  # request namespace
    logical_address: Mapped[str] = mapped_column(String(128))
    person_id: Mapped[str] = mapped_column(String(64))  # normalised when it parses; "" when unknown
    certificate_ids: Mapped[str] = mapped_column(Text)  # JSON list
    outcome: Mapped[str] = mapped_column(String(64))  # OK | INFO | ERROR:<id> | FAULT | REFUSED
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))
    # A call that named several persons: JSON object person -> certificate ids; "" otherwise (0022)
    persons: Mapped[str] = mapped_column(Text, default="", server_default="")

    # By person: access_log_person names the hours, ix_access_log_at finds their entries.
    __table_args__ = (Index("ix_access_log_at", "at"),)


class AccessLogHeadRow(Base):
    """The chain's head: one row, locked by every writer, so entries are chained one at a time."""

    __tablename__ = "access_log_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AccessLogPersonRow(Base):
    """The hours in which the log names a person: how a person's entries are found.

    Written with the entries, one row per person and hour; a row already there
    is left as it is. An index on the log itself (person, time) wrote one index
    page per patient a call named, at every call: a unit's sick-leave list names
    thousands of patients, and is read again and again within the hour.
    """

    __tablename__ = "access_log_person"
    # On SQLite the rows are the b-tree on (person, hour) itself, with no rowid table beside it.
    __table_args__ = ({"sqlite_with_rowid": False},)

    person_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    hour: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)  # UTC, the hour's start


class MessageRow(Base):
    """An ärende (question, answer or reminder) relayed between care and a recipient.

    ``state`` is PENDING while the relay is in flight: the row is inserted and
    committed before the downstream call so that a concurrent duplicate of the
    same meddelande-id fails on the unique index instead of being relayed twice.
    It becomes STORED when the downstream answer was not ERROR; on ERROR the
    row is deleted so the id can be retried.
    """

    __tablename__ = "message"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(128), unique=True)  # meddelande-id
    certificate_id: Mapped[str] = mapped_column(String(128))  # no FK: the id is validated, not owned
    subject: Mapped[str] = mapped_column(String(16))  # amne code
    reply_to: Mapped[str | None] = mapped_column(String(128), nullable=True)  # svarPa meddelande-id
    reminder_of: Mapped[str | None] = mapped_column(String(128), nullable=True)  # paminnelseMeddelande-id
    reference_id: Mapped[str | None] = mapped_column(String(128), nullable=True)  # referens-id
    sender: Mapped[str] = mapped_column(String(128))  # skickatAv part code or care unit
    recipient_address: Mapped[str] = mapped_column(String(128))  # logiskAdressMottagare
    direction: Mapped[str] = mapped_column(String(16))  # TO_CARE | TO_RECIPIENT
    has_deadline: Mapped[bool] = mapped_column(Boolean, default=False)  # sistaDatumForSvar given
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)  # skickatTidpunkt
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC, hub clock
    state: Mapped[str] = mapped_column(String(16), default="PENDING")  # PENDING|STORED
    handled: Mapped[bool] = mapped_column(Boolean, default=False)
    handled_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    document: Mapped[bytes] = mapped_column(LargeBinary)  # the request element as received

    # An answer finds its question by the question's id; nothing looks messages up by reply_to (0021).
    __table_args__ = (Index("ix_message_certificate", "certificate_id", "state"),)


class ApprovedReceiverRow(Base):
    """A patient's choice of who may receive a certificate (RegisterApprovedReceivers).

    Replaced whole per certificate. No foreign key: the choice may be
    registered before the certificate itself arrives.
    """

    __tablename__ = "approved_receiver"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    certificate_id: Mapped[str] = mapped_column(String(128))
    receiver_id: Mapped[str] = mapped_column(String(32))  # a recipient id of the registry
    approved: Mapped[bool] = mapped_column(Boolean)

    __table_args__ = (Index("ix_approved_receiver_certificate", "certificate_id"),)


class CertificateSignatureRow(Base):
    """What signature verification found when a certificate was registered (issue 6).

    Written only when the type's policy asked for verification; a certificate
    whose signature failed is refused, so ``valid`` is False only for an
    unsigned certificate accepted under verify-if-present.
    """

    __tablename__ = "certificate_signature"

    certificate_id: Mapped[str] = mapped_column(
        String(128), ForeignKey("certificate.id", ondelete="CASCADE"), primary_key=True
    )
    policy: Mapped[str] = mapped_column(String(32))  # require | verify-if-present
    signed: Mapped[bool] = mapped_column(Boolean)
    valid: Mapped[bool] = mapped_column(Boolean)
    signer_subject: Mapped[str] = mapped_column(String(512))  # RFC 4514; "" when unsigned
    signer_hsa_id: Mapped[str] = mapped_column(String(64))  # subject SERIALNUMBER
    verified_at: Mapped[dt.datetime] = mapped_column(DateTime)  # UTC
    # Read by certificate only; migration 0021 dropped the index on the signer, which no query used.


class RehabStatusRow(Base):
    """A rehabilitation status Rehabstöd set on a patient's sick leave (the reference's REKO table).

    Added, never changed: the lists show the latest of those within a case
    (intygsgw.domain.rehab.status_of_case). Belongs to the care provider, not to a
    certificate, so an export carries it apart and an erase removes it by care provider.
    """

    __tablename__ = "rehab_status"
    __table_args__ = (
        # The lists read a care unit's statuses of their patients; the reference indexes the same.
        Index("ix_rehab_status_patient_unit", "patient_id", "care_unit_id", "sick_leave_timestamp"),
        # Export and erase walk a care provider's rows in stored order.
        Index("ix_rehab_status_provider", "care_provider_id", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    status: Mapped[str] = mapped_column(String(16))
    patient_id: Mapped[str] = mapped_column(String(12))  # yyyyMMddnnnn
    care_provider_id: Mapped[str] = mapped_column(String(64))
    care_unit_id: Mapped[str] = mapped_column(String(64))
    unit_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    staff_id: Mapped[str] = mapped_column(String(64))
    staff_name: Mapped[str] = mapped_column(String(255))
    sick_leave_timestamp: Mapped[dt.datetime] = mapped_column(DateTime)
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime)

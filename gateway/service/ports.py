"""What the service layer needs from the world outside it, as interfaces.

The service functions are written against these Protocols only. The storage
adapter (intygsgw.storage) and the outbound adapter (intygsgw.outbound) are
what the gateway runs with; tests/support/fakes.py holds an in-memory store
that runs the same lifecycle in microseconds. A storage failure reaches the
service as a domain error (intygsgw.domain.errors), never as a driver's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from intygsgw.domain.outcome import Outcome
from intygsgw.domain.records import (
    AccessEntry,
    ApprovedReceiver,
    CertificateExport,
    CertificateRecord,
    MessageRecord,
    RehabStatusExport,
    RehabStatusRecord,
    RelationRecord,
    SignatureRecord,
    StoredDocument,
)
from intygsgw.domain.results import Result
from intygsgw.domain.sick_leave import SickLeaveCertificate
from intygsgw.domain.states import State, StateEntry

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)


class CertificateRepository(Protocol):
    def add(self, cert: CertificateRecord, document: bytes, namespaces: dict[str, str]) -> None:
        """Store a new certificate; raises AlreadyStored when its id is taken."""

    def add_state(self, certificate_id: str, state: State, target: str, timestamp: dt.datetime) -> None: ...

    def add_revocation_request(self, certificate_id: str, request: bytes, revoked_at: dt.datetime) -> None: ...

    def add_relation(
        self, from_id: str, to_id: str, code: str, created_at: dt.datetime, patient_id: str | None = None
    ) -> None:
        """``patient_id``: the patient of both certificates, when the caller knows it (spares a read)."""

    def claim_send(
        self, certificate_id: str, recipient_id: str, owner: str, now: dt.datetime, until: dt.datetime
    ) -> bool:
        """Take the send of a certificate to a recipient until ``until``; False while another holds it."""

    def release_send(self, certificate_id: str, recipient_id: str, owner: str) -> None: ...

    def send_claimed(self, certificate_id: str, recipient_id: str, now: dt.datetime) -> bool: ...

    def get(self, certificate_id: str) -> CertificateRecord | None: ...

    def get_for_update(self, certificate_id: str) -> CertificateRecord | None:
        """As get, holding the certificate against concurrent changes until the unit of work ends."""

    def revocation_request(self, certificate_id: str) -> bytes | None: ...

    def documents(self, ids: Sequence[str]) -> dict[str, bytes]:
        """The stored documents of those of ``ids`` that still have one, by certificate id."""

    def document(self, certificate_id: str) -> StoredDocument | None: ...

    def stored_documents(self, ids: Sequence[str]) -> dict[str, StoredDocument]:
        """As documents, each with the namespaces it inherited (to parse it on its own)."""

    def states(self, certificate_id: str) -> list[StateEntry]: ...

    def states_for(self, ids: Sequence[str]) -> dict[str, list[StateEntry]]: ...

    def find_for_care(self, person_id: str, unit_ids: Sequence[str]) -> list[CertificateRecord]: ...

    def find_for_citizen(
        self,
        person_id: str,
        type_ids: Sequence[str],
        signed_from: dt.datetime | None,
        signed_before: dt.datetime | None,
    ) -> list[CertificateRecord]: ...

    def find_for_units(
        self,
        unit_ids: Sequence[str],
        doctor_id: str | None,
        person_id: str | None,
        signed_from: dt.datetime,
        signed_to: dt.datetime,
        type_ids: Sequence[str],
    ) -> list[CertificateRecord]:
        """Certificates signed on these units in [signed_from, signed_to], newest first."""

    def find_typed(
        self,
        unit_ids: Sequence[str],
        person_id: str | None,
        type_ids: Sequence[str],
        signed_from: dt.datetime | None,
        signed_before: dt.datetime | None,
    ) -> list[CertificateRecord]:
        """Signed certificates on these units (any unit when empty), of the person when given, of these
        types (as stored; any when empty), signed in [signed_from, signed_before), oldest first."""

    def relations_to(self, ids: Iterable[str]) -> list[RelationRecord]: ...

    def relations_from(self, ids: Iterable[str]) -> list[RelationRecord]: ...

    def existing_ids(self, ids: Iterable[str]) -> set[str]: ...

    def ids_for_persons(self, person_ids: Sequence[str], received_before: dt.datetime) -> list[str]: ...

    def delete(self, certificate_id: str) -> None: ...


class MessageRepository(Protocol):
    def claim(self, message: MessageRecord, stale_before: dt.datetime | None = None) -> bool:
        """Take the message's id before relaying it; False when another holds it."""

    def confirm(self, message_id: str) -> None: ...

    def release(self, message_id: str) -> None: ...

    def mark_handled(self, message_id: str, at: dt.datetime) -> bool: ...

    def get(self, message_id: str) -> MessageRecord | None: ...

    def id_taken(self, message_id: str) -> bool: ...

    def delete_for(self, certificate_id: str) -> None: ...

    def stored_for(self, certificate_ids: Iterable[str]) -> dict[str, list[MessageRecord]]: ...


class ApprovedReceiverRepository(Protocol):
    def replace(self, certificate_id: str, receivers: list[ApprovedReceiver]) -> None: ...

    def for_certificate(self, certificate_id: str) -> list[ApprovedReceiver]: ...


class SignatureRepository(Protocol):
    def add(self, record: SignatureRecord) -> None: ...

    def get(self, certificate_id: str) -> SignatureRecord | None: ...


class SickLeaveRepository(Protocol):
    def add(self, cert: SickLeaveCertificate, listed_item: str | None = None) -> None:
        """Store the certificate and its periods, with how the lists show it when that is rendered already."""

    def lock(self, certificate_id: str) -> None:
        """No other writer adds, revokes or removes the certificate's row until this unit of work ends."""

    def mark_deleted(self, certificate_id: str) -> None: ...

    def for_units(
        self, care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date
    ) -> list[SickLeaveCertificate]:
        """The units' certificates of patients with one active today or ended since ``since``, replaced ones left out."""

    def unit_listing(
        self, care_giver_id: str, unit_ids: list[str], today: dt.date, since: dt.date
    ) -> list[tuple[str, list[str], bytes | None]]:
        """What ``for_units`` selects, per patient in patient order: (patient id, certificate ids in
        list order, their stored list items joined as UTF-8, or None when one has none stored)."""

    def certificates(self, certificate_ids: list[str]) -> list[SickLeaveCertificate]:
        """These certificates with their periods, in the order given."""

    def for_patient(self, patient_id: str) -> list[SickLeaveCertificate]:
        """A patient's certificates on every care giver, revoked and replaced ones left out."""

    def care_giver_of_unit(self, unit_id: str) -> str | None:
        """The care giver the unit's latest certificate names; None for an unknown unit."""

    def has(self, certificate_id: str) -> bool:
        """Whether the certificate has sick-leave data (deleted or not)."""


class RehabStatusRepository(Protocol):
    """Rehabstöd's rehabilitation statuses: added as set, never changed."""

    def add(self, record: RehabStatusRecord) -> None: ...

    def for_patients(self, care_unit_id: str, patient_ids: Sequence[str]) -> list[RehabStatusRecord]:
        """The statuses set on the care unit for these patients, in stored order."""


class CareProviderRepository(Protocol):
    """A care provider's certificates as a whole (customer termination: export, erase, restore)."""

    def counts(self, care_giver_id: str) -> tuple[int, int]:
        """(certificates, revoked certificates) of the care provider."""

    def ids(self, care_giver_id: str, after: str | None, limit: int, offset: int = 0) -> list[str]:
        """The next ``limit`` certificate ids of the care provider in id order, after ``after``."""

    def export(self, ids: Sequence[str]) -> list[CertificateExport]:
        """Everything stored about each certificate, in the order of ``ids``."""

    def persons(self, ids: Sequence[str]) -> dict[str, str]:
        """The patient of each certificate."""

    def restore(self, export: CertificateExport) -> None:
        """Write an exported certificate back unchanged; AlreadyStored when its id is taken (nothing of it
        written, the unit of work still usable), InvalidExport when the export cannot be stored as it stands."""

    def erase(self, ids: Sequence[str]) -> int:
        """Remove the certificates and everything that belongs to them; how many certificates were removed."""

    def erase_sick_leave_rows(self, care_giver_id: str) -> int:
        """Remove the care provider's sick-leave rows (those left once its certificates are erased); how many."""

    def test_certificate_ids(self, signed_from: dt.datetime | None, signed_to: dt.datetime) -> list[str]: ...

    def rehab_statuses(self, care_giver_id: str, after: int | None, limit: int) -> tuple[list[dict], int | None]:
        """The next ``limit`` statuses of the care provider in stored order after the one numbered ``after``,
        as portable rows, and the number to continue after (None when there were none)."""

    def restore_rehab_statuses(self, export: RehabStatusExport) -> int:
        """Write exported statuses back, skipping those stored already; how many were written.
        InvalidExport when they cannot be stored as they stand."""

    def erase_rehab_statuses(self, care_giver_id: str) -> list[str]:
        """Remove the care provider's statuses; the patients they were about."""


class Outbox(Protocol):
    """Work for other systems, written in the same transaction as the change that causes it."""

    def enqueue(
        self,
        *,
        contract: str,
        logical_address: str,
        kind: str,
        reference: str,
        payload: bytes,
        correlation_id: str,
        now: dt.datetime,
    ) -> None: ...

    def purge_settled(self, settled_before: dt.datetime, limit: int) -> int:
        """Delete up to ``limit`` delivered or discarded items last changed before the cut-off; how many."""


class AccessLog(Protocol):
    def append(self, entries: list[AccessEntry]) -> None: ...


class UnitOfWork(Protocol):
    """One transaction: leaving it without commit() undoes everything done in it."""

    certificates: CertificateRepository
    messages: MessageRepository
    approved_receivers: ApprovedReceiverRepository
    signatures: SignatureRepository
    sick_leave: SickLeaveRepository
    care_provider: CareProviderRepository
    rehab_statuses: RehabStatusRepository
    outbox: Outbox
    access_log: AccessLog

    def __enter__(self) -> UnitOfWork: ...

    def __exit__(self, *exc: object) -> None: ...

    def commit(self) -> None: ...


class Store(Protocol):
    def reading(self) -> UnitOfWork: ...

    def writing(self) -> UnitOfWork: ...

    def write(self, job: Callable[[UnitOfWork], T], pipelined: bool = False) -> T:
        """Run ``job`` in a shared, group-committed transaction; it may run twice and must not commit.

        ``pipelined``: the job calls only repository methods that store (add, append, enqueue), so
        its writes may travel to the database together instead of one at a time. A job that reads
        through a repository, or acts on whether a change touched a row, must not say so.
        """

    def expect_write(self) -> AbstractContextManager[None]:
        """Around a request that will probably write soon (the group commit may wait for it)."""

    def give_way_to_writer(self) -> None:
        """Before a stretch of CPU work: wait briefly while this process's writer holds a write lock
        that other processes wait for (a no-op where there is none)."""

    def ping(self) -> None:
        """Raise unless the store can be reached now (the health check)."""


class Outbound(Protocol):
    """Calls to other systems' contracts, by request namespace and logical address."""

    def send(
        self, contract_ns: str, logical_address: str, payload: bytes, correlation_id: str | None = None
    ) -> Outcome: ...

    def send_stored(
        self, contract_ns: str, logical_address: str, document: StoredDocument, correlation_id: str | None = None
    ) -> Outcome:
        """Send an element stored as received (its bytes, a signature among them, untouched)."""

    def has_route(self, contract_ns: str, logical_address: str, day: dt.date) -> bool: ...


class Current(Protocol[T_co]):
    """Something an operator can change while the gateway runs (a file that is reloaded)."""

    def current(self) -> T_co: ...


@dataclass(frozen=True)
class SignatureOutcome:
    refused: Result | None = None  # the answer when the certificate must not be stored
    record: SignatureRecord | None = None  # what to store with the certificate


NOT_CHECKED = SignatureOutcome()


class SignatureChecker(Protocol):
    def check_registration(
        self,
        *,
        type_id: str,
        type_code: str,
        certificate_id: str,
        person_digits: str,
        document: bytes,
        namespaces: dict[str, str],
        now: dt.datetime,
        parsed_intyg: Any = None,
    ) -> SignatureOutcome:
        """Verify a certificate's signature as its type's policy says, before it is stored."""


class CertificateServiceClient(Protocol):
    """The certificate-service (CS), which issues certificates of its own and tells the hub on a queue (§3.7).

    The adapter turns CS's JSON and base64 into what the hub stores and sends.
    """

    def is_test_certificate(self, certificate_id: str) -> bool: ...

    def certificate(self, certificate_id: str) -> CsCertificate: ...

    def message(self, message_id: str) -> CsMessage: ...


@dataclass(frozen=True)
class CsCertificate:
    certificate_id: str
    certificate_type: str
    patient_id: str
    register_request: bytes  # the RegisterCertificate element, self-contained
    recipient_id: str | None  # where it was sent, if it was
    revocation_request: bytes | None  # a RevokeCertificate element built from CS's revocation, if revoked
    intyg: Any = None  # the parsed intyg of register_request, for the sick-leave data


@dataclass(frozen=True)
class CsMessage:
    message_id: str
    recipient_address: str  # logiskAdressMottagare
    request: bytes  # the SendMessageToRecipient element, self-contained

"""The certificate lifecycle: register, read, revoke, change status, list.

Every function takes plain values and returns a Result (or records), with the
reference hub's result codes and texts (hub-behaviour §1.3–1.8). Nothing here
knows about SOAP or XML beyond carrying the received document through.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from intygsgw import audit, correlation
from intygsgw.domain import events
from intygsgw.domain import states as st
from intygsgw.domain.errors import AlreadyStored
from intygsgw.domain.personnummer import InvalidPersonId, PersonId, parse_person_id, try_parse_person_id
from intygsgw.domain.recipients import NOT_SEND_TARGETS
from intygsgw.domain.records import CertificateRecord, RelationRecord
from intygsgw.domain.results import OK, ErrorId, Result, ServiceError, error, info
from intygsgw.domain.states import HSVARD, INVANA, State
from intygsgw.interactions import REGISTER_CERTIFICATE_3, REVOKE_CERTIFICATE_2
from intygsgw.rules.catalog import TypeCatalog
from intygsgw.service.feeds import queue_citizen_sent, queue_statistics
from intygsgw.service.notifications import SENT_EVENT, Event, enqueue_status_update
from intygsgw.service.ports import NOT_CHECKED, UnitOfWork
from intygsgw.service.services import Services
from intygsgw.service.sick_leave import listed_item_of, sick_leave_of
from intygsgw.service.views import CertificateView, CitizenList, RelationView

log = logging.getLogger(__name__)

RELATION_CODES = {"ERSATT": "Ersätter", "KOMPLT": "Kompletterar", "FRLANG": "Förlänger", "KOPIA": "Kopierat"}
# Death certificates are not the citizen's to browse (hub-behaviour §1.8).
NOT_LISTED_FOR_CITIZEN = ("db", "doi")


@dataclass(frozen=True)
class RegisterCertificate:
    certificate_id: str
    type_code: str
    version: str
    person_id: str
    signed_at: dt.datetime | None
    care_unit_id: str
    care_unit_name: str
    care_giver_id: str
    doctor_id: str
    doctor_name: str
    relation: tuple[str, str] | None  # (code, target certificate id) of the first relation
    document: bytes  # the RegisterCertificate element as received
    namespaces: dict[str, str]
    parsed: Any = None  # the parsed intyg, handed to the type rules


def register_certificate(svc: Services, cmd: RegisterCertificate) -> Result:
    audit.note(cmd.person_id, [cmd.certificate_id])
    types = svc.types.current()  # one set for the type check and the rules, even across a reload
    ctype = types.catalog.by_code(cmd.type_code)
    if ctype is None or not ctype.supports(cmd.version):
        _log_unknown_type(types.catalog, cmd.type_code, cmd.version)
        return error(
            ErrorId.VALIDATION_ERROR, f"Certificate with type: {cmd.type_code} does not support version: {cmd.version}"
        )
    try:
        person = parse_person_id(cmd.person_id)
    except InvalidPersonId:
        return error(ErrorId.VALIDATION_ERROR, "Social security number is not of correct format.")
    index = types.index(cmd.parsed)  # the rules and the sick-leave fields read the answers from one walk
    # The rules and the sick-leave rows are a registration's longest stretches of Python: this
    # process's writer, which other processes may be waiting for, goes first.
    svc.store.give_way_to_writer()
    failures = types.check(ctype.id, cmd.version, cmd.parsed, index)
    if failures:
        return error(ErrorId.VALIDATION_ERROR, ";".join(failures))
    if cmd.relation and cmd.relation[0] not in RELATION_CODES:
        return error(ErrorId.APPLICATION_ERROR, f"Unknown relation code: {cmd.relation[0]}")
    signature = (
        NOT_CHECKED
        if svc.signatures is None
        else svc.signatures.check_registration(
            type_id=ctype.id,
            type_code=cmd.type_code,
            certificate_id=cmd.certificate_id,
            person_digits=person.digits,
            document=cmd.document,
            namespaces=cmd.namespaces,
            now=svc.clock.utc(),
            parsed_intyg=cmd.parsed,
        )
    )
    if signature.refused is not None:
        return signature.refused

    now = svc.clock()
    record = CertificateRecord(
        id=cmd.certificate_id,
        type=ctype.id,
        type_version=cmd.version,
        person_id=person.digits,
        signed_at=cmd.signed_at,
        care_unit_id=cmd.care_unit_id,
        care_unit_name=cmd.care_unit_name,
        care_giver_id=cmd.care_giver_id,
        doctor_id=cmd.doctor_id,
        doctor_name=cmd.doctor_name,
        test_certificate=False,
        deleted_by_care_giver=False,
        received_at=now,
    )

    svc.store.give_way_to_writer()
    sick_leave = sick_leave_of(svc, types, record, cmd.parsed, index)
    # Rendered here, not in the job: the job runs in the group commit's serial part.
    listed_item = listed_item_of(svc, sick_leave)
    access = audit.current()  # the job may run on another request's thread

    def store_new(uow: UnitOfWork) -> None:
        uow.certificates.add(record, cmd.document, cmd.namespaces)
        uow.certificates.add_state(cmd.certificate_id, State.RECEIVED, HSVARD, now)
        if cmd.relation:
            uow.certificates.add_relation(cmd.certificate_id, cmd.relation[1], cmd.relation[0], now, person.digits)
        if signature.record is not None:
            uow.signatures.add(signature.record)
        if sick_leave is not None:
            uow.sick_leave.add(sick_leave, listed_item)
        queue_statistics(svc, uow, record, events.CREATED, body_of=record.id)
        audit.in_transaction(access, uow)

    # No look-up first: a new id is the common case, and the primary key turns
    # a duplicate, sequential or racing, into the IntegrityError below.
    try:
        svc.store.write(store_new, pipelined=True)
    except AlreadyStored:
        with svc.store.reading() as uow:
            existing = uow.certificates.get(cmd.certificate_id)
        if existing is None:
            raise
        return _already_exists(existing, person)
    if access is not None:
        access.written = True
    return OK


def _log_unknown_type(catalog: TypeCatalog, code: str, version: str) -> None:
    # The caller's answer is the reference's text; the operator is told what to change.
    folder = catalog.directory or "the certificate type folder"
    ctype = catalog.by_code(code)
    if ctype is None:
        log.warning("certificate type %r is not in the catalogue: add a definition for it to %s", code, folder)
    else:
        log.warning(
            "certificate type %s has no text version %r: add it to 'versions' in %s/%s (and rules for a "
            "new major version)",
            code,
            version,
            folder,
            ctype.source,
        )


def _already_exists(existing: CertificateRecord, person: PersonId) -> Result:
    # Senders compare this text literally to stop retrying: never reword it.
    if existing.person_id == person.digits:
        return info("Certificate already exists")
    log.info("Certificate ID already exists for another person.")
    return error(ErrorId.VALIDATION_ERROR, "Certificate already exists")


def get_certificate(svc: Services, certificate_id: str, part: str) -> CertificateView:
    with svc.store.reading() as uow:
        record = uow.certificates.get(certificate_id)
        audit.note(record.person_id if record else None, [certificate_id])
        if record is None:
            raise ServiceError(f"Certificate with id {certificate_id} is invalid or does not exist")
        if record.test_certificate and part.upper() != HSVARD:
            raise ServiceError(
                f"Failed to retrieve certificate: {certificate_id} because it is flagged as test "
                f"certificate and part is set as: {part}"
            )
        if record.deleted_by_care_giver:
            raise ServiceError(f"Certificate with id {certificate_id} is deleted from intygstjansten")
        document = uow.certificates.document(certificate_id)
        statuses = uow.certificates.states(certificate_id)
    if document is None:
        # Written in the certificate's own transaction, so only a damaged database lacks it.
        log.warning("certificate %s has no stored document", certificate_id)
        raise ServiceError(f"Certificate with id {certificate_id} is invalid or does not exist")
    return CertificateView(record, document, st.visible_to(statuses, part))


def revoke_certificate(svc: Services, certificate_id: str, person_id: str, forward: bytes | None = None) -> Result:
    """Revoke, and queue the same request to every recipient it was sent to.

    ``forward`` is the revocation request as received; it goes out unchanged
    through the outbox, written in the same transaction as the CANCELLED state,
    and is retried until each recipient confirms it.
    """
    audit.note(person_id, [certificate_id])
    person = try_parse_person_id(person_id)
    with svc.store.writing() as uow:
        record = uow.certificates.get_for_update(certificate_id)
        if record is None or person is None or record.person_id != person.digits:
            # APPLICATION_ERROR on purpose: a revocation can overtake its
            # registration, and this answer makes the sender try again.
            return error(ErrorId.APPLICATION_ERROR, f"Certificate {certificate_id} does not exist for patient.")
        history = uow.certificates.states(certificate_id)
        if st.is_revoked(history):
            return info(f"Certificate {certificate_id} is already revoked.")
        uow.certificates.add_state(certificate_id, State.CANCELLED, HSVARD, svc.clock())
        uow.sick_leave.mark_deleted(certificate_id)
        queue_statistics(svc, uow, record, events.REVOKED, body_of=certificate_id)
        if record.person_id in svc.validation_persons:
            log.info("revocation of %s not forwarded: the patient is a validation person", certificate_id)
        elif forward is not None and not record.test_certificate:
            uow.certificates.add_revocation_request(certificate_id, forward, svc.clock())
            for target in sorted({e.target for e in history if e.state is State.SENT}):
                _queue_revocation(svc, uow, certificate_id, target, forward)
        access = audit.current()
        audit.in_transaction(access, uow)
        uow.commit()
    if access is not None:
        access.written = True
    return OK


def _queue_revocation(svc: Services, uow: UnitOfWork, certificate_id: str, target: str, request: bytes) -> None:
    recipient = svc.recipients.get(target)
    if recipient is None:
        log.warning("revocation of %s not forwarded: recipient %s is not in the registry", certificate_id, target)
        return
    uow.outbox.enqueue(
        contract=REVOKE_CERTIFICATE_2.namespace,
        logical_address=recipient.logical_address,
        kind="revoke",
        reference=certificate_id,
        payload=request,
        correlation_id=correlation.current(),
        now=svc.clock.utc(),
    )


def send_certificate(
    svc: Services, certificate_id: str, person_id: str, recipient_id: str, by_citizen: bool = False
) -> Result:
    """Forward the stored certificate to a recipient, synchronously (hub-behaviour §1.5, §3.2)."""
    audit.note(person_id, [certificate_id])
    person = try_parse_person_id(person_id)
    with svc.store.reading() as uow:
        record = uow.certificates.get(certificate_id)
        if record is None or person is None or record.person_id != person.digits:
            return error(ErrorId.APPLICATION_ERROR, f"Unknown certificate ID: {certificate_id}")
        history = uow.certificates.states(certificate_id)
        if st.is_revoked(history):
            return info(f"Certificate '{certificate_id}' has been revoked.")
        if st.sent_to(history, recipient_id):
            return info(f"Certificate '{certificate_id}' already sent to '{recipient_id}'.")
        if record.test_certificate:
            return error(
                ErrorId.VALIDATION_ERROR,
                f"Certificate '{certificate_id}' couldn't be sent to recipient because it is a test certificate",
            )
        if record.person_id in svc.validation_persons:
            return error(
                ErrorId.VALIDATION_ERROR,
                f"Certificate '{certificate_id}' couldn't be sent to recipient because the patient is a "
                "validation person",
            )
        document = uow.certificates.document(certificate_id)
    failed = error(ErrorId.TECHNICAL_ERROR, f"Certificate '{certificate_id}' couldn't be sent to recipient")
    recipient = svc.recipients.get(recipient_id)
    if (
        recipient is None
        or recipient.id in NOT_SEND_TARGETS
        or not recipient.active
        or not recipient.accepts(record.type)
    ):
        log.warning("Recipient %s is not available for certificate type %s", recipient_id, record.type)
        return failed
    if svc.outbound is None:
        log.error("no outbound routing configured; cannot send %s", certificate_id)
        return failed
    if document is None:
        log.warning("certificate %s has no stored document; nothing to send", certificate_id)
        return failed
    owner = str(uuid.uuid4())
    settled = _claim_send(svc, certificate_id, recipient_id, owner, failed)
    if settled is not None:
        return settled
    try:
        # The registered element goes out as received: its bytes, the doctor's
        # signature among them, are untouched.
        outcome = svc.outbound.send_stored(
            REGISTER_CERTIFICATE_3.namespace, recipient.logical_address, document, correlation_id=correlation.current()
        )
    except Exception:
        _release_send(svc, certificate_id, recipient_id, owner)
        raise
    if not outcome.succeeded:
        log.warning("sending %s to %s failed: %s", certificate_id, recipient_id, outcome.describe())
        _release_send(svc, certificate_id, recipient_id, owner)
        return failed
    access = audit.current()
    with svc.store.writing() as uow:
        now = svc.clock()
        record = uow.certificates.get_for_update(certificate_id)
        uow.certificates.release_send(certificate_id, recipient_id, owner)
        revoked_meanwhile = st.is_revoked(uow.certificates.states(certificate_id))
        uow.certificates.add_state(certificate_id, State.SENT, recipient_id, now)
        if revoked_meanwhile:
            # The revocation committed while the recipient was receiving the
            # certificate, so it was not forwarded there: it follows now.
            request = uow.certificates.revocation_request(certificate_id)
            if request is not None:
                _queue_revocation(svc, uow, certificate_id, recipient_id, request)
        if record is not None:
            queue_statistics(svc, uow, record, events.SENT, recipient=recipient_id)
        # Only a citizen's send: care sent it itself and needs no telling (hub-behaviour §3.6),
        # on Webcert's queue or with the gateway's own notification, never both.
        if by_citizen and (record is None or not queue_citizen_sent(svc, uow, record)):
            enqueue_status_update(svc, uow, certificate_id, Event(SENT_EVENT, now))
        audit.in_transaction(access, uow)
        uow.commit()
    if access is not None:
        access.written = True
    return OK


# A send's claim outlasts any call (a route's timeouts add up to at most 55 s);
# one left by a process that died is taken over once it has passed.
SEND_CLAIM = dt.timedelta(seconds=90)
# How long a second caller waits for the first send's outcome before answering
# TECHNICAL_ERROR (try again): within the platform's 30 s timeout of that caller.
WAIT_FOR_OTHER_SEND = 25.0
POLL_OTHER_SEND = 0.05


def _claim_send(svc: Services, certificate_id: str, recipient_id: str, owner: str, failed: Result) -> Result | None:
    """Take this send, or answer as the concurrent send that holds it ends: None when it is ours.

    A citizen's double click or an EHR retrying on a timeout must not deliver
    the certificate twice, so only the claimant calls the recipient; the others
    wait for its outcome and answer as the reference answers once it has
    committed (INFO already sent), or take over if it failed or died.
    """
    deadline = time.monotonic() + WAIT_FOR_OTHER_SEND
    while True:
        with svc.store.writing() as uow:
            now = svc.clock.utc()
            if uow.certificates.claim_send(certificate_id, recipient_id, owner, now, now + SEND_CLAIM):
                # Another send may have finished between our first look and this
                # claim: its SENT, committed with its release, is visible here.
                history = uow.certificates.states(certificate_id)
                if st.sent_to(history, recipient_id):
                    return info(f"Certificate '{certificate_id}' already sent to '{recipient_id}'.")
                if st.is_revoked(history):
                    return info(f"Certificate '{certificate_id}' has been revoked.")
                uow.commit()
                return None
        while True:
            # The claim first, then the history: a claim is released in the
            # transaction that records SENT, so seeing it gone means seeing SENT
            # too (reads need not share one snapshot for this to hold).
            with svc.store.reading() as uow:
                held = uow.certificates.send_claimed(certificate_id, recipient_id, svc.clock.utc())
            with svc.store.reading() as uow:
                history = uow.certificates.states(certificate_id)
            if st.sent_to(history, recipient_id):
                return info(f"Certificate '{certificate_id}' already sent to '{recipient_id}'.")
            if st.is_revoked(history):
                return info(f"Certificate '{certificate_id}' has been revoked.")
            if not held:
                break  # the other send failed or its sender died: try to take it
            if time.monotonic() > deadline:
                log.warning(
                    "send of %s to %s still under way elsewhere; asking the caller to retry",
                    certificate_id,
                    recipient_id,
                )
                return failed
            time.sleep(POLL_OTHER_SEND)


def _release_send(svc: Services, certificate_id: str, recipient_id: str, owner: str) -> None:
    with svc.store.writing() as uow:
        uow.certificates.release_send(certificate_id, recipient_id, owner)
        uow.commit()


def set_certificate_status(
    svc: Services, certificate_id: str, part: str, status_code: str, timestamp: dt.datetime
) -> Result:
    if svc.recipients.get(part) is None:
        audit.note(None, [certificate_id])
        return error(ErrorId.VALIDATION_ERROR, f"No recipient found for recipient id: {part}")
    try:
        state = State.from_status_code(status_code)
    except ValueError as exc:
        return error(ErrorId.VALIDATION_ERROR, str(exc))
    return _set_state(svc, certificate_id, part, state, timestamp, None)


# Försäkringskassan still names itself FK in SetCertificateStatus 1 (hub-behaviour §1.7).
LEGACY_TARGETS = {"FK": "FKASSA"}


def set_certificate_state_for_patient(
    svc: Services, certificate_id: str, person_id: str, target: str, state: State, timestamp: dt.datetime | None
) -> Result:
    """SetCertificateStatus 1: like version 2, but the certificate must be the patient's.

    The checks run in the reference's order: recipient, person id (a failure
    there is a ServiceError, which the contract's transform answers), certificate.
    """
    target = LEGACY_TARGETS.get(target, target)
    if svc.recipients.get(target) is None:
        audit.note(None, [certificate_id])
        return error(ErrorId.VALIDATION_ERROR, f"No recipient found for recipient id: {target}")
    person = try_parse_person_id(person_id)
    if person is None:
        audit.note(person_id, [certificate_id])
        raise ServiceError("Could not parse passed personnummer")
    return _set_state(svc, certificate_id, target, state, timestamp or svc.clock(), person)


def _set_state(
    svc: Services, certificate_id: str, target: str, state: State, timestamp: dt.datetime, person: PersonId | None
) -> Result:
    with svc.store.writing() as uow:
        record = uow.certificates.get(certificate_id)
        audit.note(record.person_id if record else (person.digits if person else None), [certificate_id])
        if record is None:
            return error(ErrorId.VALIDATION_ERROR, f"Unknown certificate ID: {certificate_id}")
        if state is State.SENT and record.test_certificate:
            return error(
                ErrorId.VALIDATION_ERROR, "Cannot set the certificate to SENT as it is flagged as a test certificate"
            )
        if state is State.SENT and record.person_id in svc.validation_persons:
            # SENT would open the message relay to recipients for a certificate
            # that never leaves the gateway.
            return error(
                ErrorId.VALIDATION_ERROR, "Cannot set the certificate to SENT as the patient is a validation person"
            )
        if person is not None and record.person_id != person.digits:
            return error(
                ErrorId.VALIDATION_ERROR,
                f"Certificate '{certificate_id}' does not exist for user '{person.hashed()}'",
            )
        uow.certificates.add_state(certificate_id, state, target, timestamp)
        access = audit.current()
        audit.in_transaction(access, uow)
        uow.commit()
    if access is not None:
        access.written = True
    return OK


def _views(uow: UnitOfWork, records: list[CertificateRecord], part: str) -> list[CertificateView]:
    histories = uow.certificates.states_for([r.id for r in records])
    views = []
    for r in records:
        doc = uow.certificates.document(r.id)
        if doc is None:
            log.warning("certificate %s has no stored document; left out of the list", r.id)
            continue
        views.append(CertificateView(r, doc, st.visible_to(histories[r.id], part)))
    return views


def list_for_care(svc: Services, person_id: str, unit_ids: list[str]) -> list[CertificateView]:
    person = try_parse_person_id(person_id)
    if person is None:
        audit.note(person_id)
        return []
    with svc.store.reading() as uow:
        records = uow.certificates.find_for_care(person.digits, unit_ids)
        audit.note(person.digits, [r.id for r in records])
        return _views(uow, records, HSVARD)


def list_for_citizen(
    svc: Services,
    person_id: str,
    type_codes: list[str],
    archived: bool,
    part: str,
    from_date: dt.date | None,
    to_date: dt.date | None,
) -> CitizenList:
    audit.note(person_id)
    person = try_parse_person_id(person_id)
    if person is None:
        raise ServiceError("Social security number is not of correct format.")
    type_ids = []
    for code in type_codes:
        ctype = svc.catalog.resolve(code)
        type_ids.append(ctype.id if ctype else code.lower())
    signed_from = dt.datetime.combine(from_date, dt.time()) if from_date else None
    signed_before = dt.datetime.combine(to_date + dt.timedelta(days=1), dt.time()) if to_date else None
    with svc.store.reading() as uow:
        records = [
            r
            for r in uow.certificates.find_for_citizen(person.digits, type_ids, signed_from, signed_before)
            if r.type not in NOT_LISTED_FOR_CITIZEN
        ]
        histories = uow.certificates.states_for([r.id for r in records])
        records = [r for r in records if st.is_archived(histories[r.id]) == archived]
        audit.note(person.digits, [r.id for r in records])
        if any(r.test_certificate for r in records) and part.upper() not in (HSVARD, INVANA):
            return CitizenList(
                [],
                error(
                    ErrorId.VALIDATION_ERROR,
                    "Failed to retrieve certificates because it is flagged as test certificate and part is set as: "
                    f"{part}",
                ),
            )
        return CitizenList(_views(uow, records, part), OK)


@dataclass(frozen=True)
class ListedCertificate:
    """A row of ListCertificates 1: the certificate and its whole state history, newest first."""

    record: CertificateRecord
    history: list[st.StateEntry]


def list_certificates(
    svc: Services, person_id: str, type_codes: list[str], from_date: dt.date | None, to_date: dt.date | None
) -> list[ListedCertificate]:
    """ListCertificates 1 (hub-behaviour §1.12).

    Without types every certificate of the patient is listed, archived and
    revoked ones too; with types those are left out. Types are compared as
    given, lower-cased, without the catalogue's aliases, as the reference does.
    """
    person = try_parse_person_id(person_id)
    if person is None:
        audit.note(person_id)
        raise ServiceError("Could not parse passed personnummer")
    signed_from = dt.datetime.combine(from_date, dt.time()) if from_date else None
    signed_before = dt.datetime.combine(to_date + dt.timedelta(days=1), dt.time()) if to_date else None
    with svc.store.reading() as uow:
        records = uow.certificates.find_for_citizen(person.digits, type_codes, signed_from, signed_before)
        histories = uow.certificates.states_for([r.id for r in records])
    if type_codes:
        records = [r for r in records if not (st.is_archived(histories[r.id]) or st.is_revoked(histories[r.id]))]
    audit.note(person.digits, [r.id for r in records])
    return [ListedCertificate(r, histories[r.id]) for r in records]


def list_relations(svc: Services, certificate_ids: list[str]) -> dict[str, list[RelationView]]:
    """For each id, every relation in its graph: descendants and ancestors."""
    out: dict[str, list[RelationView]] = {}
    with svc.store.reading() as uow:
        for cid in certificate_ids:
            # The access log names whose certificate was asked about.
            record = uow.certificates.get(cid)
            audit.note(record.person_id if record else None, [cid])
            graph: dict[tuple[str, str, str], RelationRecord] = {}
            # Newer certificates point at older ones: walk down through
            # "to" for descendants and up through "from" for ancestors.
            for fetch, next_end in (
                (uow.certificates.relations_to, "from_id"),
                (uow.certificates.relations_from, "to_id"),
            ):
                frontier, seen = {cid}, set()
                while frontier:
                    seen |= frontier
                    found = fetch(frontier)
                    for rel in found:
                        graph[(rel.from_id, rel.to_id, rel.code)] = rel
                    frontier = {getattr(rel, next_end) for rel in found} - seen
            relations = sorted(graph.values(), key=lambda r: r.created_at)
            from_ids = {r.from_id for r in relations}
            histories = uow.certificates.states_for(list(from_ids))
            missing = from_ids - uow.certificates.existing_ids(from_ids)
            if missing:
                raise ServiceError(f"Certificate with id {sorted(missing)[0]} is invalid or does not exist")
            out[cid] = [
                RelationView(r.code, r.from_id, r.to_id, r.created_at, st.is_revoked(histories[r.from_id]))
                for r in relations
            ]
    return out


def certificate_type_info(svc: Services, certificate_id: str) -> tuple[str, str]:
    if not certificate_id or not certificate_id.strip():
        raise ServiceError("Request to GetCertificateType is missing required parameter 'intygs-id'")
    with svc.store.reading() as uow:
        record = uow.certificates.get(certificate_id)
    if record is None:
        raise ServiceError(
            f"Failed to get certificate's type. Certificate with id {certificate_id} is invalid or does not exist"
        )
    return record.type, record.type_version

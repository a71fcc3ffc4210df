"""Every operation of the internal API: path, models, and the service call behind it."""

from __future__ import annotations

from intygsgw.domain import rehab
from intygsgw.domain.personnummer import PersonId, try_parse_person_id
from intygsgw.domain.records import CertificateRecord, RehabStatusRecord
from intygsgw.domain.results import ErrorId
from intygsgw.domain.sick_leave import cleaned_diagnosis_code
from intygsgw.internalapi import export_format
from intygsgw.internalapi import models as m
from intygsgw.internalapi.framework import Call, PathParam, Route, Streamed, StreamSpec
from intygsgw.internalapi.problems import Problem, invalid, not_found
from intygsgw.service import care_info, care_provider, citizen, rehab_statuses, sick_leave, typed_certificates
from intygsgw.service.certificates import send_certificate

CERTIFICATE_ID = PathParam("certificateId", m.CertificateId, "certificate id")
ID = PathParam("id", m.CertificateId, "certificate id")
HSA_ID = PathParam("id", m.HsaId, "HSA id")
CARE_PROVIDER_ID = PathParam("careProviderId", m.HsaId, "care provider HSA id")
NDJSON = "application/x-ndjson"


def _one_of(field: str, value: str, allowed, noun: str) -> None:
    """A 400 naming the field when ``value`` is not among ``allowed``."""
    if value not in allowed:
        raise invalid(
            f"{field} must be one of {', '.join(allowed)}", [{"field": field, "message": f"unknown {noun} {value!r}"}]
        )


def _person(value: str, field: str) -> PersonId:
    person = try_parse_person_id(value)
    if person is None:
        raise invalid(
            f"{field} is not a personnummer or samordningsnummer",
            [{"field": field, "message": "expected yyyyMMddnnnn, yyyyMMdd-nnnn or yyMMdd-nnnn"}],
        )
    return person


# -- Mina intyg ---------------------------------------------------------------


def list_citizen(call: Call) -> m.ListCitizenCertificatesResponseDTO:
    body: m.CitizenCertificatesRequestDTO = call.body
    person = _person(body.patientId, "patientId")
    found = citizen.list_citizen_certificates(
        call.services,
        person,
        citizen.CitizenFilter(
            statuses=[s.value for s in body.statuses or ()],
            units=body.units or (),
            type_ids=body.certificateTypes or (),
            years=[int(y) for y in body.years or ()],
            archived=body.archived,
        ),
    )
    return m.ListCitizenCertificatesResponseDTO(content=[_citizen_dto(c) for c in found])


def _citizen_dto(c: citizen.CitizenCertificate) -> m.CitizenCertificateDTO:
    r = c.record
    return m.CitizenCertificateDTO(
        id=r.id,
        type=m.CitizenCertificateTypeDTO(id=r.type, name=c.type_name, version=r.type_version),
        summary=m.CitizenCertificateSummaryDTO(label=c.summary_label, value=c.summary_value),
        issuer=m.CitizenCertificateIssuerDTO(name=r.doctor_name),
        unit=m.CitizenCertificateUnitDTO(id=r.care_unit_id, name=r.care_unit_name),
        recipient=(
            m.CitizenCertificateRecipientDTO(id=c.recipient.id, name=c.recipient.name, sent=c.sent_at)
            if c.recipient
            else None
        ),
        issued=r.signed_at,
        relations=[
            m.CitizenCertificateRelationDTO(
                certificateId=rel.certificate_id,
                type=m.CitizenCertificateRelationType(rel.type),
                timestamp=rel.timestamp,
            )
            for rel in c.relations
        ],
    )


# Answers of a send that did not happen, by errorId (the reference answers 500 to all of them).
_SEND_STATUS = {ErrorId.APPLICATION_ERROR: 404, ErrorId.VALIDATION_ERROR: 409, ErrorId.TECHNICAL_ERROR: 502}


def send_citizen(call: Call) -> None:
    body: m.CitizenCertificateSendRequestDTO = call.body
    person = _person(body.patientId, "patientId")
    result = send_certificate(call.services, body.certificateId, person.digits, body.recipient, by_citizen=True)
    if result.code == "OK" or (result.code == "INFO" and "already sent" in (result.text or "")):
        return None
    if result.code == "INFO":  # revoked
        raise Problem(409, result.text or "The certificate cannot be sent")
    status = _SEND_STATUS.get(result.error_id or ErrorId.APPLICATION_ERROR, 409)
    raise Problem(status, result.text or "The certificate could not be sent")


# -- Webcert ------------------------------------------------------------------


def messages(call: Call) -> list[m.MessageFromIT]:
    found = care_info.messages_for_certificate(call.services, call.params["certificateId"])
    return [
        m.MessageFromIT(
            certificateId=msg.certificate_id,
            messageId=msg.message_id,
            messageContent=msg.document.decode("utf-8", errors="replace"),
            subject=msg.subject,
            logicalAddress=msg.recipient_address,
            timestamp=msg.received_at,
        )
        for msg in found
    ]


def intyg_info(call: Call) -> m.ItIntygInfo:
    info = care_info.certificate_info(call.services, call.params["id"])
    if info is None:
        raise not_found(f"No certificate with id {call.params['id']}")
    r = info.record
    return m.ItIntygInfo(
        intygId=r.id,
        intygType=r.type,
        intygVersion=r.type_version,
        signedDate=r.signed_at,
        sentToRecipient=info.sent_at,
        events=[
            m.IntygInfoEvent(source="INTYGSTJANSTEN", date=e.date, type=e.type, data=dict(e.data) or None)
            for e in info.events
        ],
        signedByName=r.doctor_name,
        signedByHsaId=r.doctor_id,
        signedByEmail=None,
        careUnitName=r.care_unit_name,
        careUnitHsaId=r.care_unit_id,
        careGiverName=None,
        careGiverHsaId=r.care_giver_id,
        testCertificate=r.test_certificate,
        receivedDate=r.received_at,
        numberOfRecipients=info.recipients,
    )


def count(call: Call) -> int:
    return care_info.certificate_count(call.services, call.params["id"])


def doctor_list(call: Call) -> m.CertificateListResponse:
    body: m.CertificateListRequest = call.body
    person = _person(body.civicRegistrationNumber, "civicRegistrationNumber") if body.civicRegistrationNumber else None
    if body.orderBy is not None:
        _one_of("orderBy", body.orderBy, care_info.ORDERS, "order")
    found = care_info.doctor_certificates(
        call.services,
        care_info.DoctorQuery(
            unit_ids=body.unitIds or (),
            doctor_id=body.hsaId,
            person=person,
            signed_from=body.fromDate,
            signed_to=body.toDate,
            type_ids=body.types or (),
            order_by=body.orderBy,
            ascending=body.orderAscending,
            start_from=body.startFrom,
            page_size=body.pageSize,
        ),
    )
    return m.CertificateListResponse(
        certificates=[
            m.CertificateListEntry(
                certificateId=e.record.id,
                civicRegistrationNumber=e.record.person_id,
                certificateType=e.record.type,
                certificateTypeVersion=e.record.type_version,
                certificateTypeName=e.type_name,
                signedDate=e.record.signed_at,
                sent=e.sent,
                protectedIdentity=False,
                testIndicator=e.record.test_certificate,
                deceased=False,
            )
            for e in found.entries
        ],
        totalCount=found.total,
        errorFromIT=False,
    )


# -- Intygsadmin --------------------------------------------------------------


def erase_test_certificates(call: Call) -> m.TestCertificateEraseResult:
    body: m.TestCertificateEraseRequest = call.body
    if body.to is None:
        raise invalid("Missing date to", [{"field": "to", "message": "required"}])
    if body.from_ is not None and body.from_ > body.to:
        raise invalid("From date is after to date", [{"field": "from", "message": "after to"}])
    erased, failed = care_provider.erase_test_certificates(call.services, body.from_, body.to)
    call.outcome = f"ERASED:{erased}"
    return m.TestCertificateEraseResult(erasedCount=erased, failedCount=failed)


# -- Customer termination -----------------------------------------------------


def certificate_texts(call: Call) -> list[m.CertificateTextDTO]:
    return [
        m.CertificateTextDTO(type=t.type, version=t.version, xml=t.xml)
        for t in care_provider.certificate_texts(call.services)
    ]


def export(call: Call):
    query: m.ExportQuery = call.query
    provider = call.params["careProviderId"]
    if query.batchSize is not None:
        page = care_provider.export_page(call.services, provider, query.collected, query.batchSize)
        return m.CertificateExportPageDTO(
            careProviderId=provider,
            count=len(page.certificates),
            total=page.total,
            totalRevoked=page.total_revoked,
            certificateXmls=[
                m.CertificateXmlDTO(id=e.certificate_id, revoked=e.revoked, xml=e.document.decode("utf-8"))
                for e in page.certificates
            ],
        )
    counts = care_provider.export_counts(call.services, provider)
    exports = care_provider.export_all(call.services, provider)
    statuses = care_provider.export_rehab_statuses(call.services, provider)
    return Streamed(NDJSON, export_format.stream(provider, counts, call.services.clock(), exports, statuses))


def erase(call: Call) -> m.EraseResult:
    provider = call.params["careProviderId"]
    erased = care_provider.erase_care_provider(call.services, provider)
    call.outcome = f"ERASED:{erased}"
    return m.EraseResult(careProviderId=provider, erasedCount=erased)


ROUTES: list[Route] = [
    Route(
        "POST",
        "/internalapi/citizen",
        "listCitizenCertificates",
        "A citizen's certificates (Mina intyg): not revoked, no test certificates, filtered and newest first",
        "Mina intyg",
        list_citizen,
        body=m.CitizenCertificatesRequestDTO,
        response=m.ListCitizenCertificatesResponseDTO,
    ),
    Route(
        "POST",
        "/internalapi/citizen/send",
        "sendCitizenCertificate",
        "Send a citizen's certificate to a recipient; care is notified that the citizen sent it",
        "Mina intyg",
        send_citizen,
        body=m.CitizenCertificateSendRequestDTO,
        not_found="No certificate with that id for that citizen",
        also=(409, 502),
    ),
    Route(
        "GET",
        "/internalapi/message/{certificateId}",
        "listMessages",
        "The stored ärenden (messages) of a certificate, oldest first",
        "Webcert",
        messages,
        response=list[m.MessageFromIT],
        path_params=(CERTIFICATE_ID,),
    ),
    Route(
        "GET",
        "/internalapi/intygInfo/{id}",
        "getIntygInfo",
        "A certificate's history for Webcert's support view",
        "Webcert",
        intyg_info,
        response=m.ItIntygInfo,
        path_params=(ID,),
        not_found="No certificate with that id",
    ),
    Route(
        "GET",
        "/internalapi/intygInfo/{id}/count",
        "countCertificatesOfCareProvider",
        "How many certificates a care provider (HSA id) has",
        "Webcert",
        count,
        response=int,
        path_params=(HSA_ID,),
        patient_data=False,
    ),
    Route(
        "POST",
        "/internalapi/certificatelist/certificates/doctor",
        "listCertificatesForDoctor",
        "Signed certificates of units (of one doctor), sorted and paged",
        "Webcert",
        doctor_list,
        body=m.CertificateListRequest,
        response=m.CertificateListResponse,
    ),
    Route(
        "POST",
        "/internalapi/testCertificate/erase",
        "eraseTestCertificates",
        "Erase the test certificates signed in a window, with their relations, messages and sick-leave data",
        "Intygsadmin",
        erase_test_certificates,
        body=m.TestCertificateEraseRequest,
        response=m.TestCertificateEraseResult,
    ),
    Route(
        "GET",
        "/internalapi/v1/certificatetexts",
        "listCertificateTexts",
        "The certificate text files in force",
        "Customer termination",
        certificate_texts,
        response=list[m.CertificateTextDTO],
        patient_data=False,
    ),
    Route(
        "GET",
        "/internalapi/v1/certificates/{careProviderId}",
        "exportCareProvider",
        "Export a care provider's certificates: a page (batchSize, collected) or, without batchSize, everything "
        "streamed as JSON lines",
        "Customer termination",
        export,
        query=m.ExportQuery,
        response=m.CertificateExportPageDTO,
        path_params=(CARE_PROVIDER_ID,),
        stream=StreamSpec(
            NDJSON,
            m.ExportLine,
            "Without batchSize: one JSON object per line, a header, each certificate with everything stored "
            "about it, the care provider's rehabilitation statuses, and a last line with the counts",
        ),
    ),
    Route(
        "DELETE",
        "/internalapi/v1/certificates/{careProviderId}",
        "eraseCareProvider",
        "Erase everything of a care provider (its rehabilitation statuses last), in committed batches; run again "
        "to continue after a failure",
        "Customer termination",
        erase,
        response=m.EraseResult,
        path_params=(CARE_PROVIDER_ID,),
    ),
]


# -- Rehabstöd ----------------------------------------------------------------


def _diagnosis(code: str) -> m.DiagnosKod:
    # As the reference reads a stored code: seven characters of code, the rest its name.
    return m.DiagnosKod(originalCode=code, cleanedCode=cleaned_diagnosis_code(code), name=code[7:].strip() or None)


def _category(letter: str, number: int) -> m.DiagnosKategori:
    # A blank letter (no chapter) has an empty id, as the reference's DiagnosKategori.getId.
    return m.DiagnosKategori(letter=letter, number=number, id=f"{letter}{number:02d}" if letter.strip() else "")


def _chapter(c: rehab.Chapter) -> m.DiagnosKapitel:
    first, last = _category(c.from_letter, c.from_number), _category(c.to_letter, c.to_number)
    return m.DiagnosKapitel.model_validate({"from": first, "to": last, "name": c.name, "id": c.range})


def sick_leaves_active(call: Call) -> m.SickLeaveResponseDTO:
    body: m.SickLeaveRequestDTO = call.body
    cases = sick_leave.rehab_sick_leaves(
        call.services,
        body.careUnitId,
        body.unitId,
        body.maxCertificateGap,
        body.maxDaysSinceSickLeaveCompleted,
        body.doctorIds or (),
    )
    chapters = [
        rehab.Chapter(c.from_.letter, c.from_.number, c.to.letter, c.to.number, c.name or "")
        for c in body.diagnosisChapters or ()
    ]
    wanted = rehab.RehabFilter(
        length_intervals=[(i.from_, i.to) for i in body.sickLeaveLengthIntervals or ()],
        chapters=chapters,
        age_from=body.fromPatientAge,
        age_to=body.toPatientAge,
        end_from=body.fromSickLeaveEndDate,
        end_to=body.toSickLeaveEndDate,
        doctor_ids=body.doctorIds or (),
        reko_status_ids=body.rekoStatusTypeIds or (),
        occupation_ids=body.occupationTypeIds or (),
        text=body.textSearch or "",
    )
    statuses = rehab_statuses.statuses_of_cases(call.services, body.careUnitId, cases)

    def status_of(case) -> RehabStatusRecord | None:
        return statuses.get(rehab_statuses.case_key(case))

    kept = rehab.rehab_filter(cases, wanted, call.services.clock().date(), status_of)
    return m.SickLeaveResponseDTO(content=[_sjukfall(case, status_of(case)) for case in kept])


def _sjukfall(case, status: RehabStatusRecord | None) -> m.SjukfallEnhet:
    anchor = case.anchor
    return m.SjukfallEnhet(
        rekoStatus=_reko_status(status) if status else None,
        vardgivare=m.IdName(id=case.care_giver_id, namn=None),
        vardenhet=m.IdName(id=case.care_unit_id, namn=case.care_unit_name),
        lakare=m.IdName(id=case.doctor_id, namn=case.doctor_name),
        patient=m.IdName(id=rehab.dashed(case.patient_id), namn=case.patient_name),
        diagnosKod=_diagnosis(case.diagnosis),
        biDiagnoser=[_diagnosis(d) for d in case.secondary_diagnoses if d],
        start=case.start,
        slut=case.end,
        dagar=case.days,
        intyg=case.certificate_count,
        intygLista=list(case.certificate_ids),
        aktivGrad=case.active_grade or 0,
        grader=list(case.grades),
        aktivIntygsId=anchor.certificate_id,
        sysselsattning=rehab.occupation_names(case.employment),
    )


def sick_leave_filters(call: Call) -> m.PopulateFiltersResponseDTO:
    body: m.PopulateFiltersRequestDTO = call.body
    cases = sick_leave.active_cases(
        call.services, body.careUnitId, body.unitId, body.maxDaysSinceSickLeaveCompleted, body.doctorId
    )
    today = call.services.clock().date()
    doctors: dict[str, str] = {}
    chapters: dict[str, rehab.Chapter] = {}
    for case in cases:
        doctors.setdefault(case.doctor_id, case.doctor_name)
        chapter = rehab.chapter_of(case.diagnosis)
        chapters.setdefault(chapter.range, chapter)
    return m.PopulateFiltersResponseDTO(
        activeDoctors=[m.IdName(id=i, namn=n) for i, n in doctors.items()],
        diagnosisChapters=[_chapter(c) for c in chapters.values()],
        nbrOfSickLeaves=len(cases),
        hasOngoingSickLeaves=any(case.end >= today for case in cases),
        rekoStatusTypes=[m.CodeName(id=i, name=n) for i, n in rehab.REKO_STATUSES],
        occupationTypes=[m.CodeName(id=i, name=n) for i, n in rehab.OCCUPATIONS],
    )


ROUTES += [
    Route(
        "POST",
        "/internalapi/sickleave/active",
        "listActiveSickLeaves",
        "Rehabstöd: a care unit's sick leaves active today or recently ended, linked with the requested gap "
        "and filtered",
        "Rehabstöd",
        sick_leaves_active,
        body=m.SickLeaveRequestDTO,
        response=m.SickLeaveResponseDTO,
    ),
    Route(
        "POST",
        "/internalapi/sickleave/filters",
        "populateSickLeaveFilters",
        "Rehabstöd: what the unit's active sick leaves can be filtered by",
        "Rehabstöd",
        sick_leave_filters,
        body=m.PopulateFiltersRequestDTO,
        response=m.PopulateFiltersResponseDTO,
    ),
]


def typed_doctors(call: Call) -> list[str]:
    body: m.TypedCertificateRequest = call.body
    return typed_certificates.signing_doctors(
        call.services, body.unitIds or (), body.certificateTypes or (), body.fromDate, body.toDate
    )


def typed_diagnosed_units(call: Call) -> list[m.DiagnosedCertificate]:
    body: m.TypedCertificateRequest = call.body
    found = typed_certificates.diagnosed_for_units(
        call.services,
        body.unitIds or (),
        body.certificateTypes or (),
        body.fromDate,
        body.toDate,
        body.doctorIds or (),
    )
    return [_diagnosed(d) for d in found]


def _typed_person(body: m.TypedCertificateRequest) -> PersonId | None:
    """The request's person; None for a personId that is no personnummer, whom the reference finds nothing for."""
    return try_parse_person_id(body.personId) if body.personId else None


def typed_diagnosed_person(call: Call) -> list[m.DiagnosedCertificate]:
    body: m.TypedCertificateRequest = call.body
    person = _typed_person(body)
    if person is None:
        return []
    found = typed_certificates.diagnosed_for_person(
        call.services, person, body.certificateTypes or (), body.fromDate, body.toDate, body.unitIds or ()
    )
    return [_diagnosed(d) for d in found]


def typed_sick_leave_person(call: Call) -> list[m.SickLeaveCertificate]:
    body: m.TypedCertificateRequest = call.body
    person = _typed_person(body)
    if person is None:
        return []
    found = typed_certificates.sick_leave_for_person(
        call.services,
        person,
        body.certificateTypes or (),
        body.fromDate,
        body.toDate,
        body.unitIds or (),
        body.doctorIds or (),
    )
    return [
        m.SickLeaveCertificate(
            **_base_certificate(c.record, c.diagnoses),
            patientFullName=c.patient_name or None,
            workCapacityList=[m.WorkCapacity(startDate=p.start, endDate=p.end, reduction=p.grade) for p in c.periods],
            occupation=",".join(c.occupations),
        )
        for c in found
    ]


def _diagnosed(d: typed_certificates.Diagnosed) -> m.DiagnosedCertificate:
    return m.DiagnosedCertificate(**_base_certificate(d.record, d.diagnoses), patientFullName=None)


def _base_certificate(r: CertificateRecord, diagnoses: tuple[str, ...]) -> dict:
    """The fields of the reference's DiagnosedCertificate but the patient's name."""
    return {
        "certificateId": r.id,
        "certificateType": r.type,
        "signingDateTime": r.signed_at,
        "personId": rehab.dashed(r.person_id),
        "personalHsaId": r.doctor_id,
        "personalFullName": r.doctor_name,
        "careUnitId": r.care_unit_id,
        "careUnitName": r.care_unit_name,
        "careProviderId": r.care_giver_id,
        "deleted": False,
        "testCertificate": r.test_certificate,
        "diagnoseCode": diagnoses[0] if diagnoses else None,
        "secondaryDiagnoseCodes": list(diagnoses[1:]) or None,
    }


ROUTES += [
    Route(
        "POST",
        "/internalapi/typedcertificate/diagnosed/unit",
        "listDiagnosedCertificatesForUnits",
        "Rehabstöd: unrevoked certificates of the types on the units (of the doctors), signed in the window, "
        "with their diagnoses, oldest first (unitIds, certificateTypes, fromDate, toDate, doctorIds)",
        "Rehabstöd",
        typed_diagnosed_units,
        body=m.TypedCertificateRequest,
        response=list[m.DiagnosedCertificate],
    ),
    Route(
        "POST",
        "/internalapi/typedcertificate/diagnosed/person",
        "listDiagnosedCertificatesForPerson",
        "Rehabstöd: a person's unrevoked läkarutlåtanden (luse, luae_na, luae_fs) of the types on the units, "
        "signed in the window, with their diagnoses, oldest first (personId, certificateTypes, fromDate, "
        "toDate, unitIds)",
        "Rehabstöd",
        typed_diagnosed_person,
        body=m.TypedCertificateRequest,
        response=list[m.DiagnosedCertificate],
    ),
    Route(
        "POST",
        "/internalapi/typedcertificate/sickleave/person",
        "listSickLeaveCertificatesForPerson",
        "Rehabstöd: a person's unrevoked certificates to the employer (ag7804, ag114) of the types on the units "
        "(of the doctors), signed in the window, with diagnoses, work capacity and occupations, oldest first "
        "(personId, certificateTypes, fromDate, toDate, unitIds, doctorIds)",
        "Rehabstöd",
        typed_sick_leave_person,
        body=m.TypedCertificateRequest,
        response=list[m.SickLeaveCertificate],
    ),
    Route(
        "POST",
        "/internalapi/typedcertificate/doctors",
        "listTypedCertificateDoctors",
        "Rehabstöd: the HSA ids of the doctors who signed unrevoked certificates of the types on the units "
        "(unitIds, certificateTypes, fromDate, toDate)",
        "Rehabstöd",
        typed_doctors,
        body=m.TypedCertificateRequest,
        response=list[str],
        patient_data=False,
    ),
]


def _reko_status(r: RehabStatusRecord) -> m.RekoStatusDTO:
    return m.RekoStatusDTO(
        status=m.RekoStatusTypeDTO(id=r.status, name=rehab.reko_name(r.status)),
        patientId=rehab.dashed(r.patient_id),
        careProviderId=r.care_provider_id,
        careUnitId=r.care_unit_id,
        unitId=r.unit_id,
        staffId=r.staff_id,
        staffName=r.staff_name,
        sickLeaveTimestamp=r.sick_leave_timestamp,
        registrationTimestamp=r.registered_at,
    )


def create_reko_status(call: Call) -> m.RekoStatusDTO:
    body: m.CreateRekoStatusRequestDTO = call.body
    # Only the list's ids: the reference stores any text, which it then shows as "-" while no filter
    # of the list selects it.
    _one_of("statusId", body.statusId, rehab.REKO_NAMES, "status")
    stored = rehab_statuses.set_status(
        call.services,
        rehab_statuses.NewStatus(
            status=body.statusId,
            person=_person(body.patientId, "patientId"),
            care_provider_id=body.careProviderId,
            care_unit_id=body.careUnitId,
            unit_id=body.unitId,
            staff_id=body.staffId,
            staff_name=body.staffName,
            sick_leave_timestamp=body.sickLeaveTimestamp,
        ),
    )
    return _reko_status(stored)


def get_reko_status(call: Call) -> m.RekoStatusDTO | None:
    body: m.GetRekoStatusRequestDTO = call.body
    person = try_parse_person_id(body.patientId)
    if person is None:
        return None  # nothing is ever stored for it, as the reference finds nothing
    found = rehab_statuses.status_of_sick_leave(call.services, person, body.careUnitId, body.startDate, body.endDate)
    return _reko_status(found) if found else None


ROUTES += [
    Route(
        "POST",
        "/internalapi/reko",
        "createRekoStatus",
        "Rehabstöd: set a rehabilitation status on a patient's sick leave on a care unit; statuses are added, "
        "the lists show the one set last within the sick leave",
        "Rehabstöd",
        create_reko_status,
        body=m.CreateRekoStatusRequestDTO,
        response=m.RekoStatusDTO,
    ),
    Route(
        "POST",
        "/internalapi/reko/patient",
        "getRekoStatus",
        "Rehabstöd: the rehabilitation status of a patient's sick leave (startDate to endDate) on a care unit: "
        "the one set last with its moment within those days; null when there is none",
        "Rehabstöd",
        get_reko_status,
        body=m.GetRekoStatusRequestDTO,
        response=m.RekoStatusDTO | None,
    ),
]

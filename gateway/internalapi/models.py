"""Requests and answers of the internal API, named and shaped as the reference's JSON.

Field names are the reference's (camelCase, Java bean properties as Jackson
writes them); times are ISO 8601 local date-times without a zone, as Jackson
writes ``LocalDateTime``. Unknown request fields are ignored, as Spring's
Jackson ignores them, so a newer client keeps working.
"""

from __future__ import annotations

import datetime as dt
from enum import Enum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, NaiveDatetime, StringConstraints

# Ids go into queries and logs: printable, no spaces or separators, and no longer than stored.
CertificateId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._:@+=~\-]+$", min_length=1, max_length=128)]
HsaId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._\-]+$", min_length=1, max_length=64)]
PersonIdText = Annotated[str, StringConstraints(min_length=1, max_length=32)]
Year = Annotated[str, StringConstraints(pattern=r"^[0-9]{4}$")]
TypeId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._\-]+$", min_length=1, max_length=32)]


class Request(BaseModel):
    model_config = ConfigDict(extra="ignore")


class Answer(BaseModel):
    model_config = ConfigDict(extra="forbid")


# -- Mina intyg ---------------------------------------------------------------


class CitizenCertificateStatusTypeDTO(str, Enum):
    SENT = "SENT"
    NOT_SENT = "NOT_SENT"


class CitizenCertificatesRequestDTO(Request):
    patientId: PersonIdText = Field(description="The citizen's personnummer or samordningsnummer")
    statuses: list[CitizenCertificateStatusTypeDTO] | None = None
    units: list[HsaId] | None = None
    certificateTypes: list[TypeId] | None = None
    years: list[Year] | None = None
    archived: bool | None = Field(
        default=None,
        description="Extension: false lists what the citizen has not archived, true the archive, null (the "
        "default) both, as the reference lists them; Mina intyg sends no such field",
    )


class CitizenCertificateTypeDTO(Answer):
    id: str
    name: str
    version: str | None


class CitizenCertificateSummaryDTO(Answer):
    label: str | None
    value: str | None


class CitizenCertificateIssuerDTO(Answer):
    name: str | None


class CitizenCertificateUnitDTO(Answer):
    id: str
    name: str | None


class CitizenCertificateRecipientDTO(Answer):
    id: str
    name: str
    sent: dt.datetime | None


class CitizenCertificateRelationType(str, Enum):
    REPLACES = "REPLACES"
    REPLACED = "REPLACED"
    UNKNOWN = "UNKNOWN"


class CitizenCertificateRelationDTO(Answer):
    certificateId: str
    type: CitizenCertificateRelationType
    timestamp: dt.datetime | None


class CitizenCertificateDTO(Answer):
    id: str
    type: CitizenCertificateTypeDTO
    summary: CitizenCertificateSummaryDTO
    issuer: CitizenCertificateIssuerDTO
    unit: CitizenCertificateUnitDTO
    recipient: CitizenCertificateRecipientDTO | None
    issued: dt.datetime | None
    relations: list[CitizenCertificateRelationDTO]


class ListCitizenCertificatesResponseDTO(Answer):
    content: list[CitizenCertificateDTO]


class CitizenCertificateSendRequestDTO(Request):
    certificateId: CertificateId
    patientId: PersonIdText
    recipient: HsaId = Field(description="The recipient id, e.g. FKASSA")


# -- Webcert ------------------------------------------------------------------


class MessageFromIT(Answer):
    certificateId: str
    messageId: str
    messageContent: str
    subject: str
    logicalAddress: str
    timestamp: dt.datetime


class IntygInfoEvent(Answer):
    source: Literal["INTYGSTJANSTEN", "WEBCERT"]
    date: dt.datetime | None
    type: str = Field(description="IntygInfoEventType, e.g. IS004 signed, IS006 sent, IS009 revoked")
    data: dict[str, str] | None


class ItIntygInfo(Answer):
    intygId: str
    intygType: str
    intygVersion: str
    signedDate: dt.datetime | None
    sentToRecipient: dt.datetime | None
    events: list[IntygInfoEvent]
    signedByName: str | None
    signedByHsaId: str | None
    signedByEmail: str | None
    careUnitName: str | None
    careUnitHsaId: str | None
    careGiverName: str | None
    careGiverHsaId: str | None
    testCertificate: bool
    receivedDate: dt.datetime | None
    numberOfRecipients: int


class CertificateListRequest(Request):
    civicRegistrationNumber: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None, description="The patient; empty or null: every patient (Webcert sends an empty string)"
    )
    hsaId: HsaId | None = Field(default=None, description="The signing doctor's HSA id")
    unitIds: list[HsaId] | None = None
    fromDate: dt.datetime | None = None
    toDate: dt.datetime | None = None
    startFrom: int = Field(default=0, ge=0)
    pageSize: int = Field(
        default=0,
        le=10_000,
        description="Certificates per page; negative: all from startFrom on (Webcert asks -1 and pages itself)",
    )
    orderBy: str | None = None
    orderAscending: bool = False
    types: list[TypeId] | None = None


class CertificateListEntry(Answer):
    certificateId: str
    civicRegistrationNumber: str
    certificateType: str
    certificateTypeVersion: str
    certificateTypeName: str
    signedDate: dt.datetime | None
    sent: bool
    protectedIdentity: bool
    testIndicator: bool
    deceased: bool


class CertificateListResponse(Answer):
    certificates: list[CertificateListEntry]
    totalCount: int
    errorFromIT: bool


# -- Intygsadmin --------------------------------------------------------------


class TestCertificateEraseRequest(Request):
    from_: dt.datetime | None = Field(default=None, alias="from")
    to: dt.datetime | None = None


class TestCertificateEraseResult(Answer):
    erasedCount: int
    failedCount: int


# -- Customer termination -----------------------------------------------------


class CertificateTextDTO(Answer):
    type: str
    version: str
    xml: str


class ExportQuery(Request):
    batchSize: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="Page size of the reference's paged export; without it the whole export is streamed as JSON lines",
    )
    collected: int = Field(default=0, ge=0, description="How many certificates earlier pages returned")


class CertificateXmlDTO(Answer):
    id: str
    revoked: bool
    xml: str


class CertificateExportPageDTO(Answer):
    careProviderId: str
    count: int
    total: int
    totalRevoked: int
    certificateXmls: list[CertificateXmlDTO]


# /2 added the rehabilitation statuses' lines; a /1 file (which has none) is still read.
EXPORT_FORMAT = "intygsgw-care-provider-export/2"


class ExportHeader(Answer):
    kind: Literal["header"]
    format: Literal["intygsgw-care-provider-export/2", "intygsgw-care-provider-export/1"]
    careProviderId: str
    total: int
    totalRevoked: int
    exportedAt: dt.datetime


class ExportedCertificate(Answer):
    kind: Literal["certificate"]
    id: str
    revoked: bool
    xml: str = Field(description="The RegisterCertificate element as received")
    rows: dict[str, list[dict[str, Any]]] = Field(
        description="Everything stored about the certificate, per table: states, relations, messages, "
        "sick-leave data, approved receivers (bytes in base64, times in ISO 8601)"
    )


class ExportedRehabStatuses(Answer):
    kind: Literal["rehabStatuses"]
    rows: list[dict[str, Any]] = Field(
        description="Rehabilitation statuses of the care provider's patients (Rehabstöd's REKO), in the order "
        "they were set, as rows of the rehab_status table (times in ISO 8601); after the certificates"
    )


class ExportTrailer(Answer):
    kind: Literal["end"]
    count: int = Field(description="Certificates in the export: a stream without this line was cut short")
    rehabStatuses: int = Field(default=0, description="Rehabilitation statuses in the export")


ExportLine = Annotated[
    ExportHeader | ExportedCertificate | ExportedRehabStatuses | ExportTrailer, Field(discriminator="kind")
]


class EraseResult(Answer):
    careProviderId: str
    erasedCount: int


# -- Rehabstöd ----------------------------------------------------------------


# A letter, or a blank for the chapter of codes in no chapter ("Utan giltig diagnoskod").
ChapterLetter = Annotated[str, StringConstraints(pattern=r"^[A-Z ]$")]


class DiagnosKategori(Answer):
    letter: ChapterLetter
    number: int = Field(ge=0, le=99)
    id: str | None = None


class DiagnosKategoriIn(Request):
    letter: ChapterLetter
    number: int = Field(ge=0, le=99)


class DiagnosKapitel(Answer):
    from_: DiagnosKategori = Field(alias="from")
    to: DiagnosKategori
    name: str
    id: str


class DiagnosKapitelIn(Request):
    from_: DiagnosKategoriIn = Field(alias="from")
    to: DiagnosKategoriIn
    name: str | None = None


class SickLeaveLengthInterval(Request):
    from_: int | None = Field(default=None, alias="from", ge=0)
    to: int | None = Field(default=None, ge=0)


class SickLeaveRequestDTO(Request):
    careUnitId: HsaId = Field(description="The care unit (vårdenhet); its sub-units are included")
    unitId: HsaId | None = Field(default=None, description="Only this sub-unit (mottagning)")
    doctorIds: list[HsaId] | None = None
    maxCertificateGap: int = Field(default=0, ge=0, le=365)
    maxDaysSinceSickLeaveCompleted: int = Field(default=0, ge=0, le=365)
    sickLeaveLengthIntervals: list[SickLeaveLengthInterval] | None = None
    diagnosisChapters: list[DiagnosKapitelIn] | None = None
    fromPatientAge: int | None = Field(default=None, ge=0, le=150)
    toPatientAge: int | None = Field(default=None, ge=0, le=150)
    protectedPersonFilterId: HsaId | None = Field(
        default=None, description="Accepted; the gateway has no population register to find protected persons in"
    )
    fromSickLeaveEndDate: dt.date | None = None
    toSickLeaveEndDate: dt.date | None = None
    rekoStatusTypeIds: list[str] | None = None
    occupationTypeIds: list[str] | None = None
    textSearch: Annotated[str, StringConstraints(max_length=200)] | None = None


class IdName(Answer):
    id: str
    namn: str | None


class DiagnosKod(Answer):
    originalCode: str
    cleanedCode: str
    name: str | None


class RekoStatusTypeDTO(Answer):
    id: str = Field(description="REKO_1 ... REKO_8")
    name: str


class RekoStatusDTO(Answer):
    """A rehabilitation status as set, as the reference's RekoStatusDTO."""

    status: RekoStatusTypeDTO
    patientId: str = Field(description="The patient, yyyyMMdd-nnnn")
    careProviderId: str
    careUnitId: str
    unitId: str | None
    staffId: str
    staffName: str
    sickLeaveTimestamp: dt.datetime = Field(description="The moment within the sick leave the status is about")
    registrationTimestamp: dt.datetime = Field(description="When it was set")


class CreateRekoStatusRequestDTO(Request):
    patientId: PersonIdText = Field(description="The patient's personnummer or samordningsnummer")
    statusId: Annotated[str, StringConstraints(max_length=16)] = Field(description="REKO_1 ... REKO_8")
    careProviderId: HsaId
    careUnitId: HsaId = Field(description="The care unit (vårdenhet) the sick-leave list is read for")
    unitId: HsaId | None = Field(default=None, description="The sub-unit (mottagning) the coordinator works on")
    staffId: HsaId = Field(description="The coordinator who set it")
    staffName: Annotated[str, StringConstraints(min_length=1, max_length=255)]
    sickLeaveTimestamp: NaiveDatetime = Field(
        description="A moment within the sick leave (Rehabstöd sends a day of it at 00:00)"
    )


class GetRekoStatusRequestDTO(Request):
    patientId: PersonIdText
    startDate: dt.date = Field(description="The sick leave's first day")
    endDate: dt.date = Field(description="The sick leave's last day")
    careUnitId: HsaId


class SjukfallEnhet(Answer):
    rekoStatus: RekoStatusDTO | None = Field(description="The status set last within the sick leave; null: none")
    vardgivare: IdName
    vardenhet: IdName
    lakare: IdName
    patient: IdName
    diagnosKod: DiagnosKod
    biDiagnoser: list[DiagnosKod]
    start: dt.date
    slut: dt.date
    dagar: int
    intyg: int
    intygLista: list[str]
    aktivGrad: int
    grader: list[int]
    aktivIntygsId: str
    sysselsattning: list[str | None]  # the names Rehabstöd shows (rehab.occupation_names)


class SickLeaveResponseDTO(Answer):
    content: list[SjukfallEnhet]


class PopulateFiltersRequestDTO(Request):
    careUnitId: HsaId
    unitId: HsaId | None = None
    doctorId: HsaId | None = None
    maxDaysSinceSickLeaveCompleted: int = Field(default=0, ge=0, le=365)
    protectedPersonFilterId: HsaId | None = None


class CodeName(Answer):
    id: str
    name: str


class PopulateFiltersResponseDTO(Answer):
    activeDoctors: list[IdName]
    diagnosisChapters: list[DiagnosKapitel]
    nbrOfSickLeaves: int
    hasOngoingSickLeaves: bool
    rekoStatusTypes: list[CodeName]
    occupationTypes: list[CodeName]


class TypedCertificateRequest(Request):
    """What Rehabstöd sends to every ``/typedcertificate`` operation; each reads the fields it needs."""

    unitIds: list[HsaId] | None = Field(default=None, description="Units; none: an empty answer (per unit)")
    personId: Annotated[str, StringConstraints(max_length=32)] | None = Field(
        default=None,
        description="The patient (per person); empty or not a personnummer: an empty answer, as the reference",
    )
    certificateTypes: list[TypeId] | None = Field(default=None, description="Type ids, e.g. luse; none: every type")
    fromDate: dt.date | None = Field(default=None, description="Signed on or after this day")
    toDate: dt.date | None = Field(default=None, description="Signed on or before this day")
    doctorIds: list[HsaId] | None = Field(default=None, description="Only these signing doctors")


class DiagnosedCertificate(Answer):
    """A certificate with its diagnoses, as the reference's DiagnosedCertificate (a BaseCertificate)."""

    certificateId: str
    certificateType: str
    signingDateTime: dt.datetime | None
    personId: str = Field(description="The patient, yyyyMMdd-nnnn")
    patientFullName: str | None = Field(description="Always null, as the reference leaves it")
    personalHsaId: str = Field(description="The signing doctor")
    personalFullName: str | None
    careUnitId: str
    careUnitName: str | None
    careProviderId: str
    deleted: bool = Field(description="Revoked; always false, revoked certificates are left out")
    testCertificate: bool
    diagnoseCode: str | None = Field(description="The main diagnosis code as written")
    secondaryDiagnoseCodes: list[str] | None = Field(description="The other codes in order; null when none")


class WorkCapacity(Answer):
    startDate: dt.date
    endDate: dt.date
    reduction: int = Field(description="Reduced work capacity in percent: 100, 75, 50 or 25 (ag114: as written)")


class SickLeaveCertificate(DiagnosedCertificate):
    """A certificate to the employer, as the reference's SickLeaveCertificate (a DiagnosedCertificate)."""

    patientFullName: str | None = Field(description="The patient's name as the certificate gives it")
    diagnoseCode: str | None = Field(description="The main diagnosis code as written; null when none is given")
    workCapacityList: list[WorkCapacity]
    occupation: str = Field(description="The names of the occupations, comma-separated")

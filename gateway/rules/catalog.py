"""The catalogue of certificate types, read from contracts/certificate-types/*.toml.

One file per type: its external code (KV intygstyp, e.g. ``LISJP``), internal
id (``lisjp``), the text versions this gateway accepts and the recipients that
receive it. RegisterCertificate's type and version check and
GetCertificateTypeInfo read only this catalogue.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from intygsgw.errors import GatewayError

TYPE_CODE_SYSTEM = "b64ea353-e8f6-4832-b563-fc7d46f29548"
DEFAULT_DIR = Path(str(resources.files("intygsgw.contracts"))) / "certificate-types"


class CatalogError(GatewayError, ValueError):
    pass


@dataclass(frozen=True)
class SickLeaveFields:
    """Where a sick-leave type keeps what the sick-leave lists show: delsvar ids, and grade codes in percent."""

    diagnosis: str
    grade: str
    period: str
    grades: tuple[tuple[str, int], ...]
    secondary_diagnoses: tuple[str, ...] = ()
    employment: str = ""
    excluded_when_true: str = ""


@dataclass(frozen=True)
class DiagnosisFields:
    """Where a type keeps its diagnosis codes (cv delsvar ids): the main one and the others, in order."""

    diagnosis: str
    secondary_diagnoses: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkCapacityFields:
    """Where a certificate to the employer (ag7804, ag114) keeps its work capacity and occupations.

    A period and its grade are two delsvar of one svar. The grade is a cv code mapped by ``grades``
    to percent, or, without ``grades``, a quantity that is the percent. ``employment_names`` are the
    occupations' names as the reference labels them.
    """

    grade: str
    period: str
    grades: tuple[tuple[str, int], ...] = ()
    employment: str = ""
    employment_names: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class SummaryFields:
    """What Mina intyg's list shows of a certificate of the type (the reference's additional info).

    ``label`` always; the value is read from the stored certificate, from one kind of delsvar at most:
    ``periods`` (datePeriod), ``text`` or ``codes`` (cv, each code's text from ``code_texts``). Naming
    none gives the label with no value, as the reference's modules that return no additional info.
    """

    label: str
    periods: str = ""
    text: str = ""
    codes: str = ""
    code_texts: tuple[tuple[str, str], ...] = ()

    @property
    def reads_document(self) -> bool:
        return bool(self.periods or self.text or self.codes)


@dataclass(frozen=True)
class CertificateType:
    id: str
    code: str
    name: str
    versions: tuple[str, ...]
    recipients: tuple[str, ...] = ()
    sick_leave: bool = False
    source: str = ""
    sick_leave_data: SickLeaveFields | None = None
    diagnosis_data: DiagnosisFields | None = None
    work_capacity_data: WorkCapacityFields | None = None
    summary: SummaryFields | None = None

    @property
    def diagnosis_fields(self) -> DiagnosisFields | None:
        """Where its diagnoses are: ``[diagnosis_data]``, else those of ``[sick_leave_data]``; None: it has none."""
        if self.diagnosis_data is not None:
            return self.diagnosis_data
        if self.sick_leave_data is not None:
            return DiagnosisFields(self.sick_leave_data.diagnosis, self.sick_leave_data.secondary_diagnoses)
        return None

    def supports(self, version: str) -> bool:
        return normalise_version(version) in self.versions

    @property
    def majors(self) -> set[str]:
        return {v.split(".", 1)[0] for v in self.versions}


def normalise_version(version: str) -> str:
    """``1`` and ``1.0`` name the same text version."""
    version = (version or "").strip()
    return version if "." in version else f"{version}.0"


@dataclass
class TypeCatalog:
    types: dict[str, CertificateType] = field(default_factory=dict)
    # Where the definitions were read, for telling an operator which file to change.
    directory: Path | None = None

    def __post_init__(self):
        self._by_code = {t.code.upper(): t for t in self.types.values()}

    def by_code(self, code: str) -> CertificateType | None:
        return self._by_code.get((code or "").upper())

    def by_id(self, type_id: str) -> CertificateType | None:
        return self.types.get(type_id)

    def resolve(self, code_or_id: str) -> CertificateType | None:
        """Callers name types either way (``LISJP`` or ``lisjp``)."""
        return self.by_code(code_or_id) or self.types.get((code_or_id or "").lower())

    def __iter__(self) -> Iterable[CertificateType]:
        return iter(self.types.values())


def _read_one(path: Path) -> CertificateType:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"{path.name}: {exc}") from None
    missing = [k for k in ("id", "code", "name", "versions") if k not in data]
    if missing:
        raise CatalogError(f"{path.name}: missing field(s) {', '.join(missing)}")
    versions = data["versions"]
    if not isinstance(versions, list) or not versions or not all(isinstance(v, str) for v in versions):
        raise CatalogError(f"{path.name}: 'versions' must be a non-empty list of strings like \"1.0\"")
    sick_leave = bool(data.get("sick_leave", False))
    fields = data.get("sick_leave_data")
    if sick_leave and not isinstance(fields, dict):
        raise CatalogError(f"{path.name}: a sick_leave type needs a [sick_leave_data] table naming its delsvar")
    return CertificateType(
        id=data["id"],
        code=data["code"],
        name=data["name"],
        versions=tuple(normalise_version(v) for v in versions),
        recipients=tuple(data.get("recipients", [])),
        sick_leave=sick_leave,
        source=path.name,
        sick_leave_data=_sick_leave_fields(path, fields) if sick_leave else None,
        diagnosis_data=_diagnosis_fields(path, data.get("diagnosis_data")),
        work_capacity_data=_work_capacity_fields(path, data.get("work_capacity_data")),
        summary=_summary_fields(path, data.get("summary")),
    )


_SUMMARY_SOURCES = ("periods", "text", "codes")


def _summary_fields(path: Path, data) -> SummaryFields | None:
    if data is None:
        return None
    problem = (
        f"{path.name}: [summary] has a 'label' and at most one of "
        f"{', '.join(repr(k) for k in _SUMMARY_SOURCES)} naming a delsvar id"
    )
    if not isinstance(data, dict) or not isinstance(data.get("label"), str) or not data["label"]:
        raise CatalogError(problem)
    sources = [k for k in _SUMMARY_SOURCES if k in data]
    if len(sources) > 1 or not all(isinstance(data[k], str) and "." in data[k] for k in sources):
        raise CatalogError(problem)
    texts = data.get("code_texts")
    if ("codes" in data) != (texts is not None):
        raise CatalogError(f"{path.name}: [summary] 'codes' and [summary.code_texts] go together")
    if texts is not None and (
        not isinstance(texts, dict) or not texts or not all(isinstance(v, str) for v in texts.values())
    ):
        raise CatalogError(f"{path.name}: [summary.code_texts] maps codes to the texts shown")
    return SummaryFields(
        label=data["label"],
        periods=data.get("periods", ""),
        text=data.get("text", ""),
        codes=data.get("codes", ""),
        code_texts=tuple((texts or {}).items()),
    )


def _work_capacity_fields(path: Path, data) -> WorkCapacityFields | None:
    if data is None:
        return None
    problem = f"{path.name}: [work_capacity_data] names delsvar ids 'grade' and 'period' (and 'employment')"
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) for k in ("grade", "period")):
        raise CatalogError(problem)
    grades, names = data.get("grades", {}), data.get("employment_names", {})
    if not isinstance(grades, dict) or not all(isinstance(v, int) for v in grades.values()):
        raise CatalogError(f"{path.name}: [work_capacity_data.grades] maps grade codes to percentages")
    if not isinstance(names, dict) or not all(isinstance(v, str) for v in names.values()):
        raise CatalogError(f"{path.name}: [work_capacity_data.employment_names] maps occupation codes to names")
    return WorkCapacityFields(
        grade=data["grade"],
        period=data["period"],
        grades=tuple(sorted(grades.items())),
        employment=str(data.get("employment", "")),
        employment_names=tuple(sorted(names.items())),
    )


def _diagnosis_fields(path: Path, data) -> DiagnosisFields | None:
    if data is None:
        return None
    secondary = data.get("secondary_diagnoses", []) if isinstance(data, dict) else None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("diagnosis"), str)
        or not isinstance(secondary, list)
        or not all(isinstance(d, str) for d in secondary)
    ):
        raise CatalogError(f"{path.name}: [diagnosis_data] names a delsvar id 'diagnosis' and 'secondary_diagnoses'")
    return DiagnosisFields(data["diagnosis"], tuple(secondary))


def _sick_leave_fields(path: Path, data: dict) -> SickLeaveFields:
    try:
        grades = data["grades"]
        if not grades or not all(isinstance(v, int) for v in grades.values()):
            raise CatalogError(f"{path.name}: [sick_leave_data.grades] maps grade codes to percentages")
        return SickLeaveFields(
            diagnosis=data["diagnosis"],
            grade=data["grade"],
            period=data["period"],
            grades=tuple(sorted(grades.items())),
            secondary_diagnoses=tuple(data.get("secondary_diagnoses", ())),
            employment=data.get("employment", ""),
            excluded_when_true=data.get("excluded_when_true", ""),
        )
    except KeyError as exc:
        raise CatalogError(f"{path.name}: [sick_leave_data] needs {exc.args[0]!r}") from None


def load_catalog(directory: Path = DEFAULT_DIR) -> TypeCatalog:
    types: dict[str, CertificateType] = {}
    codes: dict[str, str] = {}
    for path in sorted(directory.glob("*.toml")):
        t = _read_one(path)
        if t.id in types:
            raise CatalogError(f"{path.name}: type id {t.id!r} is already defined in {types[t.id].source}")
        if t.code.upper() in codes:
            raise CatalogError(f"{path.name}: type code {t.code!r} is already used by {codes[t.code.upper()]}")
        types[t.id] = t
        codes[t.code.upper()] = path.name
    if not types:
        raise CatalogError(f"no certificate type definitions in {directory}")
    return TypeCatalog(types, directory)

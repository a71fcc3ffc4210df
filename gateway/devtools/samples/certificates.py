"""Realistic certificates for demos, tests and benchmarks.

The default is a complete FK 7804 sick-leave certificate (LISJP 1.x) that
passes the schema and the type's published business rules, written out with
the free text a doctor actually writes, so a message is about 10 KB on the
wire like the ones the national hub receives.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from intygsgw.domain.personnummer import control_digit

CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"
REGISTER = "urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3"
TYPES = "urn:riv:clinicalprocess:healthcond:certificate:types:3"

TYPE_CODE_SYSTEM = "b64ea353-e8f6-4832-b563-fc7d46f29548"
RELATION_CODE_SYSTEM = "c2362fcd-eda0-4f9a-bd13-b3bbaf7f2146"
PERSONNUMMER_ROOT = "1.2.752.129.2.1.3.1"
SAMORDNINGSNUMMER_ROOT = "1.2.752.129.2.1.3.3"
HSA_ROOT = "1.2.752.129.2.1.4.1"
ICD10_SE = "1.2.752.116.1.1.1.1.3"

# Test persons from the Swedish Tax Agency's series, valid control digits.
PATIENT = "191212121212"
OTHER_PATIENT = "197705232382"
CARE_UNIT = "SE2321000016-1003"
CARE_GIVER = "SE2321000016-0001"
DOCTOR = "SE2321000016-1R2F"


def personnummer(serial: int, born_from: dt.date = dt.date(1950, 1, 1)) -> str:
    """A distinct, valid personnummer for each serial (up to 20,000,000): birth date and number from it."""
    born = born_from + dt.timedelta(days=serial % 20_000)
    nine = born.strftime("%y%m%d") + f"{(serial // 20_000) % 1000:03d}"
    return born.strftime("%Y")[:2] + nine + str(control_digit(nine))


@dataclass(frozen=True)
class CertificateSpec:
    """What varies between sample certificates; everything else is realistic filler."""

    certificate_id: str = "9f02dd2f-f57c-4e65-a4ab-3e46e5f7f2a1"
    person_id: str = PATIENT
    type_code: str = "LISJP"
    version: str = "1.3"
    signed_at: str = "2026-11-20T10:15:00"
    care_unit_id: str = CARE_UNIT
    care_unit_name: str = "Vårdcentralen Linden"
    care_giver_id: str = CARE_GIVER
    doctor_id: str = DOCTOR
    doctor_name: str = "Ingrid Nilsson Läkare"
    # (code, certificate id), e.g. ("ERSATT", "…") for a replacement
    relation: tuple[str, str] | None = None
    # Sick-leave periods (level code, start, end), consecutive and non-overlapping.
    periods: tuple[tuple[str, str, str], ...] = (
        ("HELT_NEDSATT", "2026-11-20", "2026-12-03"),
        ("HALFTEN", "2026-12-04", "2026-12-31"),
    )
    # Repeats of the long free-text answers; 1 gives a ~10 KB request.
    text_scale: int = 1
    extra_answers: tuple[str, ...] = field(default_factory=tuple)

    @property
    def person_root(self) -> str:
        # A samordningsnummer has 60 added to the day of birth.
        day = int(self.person_id[-6:-4]) if len(self.person_id) >= 10 else 0
        return SAMORDNINGSNUMMER_ROOT if day > 60 else PERSONNUMMER_ROOT


_FUNCTION_TEXT = (
    "Patienten har sedan tre veckor tillbaka ländryggssmärta med utstrålning i vänster ben ned till foten. "
    "Vid undersökningen positiv Lasègue vänster vid 40 grader, nedsatt kraft vid dorsalflexion i stortån och "
    "nedsatt känsel på fotryggen. Rörelseomfånget i ländryggen är kraftigt inskränkt i alla riktningar och "
    "patienten har svårt att sitta mer än tio minuter i taget. "
)
_ACTIVITY_TEXT = (
    "Kan inte utföra tunga lyft, inte sitta eller stå stilla längre perioder och har svårt att gå längre "
    "sträckor än några hundra meter. Klarar inte framåtböjda arbetsställningar. Sömnen är störd av smärta, "
    "vilket ger trötthet och nedsatt koncentrationsförmåga under dagen. "
)
_TREATMENT_TEXT = (
    "Smärtlindring med paracetamol och NSAID, fysioterapi med individuellt anpassat träningsprogram två "
    "gånger i veckan vid Fysioterapin Linden. Remiss skickad till ortopedmottagningen för bedömning. "
)
_WORK_TEXT = (
    "Undersköterska inom hemtjänsten med omfattande förflyttningar av brukare, tunga lyft och många "
    "bilresor mellan brukarna under arbetsdagen. Arbetar heltid med delade turer. "
)


def _text(value: str) -> str:
    return escape(value)


def _ii(tag: str, root: str, extension: str) -> str:
    return f"<c:{tag}><t:root>{root}</t:root><t:extension>{_text(extension)}</t:extension></c:{tag}>"


def _cv(code: str, system: str, display: str | None = None) -> str:
    shown = f"<t:displayName>{_text(display)}</t:displayName>" if display else ""
    return f"<t:cv><t:code>{code}</t:code><t:codeSystem>{system}</t:codeSystem>{shown}</t:cv>"


def _svar(svar_id: str, delsvar: list[tuple[str, str]], instans: int | None = None) -> str:
    inner = "".join(f'<c:delsvar id="{did}">{value}</c:delsvar>' for did, value in delsvar)
    number = f"<c:instans>{instans}</c:instans>" if instans is not None else ""
    return f'<c:svar id="{svar_id}">{number}{inner}</c:svar>'


def lisjp_answers(spec: CertificateSpec) -> str:
    """The answers of an FK 7804 sick-leave certificate, as the LISJP rules want them."""
    scale = max(1, spec.text_scale)
    signed = spec.signed_at[:10]
    examined = (dt.date.fromisoformat(signed) - dt.timedelta(days=1)).isoformat()
    parts = [
        _svar(
            "1",
            [("1.1", _cv("UNDERSOKNING", "KV_FKMU_0001", "Min undersökning av patienten")), ("1.2", examined)],
            instans=1,
        ),
        _svar(
            "1",
            [("1.1", _cv("JOURNALUPPGIFTER", "KV_FKMU_0001", "Journaluppgifter från den")), ("1.2", "2026-10-02")],
            instans=2,
        ),
        _svar("28", [("28.1", _cv("NUVARANDE_ARBETE", "KV_FKMU_0002", "Nuvarande arbete"))], instans=1),
        _svar("29", [("29.1", _text(_WORK_TEXT * scale))]),
        _svar(
            "6",
            [
                ("6.1", "Lumbago-ischias"),
                ("6.2", _cv("M544", ICD10_SE, "Lumbago med ischias")),
                ("6.3", "Sömnstörning"),
                ("6.4", _cv("G479", ICD10_SE, "Sömnstörning, ospecificerad")),
            ],
        ),
        _svar("35", [("35.1", _text(_FUNCTION_TEXT * 4 * scale))]),
        _svar("17", [("17.1", _text(_ACTIVITY_TEXT * 4 * scale))]),
        _svar("19", [("19.1", _text(_TREATMENT_TEXT * 3 * scale))]),
        _svar("20", [("20.1", _text("Ortopedisk bedömning, eventuellt MR av ländryggen. " * 2 * scale))]),
    ]
    for index, (level, start, end) in enumerate(spec.periods, start=1):
        parts.append(
            _svar(
                "32",
                [
                    ("32.1", _cv(level, "KV_FKMU_0003")),
                    ("32.2", f"<t:datePeriod><t:start>{start}</t:start><t:end>{end}</t:end></t:datePeriod>"),
                ],
                instans=index,
            )
        )
    if any(level != "HELT_NEDSATT" for level, _, _ in spec.periods):
        parts.append(
            _svar(
                "33",
                [
                    ("33.1", "true"),
                    (
                        "33.2",
                        _text(
                            "Arbete förlagt till förmiddagar då smärtan är som lägst, med paus för träning mitt på dagen. "
                        ),
                    ),
                ],
            )
        )
    parts += [
        _svar(
            "37",
            [
                (
                    "37.1",
                    _text(
                        "Sjukskrivningen överskrider beslutsstödets rekommendation på grund av "
                        "det fysiskt tunga arbetet och den långa restiden. "
                    ),
                )
            ],
        ),
        _svar("34", [("34.1", "true")]),
        _svar("39", [("39.1", _cv("ATER_X_ANTAL_DGR", "KV_FKMU_0006")), ("39.3", _cv("SEXTIO_DGR", "KV_FKMU_0007"))]),
        _svar("40", [("40.1", _cv("ARBETSANPASSNING", "KV_FKMU_0004"))], instans=1),
        _svar("40", [("40.1", _cv("BESOK_ARBETSPLATS", "KV_FKMU_0004"))], instans=2),
        _svar(
            "44",
            [
                (
                    "44.1",
                    _text(
                        "Arbetsplatsbesök tillsammans med företagshälsovården för att se över "
                        "lyfthjälpmedel och schema. " * 2 * scale
                    ),
                )
            ],
        ),
        _svar("25", [("25.1", _text("Patienten är motiverad och tränar regelbundet enligt programmet. " * 4 * scale))]),
        _svar("26", [("26.1", "true"), ("26.2", "Vill gärna diskutera upplägget av arbetsanpassningen.")]),
    ]
    parts.extend(spec.extra_answers)
    return "".join(parts)


def intyg_content(spec: CertificateSpec) -> str:
    """The children of an ``intyg`` element, prefixes ``c:`` (core) and ``t:`` (types)."""
    relation = ""
    if spec.relation:
        code, other = spec.relation
        relation = (
            f"<c:relation><c:typ><t:code>{code}</t:code><t:codeSystem>{RELATION_CODE_SYSTEM}"
            f"</t:codeSystem></c:typ>"
            f"<c:intygs-id><t:root>{spec.care_unit_id}</t:root><t:extension>{_text(other)}"
            f"</t:extension></c:intygs-id></c:relation>"
        )
    answers = lisjp_answers(spec) if spec.type_code == "LISJP" else "".join(spec.extra_answers)
    return (
        f"<c:intygs-id><t:root>{spec.care_unit_id}</t:root><t:extension>{_text(spec.certificate_id)}"
        f"</t:extension></c:intygs-id>"
        f"<c:typ><t:code>{spec.type_code}</t:code><t:codeSystem>{TYPE_CODE_SYSTEM}</t:codeSystem>"
        f"<t:displayName>Läkarintyg för sjukpenning</t:displayName></c:typ>"
        f"<c:version>{spec.version}</c:version>"
        f"<c:signeringstidpunkt>{spec.signed_at}</c:signeringstidpunkt>"
        f"<c:skickatTidpunkt>{spec.signed_at}</c:skickatTidpunkt>"
        f"<c:patient>"
        f"<c:person-id><t:root>{spec.person_root}</t:root><t:extension>{_text(spec.person_id)}</t:extension>"
        f"</c:person-id>"
        f"<c:fornamn>Tolvan</c:fornamn><c:efternamn>Tolvansson</c:efternamn>"
        f"<c:postadress>Svensgatan 12</c:postadress><c:postnummer>11122</c:postnummer>"
        f"<c:postort>Stockholm</c:postort>"
        f"</c:patient>"
        f"<c:skapadAv>"
        f"{_ii('personal-id', HSA_ROOT, spec.doctor_id)}"
        f"<c:fullstandigtNamn>{_text(spec.doctor_name)}</c:fullstandigtNamn>"
        f"<c:forskrivarkod>0000000</c:forskrivarkod>"
        f"<c:befattning><t:code>201010</t:code><t:codeSystem>1.2.752.129.2.2.1.4</t:codeSystem>"
        f"<t:displayName>Överläkare</t:displayName></c:befattning>"
        f"<c:enhet>"
        f"{_ii('enhets-id', HSA_ROOT, spec.care_unit_id)}"
        f"<c:arbetsplatskod><t:root>1.2.752.29.4.71</t:root><t:extension>1234567890</t:extension>"
        f"</c:arbetsplatskod>"
        f"<c:enhetsnamn>{_text(spec.care_unit_name)}</c:enhetsnamn>"
        f"<c:postadress>Lindvägen 4</c:postadress><c:postnummer>12345</c:postnummer>"
        f"<c:postort>Stockholm</c:postort><c:telefonnummer>08-1234567</c:telefonnummer>"
        f"<c:epost>linden@example.invalid</c:epost>"
        f"<c:vardgivare>{_ii('vardgivare-id', HSA_ROOT, spec.care_giver_id)}"
        f"<c:vardgivarnamn>Region Exempel</c:vardgivarnamn></c:vardgivare>"
        f"</c:enhet>"
        f"<c:specialistkompetens><t:code>N/A</t:code><t:displayName>Allmänmedicin</t:displayName>"
        f"</c:specialistkompetens>"
        f"</c:skapadAv>"
        f"{relation}"
        f"{answers}"
    )


def intyg_document(spec: CertificateSpec) -> bytes:
    """A standalone ``intyg`` element as RegisterCertificate carries it; what the business rules see."""
    return (
        f'<r:intyg xmlns:r="{REGISTER}" xmlns:c="{CORE}" xmlns:t="{TYPES}">{intyg_content(spec)}</r:intyg>'
    ).encode()


def unique_certificate_ids(count: int, seed: int = 0) -> list[str]:
    """Distinct, reproducible UUID-shaped certificate ids."""
    rng = random.Random(seed)
    ids: list[str] = []
    seen: set[str] = set()
    while len(ids) < count:
        raw = f"{rng.getrandbits(128):032x}"
        value = f"{raw[:8]}-{raw[8:12]}-4{raw[13:16]}-a{raw[17:20]}-{raw[20:32]}"
        if value not in seen:
            seen.add(value)
            ids.append(value)
    return ids

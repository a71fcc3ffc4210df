"""Call authorizations, like the platform's anropsbehörigheter (riv-ta-and-platform §2.3).

One entry allows one consumer (HSA id of the nearest caller) to call one
contract for one logical address, for a period of validity. The logical
address ``*`` is the consumer's default for that contract, and the contract
``*`` allows every contract served. Look-up is exact first, then the default;
ids and addresses compare case-insensitively. A consumer with no entry is
refused: the table lists what is allowed, never what is forbidden.

    [[authorization]]
    consumer = "SE2321000016-ABCD"
    contract = "RegisterCertificate:3"     # or the namespace, or "*"
    logical_address = "*"
    valid_from = 2026-01-01                 # optional
    valid_to = 2027-12-31                   # optional
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from intygsgw.config.tomlvalues import toml_date
from intygsgw.errors import GatewayError
from intygsgw.outbound.routing import contract_namespace

ANY = "*"
_FIELDS = {"consumer", "contract", "logical_address", "valid_from", "valid_to", "comment"}


class AuthorizationFileError(GatewayError, ValueError):
    pass


@dataclass(frozen=True)
class Authorization:
    consumer: str  # lower-cased
    contract: str  # request namespace, or "*"
    logical_address: str  # lower-cased, or "*"
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


@dataclass
class AuthorizationTable:
    entries: list[Authorization] = field(default_factory=list)

    def __post_init__(self):
        self._by_key: dict[tuple[str, str, str], list[Authorization]] = {}
        for e in self.entries:
            self._by_key.setdefault((e.consumer, e.contract, e.logical_address), []).append(e)

    def allows(
        self, consumer: str | None, contract_ns: str, logical_address: str, today: dt.date | None = None
    ) -> bool:
        if not consumer:
            return False
        today = today or dt.date.today()
        who, address = consumer.strip().lower(), logical_address.strip().lower()
        for contract in (contract_ns, ANY):
            for addr in (address, ANY):
                if any(e.valid_on(today) for e in self._by_key.get((who, contract, addr), ())):
                    return True
        return False


def _date(value, where: str) -> dt.date | None:
    return toml_date(value, where, AuthorizationFileError)


def parse_authorizations(text: str, source: str = "authorizations") -> AuthorizationTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AuthorizationFileError(f"{source}: {exc}") from None
    unknown_top = set(data) - {"authorization"}
    if unknown_top:
        raise AuthorizationFileError(f"{source}: unknown table(s) {', '.join(sorted(unknown_top))}")
    entries = []
    for i, raw in enumerate(data.get("authorization", [])):
        where = f"{source}: authorization #{i + 1}"
        unknown = set(raw) - _FIELDS
        if unknown:
            raise AuthorizationFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        for key in ("consumer", "contract", "logical_address"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise AuthorizationFileError(f"{where}: field '{key}' is missing or empty")
        consumer = raw["consumer"].strip()
        if consumer == ANY:
            raise AuthorizationFileError(f"{where}: the consumer must be one HSA id, not '*'")
        contract = raw["contract"].strip()
        try:
            namespace = ANY if contract == ANY else contract_namespace(contract)
        except ValueError as exc:
            raise AuthorizationFileError(f"{where}: {exc}") from None
        entry = Authorization(
            consumer.lower(),
            namespace,
            raw["logical_address"].strip().lower(),
            _date(raw.get("valid_from"), where),
            _date(raw.get("valid_to"), where),
        )
        if entry.valid_from and entry.valid_to and entry.valid_to < entry.valid_from:
            raise AuthorizationFileError(f"{where}: valid_to is before valid_from")
        entries.append(entry)
    return AuthorizationTable(entries)


def load_authorizations(path: str | Path) -> AuthorizationTable:
    return parse_authorizations(Path(path).read_text(encoding="utf-8"), str(path))


# The platform's codes for the same refusals (riv-ta-and-platform §2.5), so a
# consumer's operators recognise them: VP002 no usable client certificate,
# VP007 no authorization for this (consumer, contract, logical address).
NO_CALLER = "VP002"
NOT_AUTHORIZED = "VP007"
PLATFORM_NAME = "intygsgw"


class CallGate:
    """Refuses a call before anything is read or written."""

    def __init__(self, table, today):
        self._table = table  # () -> AuthorizationTable, reloadable
        self._today = today  # () -> date

    def refusal(self, caller_hsa_id: str | None, contract_ns: str, logical_address: str):
        """None when the call may proceed, else the SOAP fault to answer with."""
        from intygsgw.soap.faults import SoapFault

        if not caller_hsa_id:
            return SoapFault(
                f"{NO_CALLER} [{PLATFORM_NAME}] No client certificate with a SERIALNUMBER (HSA id) in its "
                "subject was presented, so the caller cannot be authorized",
                "Client",
                500,
            )
        if not self._table().allows(caller_hsa_id, contract_ns, logical_address, self._today()):
            return SoapFault(
                f"{NOT_AUTHORIZED} [{PLATFORM_NAME}] Authorization missing for serviceconsumer: {caller_hsa_id}, "
                f"receiver: {logical_address}, service contract: {contract_ns}",
                "Server",
                500,
            )
        return None

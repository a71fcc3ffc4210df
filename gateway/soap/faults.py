"""SOAP 1.1 faults: the one way a request can fail below the contract level."""

from __future__ import annotations

from dataclasses import dataclass

from intygsgw.errors import GatewayError


@dataclass
class SoapFault(GatewayError):
    """A fault to send back as-is.

    ``code`` is the local part of the SOAP 1.1 faultcode (``Client`` when the
    caller sent something wrong, ``Server`` when we failed, ``VersionMismatch``
    for a non-1.1 envelope). ``status`` is the HTTP status; WS-I Basic Profile
    puts every fault on 500, the only exceptions being transport-level refusals
    (413 for an oversized body, 404/405 for a wrong address or method).
    """

    string: str
    code: str = "Server"
    status: int = 500
    detail: str | None = None

    def __str__(self) -> str:  # pragma: no cover - debugging aid
        return f"{self.code}: {self.string}"


def client_fault(text: str, status: int = 500) -> SoapFault:
    return SoapFault(text, "Client", status)


def server_fault(text: str) -> SoapFault:
    return SoapFault(text, "Server", 500)

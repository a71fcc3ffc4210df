"""Where outbound calls go: a routing table like the national platform's.

A route maps (contract namespace, logical address) to an endpoint URL, for a
period of validity. Addresses compare case-insensitively; an address with no
route of its own falls back to the default route ``*`` of its contract.
Exactly one route must match, or the call fails with an error that names the
contract and the address (the platform's VP004/VP006 cases).
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from intygsgw import interactions, ns
from intygsgw.config.tomlvalues import toml_date
from intygsgw.errors import GatewayError

DEFAULT_CONNECT_TIMEOUT = 2.0
DEFAULT_READ_TIMEOUT = 29.0
MAX_CALL_SECONDS = 55.0  # connect + read; the platform's default producer timeout is 29 s


class RoutingError(GatewayError, LookupError):
    pass


class RouteFileError(GatewayError, ValueError):
    pass


@dataclass(frozen=True)
class TlsSettings:
    client_cert: str | None = None  # PEM certificate (may also hold the key)
    client_key: str | None = None  # PEM key
    pkcs12: str | None = None  # alternative to cert + key
    pkcs12_password: str | None = None
    ca_bundle: str | None = None  # PEM bundle to verify the server; None: system store


@dataclass(frozen=True)
class Route:
    contract: str  # request namespace, e.g. urn:riv:…:RegisterCertificateResponder:3
    logical_address: str  # or "*"
    url: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    read_timeout: float = DEFAULT_READ_TIMEOUT
    tls: TlsSettings | None = None
    sign: bool = False  # sign the outgoing body element with the gateway's key (enveloped)

    def valid_on(self, day: dt.date) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


# The Inera-internal contracts name their request namespace after the
# interaction, not the responder.
INTERNAL_CONTRACTS = interactions.INTERNAL_NAMES


def contract_namespace(name: str) -> str:
    """``RegisterCertificate:3`` or a full namespace → the request namespace."""
    if name.startswith("urn:"):
        return name
    contract, _, major = name.partition(":")
    if not contract or not major.isdigit():
        raise RouteFileError(f"contract {name!r}: write Name:major (e.g. RevokeCertificate:2) or a namespace")
    known = interactions.by_key(f"{contract}:{major}")
    if known is not None:
        return known.namespace
    # A contract the gateway does not serve (a recipient's own, say) is read as a national
    # certificate contract; write its full namespace if it lives elsewhere.
    if contract in INTERNAL_CONTRACTS:
        return f"{ns.CERT}:{contract}:{major}"
    return f"{ns.CERT}:{contract}Responder:{major}"


def short_name(namespace: str) -> str:
    parts = namespace.split(":")
    if len(parts) >= 2 and parts[-2].endswith("Responder"):
        return f"{parts[-2][: -len('Responder')]}:{parts[-1]}"
    if len(parts) >= 2 and parts[-2] in INTERNAL_CONTRACTS:
        return f"{parts[-2]}:{parts[-1]}"
    return namespace


@dataclass
class RoutingTable:
    routes: list[Route] = field(default_factory=list)

    def resolve(self, contract_ns: str, logical_address: str, today: dt.date | None = None) -> Route:
        today = today or dt.date.today()
        address = (logical_address or "").strip()
        if not address:
            raise RoutingError(f"no logical address given for {short_name(contract_ns)}")
        candidates = [r for r in self.routes if r.contract == contract_ns and r.valid_on(today)]
        exact = [r for r in candidates if r.logical_address.lower() == address.lower()]
        found = exact or [r for r in candidates if r.logical_address == "*"]
        if not found:
            spaced = address != logical_address or " " in address
            hint = " (the address has surrounding or inner whitespace)" if spaced else ""
            raise RoutingError(f"no route for contract {short_name(contract_ns)} to logical address {address!r}{hint}")
        if len(found) > 1:
            raise RoutingError(
                f"{len(found)} routes match contract {short_name(contract_ns)} and logical address {address!r}; "
                "exactly one must"
            )
        return found[0]


def _date(value, where: str) -> dt.date | None:
    return toml_date(value, where, RouteFileError)


_ROUTE_HEADER = re.compile(r"\s*\[\[\s*route\s*\]\]")


def parse_routes(text: str, source: str = "routes") -> RoutingTable:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RouteFileError(f"{source}: {exc}") from None
    defaults = data.get("defaults", {})
    routes = []
    # tomllib keeps no positions; the n-th [[route]] header is the n-th route.
    header_lines = [n for n, line in enumerate(text.splitlines(), 1) if _ROUTE_HEADER.match(line)]
    for i, entry in enumerate(data.get("route", [])):
        where = f"{source}: route #{i + 1}" + (f" (line {header_lines[i]})" if i < len(header_lines) else "")
        for key in ("contract", "logical_address", "url"):
            if not isinstance(entry.get(key), str) or not entry[key].strip():
                raise RouteFileError(f"{where}: field '{key}' is missing or empty")
        unknown = set(entry) - {
            "contract",
            "logical_address",
            "url",
            "valid_from",
            "valid_to",
            "connect_timeout",
            "read_timeout",
            "tls",
            "sign",
        }
        if unknown:
            raise RouteFileError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
        if not entry["url"].startswith(("http://", "https://")):
            raise RouteFileError(f"{where}: field 'url' must be an http(s) URL, got {entry['url']!r}")
        tls = None
        if "tls" in entry:
            raw = entry["tls"]
            allowed = set(TlsSettings.__dataclass_fields__)
            if not isinstance(raw, dict) or set(raw) - allowed:
                raise RouteFileError(f"{where}: field 'tls' takes {', '.join(sorted(allowed))}")
            tls = TlsSettings(**raw)
            if tls.client_key and not tls.client_cert:
                raise RouteFileError(f"{where}: tls.client_key needs tls.client_cert")
            if tls.pkcs12 and tls.client_cert:
                raise RouteFileError(f"{where}: give tls.pkcs12 or tls.client_cert, not both")
            for name in ("client_cert", "client_key", "pkcs12", "ca_bundle"):
                value = getattr(tls, name)
                if value is not None and (not isinstance(value, str) or not Path(value).is_file()):
                    raise RouteFileError(f"{where}: tls.{name}: no such file {value!r}")
            if tls.pkcs12:
                from intygsgw.outbound.tls_files import ClientCertificateError, read_pkcs12

                try:
                    read_pkcs12(tls.pkcs12, tls.pkcs12_password)
                except ClientCertificateError as exc:
                    raise RouteFileError(f"{where}: tls.pkcs12: {exc}") from None
        if not isinstance(entry.get("sign", False), bool):
            raise RouteFileError(f"{where}: field 'sign' is true or false")
        try:
            connect = float(entry.get("connect_timeout", defaults.get("connect_timeout", DEFAULT_CONNECT_TIMEOUT)))
            read = float(entry.get("read_timeout", defaults.get("read_timeout", DEFAULT_READ_TIMEOUT)))
        except (TypeError, ValueError):
            raise RouteFileError(f"{where}: timeouts are numbers of seconds") from None
        if not (connect > 0 and read > 0 and connect + read <= MAX_CALL_SECONDS):
            # Synchronous calls (a send, a message relay) hold their caller;
            # the platform itself gives a producer 29 s by default. The cap
            # keeps a typo (read_timeout = 300) from holding callers for minutes.
            raise RouteFileError(
                f"{where}: connect_timeout and read_timeout are positive and add up to at most {MAX_CALL_SECONDS:g} s"
            )
        try:
            contract = contract_namespace(entry["contract"].strip())
        except RouteFileError as exc:
            raise RouteFileError(f"{where}: field 'contract': {exc}") from None
        routes.append(
            Route(
                contract=contract,
                logical_address=entry["logical_address"].strip(),
                url=entry["url"].strip(),
                valid_from=_date(entry.get("valid_from"), where),
                valid_to=_date(entry.get("valid_to"), where),
                connect_timeout=connect,
                read_timeout=read,
                tls=tls,
                sign=entry.get("sign", False),
            )
        )
    return RoutingTable(routes)


def load_routes(path: str | Path) -> RoutingTable:
    return parse_routes(Path(path).read_text(encoding="utf-8"), str(path))

"""The outbound port: send a request element to a logical address, now.

Combines the routing table (which URL, which timeouts and TLS) with the SOAP
transport. Synchronous sends (SendCertificateToRecipient) and the delivery
loop both go through here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from intygsgw import interactions
from intygsgw.domain.outcome import Outcome
from intygsgw.domain.records import StoredDocument
from intygsgw.outbound.routing import RoutingError, RoutingTable, short_name
from intygsgw.outbound.transport import SoapTransport
from intygsgw.soap.source import self_contained


def soap_action_for(contract_ns: str) -> str:
    known = interactions.by_namespace(contract_ns)
    if known is not None:
        return known.soap_action
    # An outbox item written by an operator for a contract this version does
    # not declare: the national platform's pattern still names its action.
    name = contract_ns.split(":")[-2].removesuffix("Responder")
    return f"{contract_ns}:{name}"


class Outbound:
    def __init__(
        self,
        routes: Callable[[], RoutingTable],
        transport: SoapTransport | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        signer=None,
    ):
        self.routes = routes
        self.transport = transport or SoapTransport()
        self.today = today
        self.signer = signer  # intygsgw.signing.sign.SigningKey for routes with sign = true

    def send(
        self, contract_ns: str, logical_address: str, payload: bytes, correlation_id: str | None = None
    ) -> Outcome:
        try:
            route = self.routes().resolve(contract_ns, logical_address, self.today())
        except RoutingError as exc:
            # A missing route is a configuration gap an operator can close, so
            # it is retryable like an unreachable receiver.
            return Outcome("connect", text=str(exc))
        if route.sign:
            if self.signer is None:
                # Retryable like a missing route: configuring the key fixes it.
                return Outcome(
                    "connect",
                    text=f"the route to {describe_destination(contract_ns, logical_address)} "
                    "requires signing and no signing_key is configured",
                )
            from intygsgw.signing.sign import SigningError, sign_enveloped

            try:
                payload = sign_enveloped(payload, self.signer)
            except (SigningError, ValueError) as exc:
                # The payload itself is unfit: trying again cannot help.
                return Outcome("fault", fault_code="Client", text=f"cannot sign the request: {exc}")
        return self.transport.call(
            route, logical_address, payload, soap_action_for(contract_ns), correlation_id=correlation_id
        )

    def send_stored(
        self, contract_ns: str, logical_address: str, document: StoredDocument, correlation_id: str | None = None
    ) -> Outcome:
        return self.send(
            contract_ns,
            logical_address,
            self_contained(document.document, document.namespaces),
            correlation_id=correlation_id,
        )

    def has_route(self, contract_ns: str, logical_address: str, day: dt.date) -> bool:
        try:
            self.routes().resolve(contract_ns, logical_address, day)
        except RoutingError:
            return False
        return True


def describe_destination(contract_ns: str, logical_address: str) -> str:
    return f"{short_name(contract_ns)} @ {logical_address}"

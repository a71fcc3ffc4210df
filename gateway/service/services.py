"""What the service layer needs from the outside world, in one object."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

from storage.uow import Store

from ..certificate_types import TypeCatalog
from ..clock import Clock
from ..outbound import Outbound
from ..recipients import RecipientRegistry
from ..reloadable import Reloadable

if TYPE_CHECKING:
    from .signatures import SignatureCheck


class TypeRules(Protocol):
    """Business rules of a certificate type, run on the parsed ``intyg``.

    Returns the failures as human-readable strings; an empty list passes.
    """

    def __call__(self, type_id: str, version: str, document) -> list[str]: ...


def no_type_rules(type_id: str, version: str, document) -> list[str]:
    return []


@dataclass
class Services:
    store: Store
    catalog: TypeCatalog
    recipients_source: Reloadable[RecipientRegistry]
    outbound: Outbound | None = None
    clock: Clock = field(default_factory=Clock)
    type_rules: TypeRules = field(default=no_type_rules)
    # Normalised ids of validation persons: their certificates are stored and
    # read like any other, but never leave the gateway (gateway.validation).
    validation_persons: frozenset[str] = frozenset()
    # Renders a CertificateStatusUpdateForCare request (view, event, sent, received counts) -> bytes;
    # None: notifications to care are off.
    render_status_update: Callable | None = None
    # Signature policy and trust anchors (gateway.service.signatures); None: never verify.
    signatures: "SignatureCheck | None" = None

    @property
    def recipients(self) -> RecipientRegistry:
        return self.recipients_source.current()

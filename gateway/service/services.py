"""What the service layer needs from the outside world, in one object."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Protocol

from intygsgw.storage.uow import Store

from intygsgw.rules.catalog import TypeCatalog
from intygsgw.clock import Clock
from intygsgw.outbound.sender import Outbound
from intygsgw.config.recipient_file import RecipientRegistry
from intygsgw.config.reloadable import Reloadable

if TYPE_CHECKING:
    from intygsgw.rules.definitions import TypeSet
    from intygsgw.service.signatures import SignatureCheck


class CertificateTypes(Protocol):
    """The certificate types in force (intygsgw.rules.definitions.TypeBook)."""

    def current(self) -> "TypeSet": ...


@dataclass
class Services:
    store: Store
    # Catalogue and business rules of every type, reloaded together when their folder changes.
    types: CertificateTypes
    recipients_source: Reloadable[RecipientRegistry]
    outbound: Outbound | None = None
    clock: Clock = field(default_factory=Clock)
    # Normalised ids of validation persons: their certificates are stored and
    # read like any other, but never leave the gateway (intygsgw.domain.validation_persons).
    validation_persons: frozenset[str] = frozenset()
    # Renders a CertificateStatusUpdateForCare request (view, event, sent, received counts) -> bytes;
    # None: notifications to care are off.
    render_status_update: Callable | None = None
    # Signature policy and trust anchors (intygsgw.service.signatures); None: never verify.
    signatures: "SignatureCheck | None" = None

    @property
    def catalog(self) -> TypeCatalog:
        return self.types.current().catalog

    @property
    def recipients(self) -> RecipientRegistry:
        return self.recipients_source.current()

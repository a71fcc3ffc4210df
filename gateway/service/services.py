"""What the service layer needs from the outside world, in one object, typed by its ports."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from intygsgw.clock import Clock
from intygsgw.domain.events import Feeds
from intygsgw.domain.recipients import RecipientRegistry
from intygsgw.domain.records import CertificateText
from intygsgw.rules.catalog import TypeCatalog
from intygsgw.service.ports import Current, Outbound, SignatureChecker, Store

if TYPE_CHECKING:
    from intygsgw.domain.sick_leave import SickLeaveCertificate
    from intygsgw.rules.definitions import TypeSet


class CertificateTypes(Protocol):
    """The certificate types in force (intygsgw.rules.definitions.TypeBook)."""

    def current(self) -> TypeSet: ...


@dataclass
class Services:
    store: Store
    # Catalogue and business rules of every type, reloaded together when their folder changes.
    types: CertificateTypes
    recipients_source: Current[RecipientRegistry]
    outbound: Outbound | None = None
    clock: Clock = field(default_factory=Clock)
    # Normalised ids of validation persons: their certificates are stored and
    # read like any other, but never leave the gateway (intygsgw.domain.validation_persons).
    validation_persons: frozenset[str] = frozenset()
    # Renders a CertificateStatusUpdateForCare request (view, event, sent, received counts) -> bytes;
    # None: notifications to care are off.
    render_status_update: Callable[..., bytes] | None = None
    # Renders a sick-leave certificate as the rehabilitation lists show it, stored with its row
    # (intygsgw.handlers.rehab_items), and rows stored without one when a list is read; None: none stored.
    render_sick_leave_item: Callable[[SickLeaveCertificate], str] | None = None
    # Signature policy and trust anchors (intygsgw.signing.registration); None: never verify.
    signatures: SignatureChecker | None = None
    # Queues the gateway publishes events to (intygsgw.domain.events); None: no feeds.
    feeds: Feeds | None = None
    # Care unit id -> its sub-units, read by the sick-leave lists; None: every unit is just itself.
    sub_units: Current[Mapping[str, tuple[str, ...]]] | None = None
    # The certificate text files the customer-termination export hands out, each with the date it
    # applies from (intygsgw.config.certificate_texts); None: no folder configured.
    certificate_texts: Current[Sequence[tuple[CertificateText, dt.date | None]]] | None = None

    @property
    def catalog(self) -> TypeCatalog:
        return self.types.current().catalog

    @property
    def recipients(self) -> RecipientRegistry:
        return self.recipients_source.current()

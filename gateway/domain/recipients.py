"""Recipients: who may receive certificates of which types, and at which address.

The registry is read from the operator's recipient file (intygsgw.config.recipient_file)
and reloaded when it changes; the lifecycle asks it where a certificate may go.
"""

from __future__ import annotations

from dataclasses import dataclass

# Care and the citizen are parts of the lifecycle, never destinations of a send.
NOT_SEND_TARGETS = ("HSVARD", "INVANA")


@dataclass(frozen=True)
class Recipient:
    id: str
    name: str
    recipient_type: str
    logical_address: str
    certificate_types: tuple[str, ...]
    active: bool
    trusted: bool

    def accepts(self, type_id: str) -> bool:
        return type_id in self.certificate_types


class RecipientRegistry:
    def __init__(self, recipients: list[Recipient]):
        self._by_id = {r.id: r for r in recipients}

    def get(self, recipient_id: str) -> Recipient | None:
        return self._by_id.get(recipient_id)

    def all(self) -> list[Recipient]:
        return list(self._by_id.values())

    def send_targets_for(self, type_id: str) -> list[Recipient]:
        return [r for r in self._by_id.values() if r.id not in NOT_SEND_TARGETS and r.accepts(type_id)]

    def by_logical_address(self, address: str) -> Recipient | None:
        address = address.lower()
        return next((r for r in self._by_id.values() if r.logical_address.lower() == address), None)

"""The recipient registry: who may receive certificates, and at which address.

Read from a JSON file with the reference hub's own field names (id, name,
recipientType, logicalAddress, certificateTypes, active, trusted), so an
operator's existing recipient file works unchanged. A file with an error is
rejected whole, naming the entry and field, and the registry in force stays.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

from intygsgw.domain.recipients import Recipient, RecipientRegistry
from intygsgw.errors import GatewayError
from intygsgw.storage.models import CertificateStateRow, OutboxRow

DEFAULT_FILE = Path(str(resources.files("intygsgw.contracts"))) / "recipients.json"
RECIPIENT_TYPES = ("HUVUDMOTTAGARE", "MOTTAGARE", "DIREKTMOTTAGARE")
REQUIRED_IDS = ("FKASSA", "HSVARD", "INVANA", "TRANSP")


class RecipientFileError(GatewayError, ValueError):
    pass


def _entry_lines(text: str) -> list[int]:
    """The line on which each element of the top-level JSON array starts."""
    decoder = json.JSONDecoder()
    lines, pos = [], text.index("[") + 1
    while True:
        while pos < len(text) and text[pos] in " \t\r\n,":
            pos += 1
        if pos >= len(text) or text[pos] == "]":
            return lines
        lines.append(text.count("\n", 0, pos) + 1)
        _, pos = decoder.raw_decode(text, pos)


class _Where:
    """Names an entry by position, line and id in every complaint about it."""

    def __init__(self, source: str, index: int, line: int | None, entry: dict):
        self.label = f"{source}: recipient #{index + 1}"
        if isinstance(entry.get("id"), str) and entry["id"]:
            self.label += f" {entry['id']}"
        if line:
            self.label += f" (line {line})"

    def error(self, message: str) -> RecipientFileError:
        return RecipientFileError(f"{self.label}: {message}")


def _field(entry: dict, where: _Where, name: str, kind, required: bool = True):
    if name not in entry:
        if required:
            raise where.error(f"field '{name}' is missing")
        return None
    value = entry[name]
    if not isinstance(value, kind):
        raise where.error(f"field '{name}' must be {kind.__name__}, got {value!r}")
    return value


# A recipient id is stored as a state's target, its address as a delivery's.
MAX_ID = CertificateStateRow.__table__.c.target.type.length
MAX_ADDRESS = OutboxRow.__table__.c.logical_address.type.length


def parse_recipients(text: str, source: str = "recipients") -> list[Recipient]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise RecipientFileError(f"{source}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    if not isinstance(data, list) or not data:
        raise RecipientFileError(f"{source}: expected a non-empty JSON array of recipients")
    out: list[Recipient] = []
    seen: set[str] = set()
    lines = _entry_lines(text)
    for i, entry in enumerate(data):
        where = _Where(source, i, lines[i] if i < len(lines) else None, entry if isinstance(entry, dict) else {})
        if not isinstance(entry, dict):
            raise where.error("is not an object")
        rid = _field(entry, where, "id", str)
        if not rid:
            raise where.error("field 'id' is empty")
        if rid in seen:
            raise where.error(f"id {rid!r} appears twice")
        rtype = _field(entry, where, "recipientType", str)
        if rtype not in RECIPIENT_TYPES:
            raise where.error(f"field 'recipientType' must be one of {', '.join(RECIPIENT_TYPES)}, got {rtype!r}")
        types = _field(entry, where, "certificateTypes", list)
        if not all(isinstance(t, str) for t in types):
            raise where.error("field 'certificateTypes' must list strings")
        active = _field(entry, where, "active", bool, required=False)
        trusted = _field(entry, where, "trusted", bool, required=False)
        if not all(t.strip() for t in types):
            raise where.error("field 'certificateTypes' lists an empty type")
        # An empty name goes out in the recipient contracts' required elements;
        # an empty logical address would route deliveries nowhere.
        name, address = _field(entry, where, "name", str), _field(entry, where, "logicalAddress", str)
        for field_name, value in (("name", name), ("logicalAddress", address)):
            if not value.strip():
                raise where.error(f"field {field_name!r} is empty")
        # Longer values would fail only later, after a certificate was sent.
        for field_name, value, limit in (("id", rid, MAX_ID), ("logicalAddress", address, MAX_ADDRESS)):
            if len(value) > limit:
                raise where.error(f"field {field_name!r} is longer than {limit} characters")
        out.append(
            Recipient(
                id=rid,
                name=name,
                recipient_type=rtype,
                logical_address=address,
                certificate_types=tuple(types),
                active=True if active is None else active,
                trusted=False if trusted is None else trusted,
            )
        )
        seen.add(rid)
    missing = [r for r in REQUIRED_IDS if r not in seen]
    if missing:
        raise RecipientFileError(f"{source}: required recipient(s) missing: {', '.join(missing)}")
    return out


def load_recipients(path: Path = DEFAULT_FILE) -> RecipientRegistry:
    return RecipientRegistry(parse_recipients(Path(path).read_text(encoding="utf-8"), str(path)))

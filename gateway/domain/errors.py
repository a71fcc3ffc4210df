"""Failures the service layer hears about from the ports, in its own terms.

Adapters translate what their drivers raise into these, so no service
function has to know which database or transport is underneath.
"""

from __future__ import annotations

from intygsgw.errors import GatewayError


class AlreadyStored(GatewayError):
    """An insert found its key taken: a duplicate, sequential or racing."""

    def __init__(self, what: str, key: str):
        super().__init__(f"{what} {key} is already stored")
        self.what, self.key = what, key


class FieldTooLong(GatewayError, ValueError):
    """A text longer than the gateway stores; refused the same way on every database."""

    def __init__(self, table: str, column: str, limit: int, length: int):
        self.table, self.column, self.limit, self.length = table, column, limit, length
        super().__init__(f"{column} is {length} characters long; the gateway stores at most {limit}")


class InvalidExport(GatewayError, ValueError):
    """An exported certificate that cannot be restored as it stands (a wrong table, column or value)."""

"""Values longer than their column are refused before they reach the database.

PostgreSQL refuses a string longer than its ``VARCHAR(n)`` and SQLite stores
it anyway, so without this check the same request was stored on one and a
database failure on the other. The schemas allow any length for most of these
texts; a caller that sends a 10,000-character unit name gets a validation
error that names the field instead.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping

from sqlalchemy import String, Table

from intygsgw.domain.errors import FieldTooLong


@functools.cache
def _limits(table: Table) -> tuple[tuple[str, int], ...]:
    return tuple((c.key, c.type.length) for c in table.columns if isinstance(c.type, String) and c.type.length)


def check_lengths(table: Table, values: Mapping) -> None:
    """Raise FieldTooLong for the first string in ``values`` longer than its column allows."""
    for key, limit in _limits(table):
        value = values.get(key)
        if isinstance(value, str) and len(value) > limit:
            raise FieldTooLong(table.name, key, limit, len(value))

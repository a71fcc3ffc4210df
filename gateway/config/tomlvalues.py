"""Values read from the operators' TOML files (routes, authorizations), checked with the place they came from."""

from __future__ import annotations

import datetime as dt


def toml_date(value, where: str, error: type[Exception]) -> dt.date | None:
    """A validity date: TOML date or datetime, or an ISO string; ``error`` names ``where`` when it is none."""
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError:
        raise error(f"{where}: not a date (YYYY-MM-DD): {value!r}") from None

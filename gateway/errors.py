"""The root of every exception the gateway defines.

``except GatewayError`` catches the project's own failures (bad files, refused
input, unreachable routes) and lets programming errors through. Each class
keeps the built-in base that says what kind of failure it is (ValueError for
bad input, LookupError for a missing entry), so callers written against those
keep working.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError


class GatewayError(Exception):
    """A failure the gateway defines and knows how to report."""


def temporary_failure_text(exc: BaseException, reference: object) -> str:
    """What a caller is told of a failure it may retry, on the SOAP and the REST side alike.

    A failure of the database is named as such wherever it surfaces (a handler's query or the
    access log's entry after it), so that callers and operators see one text for one cause.
    """
    cause = "Temporary database error" if isinstance(exc, DBAPIError) else "Temporary error"
    return f"{cause}, try again (reference {reference})"

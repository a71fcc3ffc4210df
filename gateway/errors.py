"""The root of every exception the gateway defines.

``except GatewayError`` catches the project's own failures (bad files, refused
input, unreachable routes) and lets programming errors through. Each class
keeps the built-in base that says what kind of failure it is (ValueError for
bad input, LookupError for a missing entry), so callers written against those
keep working.
"""

from __future__ import annotations


class GatewayError(Exception):
    """A failure the gateway defines and knows how to report."""

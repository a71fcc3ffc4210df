"""The internal REST API (issue 19): JSON for the hub's own applications.

Mina intyg, Webcert, Rehabstöd, Intygsadmin and the customer-termination
service call it on a listener of its own (setting ``internal_port``), never
on the SOAP port. Like the SOAP handlers it is an entry point over the
service layer: it validates the JSON against its models (``models``), calls
a service function, and answers the model the reference's applications read.
Bad input gets an RFC 9457 problem, never a stack trace (``framework``).
"""

from __future__ import annotations

# The reference runs under this servlet context, and its clients put it in front of
# /internalapi: Rehabstöd in its code, Mina intyg in the settings it ships.
SERVLET_CONTEXT = "/inera-certificate"


def without_servlet_context(path: str) -> str:
    """The path as routed: ``/inera-certificate/internalapi/x`` is ``/internalapi/x``."""
    if path.startswith(SERVLET_CONTEXT + "/"):
        return path[len(SERVLET_CONTEXT) :]
    return path


def is_internal_path(path: str) -> bool:
    path = without_servlet_context(path)
    return path == "/internalapi" or path.startswith("/internalapi/")

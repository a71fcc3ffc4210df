"""The internal API assembled: routes, services, access log, OpenAPI document."""

from __future__ import annotations

import functools
import importlib.metadata

from intygsgw.audit.writer import AccessLogWriter
from intygsgw.internalapi import openapi
from intygsgw.internalapi.framework import InternalApi
from intygsgw.internalapi.routes import ROUTES
from intygsgw.service.services import Services


@functools.cache
def openapi_document() -> dict:
    return openapi.document(ROUTES, _version())


def build_internal_api(services: Services, access_log: AccessLogWriter | None, caller=None, access=None) -> InternalApi:
    """``caller``: environ -> trust.identity.Caller | None; ``access``: () -> the caller list, None: unchecked."""
    openapi_document()  # built before the first request: a model clash stops the start, not a call
    return InternalApi(ROUTES, services, access_log, openapi_document, caller=caller, access=access)


def _version() -> str:
    try:
        return importlib.metadata.version("intygsgw")
    except importlib.metadata.PackageNotFoundError:
        return "0"

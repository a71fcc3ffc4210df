"""The project's XSD files: where they are and their compiled form.

Schemas compile once per process (tens of milliseconds each) and are then
shared by every request; lxml's XMLSchema objects are safe to use from many
threads for validation.
"""

from __future__ import annotations

import functools
from importlib import resources
from pathlib import Path

from lxml import etree

from intygsgw.errors import GatewayError

SCHEMA_ROOT = Path(str(resources.files("intygsgw.schemas")))


class SchemaViolation(GatewayError):
    """The message does not match its contract's schema."""


def schema_path(relative: str) -> Path:
    path = (SCHEMA_ROOT / relative).resolve()
    if SCHEMA_ROOT.resolve() not in path.parents:
        raise ValueError(f"schema path escapes the schema folder: {relative}")
    return path


@functools.cache
def compiled(relative: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(schema_path(relative)), parser))


def validate(schema: etree.XMLSchema, element: etree._Element) -> None:
    """Raise SchemaViolation with the first error, worded like a parser error."""
    if schema.validate(element):
        return
    err = schema.error_log.last_error
    # libxml2 reports the line in the request; keep it, callers use it to find the spot.
    raise SchemaViolation(f"{err.message} (line {err.line})" if err else "schema validation failed")

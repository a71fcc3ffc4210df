"""The certificate text files an operator lays out for the customer-termination export.

The reference hands out its per-type text XML files (root attributes ``typ``,
``version`` and ``giltigFrom``); the gateway reads the same files from a
folder (setting ``certificate_texts_dir``), reloaded when they change.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from lxml import etree

from intygsgw.domain.records import CertificateText
from intygsgw.errors import GatewayError


class TextFileError(GatewayError, ValueError):
    """A text file that cannot be handed out as it stands."""


def load_certificate_texts(folder: str) -> list[tuple[CertificateText, dt.date | None]]:
    root = Path(folder)
    if not root.is_dir():
        raise TextFileError(f"certificate_texts_dir {folder} is not a folder")
    texts = []
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    for path in sorted(root.glob("*.xml")):
        raw = path.read_bytes()
        try:
            element = etree.fromstring(raw, parser)
        except etree.XMLSyntaxError as exc:
            raise TextFileError(f"{path}: not well-formed XML: {exc}") from None
        type_, version = element.get("typ"), element.get("version")
        if not type_ or not version:
            raise TextFileError(f"{path}: the root element needs the attributes typ and version")
        valid_from = element.get("giltigFrom")
        try:
            since = dt.date.fromisoformat(valid_from) if valid_from else None
        except ValueError:
            raise TextFileError(f"{path}: giltigFrom {valid_from!r} is not a date (YYYY-MM-DD)") from None
        try:
            xml = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise TextFileError(f"{path}: not UTF-8") from None
        texts.append((CertificateText(type_, version, xml), since))
    return texts


def texts_stamp(folder: str):
    """What changes when a text file is added, removed or edited (for the reload)."""
    root = Path(folder)
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in root.glob("*.xml")))
    except OSError:
        return None

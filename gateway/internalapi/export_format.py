"""A care provider's export as JSON lines: a header, one line per certificate, the rehabilitation
statuses in lines of up to a page each, a trailer with the counts.

The same format comes out of ``GET /internalapi/v1/certificates/{id}`` (streamed)
and ``intygsgw export``, and goes back in with ``intygsgw import``. One line
at a time in and out, so neither side ever holds a whole care provider. The
certificate's XML is carried once, as text (it is stored as UTF-8), and not
again in base64 among the rows.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Iterable, Iterator

from pydantic import TypeAdapter, ValidationError

from intygsgw.domain.records import CertificateExport, RehabStatusExport
from intygsgw.errors import GatewayError
from intygsgw.internalapi.models import (
    EXPORT_FORMAT,
    ExportedCertificate,
    ExportedRehabStatuses,
    ExportHeader,
    ExportLine,
    ExportTrailer,
)

_LINE = TypeAdapter(ExportLine)
DOCUMENT_TABLE = "certificate_document"


class BadExport(GatewayError, ValueError):
    """An export file that is not whole or not in this format."""


def header(care_giver_id: str, total: int, revoked: int, now: dt.datetime) -> bytes:
    line = ExportHeader(
        kind="header",
        format=EXPORT_FORMAT,
        careProviderId=care_giver_id,
        total=total,
        totalRevoked=revoked,
        exportedAt=now,
    )
    return line.model_dump_json().encode("utf-8") + b"\n"


def trailer(count: int, statuses: int = 0) -> bytes:
    return ExportTrailer(kind="end", count=count, rehabStatuses=statuses).model_dump_json().encode("utf-8") + b"\n"


def statuses_line(export: RehabStatusExport) -> bytes:
    return ExportedRehabStatuses(kind="rehabStatuses", rows=export.rows).model_dump_json().encode("utf-8") + b"\n"


def certificate_line(export: CertificateExport) -> bytes:
    return _certificate(export).model_dump_json().encode("utf-8") + b"\n"


def _certificate(export: CertificateExport) -> ExportedCertificate:
    rows = export.rows
    try:
        xml = export.document.decode("utf-8")
    except UnicodeDecodeError:
        xml = ""  # never stored so; kept in the rows (base64) where it then stays
    else:
        rows = {
            name: (
                [{k: v for k, v in r.items() if k != "document"} for r in table] if name == DOCUMENT_TABLE else table
            )
            for name, table in rows.items()
        }
    return ExportedCertificate(kind="certificate", id=export.certificate_id, revoked=export.revoked, xml=xml, rows=rows)


def stream(
    care_giver_id: str,
    counts: tuple[int, int],
    now: dt.datetime,
    exports: Iterable[CertificateExport],
    statuses: Iterable[RehabStatusExport] = (),
):
    yield header(care_giver_id, counts[0], counts[1], now)
    n = 0
    for export in exports:
        yield certificate_line(export)
        n += 1
    status_count = 0
    for page in statuses:
        yield statuses_line(page)
        status_count += len(page.rows)
    yield trailer(n, status_count)


def read(lines: Iterable[bytes | str]) -> Iterator[CertificateExport | RehabStatusExport]:
    """The certificates and rehabilitation statuses of an export, checked line by line; BadExport for a
    cut or foreign file."""
    seen_header = False
    count = statuses = 0
    care_giver_id = ""
    ended = False
    for number, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        if ended:
            raise BadExport(f"line {number}: text after the export's last line")
        try:
            line = _LINE.validate_json(raw)
        except ValidationError as exc:
            raise BadExport(
                f"line {number}: not a line of an {EXPORT_FORMAT} export: {exc.errors()[0]['msg']}"
            ) from None
        if isinstance(line, ExportHeader):
            if seen_header:
                raise BadExport(f"line {number}: a second header")
            seen_header = True
            care_giver_id = line.careProviderId
            continue
        if not seen_header:
            raise BadExport(f"line {number}: the export does not start with its header")
        if isinstance(line, ExportTrailer):
            if line.count != count:
                raise BadExport(f"the export says it holds {line.count} certificates but has {count}")
            if line.rehabStatuses != statuses:
                raise BadExport(
                    f"the export says it holds {line.rehabStatuses} rehabilitation statuses but has {statuses}"
                )
            ended = True
            continue
        if isinstance(line, ExportedRehabStatuses):
            statuses += len(line.rows)
            yield RehabStatusExport(care_giver_id, [dict(r) for r in line.rows])
            continue
        count += 1
        yield _export_of(line)
    if not ended:
        raise BadExport("the export ends without its last line: it was cut short")


def _export_of(line: ExportedCertificate) -> CertificateExport:
    rows = {name: [dict(r) for r in table] for name, table in line.rows.items()}
    document = line.xml.encode("utf-8")
    documents = rows.get(DOCUMENT_TABLE) or []
    for r in documents:
        if "document" not in r:
            r["document"] = base64.b64encode(document).decode("ascii")
        else:
            document = base64.b64decode(r["document"])
    certificate = (rows.get("certificate") or [{}])[0]
    return CertificateExport(
        certificate_id=line.id,
        care_giver_id=str(certificate.get("care_giver_id", "")),
        revoked=line.revoked,
        document=document,
        rows=rows,
    )

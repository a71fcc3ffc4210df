"""Application logs never carry a person id in clear.

Code logs certificate ids, not person ids, but an exception's text or a
library's message can still quote one. Every line the gateway's handlers
write therefore passes through a formatter that replaces whatever looks like
a personnummer or samordningsnummer with its hash (domain.personnummer), so
the same person still correlates across lines. The access log, which must
name the person, is a database table, not a log.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re

from intygsgw.domain.personnummer import PersonId, hash_for_log

# 12 digits (optionally yyyyMMdd-nnnn) or 10 digits with a sign (yyMMdd-nnnn),
# not part of a longer run of digits.
_PERSON_ID = re.compile(r"(?<![\d])(?:(?:19|20)\d{6}[-+]?\d{4}|\d{6}[-+]\d{4})(?![\d])")
# 10 digits alone (yyMMddnnnn) are also Unix times, counts and phone numbers:
# they are taken for a person id only with a real month, a day (or a
# samordningsnummer day, +60) and a valid control digit.
# Not inside a word either: ten digits between hex letters are part of a UUID.
_BARE_TEN = re.compile(r"(?<![0-9A-Za-z])\d{10}(?![0-9A-Za-z])")


def _looks_like_person_id(ten: str) -> bool:
    month, day = int(ten[2:4]), int(ten[4:6])
    if not (1 <= month <= 12 and (1 <= day <= 31 or 61 <= day <= 91)):
        return False
    return PersonId("00" + ten).has_valid_control_digit()  # the century takes no part in the control digit


def _token(value: str) -> str:
    return "pid:" + hash_for_log(value)[:16]


# Certificate and correlation ids: kept whole. Inside one, "ec123456-7890-…" (about one UUID in a
# hundred) read as yyMMdd-nnnn, and ids were cut up in the log for operators searching them.
# The group makes split() return the UUIDs too, at the odd places.
_UUID = re.compile(r"([0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12})")


def redact(text: str) -> str:
    return "".join(piece if i % 2 else _redacted(piece) for i, piece in enumerate(_UUID.split(text)))


def _redacted(text: str) -> str:
    text = _PERSON_ID.sub(lambda m: _token(m.group(0)), text)
    return _BARE_TEN.sub(lambda m: _token(m.group(0)) if _looks_like_person_id(m.group(0)) else m.group(0), text)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """Text lines with the time in ISO 8601 and its zone, person ids replaced."""

    def __init__(self, fmt: str = TEXT_FORMAT):
        super().__init__(fmt)

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        # The zone is part of the time: operators compare lines across hosts and seasons.
        return dt.datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


class JsonFormatter(RedactingFormatter):
    """One JSON object a line, for log shippers; ``fields`` given with ``extra=`` become keys."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return redact(json.dumps(line, ensure_ascii=False, default=str))


def configure(level: str | int = "INFO", fmt: str = "text") -> None:
    """Log to stderr at ``level``, as ``text`` or ``json`` lines, person ids always redacted."""
    if fmt not in ("text", "json"):
        raise ValueError(f"log_format must be text or json, not {fmt!r}")
    logging.basicConfig(level=level)
    logging.getLogger().setLevel(level)
    # Announced on import, before any migration could quiet it.
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    formatter = JsonFormatter() if fmt == "json" else RedactingFormatter()
    for handler in logging.getLogger().handlers:
        handler.setFormatter(formatter)


def log_failure(logger: logging.Logger, exc: BaseException, message: str, *args: object) -> None:
    """Log a failed call with its traceback, or in one line when the database is out for every call.

    While its disk is full or it cannot be reached, every call fails alike, and
    a traceback each would only fill the log (often on the same disk) with what
    the one line says.
    """
    # Imported here, on a failure: every command line starts by configuring the log, and most
    # never touch a database (the import brings SQLAlchemy, a quarter of a second).
    from intygsgw.storage.db import outage

    reason = outage(exc)
    if reason is None:
        logger.error(message, *args, exc_info=exc)
        return
    detail = next(iter(str(getattr(exc, "orig", None) or exc).strip().splitlines()), "")
    logger.error(message + ": %s (%s)", *args, reason, detail)

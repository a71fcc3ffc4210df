"""Application logs never carry a person id in clear.

Code logs certificate ids, not person ids, but an exception's text or a
library's message can still quote one. Every line the gateway's handlers
write therefore passes through a formatter that replaces whatever looks like
a personnummer or samordningsnummer with its hash (domain.personnummer), so
the same person still correlates across lines. The access log, which must
name the person, is a database table, not a log.
"""
from __future__ import annotations

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


def redact(text: str) -> str:
    text = _PERSON_ID.sub(lambda m: _token(m.group(0)), text)
    return _BARE_TEN.sub(lambda m: _token(m.group(0)) if _looks_like_person_id(m.group(0)) else m.group(0), text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def install(fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
    """Put the redacting formatter on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(fmt))

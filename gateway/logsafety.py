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

from .domain.personnummer import hash_for_log

# 12 digits (optionally yyyyMMdd-nnnn) or 10 digits with a sign (yyMMdd-nnnn),
# not part of a longer run of digits.
_PERSON_ID = re.compile(r"(?<![\d])(?:(?:19|20)\d{6}[-+]?\d{4}|\d{6}[-+]\d{4})(?![\d])")


def redact(text: str) -> str:
    return _PERSON_ID.sub(lambda m: "pid:" + hash_for_log(m.group(0))[:16], text)


class RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return redact(super().format(record))


def install(fmt: str = "%(asctime)s %(levelname)s %(name)s: %(message)s") -> None:
    """Put the redacting formatter on every handler of the root logger."""
    for handler in logging.getLogger().handlers:
        handler.setFormatter(RedactingFormatter(fmt))

"""Swedish person ids (personnummer and samordningsnummer) as the hub reads them.

Formats accepted, as the reference hub does: ``(19|20)yyMMdd[-+]?nnnn`` and
``yyMMdd[-+]?nnnn`` (the century is derived from today's year, one century
back for ``+``, which marks people aged 100 or more). The control digit is not
checked at parse; ``has_valid_control_digit`` exists for the sick-leave lists
that do filter on it and for the log redaction, which must not take every ten
digits for a person.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import re
from dataclasses import dataclass

from intygsgw.errors import GatewayError

PERSONNUMMER_ROOT = "1.2.752.129.2.1.3.1"
SAMORDNINGSNUMMER_ROOT = "1.2.752.129.2.1.3.3"

_FULL = re.compile(r"^(19|20)(\d{6})[-+]?(\d{4})$")
_SHORT = re.compile(r"^(\d{6})([-+]?)(\d{4})$")


class InvalidPersonId(GatewayError, ValueError):
    pass


@dataclass(frozen=True, order=True)
class PersonId:
    """A normalised person id: twelve digits, ``yyyyMMddnnnn``."""

    digits: str

    @property
    def is_samordningsnummer(self) -> bool:
        # A samordningsnummer adds 60 to the day of birth.
        return int(self.digits[6]) >= 6

    @property
    def root(self) -> str:
        return SAMORDNINGSNUMMER_ROOT if self.is_samordningsnummer else PERSONNUMMER_ROOT

    def hashed(self) -> str:
        """What logs may carry instead of the id itself."""
        return hashlib.sha256(self.digits.encode()).hexdigest()

    def has_valid_control_digit(self) -> bool:
        return control_digit(self.digits[2:11]) == int(self.digits[11])

    def __str__(self) -> str:
        return self.digits


def control_digit(nine: str) -> int:
    """The Luhn check digit of yyMMddnnn (weights 2, 1, 2, 1 ...)."""
    total = 0
    for i, ch in enumerate(nine):
        product = int(ch) * (2 if i % 2 == 0 else 1)
        total += product // 10 + product % 10
    return (10 - total % 10) % 10


def parse_person_id(value: str | None, today: _dt.date | None = None) -> PersonId:
    if not value:
        raise InvalidPersonId("empty person id")
    value = value.strip()
    m = _FULL.match(value)
    if m:
        return PersonId(m.group(1) + m.group(2) + m.group(3))
    m = _SHORT.match(value)
    if m:
        year = (today or _dt.date.today()).year
        yy = int(m.group(1)[:2])
        century = (year - yy) // 100
        if m.group(2) == "+":
            century -= 1
        return PersonId(f"{century:02d}{m.group(1)}{m.group(3)}")
    raise InvalidPersonId(f"not a person id: {value!r}")


def try_parse_person_id(value: str | None) -> PersonId | None:
    try:
        return parse_person_id(value)
    except InvalidPersonId:
        return None


def hash_for_log(value: str | None) -> str:
    if not value:
        return "EMPTY"
    pid = try_parse_person_id(value)
    return pid.hashed() if pid else hashlib.sha256(value.encode()).hexdigest()

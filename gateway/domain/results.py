"""The outcome of a changing operation, as RIV-TA's ResultType carries it."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from intygsgw.errors import GatewayError


class ErrorId(str, Enum):
    VALIDATION_ERROR = "VALIDATION_ERROR"
    APPLICATION_ERROR = "APPLICATION_ERROR"
    TECHNICAL_ERROR = "TECHNICAL_ERROR"
    REVOKED = "REVOKED"


@dataclass(frozen=True)
class Result:
    code: str  # OK | INFO | ERROR
    text: str | None = None
    error_id: ErrorId | None = None

    @property
    def ok(self) -> bool:
        return self.code in ("OK", "INFO")


OK = Result("OK")


def info(text: str) -> Result:
    return Result("INFO", text)


def error(error_id: ErrorId, text: str) -> Result:
    return Result("ERROR", text, error_id)


class ServiceError(GatewayError):
    """A failure the service layer cannot express as a Result.

    The contract layer decides how it reaches the caller: a SOAP fault for
    contracts that answer with faults, an ERROR result for those that turn
    faults into responses.
    """

    def __init__(self, text: str, error_id: ErrorId = ErrorId.APPLICATION_ERROR):
        super().__init__(text)
        self.text = text
        self.error_id = error_id

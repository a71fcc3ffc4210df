"""What a call to another system came back with, as delivery decisions see it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Outcome:
    """What came back, reduced to what delivery decisions need."""

    kind: str  # "result" | "fault" | "http" | "connect" | "timeout" | "malformed"
    result_code: str | None = None
    error_id: str | None = None
    text: str = ""
    http_status: int | None = None
    fault_code: str | None = None
    body: bytes = b""

    @property
    def succeeded(self) -> bool:
        return self.kind == "result" and self.result_code in ("OK", "INFO")

    @property
    def answered(self) -> bool:
        """The receiver read the request and said something about it in SOAP."""
        return self.kind in ("result", "fault")

    @property
    def retryable(self) -> bool:
        """Worth trying again later (the contract's TECHNICAL_ERROR semantics)."""
        if self.kind in ("connect", "timeout", "http", "malformed"):
            return True
        if self.kind == "fault":
            return self.fault_code != "Client"
        return self.kind == "result" and self.result_code == "ERROR" and self.error_id == "TECHNICAL_ERROR"

    def describe(self) -> str:
        if self.kind == "result":
            return f"{self.result_code}{'/' + self.error_id if self.error_id else ''}: {self.text}".rstrip(": ")
        if self.kind == "fault":
            return f"SOAP fault {self.fault_code}: {self.text}"
        if self.kind == "http":
            return f"HTTP {self.http_status} without a SOAP answer"
        return f"{self.kind}: {self.text}"

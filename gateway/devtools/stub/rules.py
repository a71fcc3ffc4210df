"""Behaviour rules: how the stub misbehaves, and for which requests.

A rule is a JSON object. It matches on any of ``contract`` (``Name`` or
``Name:major``), ``certificate_id`` and ``logical_address`` (compared without
regard to case, as the platform's routing does); absent criteria match
everything. Its ``action`` is one of

- ``result``: ``result_code`` OK/INFO/ERROR, ``error_id``, ``result_text``
- ``fault``: a SOAP fault on HTTP 500, ``fault_code`` (Server/Client), ``fault_string``
- ``http``: ``status`` with a non-SOAP ``body`` and ``content_type``
- ``close``: drop the connection without a complete answer

``action`` may be left out when the other keys say it (``result_code`` →
result, ``fault_*`` → fault, ``status`` → http). ``delay_ms`` waits before
any action (alone it delays an OK answer); ``times`` makes the rule expire
after firing that many times. The first matching rule wins. ``error_id`` or
``result_text`` set to null leaves the element out (a non-conformant answer,
on purpose). Unknown keys
and out-of-range values are refused, so a typo fails loudly instead of
silently never matching.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path

from intygsgw.devtools.stub.contracts import is_served_name
from intygsgw.errors import GatewayError
from intygsgw.interactions import Interaction

RESULT_CODES = ("OK", "INFO", "ERROR")
ERROR_IDS = ("VALIDATION_ERROR", "APPLICATION_ERROR", "TECHNICAL_ERROR", "REVOKED")
FAULT_CODES = ("Server", "Client", "VersionMismatch", "MustUnderstand")
MAX_DELAY_MS = 600_000

_MATCH = {"contract", "certificate_id", "logical_address"}
_COMMON = _MATCH | {"action", "delay_ms", "times"}
_ACTION_KEYS = {
    "result": {"result_code", "error_id", "result_text"},
    "fault": {"fault_code", "fault_string"},
    "http": {"status", "body", "content_type"},
    "close": set(),
}


class RuleError(GatewayError, ValueError):
    pass


@dataclass
class Rule:
    action: str = "result"
    contract: str | None = None
    certificate_id: str | None = None
    logical_address: str | None = None
    result_code: str = "OK"
    error_id: str | None = None
    result_text: str | None = None
    fault_code: str = "Server"
    fault_string: str = "Simulated fault from the stub recipient"
    status: int = 503
    body: str = "Service Unavailable\n"
    content_type: str = "text/plain; charset=utf-8"
    delay_ms: int = 0
    times: int | None = None
    id: int = 0
    fired: int = 0
    _address_key: str | None = field(default=None, repr=False)

    @property
    def outcome(self) -> str:
        """How a stored message records what this rule answered."""
        return self.result_code if self.action == "result" else self.action

    def matches(self, contract: Interaction | None, certificate_id: str | None, logical_address: str | None) -> bool:
        if self.contract is not None and (contract is None or self.contract not in (contract.name, contract.key)):
            return False
        if self.certificate_id is not None and self.certificate_id != certificate_id:
            return False
        return not (self._address_key is not None and (logical_address or "").casefold() != self._address_key)

    def to_json(self) -> dict:
        out: dict = {"id": self.id, "action": self.action}
        for key in sorted(_MATCH):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        for key in sorted(_ACTION_KEYS[self.action]):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        if self.delay_ms:
            out["delay_ms"] = self.delay_ms
        out["times"] = self.times
        out["fired"] = self.fired
        out["remaining"] = None if self.times is None else self.times - self.fired
        return out


def parse_rule(data) -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"a rule is a JSON object, not {type(data).__name__}")
    action = data.get("action")
    if action is None:
        action = _implied_action(data)
    if action not in _ACTION_KEYS:
        raise RuleError(f"unknown action {action!r}; use one of {', '.join(_ACTION_KEYS)}")
    allowed = _COMMON | _ACTION_KEYS[action]
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RuleError(f"unknown key(s) for action {action!r}: {', '.join(unknown)}")
    rule = Rule(action=action)
    for key in _MATCH:
        value = data.get(key)
        if value is not None:
            if not isinstance(value, str) or not value.strip():
                raise RuleError(f"{key} must be a non-empty string")
            setattr(rule, key, value.strip())
    if rule.contract is not None and not is_served_name(rule.contract):
        raise RuleError(f"contract {rule.contract!r} is not served by the stub")
    if rule.logical_address is not None:
        rule._address_key = rule.logical_address.casefold()
    rule.delay_ms = _int(data, "delay_ms", 0, 0, MAX_DELAY_MS)
    if data.get("times") is not None:
        rule.times = _int(data, "times", None, 1, None)
    if action == "result":
        _result(rule, data)
    elif action == "fault":
        code = _str(data, "fault_code", rule.fault_code).removeprefix("soap:")
        if code not in FAULT_CODES:
            raise RuleError(f"fault_code must be one of {', '.join(FAULT_CODES)}")
        rule.fault_code = code
        rule.fault_string = _str(data, "fault_string", rule.fault_string)
    elif action == "http":
        rule.status = _int(data, "status", rule.status, 200, 599)
        rule.body = _str(data, "body", rule.body)
        rule.content_type = _str(data, "content_type", rule.content_type)
    return rule


def _implied_action(data: dict) -> str:
    if data.keys() & _ACTION_KEYS["fault"]:
        return "fault"
    if data.keys() & _ACTION_KEYS["http"]:
        return "http"
    return "result"


def _result(rule: Rule, data: dict) -> None:
    code = _str(data, "result_code", "OK")
    if code not in RESULT_CODES:
        raise RuleError(f"result_code must be one of {', '.join(RESULT_CODES)}")
    rule.result_code = code
    # Defaults keep an answer schema-valid: the contract wants a text with
    # INFO, and an errorId plus a text with ERROR.
    error_id = data.get("error_id", "TECHNICAL_ERROR" if code == "ERROR" else None)
    if error_id is not None and error_id not in ERROR_IDS:
        raise RuleError(f"error_id must be one of {', '.join(ERROR_IDS)}")
    rule.error_id = error_id
    default_text = {
        "OK": None,
        "INFO": "Simulated INFO from the stub recipient",
        "ERROR": "Simulated ERROR from the stub recipient",
    }[code]
    text = data.get("result_text", default_text)
    if text is not None and not isinstance(text, str):
        raise RuleError("result_text must be a string")
    rule.result_text = text


def _int(data: dict, key: str, default, low: int, high: int | None):
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RuleError(f"{key} must be an integer")
    if value < low or (high is not None and value > high):
        raise RuleError(
            f"{key} must be between {low} and {high}" if high is not None else f"{key} must be at least {low}"
        )
    return value


def _str(data: dict, key: str, default: str) -> str:
    value = data.get(key, default)
    if not isinstance(value, str):
        raise RuleError(f"{key} must be a string")
    return value


def parse_rules(data) -> list[Rule]:
    """One rule object or a list of them."""
    items = data if isinstance(data, list) else [data]
    rules = []
    for i, item in enumerate(items):
        try:
            rules.append(parse_rule(item))
        except RuleError as exc:
            raise RuleError(f"rule {i + 1}: {exc}" if len(items) > 1 else str(exc)) from None
    return rules


def load_rules_file(path: str | Path) -> list[Rule]:
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise RuleError(f"{path}: {exc}") from None
    try:
        return parse_rules(data)
    except RuleError as exc:
        raise RuleError(f"{path}: {exc}") from None


class RuleBook:
    """The active rules, in the order they were added."""

    def __init__(self):
        self._lock = threading.Lock()
        self._rules: list[Rule] = []
        self._next_id = 1

    def add(self, rules: list[Rule]) -> list[Rule]:
        with self._lock:
            for rule in rules:
                rule.id = self._next_id
                self._next_id += 1
                self._rules.append(rule)
        return rules

    def clear(self) -> int:
        with self._lock:
            n = len(self._rules)
            self._rules.clear()
        return n

    def __len__(self) -> int:
        return len(self._rules)

    def snapshot(self) -> list[dict]:
        with self._lock:
            return [r.to_json() for r in self._rules]

    def take(
        self, contract: Interaction | None, certificate_id: str | None, logical_address: str | None
    ) -> Rule | None:
        """The first matching rule, counted as fired (and dropped once spent)."""
        if not self._rules:  # the common case under load: no lock taken
            return None
        with self._lock:
            for i, rule in enumerate(self._rules):
                if rule.matches(contract, certificate_id, logical_address):
                    rule.fired += 1
                    if rule.times is not None and rule.fired >= rule.times:
                        del self._rules[i]
                    return rule
        return None

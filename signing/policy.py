"""Which certificate types must be signed: require, verify-if-present or off.

A default plus per-type overrides, e.g. default ``verify-if-present`` with
``lisjp=require, ts-bas=off``. Types are named by the catalog id or the type
code, in any case.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class Policy(enum.Enum):
    REQUIRE = "require"  # unsigned or invalid: refused
    IF_PRESENT = "verify-if-present"  # invalid: refused; unsigned: accepted
    OFF = "off"  # never verified (the register path does no signature work)

    @classmethod
    def parse(cls, value: str) -> Policy:
        text = value.strip().lower().replace("_", "-")
        for policy in cls:
            if policy.value == text:
                return policy
        raise ValueError(f"signature policy must be require, verify-if-present or off, not {value!r}")


@dataclass(frozen=True)
class SignaturePolicies:
    default: Policy = Policy.OFF
    by_type: dict[str, Policy] = field(default_factory=dict)  # lower-case type id or code -> policy

    def for_type(self, *names: str) -> Policy:
        for name in names:
            found = self.by_type.get((name or "").lower())
            if found is not None:
                return found
        return self.default

    @property
    def ever_verifies(self) -> bool:
        return self.default is not Policy.OFF or any(p is not Policy.OFF for p in self.by_type.values())


def parse_policies(default: str, overrides: str = "") -> SignaturePolicies:
    """``overrides``: ``type=policy`` pairs separated by commas."""
    by_type: dict[str, Policy] = {}
    for item in (overrides or "").split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ValueError(f"signature policy override {item.strip()!r}: write type=policy, e.g. lisjp=require")
        by_type[name.strip().lower()] = Policy.parse(value)
    return SignaturePolicies(Policy.parse(default), by_type)

"""A small client for the stub recipient's ``/_stub/`` API, for tests and scripts.

stub = StubClient("http://127.0.0.1:9001")
stub.add_rule(contract="RegisterCertificate", result_code="ERROR", times=1)
...  # make the gateway deliver
[msg] = stub.wait_for(certificate_id="abc", outcome="OK")
stub.body(msg["seq"])  # the exact bytes the gateway sent
"""

from __future__ import annotations

import time

import requests

from intygsgw.errors import GatewayError


class StubClient:
    def __init__(self, base_url: str, timeout: float = 10.0):
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http = requests.Session()

    def url(self, path: str = "/") -> str:
        """Where to send SOAP (any path is served)."""
        return self.base_url + path

    def _call(self, method: str, path: str, **kwargs):
        resp = self._http.request(method, f"{self.base_url}/_stub/{path}", timeout=self.timeout, **kwargs)
        if resp.status_code >= 400:
            raise StubError(f"{method} /_stub/{path}: HTTP {resp.status_code}: {resp.text}")
        return resp

    def health(self) -> dict:
        return self._call("GET", "health").json()

    def messages(self, **filters) -> list[dict]:
        """Filters: contract, certificate_id, logical_address, outcome, since (a seq), limit."""
        params = {k: v for k, v in filters.items() if v is not None}
        return self._call("GET", "messages", params=params).json()

    def message(self, seq: int) -> dict:
        """One message with ``body`` (text) and ``body_base64`` (exact bytes)."""
        return self._call("GET", f"messages/{seq}").json()

    def body(self, seq: int) -> bytes:
        return self._call("GET", f"messages/{seq}/body").content

    def clear(self) -> int:
        return self._call("DELETE", "messages").json()["cleared"]

    def wait_for(self, count: int = 1, timeout: float = 10.0, **filters) -> list[dict]:
        """Poll until at least ``count`` messages match; for asynchronous deliveries."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.messages(**filters)
            if len(found) >= count or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        if len(found) < count:
            raise StubError(
                f"expected {count} message(s) matching {filters} within {timeout:g} s, "
                f"got {len(found)}; all received: {self.messages()}"
            )
        return found

    def add_rule(self, **rule) -> dict:
        """One rule (see intygsgw.devtools.stub.rules); returns it with its id."""
        return self._call("POST", "rules", json=rule).json()[0]

    def add_rules(self, rules: list[dict]) -> list[dict]:
        return self._call("POST", "rules", json=rules).json()

    def rules(self) -> list[dict]:
        return self._call("GET", "rules").json()

    def clear_rules(self) -> int:
        return self._call("DELETE", "rules").json()["cleared"]

    def down(self) -> None:
        self._call("POST", "down")

    def up(self) -> None:
        self._call("POST", "up")

    def reset(self) -> None:
        """Up, no rules, no messages: a clean slate between tests."""
        self.up()
        self.clear_rules()
        self.clear()


class StubError(GatewayError, RuntimeError):
    """An API call failed, or an expected message did not arrive."""

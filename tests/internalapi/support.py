"""A client of the internal API that checks every answer against the served OpenAPI document."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import requests
from jsonschema import Draft202012Validator

from intygsgw.internalapi.openapi import path_pattern
from tests.support.paths import child_pythonpath
from tests.support.server import GatewayProcess, free_port


class InternalGateway:
    """A gateway process with its internal listener on, and its SOAP base URL for registering."""

    def __init__(self, workdir, db=None, extra_env=None, https=None):
        """``https``: requests options (cert=, verify=) when the internal listener serves mutual TLS."""
        self.internal_port = free_port()
        self.https = https
        self.process = GatewayProcess(
            workdir,
            db=db,
            workers=1,
            extra_env={"INTYGSGW_DELIVERY": "false", **(extra_env or {})},
            extra_args=["--internal-port", str(self.internal_port)],
        )
        self.internal_url = f"{'https' if https else 'http'}://127.0.0.1:{self.internal_port}"

    def start(self) -> InternalGateway:
        self.process.start()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                health = requests.get(self.internal_url + "/internalapi/healthz", timeout=1, **(self.https or {}))
                if health.status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.process.stop()
        raise RuntimeError(f"the internal listener did not come up:\n{self.process.log()}")

    @property
    def base_url(self) -> str:
        return self.process.base_url

    def stop(self) -> None:
        self.process.stop()


class OpenApiChecked:
    """Calls the internal API; every answer must be one the document describes, in its shape."""

    def __init__(self, base_url: str, https: dict | None = None):
        self.base_url = base_url
        self.document = requests.get(base_url + "/internalapi/openapi.json", timeout=10, **(https or {})).json()
        self.operations = [
            (path_pattern(template), method.upper(), op)
            for template, item in self.document["paths"].items()
            for method, op in item.items()
        ]
        self.checked = 0

    def request(self, method: str, path: str, *, json_body=None, data=None, headers=None, params=None, stream=False):
        headers = dict(headers or {})
        if json_body is not None:
            data = json.dumps(json_body).encode("utf-8")
            headers.setdefault("Content-Type", "application/json")
        response = requests.request(
            method, self.base_url + path, data=data, headers=headers, params=params, timeout=120, stream=stream
        )
        if not stream:
            self.check(method, path, response)
        return response

    def get(self, path: str, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path: str, body=None, **kwargs):
        return self.request("POST", path, json_body=body, **kwargs)

    def delete(self, path: str, **kwargs):
        return self.request("DELETE", path, **kwargs)

    def operation(self, method: str, path: str) -> dict | None:
        for pattern, op_method, op in self.operations:
            if op_method == method and pattern.match(path):
                return op
        return None

    def check(self, method: str, path: str, response: requests.Response, body: bytes | None = None) -> None:
        """The status is one the operation documents, and the body matches its schema for that content type."""
        op = self.operation(method, path.split("?", 1)[0])
        if op is None:
            # No such operation: only a problem (unknown path, method not allowed) may answer.
            assert response.status_code in (404, 405), (
                f"{method} {path} is undocumented yet answered {response.status_code}"
            )
            op = {
                "responses": {
                    str(response.status_code): {"$ref": f"#/components/responses/Problem{response.status_code}"}
                }
            }
        described = op["responses"].get(str(response.status_code))
        assert described is not None, (
            f"{method} {path} answered {response.status_code}, which the document does not list: {response.text[:300]}"
        )
        if "$ref" in described:
            described = self.resolve(described["$ref"])
        raw = response.content if body is None else body
        content = described.get("content")
        if not content:
            assert raw == b"", f"{method} {path} {response.status_code} documents no body but sent {raw[:200]!r}"
            return
        media = response.headers.get("Content-Type", "").split(";", 1)[0].strip()
        assert media in content, f"{method} {path} answered {media}, not one of {sorted(content)}"
        schema = content[media]["schema"]
        if media == "application/x-ndjson":
            values = [json.loads(line) for line in raw.splitlines() if line.strip()]
        else:
            values = [json.loads(raw)]
        validator = Draft202012Validator({**schema, "components": self.document["components"]})
        for value in values:
            errors = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
            assert not errors, f"{method} {path}: the answer does not match its schema: {errors[0].message}"
        self.checked += 1

    def resolve(self, ref: str) -> dict:
        node = self.document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part]
        return node


def db_url(gateway: InternalGateway) -> str:
    return gateway.process.db or f"sqlite:///{gateway.process.workdir / 'intygsgw.db'}"


def cli(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """``intygsgw`` run as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", "intygsgw.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, "PYTHONPATH": child_pythonpath()},
    )


def access_entries(gateway: InternalGateway, person: str) -> list[dict]:
    done = cli("audit", "export", "--person", person, "--db", db_url(gateway))
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]

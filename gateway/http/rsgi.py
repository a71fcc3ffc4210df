"""The gateway under granian's RSGI interface: request bodies are read on the event loop, under a deadline.

Under WSGI, granian calls the application as soon as the headers are in, and
reading ``wsgi.input`` holds a request thread until the whole body has
arrived. Forty clients sending one byte a second held every thread, so even
``/healthz`` went unanswered. Here the body is collected asynchronously,
costing no thread while it trickles in, and must arrive within
``body_timeout`` seconds; only then does the (unchanged) WSGI application run,
on a thread pool of its own, with the body in memory. ``/healthz`` has a
thread of its own too, so a full pool of slow database calls cannot hide a
healthy gateway.

Requests the deadline or the size cap stops are still answered by the WSGI
application (a SOAP fault and its log line), which finds the reason in the
environ instead of a body.
"""

from __future__ import annotations

import asyncio
import io
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from intygsgw.http.wsgi import BODY_FAULT_KEY
from intygsgw.soap.faults import SoapFault


class RsgiGateway:
    def __init__(self, wsgi_app: Any, *, max_body_bytes: int, body_timeout: float, threads: int):
        self.wsgi_app = wsgi_app
        self.limit = max_body_bytes
        self.body_timeout = body_timeout
        self._requests = ThreadPoolExecutor(threads, thread_name_prefix="request")
        self._health = ThreadPoolExecutor(1, thread_name_prefix="health")

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return
        fault: SoapFault | None = None
        body = b""
        if scope.method in ("POST", "PUT"):
            try:
                async with asyncio.timeout(self.body_timeout):
                    read = await self._read_body(scope, protocol)
            except TimeoutError:
                fault = SoapFault(f"The request body did not arrive within {self.body_timeout:g} s", "Client", 408)
            else:
                if read is None:
                    fault = SoapFault(f"The request body exceeds the limit of {self.limit} bytes", "Client", 413)
                body = read or b""
        environ = _environ(scope, body, fault)
        pool = self._health if scope.path == "/healthz" else self._requests
        status, headers, content = await asyncio.get_running_loop().run_in_executor(pool, self._call, environ)
        if fault is not None:
            headers.append(("connection", "close"))  # the rest of that body is not worth waiting for
        protocol.response_bytes(status, headers, content)

    async def _read_body(self, scope: Any, protocol: Any) -> bytes | None:
        """The whole body, or None once it passes the size cap.

        No exception for the cap: one raised here would keep this frame, and
        the megabytes read so far, in a cycle through the waiting task until
        the collector ran (rarely, with the workers' thresholds).
        """
        declared = scope.headers.get("content-length")
        if declared is not None and declared.strip().isdigit():
            if int(declared) > self.limit:
                return None
            return await protocol()  # collected by granian in one piece: the common, cheap case
        parts, size = [], 0
        async for chunk in protocol:
            size += len(chunk)
            if size > self.limit:
                return None
            parts.append(chunk)
        return b"".join(parts)

    def _call(self, environ: dict) -> tuple[int, list[tuple[str, str]], bytes]:
        answer: dict[str, Any] = {}

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> None:
            answer["status"], answer["headers"] = int(status.split(" ", 1)[0]), list(headers)

        chunks = self.wsgi_app(environ, start_response)
        try:
            content = b"".join(chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        return answer["status"], answer["headers"], content


def _environ(scope: Any, body: bytes, fault: SoapFault | None) -> dict:
    host, _, port = (scope.server or "").rpartition(":")
    client = (scope.client or "").rpartition(":")[0]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scope.path,
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": host,
        "SERVER_PORT": port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": client.strip("[]"),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": io.StringIO(),
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in scope.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    environ["CONTENT_LENGTH"] = str(len(body))
    if fault is not None:
        environ[BODY_FAULT_KEY] = fault
    return environ

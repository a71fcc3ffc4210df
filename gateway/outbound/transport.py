"""Outbound SOAP calls: one POST, one classified answer.

A thin client over the same envelopes and schemas the gateway serves, rather
than a data-binding SOAP library: the payload is an lxml tree end to end (the
stored certificate goes out byte for byte), and only the ResultType is read
from the answer. One keep-alive connection pool per TLS identity keeps TLS
handshakes off the hot path.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

import urllib3

from intygsgw import ns
from intygsgw.domain.outcome import Outcome
from intygsgw.outbound.routing import Route
from intygsgw.soap.envelope import SOAP11_NS, request_envelope
from intygsgw.soap.faults import SoapFault
from intygsgw.soap.parser import parse_untrusted

CORE_NS = ns.CORE


class SoapTransport:
    def __init__(self, user_agent: str = "intygsgw", pool_size: int = 32):
        self._pools: dict[tuple, urllib3.PoolManager] = {}
        self._lock = threading.Lock()
        self.user_agent = user_agent
        self.pool_size = pool_size

    def _pool(self, route: Route) -> urllib3.PoolManager:
        """One connection pool per TLS identity, shared by the routes that use it.

        urllib3 directly rather than requests: requests' per-call merging of
        session, environment and hooks cost as much CPU as the rest of a
        delivery. Outbound calls go direct, never through an environment proxy.
        """
        key = (route.tls,)
        with self._lock:
            pool = self._pools.get(key)
            if pool is None:
                options = {
                    "maxsize": self.pool_size,
                    "cert_reqs": "CERT_REQUIRED",
                    "ca_certs": os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE"),
                }
                tls = route.tls
                if tls is not None:
                    if tls.pkcs12:
                        from intygsgw.outbound.tls_files import pkcs12_to_pem_files

                        options["cert_file"], options["key_file"] = pkcs12_to_pem_files(tls.pkcs12, tls.pkcs12_password)
                    elif tls.client_cert:
                        options["cert_file"], options["key_file"] = tls.client_cert, tls.client_key
                    if tls.ca_bundle:
                        options["ca_certs"] = tls.ca_bundle
                pool = urllib3.PoolManager(num_pools=16, **options)
                self._pools[key] = pool
            return pool

    def call(
        self,
        route: Route,
        logical_address: str,
        body_element_xml: bytes,
        soap_action: str,
        correlation_id: str | None = None,
        extra_headers: dict | None = None,
    ) -> Outcome:
        envelope = request_envelope(body_element_xml, logical_address)
        headers = {
            "Content-Type": "text/xml; charset=UTF-8",
            "SOAPAction": f'"{soap_action}"',
            "x-skltp-correlation-id": correlation_id or str(uuid.uuid4()),
            "User-Agent": self.user_agent,
            **(extra_headers or {}),
        }
        try:
            pool = self._pool(route)
        except (OSError, ValueError) as exc:
            # An unreadable client certificate is the operator's to fix; the
            # delivery waits for it like for a receiver that is down.
            return Outcome("connect", text=f"client TLS settings of the route to {route.url}: {exc}")
        # The read timeout bounds each socket read, so a receiver that sends a
        # byte now and then could hold the call for ever; the body must have
        # come by connect + read (checked between reads, so it can overrun by
        # one read timeout; the delivery claim is renewed meanwhile anyway).
        deadline = time.monotonic() + route.connect_timeout + route.read_timeout
        try:
            resp = pool.request(
                "POST",
                route.url,
                body=envelope,
                headers=headers,
                retries=False,
                redirect=False,
                preload_content=False,
                timeout=urllib3.Timeout(connect=route.connect_timeout, read=route.read_timeout),
            )
            complete = False
            try:
                chunks = []
                # read1: one socket read at a time, so the deadline is looked at
                # between them (read(n) waits for all n bytes).
                while chunk := resp.read1(65536):
                    chunks.append(chunk)
                    if time.monotonic() > deadline:
                        return Outcome(
                            "timeout",
                            text=f"the answer took longer than {route.connect_timeout + route.read_timeout:g} s",
                        )
                complete = True
            finally:
                if not complete:
                    resp.close()  # a connection with unread data must not go back to the pool
                resp.release_conn()
        except urllib3.exceptions.NewConnectionError as exc:
            return Outcome("connect", text=f"cannot connect to {route.url}: {exc}")
        except urllib3.exceptions.ConnectTimeoutError as exc:
            return Outcome("connect", text=f"connect timeout: {exc}")
        except urllib3.exceptions.ReadTimeoutError:
            return Outcome("timeout", text=f"no answer within {route.read_timeout:g} s")
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            return Outcome("connect", text=f"{route.url}: {exc}")
        return classify(resp.status, b"".join(chunks))


def classify(status: int, body: bytes) -> Outcome:
    try:
        root = parse_untrusted(body)
    except SoapFault:
        if status >= 400:
            return Outcome("http", http_status=status, body=body[:2000])
        return Outcome("malformed", text="the answer is not XML", http_status=status, body=body[:2000])
    soap_body = root.find(f"{{{SOAP11_NS}}}Body")
    if soap_body is None or len(soap_body) == 0:
        kind = "http" if status >= 400 else "malformed"
        return Outcome(kind, text="the answer is not a SOAP envelope", http_status=status, body=body[:2000])
    first = soap_body[0]
    if first.tag == f"{{{SOAP11_NS}}}Fault":
        code = (first.findtext("faultcode") or "").strip()
        return Outcome(
            "fault",
            fault_code=code.split(":")[-1] or "Server",
            text=(first.findtext("faultstring") or "").strip(),
            http_status=status,
            body=body,
        )
    result = next((el for el in first if isinstance(el.tag, str) and el.tag.endswith("}result")), None)
    if result is None:
        return Outcome("malformed", text="the answer has no result", http_status=status, body=body)
    return Outcome(
        "result",
        result_code=(result.findtext(f"{{{CORE_NS}}}resultCode") or "").strip(),
        error_id=(result.findtext(f"{{{CORE_NS}}}errorId") or "").strip() or None,
        text=(result.findtext(f"{{{CORE_NS}}}resultText") or "").strip(),
        http_status=status,
        body=body,
    )

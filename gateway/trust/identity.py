"""The caller's identity: the HSA id in its client certificate.

As on the national platform (riv-ta-and-platform §2.2), the nearest caller is
the SERIALNUMBER attribute of the client certificate's subject. With TLS on
the gateway itself the certificate comes from the verified TLS session; behind
a TLS-terminating proxy it comes from a header the proxy sets, and that header
is believed only when the TCP peer is one of the configured proxies.

The WSGI server copies the process environment into every request's environ,
so an ``HTTP_*`` variable set in the environment would look like a header.
Nothing here reads a forwarded certificate unless the peer is a trusted proxy,
and a header value that equals the process environment's is ignored.
"""

from __future__ import annotations

import datetime as dt
import functools
import ipaddress
import logging
import os
import urllib.parse
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID

from intygsgw.errors import GatewayError

log = logging.getLogger(__name__)

# The TLS server puts the verified peer certificate (DER) here.
PEER_CERT_KEY = "intygsgw.peer_certificate"


@dataclass(frozen=True)
class Caller:
    hsa_id: str | None  # None: a certificate without SERIALNUMBER
    subject: str
    via: str  # "tls" or "proxy"


class ForwardedCertificateError(GatewayError, ValueError):
    pass


@functools.lru_cache(maxsize=4096)
def caller_from_der(der: bytes, via: str = "tls") -> Caller:
    return _caller(x509.load_der_x509_certificate(der), via)


def _caller(cert: x509.Certificate, via: str) -> Caller:
    serials = cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER)
    hsa_id = str(serials[0].value).strip() if serials else None
    return Caller(hsa_id or None, cert.subject.rfc4514_string(), via)


def parse_forwarded_pem(value: str) -> x509.Certificate:
    """A certificate as proxies forward it: PEM, URL-encoded PEM, or PEM with its newlines folded to spaces."""
    text = value.strip()
    if "%" in text:
        text = urllib.parse.unquote(text)
    begin, end = "-----BEGIN CERTIFICATE-----", "-----END CERTIFICATE-----"
    if begin not in text or end not in text:
        raise ForwardedCertificateError("the forwarded client certificate is not PEM")
    body = text.split(begin, 1)[1].split(end, 1)[0]
    body = "".join(body.split())  # proxies fold newlines into spaces or tabs
    pem = f"{begin}\n{body}\n{end}\n".encode()
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        raise ForwardedCertificateError(f"the forwarded client certificate cannot be read: {exc}") from None


class ProxyTrust:
    """Trusted-proxy mode: believe the forwarded certificate from these peers only.

    The proxy verified the chain; the certificate is still checked here against
    the client CA bundle (when one is configured) and its validity dates, so a
    misconfigured proxy that forwards anything does not open the gateway.
    """

    def __init__(self, proxies: str, header: str, client_ca: str = ""):
        self.networks = [ipaddress.ip_network(p.strip(), strict=False) for p in proxies.split(",") if p.strip()]
        self.environ_key = "HTTP_" + header.strip().upper().replace("-", "_")
        self.header = header.strip().lower()
        self.anchors = _load_anchors(client_ca) if client_ca else []
        # Per instance, so the cache goes with the ProxyTrust that filled it.
        self._issued_certificate = functools.lru_cache(maxsize=4096)(self._read_issued_certificate)

    def trusts(self, remote_addr: str | None) -> bool:
        if not remote_addr or not self.networks:
            return False
        try:
            addr = ipaddress.ip_address(remote_addr.split("%", 1)[0])
        except ValueError:
            return False
        return any(addr in net for net in self.networks)

    def caller(self, environ: dict) -> Caller | None:
        if not self.trusts(environ.get("REMOTE_ADDR")):
            return None
        value = environ.get(self.environ_key)
        if not value or value == os.environ.get(self.environ_key):
            return None
        cert = self._issued_certificate(value)
        if cert is None:
            return None
        # Checked on every call: the parse and the issuer's signature are
        # cached per header value, but a cached certificate still expires.
        now = dt.datetime.now(dt.UTC)
        if not (cert.not_valid_before_utc <= now <= cert.not_valid_after_utc):
            log.warning("trusted proxy forwarded a certificate outside its validity: %s", cert.subject.rfc4514_string())
            return None
        return _caller(cert, "proxy")

    def _read_issued_certificate(self, value: str) -> x509.Certificate | None:
        try:
            cert = parse_forwarded_pem(value)
        except ForwardedCertificateError as exc:
            log.warning("trusted proxy sent an unreadable client certificate: %s", exc)
            return None
        if self.anchors and not any(_issued_by(cert, ca) for ca in self.anchors):
            log.warning(
                "trusted proxy forwarded a certificate not issued by a client CA: %s", cert.subject.rfc4514_string()
            )
            return None
        return cert


def _load_anchors(path: str) -> list[x509.Certificate]:
    with open(path, "rb") as f:
        return x509.load_pem_x509_certificates(f.read())


def _issued_by(cert: x509.Certificate, ca: x509.Certificate) -> bool:
    if cert.issuer != ca.subject:
        return False
    key = ca.public_key()
    try:
        if isinstance(key, rsa.RSAPublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, padding.PKCS1v15(), cert.signature_hash_algorithm)
        elif isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(cert.signature_hash_algorithm))
        else:
            return False
    except Exception:
        return False
    return True


class CallerResolver:
    """From a WSGI environ to the caller, whichever way the certificate arrived."""

    def __init__(self, proxy: ProxyTrust | None = None):
        self.proxy = proxy

    def __call__(self, environ: dict) -> Caller | None:
        der = environ.get(PEER_CERT_KEY)
        # bytes only: the process environment (copied into environ by some
        # servers) can only hold strings, so it cannot fake this key.
        if isinstance(der, bytes) and der:
            return caller_from_der(der)
        if self.proxy is not None:
            return self.proxy.caller(environ)
        return None

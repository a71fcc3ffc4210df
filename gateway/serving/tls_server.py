"""Serving with mutual TLS: gunicorn's threaded workers, with the peer certificate in the environ.

granian (the plain-HTTP server) can require client certificates
(``ssl_ca`` + ``ssl_client_verify``) but in 2.8.7 hands the application no
trace of them: its WSGI environ has a fixed set of keys and the verified
certificate is dropped (upstream issue 788; the open ASGI-only change 854).
The caller's HSA id is in that certificate, so with TLS on the gateway is
served by gunicorn's ``gthread`` workers instead: the TLS session is Python's
``ssl`` socket, and the worker below puts its verified peer certificate (DER)
in the environ under a key no header or environment variable can produce.

The context is built once per worker, not per connection as gunicorn's
default factory does: loading the key and the CA bundle per connection cost
more than the request.
"""

from __future__ import annotations

import os
import ssl
import threading

from gunicorn.app.base import BaseApplication
from gunicorn.workers.gthread import ThreadWorker

from intygsgw.config.settings import Settings
from intygsgw.trust.identity import PEER_CERT_KEY

_peer = threading.local()
_contexts: dict[int, ssl.SSLContext] = {}


def _ssl_context(conf, default_factory):
    ctx = _contexts.get(os.getpid())
    if ctx is None:
        ctx = default_factory()
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.verify_mode = ssl.CERT_REQUIRED
        _contexts[os.getpid()] = ctx
    return ctx


class PeerCertificateWorker(ThreadWorker):
    def handle_request(self, req, conn):
        try:
            sock = conn.sock
            _peer.der = sock.getpeercert(binary_form=True) if isinstance(sock, ssl.SSLSocket) else None
        except (ValueError, OSError):
            _peer.der = None
        try:
            return super().handle_request(req, conn)
        finally:
            _peer.der = None

    def load_wsgi(self):
        super().load_wsgi()
        app = self.wsgi

        def with_peer_certificate(environ, start_response):
            der = getattr(_peer, "der", None)
            if der:
                environ[PEER_CERT_KEY] = der
            else:
                environ.pop(PEER_CERT_KEY, None)
            return app(environ, start_response)

        self.wsgi = with_peer_certificate


class TlsGateway(BaseApplication):
    def __init__(self, settings: Settings):
        self.settings = settings
        super().__init__()

    def load_config(self):
        s = self.settings
        for key, value in {
            "bind": [f"{s.host}:{s.port}"],
            "workers": s.workers,
            "threads": s.threads,
            "worker_class": f"{PeerCertificateWorker.__module__}.PeerCertificateWorker",
            "certfile": s.tls_cert,
            "keyfile": s.tls_key or None,
            "ca_certs": s.client_ca,
            "cert_reqs": ssl.CERT_REQUIRED,
            "ssl_context": _ssl_context,
            "graceful_timeout": 30,
            "timeout": 60,
            "keepalive": 75,
            "accesslog": None,
            "loglevel": s.log_level.lower(),
            "proc_name": "intygsgw",
            # HTTP/1.1 only: the peer-certificate hook sits on the HTTP/1 path.
            "http_protocols": "h1",
            # One shared control socket in $HOME would make two gateways on a host collide.
            "control_socket_disable": True,
        }.items():
            self.cfg.set(key, value)

    def load(self):
        from intygsgw.app import wsgi_app  # in the worker, after the fork

        return wsgi_app()


def serve_tls(settings: Settings) -> None:
    if not (settings.tls_cert and settings.client_ca):
        raise ValueError("mutual TLS needs --tls-cert (and --tls-key) and --client-ca")
    TlsGateway(settings).run()


class InternalTlsGateway(TlsGateway):
    """The internal REST API under mutual TLS, on its own port with its own certificate and CA bundle."""

    def load_config(self):
        super().load_config()
        s = self.settings
        for key, value in {
            "bind": [f"{s.internal_host}:{s.internal_port}"],
            "workers": s.internal_workers,
            "certfile": s.internal_tls_cert,
            "keyfile": s.internal_tls_key or None,
            "ca_certs": s.internal_client_ca,
            "proc_name": "intygsgw-internal",
        }.items():
            self.cfg.set(key, value)

    def load(self):
        from intygsgw.app import internal_wsgi_app  # in the worker, after the fork

        return internal_wsgi_app()


def serve_internal_tls(settings: Settings) -> None:
    if not (settings.internal_tls_cert and settings.internal_client_ca):
        raise ValueError(
            "mutual TLS on the internal port needs internal_tls_cert (and internal_tls_key) and internal_client_ca"
        )
    InternalTlsGateway(settings).run()

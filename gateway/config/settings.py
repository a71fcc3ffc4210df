"""Settings: defaults, then a TOML config file, then INTYGSGW_* variables, then flags.

The serving processes are separate from the one that parsed the command line,
so the final settings travel to them as JSON in INTYGSGW_SETTINGS.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

SETTINGS_ENV = "INTYGSGW_SETTINGS"


@dataclass
class Settings:
    db: str = ""  # empty: intygsgw.db in the working directory
    host: str = "127.0.0.1"
    port: int = 8080
    workers: int = 2
    # Request threads per worker. 16 rather than 8: with 32 connections on two
    # workers every request of a worker has a thread, so one can parse while the
    # others wait for the group commit (idle cores 18% -> 14% in
    # benchmarks/register_throughput.py).
    threads: int = 16
    # A request's headers, and a kept-alive connection's next request, must come
    # within header_timeout seconds, and its whole body within body_timeout:
    # a client trickling bytes holds no request thread meanwhile (http.rsgi).
    header_timeout: float = 10.0
    body_timeout: float = 20.0
    # rsgi: bodies are read without holding a request thread, under body_timeout.
    # wsgi: 12-20% more RegisterCertificate/s (with uvloop), for a gateway behind a proxy that
    # buffers whole request bodies (a trickling client then holds a thread).
    front_end: str = "rsgi"
    metrics: bool = True  # Prometheus text at GET /metrics on the SOAP port
    max_body_bytes: int = 15 * 1024 * 1024  # the national platform's default cap
    # FULL (durable: an OK answer survives a power cut; the committer flushes the log after the
    # commit, see intygsgw.storage.db.WalFlush), or SQLite's own NORMAL, EXTRA or OFF.
    sqlite_synchronous: str = "FULL"
    # Seconds a group commit waits for more writes, so that one commit and one flush serve more
    # requests, when its process has had two requests in progress within the last 0.1 s (0: never
    # wait; a lone caller never waits). See intygsgw.storage.batching.
    group_commit_gather: float = 0.002
    # Seconds between the background process's WAL checkpoints. Requests then leave copying the
    # WAL into the database to it (and do it themselves only past 10,000 pages); 0: a committing
    # request checkpoints every 1,000 pages, as SQLite does by default. Often and small: a
    # checkpoint's fsync of the database file delays the commits that fall into it.
    sqlite_checkpoint_every: float = 0.2
    # SQLite reads the database file through a memory map this large at most (0: through read()).
    # Any commit empties every other connection's page cache, so without it a read after one
    # asks the kernel again for each page (a unit's sick-leave list: some 6,000 of them).
    sqlite_mmap_bytes: int = 256 * 1024**3
    recipients_file: str = ""  # empty: the shipped default
    certificate_types_dir: str = ""  # empty: the shipped definitions
    routes_file: str = ""  # TOML routing table for outbound calls; empty: no routes
    retry_delays: str = "1m,5m,30m,1h"  # outbox retry ladder; the last step repeats
    delivery_threads: int = 32
    delivery: bool = True  # run the outbox delivery loop in the serving parent process
    # This gateway's name among those sharing a database (default hostname:port).
    # A restart under the same name takes over the deliveries its predecessor left in flight at once.
    instance_name: str = ""
    clock_offset_file: str = ""  # tests only: seconds to add to the wall clock
    accept_any_path: bool = False  # also take SOAP posted to unknown paths
    log_level: str = "INFO"
    log_format: str = "text"
    # The URL callers reach the gateway at (behind a proxy, say), for `intygsgw wsdl`;
    # empty: http://<host>:<port>. Served WSDLs take theirs from each request.
    public_url: str = ""  # text | json: one JSON object a line, for log shippers
    # -- trust (issue 6) --
    tls_cert: str = ""  # PEM server certificate; with tls_key and client_ca: mutual TLS
    tls_key: str = ""
    client_ca: str = ""  # PEM bundle of the CAs whose client certificates are accepted
    trusted_proxies: str = ""  # comma-separated addresses/networks of TLS-terminating proxies
    client_cert_header: str = "x-vp-auth-cert"  # where such a proxy forwards the client certificate
    authorization: str = "auto"  # on | off | auto (on with TLS or a trusted proxy)
    authorization_file: str = ""  # TOML call authorizations; empty: nobody is authorized
    access_log: bool = True  # the tamper-evident patient-data access log
    validation_persons: str = ""  # comma-separated person ids whose certificates are never sent
    # -- event feeds on ActiveMQ (hub-behaviour §3.5, §3.6); events go through the outbox --
    statistics: bool = False  # publish created/revoked/sent/message-sent for Intygsstatistik
    statistics_queue: str = "certificate.queue"
    # Seconds a statistics event may wait to go out with the ones after it. Intygsstatistik counts,
    # it does not answer anyone; batches four times larger cost each registration less (on/off CPU
    # 1.13 -> 1.07-1.09 in benchmarks/feeds.py). Other queues wait event_linger_seconds (0.5 s).
    statistics_linger: float = 2.0
    # status-update: tell care of a citizen's send with CertificateStatusUpdateForCare (the gateway's own);
    # queue: put the reference's message on notification_queue for Webcert instead. Never both.
    care_notification: str = "status-update"
    notification_queue: str = "internal.notification.queue"
    broker_url: str = "stomp://127.0.0.1:61613"
    # The certificate-service's internal API; set, the gateway consumes its event queue (hub-behaviour §3.7).
    certificate_service_url: str = ""
    certificate_event_queue: str = "intygstjanst.certificate.event.queue"
    broker_user: str = ""
    broker_password: str = ""
    # TOML [sub_units] table: care unit id = [its sub-units], for the sick-leave lists
    # (the reference reads them from the HSA directory); empty: a unit is just itself.
    sub_units_file: str = ""
    validation_retention_days: int = 30  # validation persons' certificates are purged after this
    validation_purge_every: int = 3600  # seconds between purges in the serving parent; 0: never
    # Delivered and discarded outbox items (with their payloads) are deleted once settled this long;
    # dead ones stay until an operator acts. 0: kept for ever.
    outbox_retention_days: int = 30
    # -- XML signatures (issue 6, signing/) --
    signing_ca: str = ""  # PEM bundle(s) of the CAs that issue signing certificates, comma-separated
    signature_policy: str = "auto"  # require | verify-if-present | off | auto (see signature_policy_default)
    signature_policies: str = ""  # per-type overrides, e.g. "lisjp=require, ts-bas=off"
    signing_key: str = ""  # PEM key the gateway signs outbound messages with (routes with sign = true)
    signing_cert: str = ""  # its PEM certificate (intermediates may follow)
    # -- internal REST API (issue 19): Mina intyg, Webcert, Rehabstöd, Intygsadmin --
    # Its own listener, never the SOAP port; 0: off. Trusted callers only, so on
    # loopback unless an operator binds it elsewhere on purpose.
    internal_port: int = 0
    internal_host: str = "127.0.0.1"
    internal_workers: int = 1
    # Mutual TLS on the internal listener (served by gunicorn, as the SOAP side under TLS);
    # the client certificate's SERIALNUMBER is the caller's HSA id.
    internal_tls_cert: str = ""
    internal_tls_key: str = ""
    internal_client_ca: str = ""
    # TOML list of callers and the internal paths each may call (intygsgw.trust.internal_access).
    # Checked when set, and always under internal TLS (no file: every call refused).
    internal_authorization_file: str = ""
    # Folder of the certificate text XML files (root attributes typ, version, giltigFrom) that
    # GET /internalapi/v1/certificatetexts hands out; empty: none.
    certificate_texts_dir: str = ""

    @property
    def tls(self) -> bool:
        return bool(self.tls_cert)

    @property
    def internal_tls(self) -> bool:
        return bool(self.internal_tls_cert)

    @property
    def internal_authorization_required(self) -> bool:
        return self.internal_tls or bool(self.internal_authorization_file.strip())

    @property
    def authorization_required(self) -> bool:
        mode = self.authorization.strip().lower()
        if mode not in ("on", "off", "auto"):
            raise ValueError(f"authorization must be on, off or auto, not {self.authorization!r}")
        if mode == "auto":
            return self.tls or bool(self.trusted_proxies.strip())
        return mode == "on"

    @property
    def signature_policy_default(self) -> str:
        """``auto`` verifies signatures that are present once a signing CA bundle is configured, else off."""
        mode = self.signature_policy.strip().lower()
        if mode == "auto":
            return "verify-if-present" if self.signing_ca.strip() else "off"
        return mode

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> Settings:
        raw = os.environ.get(SETTINGS_ENV)
        return cls(**json.loads(raw)) if raw else cls()


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}


def _coerce(name: str, value):
    kind = type(getattr(Settings(), name))
    if kind is bool and isinstance(value, str):
        return value.strip().lower() in ("1", "true", "yes", "on")
    return kind(value)


def load_settings(config_file: str | None = None, overrides: dict | None = None) -> Settings:
    values: dict = {}
    if config_file:
        data = tomllib.loads(Path(config_file).read_text(encoding="utf-8"))
        unknown = set(data) - set(_FIELDS)
        if unknown:
            raise ValueError(f"{config_file}: unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: _coerce(k, v) for k, v in data.items()})
    for name in _FIELDS:
        env = os.environ.get(f"INTYGSGW_{name.upper()}")
        if env is not None:
            values[name] = _coerce(name, env)
    for name, value in (overrides or {}).items():
        if value is not None:
            values[name] = _coerce(name, value)
    return Settings(**values)

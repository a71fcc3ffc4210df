"""Assembling the gateway from its settings."""

from __future__ import annotations

import gc
import socket
from pathlib import Path

from intygsgw import metrics
from intygsgw.audit.writer import AccessLogWriter
from intygsgw.clock import Clock
from intygsgw.config.care_units import load_sub_units
from intygsgw.config.certificate_texts import load_certificate_texts, texts_stamp
from intygsgw.config.recipient_file import DEFAULT_FILE as RECIPIENTS_FILE
from intygsgw.config.recipient_file import load_recipients
from intygsgw.config.reloadable import Reloadable
from intygsgw.config.settings import Settings
from intygsgw.delivery.deliverer import Deliverer, DeliveryConfig
from intygsgw.delivery.schedule import RetrySchedule, parse_delays
from intygsgw.domain.events import BROKER_ADDRESS, Feeds, queue_contract
from intygsgw.domain.validation_persons import parse_validation_persons
from intygsgw.handlers.notifications import render_status_update
from intygsgw.handlers.rehab_items import render_intygs_data
from intygsgw.http.dispatch import Dispatcher
from intygsgw.http.rsgi import RsgiGateway
from intygsgw.http.wsgi import GatewayApp
from intygsgw.logsafety import configure as configure_logging
from intygsgw.outbound.routing import RoutingTable, load_routes
from intygsgw.outbound.sender import Outbound
from intygsgw.registry import Registry
from intygsgw.rules.catalog import DEFAULT_DIR as TYPES_DIR
from intygsgw.rules.definitions import TypeBook
from intygsgw.service.services import Services
from intygsgw.signing.registration import SignatureCheck
from intygsgw.storage.db import DEFAULT_AUTOCHECKPOINT, default_url, make_engine
from intygsgw.storage.migrate import upgrade
from intygsgw.storage.outbox import destination_key
from intygsgw.storage.uow import Store
from intygsgw.trust.authorization import AuthorizationTable, CallGate, load_authorizations
from intygsgw.trust.identity import CallerResolver, ProxyTrust

# A request allocates a few thousand objects; collecting every 700 allocations
# (the default) ran the collector several times per request.
GC_THRESHOLD_GEN0 = 20_000
# With the background process checkpointing (sqlite_checkpoint_every), a request copies the WAL
# into the database itself only if the WAL has run this far ahead (40 MB) all the same.
BACKGROUND_AUTOCHECKPOINT = 10_000


def database_url(settings: Settings) -> str:
    return settings.db or default_url()


def build_services(settings: Settings, *, migrate: bool = False) -> Services:
    engine = make_engine(
        database_url(settings),
        sqlite_synchronous=settings.sqlite_synchronous,
        pool_size=max(5, settings.threads),
        sqlite_autocheckpoint=BACKGROUND_AUTOCHECKPOINT
        if settings.sqlite_checkpoint_every > 0
        else DEFAULT_AUTOCHECKPOINT,
        sqlite_mmap_bytes=settings.sqlite_mmap_bytes,
    )
    if migrate:
        upgrade(engine)
        # The migrations' hundreds of statements stay in the statement cache of the connections that
        # ran them, and the SQLite driver's cache (pysqlite3) then evicts every new statement at the
        # next miss: a registration prepared all of its 13 statements afresh each time (10% of its
        # instructions). Serving starts on fresh connections instead.
        engine.dispose()
    clock = Clock(settings.clock_offset_file or None)
    routes = Reloadable(settings.routes_file or None, load_routes, RoutingTable())
    types = TypeBook(types_dir(settings), on_reload=metrics.count_type_reload)
    signatures = build_signature_check(settings, types.current().catalog)
    return Services(
        store=Store(engine, on_batch=metrics.observe_batch, gather_seconds=settings.group_commit_gather),
        types=types,
        recipients_source=Reloadable(settings.recipients_file or str(RECIPIENTS_FILE), load_recipients),
        outbound=Outbound(routes.current, today=lambda: clock.local().date(), signer=_gateway_signer(settings)),
        clock=clock,
        validation_persons=parse_validation_persons(settings.validation_persons),
        render_status_update=render_status_update,
        render_sick_leave_item=render_intygs_data,
        signatures=signatures,
        sub_units=Reloadable(settings.sub_units_file, load_sub_units) if settings.sub_units_file else None,
        feeds=feeds_of(settings),
        certificate_texts=(
            Reloadable(settings.certificate_texts_dir, load_certificate_texts, stamp=texts_stamp)
            if settings.certificate_texts_dir
            else None
        ),
    )


def feeds_of(settings: Settings) -> Feeds | None:
    mode = settings.care_notification.strip().lower()
    if mode not in ("status-update", "queue"):
        raise ValueError(f"care_notification must be status-update or queue, not {settings.care_notification!r}")
    feeds = Feeds(
        statistics_queue=settings.statistics_queue.strip() if settings.statistics else None,
        notification_queue=settings.notification_queue.strip() if mode == "queue" else None,
    )
    return feeds if feeds.statistics_queue or feeds.notification_queue else None


def types_dir(settings: Settings) -> Path:
    return Path(settings.certificate_types_dir) if settings.certificate_types_dir else TYPES_DIR


def _gateway_signer(settings: Settings):
    if not settings.signing_key:
        return None
    from intygsgw.signing.sign import load_signing_key

    return load_signing_key(settings.signing_key, settings.signing_cert)


def build_signature_check(settings: Settings, catalog) -> SignatureCheck | None:
    """None when no type is ever verified, so the register path does no signature work at all.

    ``catalog``: the certificate types in force; every type named in
    signature_policies must be one of them.
    """
    from intygsgw.signing.policy import parse_policies
    from intygsgw.signing.trust import load_trust_anchors

    policies = parse_policies(settings.signature_policy_default, settings.signature_policies)
    # A misspelt type would leave that type at the default policy, silently
    # weaker than configured.
    unknown = sorted(name for name in policies.by_type if catalog.resolve(name) is None)
    if unknown:
        raise ValueError(
            f"signature_policies names unknown certificate type(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(catalog.types))}"
        )
    if not policies.ever_verifies:
        return None
    if not settings.signing_ca.strip():
        raise ValueError(
            "signature verification is on (signature_policy/signature_policies) but no signing_ca bundle is configured"
        )
    return SignatureCheck(policies, load_trust_anchors(settings.signing_ca))


def build_deliverer(settings: Settings, services: Services) -> Deliverer:
    lingers = {}
    statistics_queue = services.feeds.statistics_queue if services.feeds is not None else None
    if statistics_queue:
        lingers[destination_key(queue_contract(statistics_queue), BROKER_ADDRESS)] = settings.statistics_linger
    config = DeliveryConfig(
        max_threads=settings.delivery_threads,
        schedule=RetrySchedule(parse_delays(settings.retry_delays)),
        instance=settings.instance_name or f"{socket.gethostname()[:40]}:{settings.port}",
        queue_linger=lingers,
    )
    broker = None
    if services.feeds is not None:
        from intygsgw.outbound.broker import StompPublisher

        broker = StompPublisher(settings.broker_url, settings.broker_user, settings.broker_password)
    return Deliverer(services.store, services.outbound, services.clock, config, broker=broker)


def build_gate(settings: Settings, services: Services) -> CallGate | None:
    if not settings.authorization_required:
        return None
    table = Reloadable(settings.authorization_file or None, load_authorizations, AuthorizationTable())
    return CallGate(table.current, lambda: services.clock.local().date())


def build_caller_resolver(settings: Settings) -> CallerResolver:
    proxy = None
    if settings.trusted_proxies.strip():
        proxy = ProxyTrust(settings.trusted_proxies, settings.client_cert_header, settings.client_ca)
    return CallerResolver(proxy)


def build_app(settings: Settings, *, migrate: bool = False) -> GatewayApp:
    services = build_services(settings, migrate=migrate)
    access_log = AccessLogWriter(services.store) if settings.access_log else None
    dispatcher = Dispatcher(Registry(), services, gate=build_gate(settings, services), access_log=access_log)
    return GatewayApp(dispatcher, settings, build_caller_resolver(settings))


def wsgi_app() -> GatewayApp:
    """Factory for the serving processes; the parent has already migrated."""
    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    app = build_app(settings)
    settle_heap()
    return app


def settle_heap() -> None:
    """Set a serving process's collector up once its long-lived objects are built.

    Schemas, type definitions and the registry live as long as the worker:
    moved out of the collector's sight, they are not re-scanned by every
    collection that the short-lived request objects trigger.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD_GEN0, 20, 20)


def internal_wsgi_app():
    """Factory for the internal REST API's granian workers (intygsgw.serving.server)."""
    from intygsgw.internalapi.app import build_internal_api

    settings = Settings.from_env()
    configure_logging(settings.log_level, settings.log_format)
    services = build_services(settings)
    access_log = AccessLogWriter(services.store) if settings.access_log else None
    return build_internal_api(
        services, access_log, caller=build_caller_resolver(settings), access=build_internal_access(settings)
    )


def build_internal_access(settings: Settings):
    """The internal API's caller list, reloaded on change; None when nobody is checked."""
    if not settings.internal_authorization_required:
        return None
    from intygsgw.trust.internal_access import InternalAccessTable, load_internal_access

    table = Reloadable(settings.internal_authorization_file or None, load_internal_access, InternalAccessTable())
    return table.current


def rsgi_app() -> RsgiGateway:
    """Factory for granian's workers: the WSGI app behind a body reader with a deadline."""
    app = wsgi_app()
    return RsgiGateway(
        app,
        max_body_bytes=app.settings.max_body_bytes,
        body_timeout=app.settings.body_timeout,
        threads=app.settings.threads,
    )

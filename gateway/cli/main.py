"""``intygsgw``: the command line of the gateway."""

from __future__ import annotations

import argparse
import importlib.metadata
import logging
import os
import re
import sys

from intygsgw.config.settings import Settings, load_settings
from intygsgw.errors import GatewayError
from intygsgw.logsafety import configure as configure_logging


def _serve(args) -> int:
    from intygsgw.serving.server import serve, share_metrics_between_processes

    share_metrics_between_processes()  # before the checks below import the metrics client

    settings = load_settings(
        args.config,
        {
            "host": args.host,
            "port": args.port,
            "db": args.db,
            "workers": args.workers,
            "tls_cert": args.tls_cert,
            "tls_key": args.tls_key,
            "client_ca": args.client_ca,
            "authorization_file": args.authorizations,
            "internal_port": args.internal_port,
            "statistics": args.statistics,
            "broker_url": args.broker_url,
        },
    )
    if settings.internal_port and (settings.internal_port == settings.port or not 0 < settings.internal_port < 65536):
        print(
            f"serve: --internal-port {settings.internal_port} must be a port of its own (1-65535), never the SOAP port",
            file=sys.stderr,
        )
        return 2
    if settings.internal_tls and not (settings.internal_client_ca and settings.internal_port):
        print("serve: internal_tls_cert needs internal_client_ca and an internal port", file=sys.stderr)
        return 2
    if settings.tls and not settings.client_ca:
        print("serve: --tls-cert needs --client-ca (the gateway only serves mutual TLS)", file=sys.stderr)
        return 2
    try:
        _ = settings.authorization_required  # reads the authorization file: refuse a bad one now
        if settings.internal_authorization_file:
            from intygsgw.trust.internal_access import load_internal_access

            try:
                load_internal_access(settings.internal_authorization_file)
            except OSError as exc:
                raise ValueError(f"internal_authorization_file: {exc.strerror}: {exc.filename}") from None
        _check_signature_settings(settings)
        configure_logging(settings.log_level, settings.log_format)
        if settings.front_end not in ("rsgi", "wsgi"):
            raise ValueError(f"front_end must be rsgi or wsgi, not {settings.front_end!r}")
    except ValueError as exc:
        print(f"serve: {exc}", file=sys.stderr)
        return 2
    return serve(settings)


def _check_signature_settings(settings) -> None:
    """Raise ValueError with a readable message for a bad policy, CA bundle or signing key."""
    from intygsgw.app import build_signature_check, types_dir
    from intygsgw.rules.definitions import TypeBook
    from intygsgw.signing.sign import load_signing_key

    build_signature_check(settings, TypeBook(types_dir(settings)).current().catalog)
    if bool(settings.signing_key) != bool(settings.signing_cert):
        raise ValueError("signing_key and signing_cert go together")
    if settings.signing_key:
        load_signing_key(settings.signing_key, settings.signing_cert)


def _migrate(args) -> int:
    from intygsgw.app import database_url
    from intygsgw.storage.db import make_engine
    from intygsgw.storage.migrate import current_revision, upgrade

    settings = load_settings(args.config, {"db": args.db})
    engine = make_engine(database_url(settings))
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def _backup(args) -> int:
    from intygsgw.app import database_url
    from intygsgw.storage.backup import back_up_sqlite

    settings = load_settings(args.config, {"db": args.db})
    copy = back_up_sqlite(database_url(settings), args.destination)
    print(
        f"backed up {copy.certificates:,} certificates (schema {copy.revision or 'not migrated'}) "
        f"to {copy.path}: {copy.size / 1e6:,.1f} MB in {copy.seconds:.1f} s"
    )
    return 0


def _wsdl(args) -> int:
    from intygsgw.http.wsdl import render_wsdl
    from intygsgw.registry import Registry

    registry = Registry()
    wanted = [c for c in registry.contracts if f"{c.name}:{c.major}" == args.contract or c.name == args.contract]
    if not wanted:
        names = ", ".join(f"{c.name}:{c.major}" for c in registry.contracts)
        print(f"unknown contract {args.contract!r}; known: {names}", file=sys.stderr)
        return 2
    contract = wanted[-1]
    settings = load_settings(args.config, {"public_url": args.base})
    base = (settings.public_url or f"http://{settings.host}:{settings.port}").rstrip("/")
    sys.stdout.buffer.write(render_wsdl(contract, base + contract.path, base + "/schemas"))
    return 0


def _contracts(_args) -> int:
    from intygsgw.registry import Registry

    for c in Registry().contracts:
        print(f"{c.name} {c.major}\t{c.path}\t{c.errors}")
    return 0


def _stub_recipient(args) -> int:
    from intygsgw.devtools.stub.rules import RuleError
    from intygsgw.devtools.stub.server import StubOptions, serve

    try:
        return serve(
            StubOptions(
                port=args.port,
                host=args.host,
                name=args.name,
                rules_file=args.rules,
                store_file=args.store,
                keep=args.keep,
                threads=args.threads,
            )
        )
    except (RuleError, OSError) as exc:
        print(f"stub-recipient: {exc}", file=sys.stderr)
        return 2


def _store(args):
    # Not through intygsgw.app: operators' commands need the store, not the
    # whole gateway (its import costs more than the command itself).
    from intygsgw.storage.db import default_url, make_engine
    from intygsgw.storage.uow import Store

    settings = load_settings(args.config, {"db": args.db})
    return settings, Store(make_engine(settings.db or default_url()))


def _audit_verify(args) -> int:
    from intygsgw.storage.access_log import verify_chain

    anchors: dict[int, str] = {}
    for anchor in args.anchor or []:
        seq, sep, digest = anchor.partition(":")
        if not (sep and re.fullmatch(r"[0-9]+", seq.strip()) and re.fullmatch(r"[0-9a-fA-F]{64}", digest.strip())):
            print(f"audit verify: --anchor takes ENTRY:HASH as verify printed it, not {anchor!r}", file=sys.stderr)
            return 2
        anchors[int(seq)] = digest.strip().lower()
    _, store = _store(args)
    with store.reading() as uow:
        report = verify_chain(uow.access_log, anchors=anchors)
    for problem in report.problems:
        print(f"BROKEN: {problem}")
    state = "intact" if report.ok else "BROKEN"
    print(f"access log {state}: {report.entries} entries, head entry {report.head_seq} hash {report.head_hash}")
    if report.ok:
        # Kept outside the database, this is what a later verify can check against.
        print(f"anchor: {report.head_seq}:{report.head_hash}")
    return 0 if report.ok else 1


def _when(value: str | None, end: bool = False):
    import datetime as dt

    if not value:
        return None
    try:
        if len(value) == 10:
            day = dt.date.fromisoformat(value)
            return dt.datetime.combine(day + dt.timedelta(days=1) if end else day, dt.time())
        return dt.datetime.fromisoformat(value).replace(tzinfo=None)
    except ValueError:
        raise SystemExit(f"not a date or time (YYYY-MM-DD or YYYY-MM-DDTHH:MM:SS, UTC): {value!r}") from None


def _audit_export(args) -> int:
    import json

    from intygsgw.domain.personnummer import try_parse_person_id

    if not (args.person or args.since or args.until):
        print("audit export: give --person and/or --from/--to", file=sys.stderr)
        return 2
    person = None
    if args.person:
        pid = try_parse_person_id(args.person)
        person = pid.digits if pid else args.person.strip()
    _, store = _store(args)
    out = sys.stdout
    count = 0
    with store.reading() as uow:
        for stored in uow.access_log.entries(
            person_id=person, since=_when(args.since), until=_when(args.until, end=True)
        ):
            out.write(json.dumps(stored.as_json(), ensure_ascii=False) + "\n")
            count += 1
    print(f"{count} entries", file=sys.stderr)
    return 0


def _purge_validation_persons(args) -> int:
    from intygsgw.app import build_services
    from intygsgw.domain.validation_persons import purge_cutoff
    from intygsgw.service.validation_persons import purge_validation_persons

    settings = load_settings(args.config, {"db": args.db})
    services = build_services(settings)
    if not services.validation_persons:
        print("no validation persons are configured (setting validation_persons)", file=sys.stderr)
        return 2
    days = args.older_than if args.older_than is not None else settings.validation_retention_days
    n = purge_validation_persons(services, purge_cutoff(services.clock(), days))
    print(f"purged {n} certificate(s) of validation persons received more than {days} day(s) ago")
    return 0


def _outbox(args) -> int:
    from intygsgw.cli import outbox as outbox_cli
    from intygsgw.clock import Clock

    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)  # keep the listing readable
    settings, store = _store(args)
    return outbox_cli.run(args, store, Clock(settings.clock_offset_file or None).utc())


class _DefaultsShown(argparse.ArgumentDefaultsHelpFormatter):
    def _get_help_string(self, action: argparse.Action) -> str | None:
        # Options that take their default from the settings say so in their help.
        if action.default in (None, False):
            return action.help
        return super()._get_help_string(action)


class _Parser(argparse.ArgumentParser):
    """Every command's --help shows the defaults (subcommands inherit the class)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _DefaultsShown)
        super().__init__(*args, **kwargs)


def _setting(name: str) -> str:
    """How help names a setting's default: the value, and where else it can be set."""
    default = getattr(Settings(), name)
    return f"default: {default!r} (setting {name}, or INTYGSGW_{name.upper()})"


def _conformance(args) -> int:
    from intygsgw.cli.conformance import run

    return run(args)


def main(argv: list[str] | None = None) -> int:
    parser = _Parser(prog="intygsgw", description="RIV-TA certificate gateway")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the SOAP contracts over HTTP")
    p.add_argument("--host", help=_setting("host"))
    p.add_argument("--port", type=int, help=_setting("port"))
    p.add_argument("--db", help="SQLAlchemy URL; default: SQLite file intygsgw.db in the working directory")
    p.add_argument("--workers", type=int, help=_setting("workers"))
    p.add_argument("--config", help="TOML settings file")
    p.add_argument("--tls-cert", help="PEM server certificate: serve HTTPS with mutual TLS")
    p.add_argument("--tls-key", help="PEM key of the server certificate")
    p.add_argument("--client-ca", help="PEM bundle of the CAs that issue accepted client certificates")
    p.add_argument("--authorizations", help="TOML call authorization table (reloaded when it changes)")
    p.add_argument(
        "--internal-port",
        type=int,
        help="serve the internal REST API (/internalapi) on this port; " + _setting("internal_port"),
    )
    p.add_argument("--statistics", choices=("on", "off"), help="publish the statistics feed; " + _setting("statistics"))
    p.add_argument("--broker-url", help="ActiveMQ's STOMP address for the feeds; " + _setting("broker_url"))
    p.set_defaults(func=_serve)

    p = sub.add_parser("audit", help="check or export the patient-data access log")
    audit_sub = p.add_subparsers(dest="audit_command", required=True)
    a = audit_sub.add_parser("verify", help="check the hash chain; exit 1 if any entry was edited or removed")
    a.add_argument(
        "--anchor",
        action="append",
        help="ENTRY:HASH printed by an earlier verify and kept elsewhere; that entry must still be "
        "there unchanged (catches a cut-off tail); may be repeated",
    )
    a.add_argument("--db")
    a.add_argument("--config")
    a.set_defaults(func=_audit_verify)
    a = audit_sub.add_parser("export", help="print entries as JSON lines")
    a.add_argument("--person", help="only this person id")
    a.add_argument("--from", dest="since", help="from this UTC date/time (inclusive)")
    a.add_argument("--to", dest="until", help="to this UTC date (inclusive) or time (exclusive)")
    a.add_argument("--db")
    a.add_argument("--config")
    a.set_defaults(func=_audit_export)

    p = sub.add_parser("purge-validation-persons", help="delete old certificates of the validation persons")
    p.add_argument("--older-than", type=int, help="days; default: setting validation_retention_days")
    p.add_argument("--db")
    p.add_argument("--config")
    p.set_defaults(func=_purge_validation_persons)

    from intygsgw.cli.outbox import add_parser as add_outbox_parser

    add_outbox_parser(sub).set_defaults(func=_outbox)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.add_argument("--db")
    p.add_argument("--config")
    p.set_defaults(func=_migrate)

    p = sub.add_parser(
        "backup", help="copy the embedded SQLite database to a new file while the gateway serves (consistent)"
    )
    p.add_argument("destination", help="the backup file to write; must not exist")
    p.add_argument("--db")
    p.add_argument("--config")
    p.set_defaults(func=_backup)

    p = sub.add_parser("wsdl", help="print the WSDL of a contract (e.g. RegisterCertificate:3)")
    p.add_argument("contract")
    p.add_argument(
        "--base",
        help="the URL callers reach the gateway at; "
        + _setting("public_url")
        + "; empty: http://<host>:<port> of the settings",
    )
    p.add_argument("--config", help="TOML settings file")
    p.set_defaults(func=_wsdl)

    p = sub.add_parser("contracts", help="list the served contracts and their paths")
    p.set_defaults(func=_contracts)

    from intygsgw.cli.conformance import add_arguments as add_conformance_arguments

    p = sub.add_parser("conformance", help="run the contract test suite against a hub or a receiver")
    add_conformance_arguments(p)
    p.set_defaults(func=_conformance)

    p = sub.add_parser("stub-recipient", help="run a stand-in recipient that records what it gets (dev and tests)")
    p.add_argument("--port", type=int, required=True, help="where to listen")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on")
    p.add_argument("--rules", help="JSON file of behaviour rules (one object or a list)")
    p.add_argument("--name", default="stub-recipient", help="shown in logs and /_stub/health")
    p.add_argument("--store", help="also append every received message to this JSONL file")
    p.add_argument("--keep", type=int, default=100_000, help="messages kept in memory (oldest dropped)")
    p.add_argument("--threads", type=int, default=8, help="request threads (a delayed answer holds one)")
    p.set_defaults(func=_stub_recipient)

    from intygsgw.cli.care_provider import add_commands as add_care_provider_commands

    add_care_provider_commands(sub)  # export, erase, import

    from intygsgw.cli.signing import add_commands as add_signing_commands

    add_signing_commands(sub)  # keys create, verify, sign

    args = parser.parse_args(argv)
    configure_logging(logging.INFO)
    try:
        return args.func(args) or 0
    except GatewayError as exc:
        # A bad file, setting or missing driver: the message says what to fix; a traceback would not.
        print(f"intygsgw {args.command}: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # Output piped to head and cut short: not an error worth a traceback.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _version() -> str:
    try:
        return importlib.metadata.version("intygsgw")
    except importlib.metadata.PackageNotFoundError:
        return "unknown (not installed)"

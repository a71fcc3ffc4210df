"""``intygsgw``: the command line of the gateway."""
from __future__ import annotations

import argparse
import logging
import sys

from .config import load_settings


def _serve(args) -> int:
    from .server import serve

    settings = load_settings(args.config, {
        "host": args.host, "port": args.port, "db": args.db, "workers": args.workers,
    })
    return serve(settings)


def _migrate(args) -> int:
    from storage.db import make_engine
    from storage.migrate import current_revision, upgrade

    from .app import database_url

    settings = load_settings(args.config, {"db": args.db})
    engine = make_engine(database_url(settings))
    upgrade(engine)
    print(f"database at revision {current_revision(engine)}")
    return 0


def _wsdl(args) -> int:
    from .registry import Registry
    from .wsdl import render_wsdl

    registry = Registry()
    wanted = [c for c in registry.contracts if f"{c.name}:{c.major}" == args.contract or c.name == args.contract]
    if not wanted:
        names = ", ".join(f"{c.name}:{c.major}" for c in registry.contracts)
        print(f"unknown contract {args.contract!r}; known: {names}", file=sys.stderr)
        return 2
    contract = wanted[-1]
    sys.stdout.buffer.write(render_wsdl(contract, args.base.rstrip("/") + contract.path, args.base.rstrip("/") + "/schemas"))
    return 0


def _contracts(_args) -> int:
    from .registry import Registry

    for c in Registry().contracts:
        print(f"{c.name} {c.major}\t{c.path}\t{c.errors}")
    return 0


def _stub_recipient(args) -> int:
    from .stub.rules import RuleError
    from .stub.server import StubOptions, serve

    try:
        return serve(StubOptions(port=args.port, host=args.host, name=args.name, rules_file=args.rules,
                                 store_file=args.store, keep=args.keep, threads=args.threads))
    except (RuleError, OSError) as exc:
        print(f"stub-recipient: {exc}", file=sys.stderr)
        return 2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="intygsgw", description="RIV-TA certificate gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="serve the SOAP contracts over HTTP")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--db", help="SQLAlchemy URL; default: SQLite file intygsgw.db here")
    p.add_argument("--workers", type=int)
    p.add_argument("--config", help="TOML settings file")
    p.set_defaults(func=_serve)

    p = sub.add_parser("migrate", help="create or upgrade the database schema")
    p.add_argument("--db")
    p.add_argument("--config")
    p.set_defaults(func=_migrate)

    p = sub.add_parser("wsdl", help="print the WSDL of a contract (e.g. RegisterCertificate:3)")
    p.add_argument("contract")
    p.add_argument("--base", default="http://localhost:8080")
    p.set_defaults(func=_wsdl)

    p = sub.add_parser("contracts", help="list the served contracts and their paths")
    p.set_defaults(func=_contracts)

    p = sub.add_parser("stub-recipient", help="run a stand-in recipient that records what it gets (dev and tests)")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--rules", help="JSON file of behaviour rules (one object or a list)")
    p.add_argument("--name", default="stub-recipient", help="shown in logs and /_stub/health")
    p.add_argument("--store", help="also append every received message to this JSONL file")
    p.add_argument("--keep", type=int, default=100_000, help="messages kept in memory (oldest dropped)")
    p.add_argument("--threads", type=int, default=8, help="request threads (a delayed answer holds one)")
    p.set_defaults(func=_stub_recipient)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    return args.func(args) or 0


if __name__ == "__main__":
    sys.exit(main())

"""``intygsgw outbox``: what operators see of the durable deliveries, and what they can do.

A destination is written as a logical address (``FKORG``) or as
``Contract:major@address`` (``RevokeCertificate:2@FKORG``) to pick one queue.
Every read and change goes through intygsgw.storage.outbox.OutboxRepository, so the
command works the same on SQLite and PostgreSQL and beside running gateways:
a retried item is due at once and the delivery loop picks it up on its next
round; a discarded one is never sent.
"""

from __future__ import annotations

import argparse
import datetime as dt
import getpass
import json
import os
import sys

from intygsgw.audit import Access
from intygsgw.audit.writer import AccessLogWriter
from intygsgw.domain.records import OutboxItem
from intygsgw.errors import GatewayError
from intygsgw.outbound.routing import RouteFileError, contract_namespace, short_name
from intygsgw.storage.outbox import STATES

LIST_LIMIT = 100


class UsageError(GatewayError, ValueError):
    pass


def _filters(args) -> dict:
    contract = None
    destination = args.destination
    if destination and "@" in destination:
        name, _, destination = destination.partition("@")
        contract = name
    if getattr(args, "contract", None):
        contract = args.contract
    if contract:
        try:
            contract = contract_namespace(contract.strip())
        except RouteFileError as exc:
            raise UsageError(str(exc)) from None
    state = args.state.upper() if args.state else None
    if state and state not in STATES:
        raise UsageError(f"unknown state {args.state!r}; one of {', '.join(STATES)}")
    return {
        "destination": destination or None,
        "state": state,
        "contract": contract,
        "reference": getattr(args, "reference", None),
    }


def _when(value: dt.datetime | None) -> str:
    return value.isoformat(sep=" ", timespec="seconds") if value else "-"


def _line(item: OutboxItem) -> str:
    error = (item.last_error or "").replace("\n", " ")
    if len(error) > 60:
        error = error[:57] + "..."
    due = _when(item.next_attempt_at) if item.state == "PENDING" else _when(item.delivered_at or item.updated_at)
    return (
        f"{item.id:>8}  {item.state:<9} {item.attempts:>3}  {due:<19}  "
        f"{short_name(item.contract) + ' @ ' + item.logical_address:<45} {item.kind:<12} {item.reference}"
        + (f"  [{error}]" if error else "")
    )


def _list(store, args) -> int:
    filters = _filters(args)
    with store.reading() as uow:
        if args.summary:
            rows = uow.outbox.counts(
                destination=filters["destination"], state=filters["state"], contract=filters["contract"]
            )
        else:
            items = uow.outbox.find(limit=args.limit, **filters)
    if args.summary:
        print(f"{'destination':<50} {'state':<9} {'items':>8}")
        for contract, address, state, n in rows:
            print(f"{short_name(contract) + ' @ ' + address:<50} {state:<9} {n:>8}")
        return 0
    if args.json:
        for item in items:
            print(json.dumps(_as_json(item, with_payload=False), ensure_ascii=False))
        return 0
    print(f"{'id':>8}  {'state':<9} {'try':>3}  {'next/settled (UTC)':<19}  {'destination':<45} {'kind':<12} reference")
    for item in items:
        print(_line(item))
    more = " (newest first; --limit to see more)" if len(items) == args.limit else ""
    print(f"{len(items)} item(s){more}", file=sys.stderr)
    return 0


def _as_json(item: OutboxItem, with_payload: bool) -> dict:
    out = {
        "id": item.id,
        "state": item.state,
        "destination": f"{short_name(item.contract)}@{item.logical_address}",
        "contract": item.contract,
        "logical_address": item.logical_address,
        "kind": item.kind,
        "reference": item.reference,
        "attempts": item.attempts,
        "next_attempt_at": _when(item.next_attempt_at),
        "last_error": item.last_error,
        "correlation_id": item.correlation_id,
        "created_at": _when(item.created_at),
        "updated_at": _when(item.updated_at),
        "delivered_at": _when(item.delivered_at) if item.delivered_at else None,
    }
    if with_payload:
        out["payload"] = item.payload.decode("utf-8", errors="replace")
    return out


def _operator() -> str:
    try:
        return "operator:" + getpass.getuser()
    except (KeyError, OSError):  # no passwd entry for the uid (containers)
        return f"operator:uid {os.getuid()}"


def _log_payload_read(store, item: OutboxItem) -> None:
    """A payload is patient data (a revocation, a certificate, an ärende): reading it is logged like a call."""
    with store.reading() as uow:
        record = uow.certificates.get(item.reference)
        if record is None:  # a relayed message is queued under its meddelande-id
            message = uow.messages.get(item.reference)
            record = uow.certificates.get(message.certificate_id) if message else None
    access = Access(
        caller=_operator(),
        original_consumer="",
        acting_on_behalf="",
        contract="outbox show",
        logical_address=item.logical_address,
    )
    access.add(record.person_id if record else None, [record.id if record else item.reference])
    AccessLogWriter(store).write(access, "OK")


def _show(store, args) -> int:
    with store.reading() as uow:
        item = uow.outbox.get(args.id)
    if item is None:
        print(f"outbox show: no item {args.id}", file=sys.stderr)
        return 1
    _log_payload_read(store, item)  # before anything is shown: no entry, no payload
    data = _as_json(item, with_payload=True)
    if args.json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    payload = data.pop("payload")
    for key, value in data.items():
        print(f"{key + ':':<17} {'-' if value is None else value}")
    print("payload:")
    print(payload)
    return 0


def _selected_ids(store, args, verb: str) -> list[int]:
    filters = _filters(args)
    if args.ids and any(filters.values()):
        raise UsageError(f"outbox {verb}: give item ids or filters, not both")
    if args.ids:
        return list(args.ids)
    if not any(filters.values()):
        raise UsageError(
            f"outbox {verb}: give item ids, or --destination/--state/--contract/--reference to select items"
        )
    with store.reading() as uow:
        return uow.outbox.find_ids(**filters)


def _change(store, args, verb: str, now: dt.datetime) -> int:
    ids = _selected_ids(store, args, verb)
    with store.writing() as uow:
        changed = uow.outbox.retry_now(ids, now) if verb == "retry" else uow.outbox.discard(ids, now)
        uow.commit()
    skipped = len(ids) - changed
    done = "due now" if verb == "retry" else "discarded"
    why = (
        "only PENDING and DEAD items not in flight can be retried"
        if verb == "retry"
        else "only PENDING and DEAD items can be discarded"
    )
    print(f"{changed} item(s) {done}" + (f"; {skipped} left alone ({why})" if skipped else ""))
    return 0 if changed or not ids else 1


def run(args, store, now: dt.datetime) -> int:
    try:
        if args.outbox_command == "list":
            return _list(store, args)
        if args.outbox_command == "show":
            return _show(store, args)
        return _change(store, args, args.outbox_command, now)
    except UsageError as exc:
        print(str(exc), file=sys.stderr)
        return 2


def add_parser(sub) -> argparse.ArgumentParser:
    p = sub.add_parser("outbox", help="list, inspect, retry or discard queued deliveries")
    outbox_sub = p.add_subparsers(dest="outbox_command", required=True)

    def common(q, filters: bool = True):
        q.add_argument("--db")
        q.add_argument("--config")
        if filters:
            q.add_argument("--destination", help="logical address, or Contract:major@address for one queue")
            q.add_argument("--state", help=f"one of {', '.join(STATES)}")
            q.add_argument("--contract", help="e.g. RevokeCertificate:2")
            q.add_argument("--reference", help="certificate or message id")

    q = outbox_sub.add_parser("list", help="queued items, newest first")
    common(q)
    q.add_argument("--limit", type=int, default=LIST_LIMIT)
    q.add_argument("--summary", action="store_true", help="items per destination and state instead")
    q.add_argument("--json", action="store_true", help="one JSON object per line")
    q = outbox_sub.add_parser("show", help="one item with its payload")
    common(q, filters=False)
    q.add_argument("id", type=int)
    q.add_argument("--json", action="store_true")
    q = outbox_sub.add_parser("retry", help="make PENDING or DEAD items due now")
    common(q)
    q.add_argument("ids", type=int, nargs="*")
    q = outbox_sub.add_parser("discard", help="never deliver these PENDING or DEAD items")
    common(q)
    q.add_argument("ids", type=int, nargs="*")
    return p

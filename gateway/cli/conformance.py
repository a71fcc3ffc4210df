"""``intygsgw conformance`` and ``rivta-conformance``: the contract test suite from the command line."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from intygsgw.conformance import report
from intygsgw.conformance.cases import CASES_DIR, CaseFileError, for_each_type, load_cases
from intygsgw.conformance.runner import Schemas, Target, run_suite
from intygsgw.devtools import samples

RECEIVER_CONTRACTS = (
    "RegisterCertificate:3",
    "RevokeCertificate:2",
    "SendMessageToRecipient:2",
    "SendMessageToCare:2",
    "CertificateStatusUpdateForCare:3",
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="mode", required=True)
    p = sub.add_parser("producer", help="test a hub over its SOAP contracts")
    p.add_argument("--base-url", required=True, help="the hub's base URL; each contract's path is appended")
    p.add_argument(
        "--logical-address",
        default=samples.HUB_ADDRESS,
        help="the logical address to send (LogicalAddress header; WS-Addressing To on rivtabp20)",
    )
    p.add_argument("--read-only", action="store_true", help="run only the cases that write nothing")
    p.add_argument("--person", default=samples.PATIENT, help="the test person the cases register for")
    _common(p)
    r = sub.add_parser("receiver", help="test a recipient's endpoint as the hub calls it")
    r.add_argument("--url", required=True, help="the receiver's endpoint for --contract")
    r.add_argument("--contract", required=True, choices=RECEIVER_CONTRACTS)
    r.add_argument(
        "--also",
        action="append",
        default=[],
        metavar="CONTRACT=URL",
        help="where a case's other contract goes (e.g. RegisterCertificate:3=URL before a revocation); default --url",
    )
    r.add_argument("--types", help="comma-separated certificate types to send (default: every type with a definition)")
    r.add_argument("--person", default=samples.PATIENT)
    _common(r)
    c = sub.add_parser("consumer", help="a stand-in hub for a journal system's client: checks and records its calls")
    c.add_argument("--port", type=int, default=8089)
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--scenario", type=Path, action="append", default=[], help="a TOML file of recorded answers")
    c.add_argument(
        "--hub", help="the hub that answers what no scenario does (default: this gateway on a throwaway database)"
    )
    c.add_argument("--seconds", type=float, help="stop after this long (default: at Ctrl-C)")
    c.add_argument("--junit", type=Path, help="write a JUnit XML report here: one test case per call")
    c.add_argument("--html", type=Path, help="write a self-contained HTML report with every call")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--cases", type=Path, help="a folder of your own case files, run after the shipped ones")
    p.add_argument(
        "--contracts",
        type=Path,
        default=os.environ.get("INTYGSGW_RIVTA_DIR"),
        help="the published RIV-TA folder to check answers against (default: the project's equivalent schemas)",
    )
    p.add_argument("--tls-cert", help="client certificate (PEM) for mutual TLS")
    p.add_argument("--tls-key", help="its private key (PEM)")
    p.add_argument("--tls-ca", help="CA bundle that signed the server's certificate")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for an answer")
    p.add_argument("--junit", type=Path, help="write a JUnit XML report here")
    p.add_argument("--html", type=Path, help="write a self-contained HTML report with every request and answer")
    p.add_argument("--only", help="run only cases whose name contains this text")
    p.add_argument("--quiet", action="store_true", help="print only failures and the summary")


def run(args: argparse.Namespace) -> int:
    if args.mode == "consumer":
        return _consumer(args)
    try:
        cases = _cases(args)
    except CaseFileError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    if not cases:
        print("conformance: no cases to run", file=sys.stderr)
        return 2
    cert = (args.tls_cert, args.tls_key) if args.tls_cert else None
    verify: str | bool = args.tls_ca or True
    if args.mode == "producer":
        target = Target(args.base_url, args.logical_address, timeout=args.timeout, cert=cert, verify=verify)
    else:
        urls = {}
        for item in args.also:
            contract, _, url = item.partition("=")
            urls[contract] = url
        target = Target("", fixed_url=args.url, urls=urls, timeout=args.timeout, cert=cert, verify=verify)
    schemas = Schemas(Path(args.contracts) if args.contracts else None)

    def on_done(outcome, index, total):
        if not args.quiet or not outcome.passed:
            report.progress_line(outcome, index, total)

    outcomes = run_suite(
        cases, target, schemas, person=args.person, read_only=getattr(args, "read_only", False), on_done=on_done
    )
    title = f"RIV-TA conformance, {args.mode} mode, {args.base_url if args.mode == 'producer' else args.url}"
    report.summary(outcomes, schemas.notes)
    if args.junit:
        report.write_junit(outcomes, args.junit, f"conformance-{args.mode}")
    if args.html:
        report.write_html(outcomes, args.html, title, schemas.notes)
    return 0 if all(o.passed for o in outcomes) else 1


def _cases(args: argparse.Namespace):
    if args.mode == "producer":
        cases = load_cases(CASES_DIR / "producer")
    else:
        from intygsgw.conformance.material import types_with_definitions

        cases = [c for c in load_cases(CASES_DIR / "receiver") if c.steps[-1].contract == args.contract]
        if not cases and not args.cases:
            raise CaseFileError(f"no receiver cases for {args.contract} are shipped yet; give your own with --cases")
        types = [t.strip() for t in args.types.split(",")] if args.types else types_with_definitions()
        cases = for_each_type(cases, types)
    if args.cases:
        cases += load_cases(args.cases)
    if args.only:
        cases = [c for c in cases if args.only in c.name]
    return cases


def _consumer(args: argparse.Namespace) -> int:
    import shutil
    import signal
    import subprocess
    import tempfile
    import threading

    from intygsgw.conformance.cases import Case
    from intygsgw.conformance.consumer import StandInHub, load_scenarios
    from intygsgw.conformance.runner import Exchange, Outcome

    try:
        answers = load_scenarios(args.scenario)
    except CaseFileError as exc:
        print(f"conformance: {exc}", file=sys.stderr)
        return 2
    hub_proc = None
    folder = None
    hub_url = args.hub
    if not hub_url:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        folder = tempfile.mkdtemp(prefix="conformance-hub-")
        hub_proc = subprocess.Popen(
            [sys.executable, "-m", "intygsgw.cli", "serve", "--port", str(port), "--workers", "1"],
            cwd=folder,
            env={**os.environ, "INTYGSGW_DELIVERY": "false", "INTYGSGW_DB": f"sqlite:///{folder}/hub.db"},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        hub_url = f"http://127.0.0.1:{port}"
        _wait_for(hub_url + "/healthz", hub_proc)
    server = StandInHub(args.port, hub_url, answers, args.host)
    print(f"stand-in hub on http://{args.host}:{server.server_address[1]}, answering from "
          f"{len(answers)} scenario answer(s) and {hub_url}", flush=True)  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        stop.wait(args.seconds)
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        if hub_proc is not None:
            os.killpg(hub_proc.pid, signal.SIGTERM)
            hub_proc.wait(30)
        if folder is not None:
            # The stand-in's own hub lives for this run only: its database goes with it.
            shutil.rmtree(folder, ignore_errors=True)
    outcomes = [
        Outcome(
            Case(f"call {n}: {call.contract} (answered by the {call.answered_by})", "consumer", ()),
            passed=call.valid,
            reasons=call.problems,
            exchanges=[Exchange(call.contract, "", call.request, call.status, call.answer, call.seconds)],
            seconds=call.seconds,
        )
        for n, call in enumerate(server.calls, start=1)
    ]
    for index, outcome in enumerate(outcomes, start=1):
        report.progress_line(outcome, index, len(outcomes))
    report.summary(outcomes)
    if args.junit:
        report.write_junit(outcomes, args.junit, "conformance-consumer")
    if args.html:
        report.write_html(outcomes, args.html, "RIV-TA conformance, consumer mode")
    return 0 if all(o.passed for o in outcomes) else 1


def _wait_for(url: str, proc, timeout: float = 60.0) -> None:
    import time

    import requests

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("conformance: the embedded hub did not start")
        try:
            if requests.get(url, timeout=1).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.2)
    raise SystemExit("conformance: the embedded hub did not answer in time")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="rivta-conformance", description=__doc__)
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())

"""What XML-signature verification costs: per message, and on RegisterCertificate over HTTP.

    python benchmarks/signature_verify.py [--iterations 2000] [--seconds 8] [--clients 8] [--workers 2]

1. Per-message cost, in process, for a ~10 KB LISJP intyg signed with
   RSA-2048 and with ECDSA P-256 (SHA-256, exclusive c14n): p50/p99 of
   ``verify_intyg_signature`` alone and of the register-path check (parse
   the stored RegisterCertificate element, find the intyg, verify), plus
   parsing the same bytes as the baseline they are compared with.
2. RegisterCertificate throughput over HTTP (granian, durable SQLite), the
   same signed requests sent to a gateway with ``signature_policy = off``
   (the baseline) and with ``require``, interleaved rounds in one run; the
   median rates and their ratio are printed.

Keys and certificates are made on the spot (intygsgw.devtools.devpki). Nothing here
asserts: the figures are read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import multiprocessing as mp
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The same client as the register benchmark, so the scripts' figures compare.
from register_throughput import PATH, connect, load_with_python_clients  # noqa: E402  (this folder is on sys.path)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    s = sorted(samples)
    return s[len(s) // 2] * 1e6, s[min(len(s) - 1, int(len(s) * 0.99))] * 1e6


def _timed(fn, iterations: int) -> tuple[float, float]:
    for _ in range(min(50, iterations)):
        fn()
    samples = []
    for _ in range(iterations):
        t = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t)
    return _percentiles(samples)


def per_message(work: Path, iterations: int) -> None:
    from lxml import etree

    from intygsgw.devtools.devpki import DevCA
    from intygsgw.devtools.samples import CertificateSpec
    from intygsgw.devtools.samples.signed import signed_register_certificate
    from intygsgw.signing.policy import parse_policies
    from intygsgw.signing.registration import SignatureCheck
    from intygsgw.signing.sign import load_signing_key
    from intygsgw.signing.trust import load_trust_anchors
    from intygsgw.signing.verify import verify_intyg_signature
    from intygsgw.soap.source import element_source

    ca = DevCA(work / "per-message")
    trust = load_trust_anchors(str(ca.cert_path))
    check = SignatureCheck(parse_policies("require"), trust)
    print(f"per-message cost, {iterations} iterations each (µs)")
    print(f"{'':28s} {'p50':>8s} {'p99':>8s}")
    for kind, label in (("rsa", "RSA-2048"), ("ec", "ECDSA P-256")):
        issued = ca.signer("SE2321000016-1R2F", key_kind=kind)
        request = signed_register_certificate(
            CertificateSpec(certificate_id=f"bench-{kind}"), load_signing_key(issued.key_path, issued.cert_path)
        )
        envelope = etree.fromstring(request)
        body = envelope[-1][0]
        source = element_source(request, body)
        start = source.xml.index(b"<r:intyg")
        intyg = source.xml[start : source.xml.index(b"</r:intyg>") + len(b"</r:intyg>")]
        assert verify_intyg_signature(intyg, trust).valid
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)

        parsed_intyg = body[0]

        # Each timed call is bound to this round's certificate now, not when it runs.
        def register_check(kind=kind, source=source, now=now, parsed_intyg=parsed_intyg):
            outcome = check.check_registration(
                type_id="lisjp",
                type_code="LISJP",
                certificate_id=f"bench-{kind}",
                person_digits="191212121212",
                document=source.xml,
                namespaces=source.inherited_namespaces,
                now=now,
                parsed_intyg=parsed_intyg,
            )
            assert outcome.refused is None

        rows = [
            ("parse the intyg (baseline)", lambda intyg=intyg: etree.fromstring(intyg)),
            ("verify_intyg_signature", lambda intyg=intyg: verify_intyg_signature(intyg, trust)),
            ("register-path check", register_check),
        ]
        print(f"{label} ({len(intyg):,} bytes of intyg)")
        for name, fn in rows:
            p50, p99 = _timed(fn, iterations)
            print(f"  {name:26s} {p50:8.0f} {p99:8.0f}")


# -- over HTTP -------------------------------------------------------------------


def _sign_batch(job) -> list[bytes]:
    key_path, cert_path, ids = job
    from intygsgw.devtools.samples import CertificateSpec
    from intygsgw.devtools.samples.signed import signed_register_certificate
    from intygsgw.signing.sign import load_signing_key

    key = load_signing_key(key_path, cert_path)
    return [signed_register_certificate(CertificateSpec(certificate_id=cid), key) for cid in ids]


def run(policy: str, work: Path, envelopes: list[bytes], ca_path: Path, args, round_no: int) -> float:
    from tests.support.server import GatewayProcess

    env = {"INTYGSGW_DELIVERY": "false", "INTYGSGW_SIGNING_CA": str(ca_path), "INTYGSGW_SIGNATURE_POLICY": policy}
    gw = GatewayProcess(work / f"{policy}-{round_no}", workers=args.workers, extra_env=env).start()
    per_client = (len(envelopes) - 100) // args.clients
    try:
        warm = connect(gw.port)
        for body in envelopes[-100:]:
            warm.request("POST", PATH, body, {"Content-Type": "text/xml"})
            warm.getresponse().read()
        chunks = [envelopes[i * per_client : (i + 1) * per_client] for i in range(args.clients)]
        latencies, errors, elapsed = load_with_python_clients(gw.port, chunks, args.seconds)
    finally:
        gw.stop()
    n = len(latencies)
    rate = n / elapsed
    exhausted = " (ran out of prepared requests: raise --per-client)" if n >= per_client * args.clients else ""
    print(
        f"policy {policy:8s} round {round_no + 1}  {rate:8,.0f} req/s   p50 {latencies[n // 2] * 1000:6.2f} ms   "
        f"p99 {latencies[int(n * 0.99)] * 1000:6.2f} ms   requests {n}   errors {errors}{exhausted}",
        flush=True,
    )
    return rate


def over_http(work: Path, args) -> None:
    from intygsgw.devtools.devpki import DevCA
    from intygsgw.devtools.samples.certificates import unique_certificate_ids

    ca = DevCA(work / "http")
    issued = ca.signer("SE2321000016-1R2F", key_kind=args.key)
    total = args.clients * args.per_client + 100
    print(f"\nsigning {total} distinct certificates ({args.key}) ...", flush=True)
    ids = unique_certificate_ids(total, args.seed)
    batches = [(str(issued.key_path), str(issued.cert_path), ids[i : i + 500]) for i in range(0, total, 500)]
    with mp.Pool() as pool:
        envelopes = [e for batch in pool.map(_sign_batch, batches) for e in batch]
    print(
        f"RegisterCertificate over HTTP: {args.clients} clients, {args.workers} workers, "
        f"{args.seconds:.0f} s per configuration, {args.rounds} interleaved rounds"
    )
    rates: dict[str, list[float]] = {"off": [], "require": []}
    for r in range(args.rounds):
        for policy in rates:
            rates[policy].append(run(policy, work, envelopes, ca.cert_path, args, r))
    off, require = statistics.median(rates["off"]), statistics.median(rates["require"])
    print(f"median policy off     {off:8,.0f} req/s")
    print(f"median policy require {require:8,.0f} req/s   ratio require / off: {require / off:.2f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iterations", type=int, default=2000, help="per-message measurements per row")
    ap.add_argument("--seconds", type=float, default=8)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--per-client", type=int, default=1200, help="signed certificates prepared per client")
    ap.add_argument("--key", choices=("rsa", "ec"), default="rsa", help="signing key of the HTTP requests")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--skip-http", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="intygsgw-signature-bench-"))
    per_message(work, args.iterations)
    if not args.skip_http:
        over_http(work, args)


if __name__ == "__main__":
    main()

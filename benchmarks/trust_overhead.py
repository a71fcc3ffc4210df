"""What trust costs: RegisterCertificate with mutual TLS + authorization + access log vs all off.

    python benchmarks/trust_overhead.py [--seconds 10] [--clients 8] [--workers 2]

Starts, one after the other in the same run, gateways with the default
durable SQLite store:

  off        plain HTTP (granian), no authorization, no access log  — the baseline
  log        plain HTTP (granian), access log on
  tls        mutual TLS (gunicorn gthread), authorization on, no access log
  tls+log    mutual TLS, authorization on, access log on
  all        mutual TLS, authorization, access log and signature_policy = require — everything on

and sends distinct ~10 KB LISJP certificates, each signed by a doctor's RSA key
(the same bytes to every configuration), from several client processes on
keep-alive connections (TLS sessions are set up once per client, as a journal
system's connection pool does). Prints requests/s, p50/p99 latency and each
configuration's ratio to the baseline. Keys and certificates are made on the
spot (tests/support/pki.py). Nothing here asserts: the figures are read.
(benchmarks/signature_verify.py breaks the signature cost down per message.)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

# The same client as the register benchmark, so the two scripts' figures compare.
from register_throughput import PATH, connect, load_with_python_clients  # noqa: E402  (this folder is on sys.path)

CALLER = "SE2321000016-BENCH"


def _sign_batch(job) -> list[bytes]:
    key_path, cert_path, ids = job
    from intygsgw.devtools.samples.certificates import CertificateSpec
    from intygsgw.devtools.samples.signed import signed_register_certificate
    from intygsgw.signing.sign import load_signing_key

    key = load_signing_key(key_path, cert_path)
    return [signed_register_certificate(CertificateSpec(certificate_id=cid), key) for cid in ids]


def make_envelopes(n: int, seed: int, signer) -> list[bytes]:
    from intygsgw.devtools.samples.certificates import unique_certificate_ids

    ids = unique_certificate_ids(n, seed)
    batches = [(str(signer.key_path), str(signer.cert_path), ids[i : i + 500]) for i in range(0, n, 500)]
    with mp.Pool() as pool:
        return [e for batch in pool.map(_sign_batch, batches) for e in batch]


def run(
    name: str,
    work: Path,
    envelopes: list[bytes],
    args,
    pki,
    tls: bool,
    access_log: bool,
    round_no: int = 0,
    signatures: bool = False,
) -> float:
    from tests.support.server import GatewayProcess

    env = {"INTYGSGW_DELIVERY": "false", "INTYGSGW_ACCESS_LOG": "true" if access_log else "false"}
    if signatures:
        env |= {"INTYGSGW_SIGNING_CA": str(pki["ca"].cert_path), "INTYGSGW_SIGNATURE_POLICY": "require"}
    extra, https, client_tls = [], None, None
    if tls:
        auth = work / f"{name}-authorizations.toml"
        auth.write_text(f'[[authorization]]\nconsumer = "{CALLER}"\ncontract = "*"\nlogical_address = "*"\n')
        extra = [
            "--tls-cert",
            str(pki["server"].cert_path),
            "--tls-key",
            str(pki["server"].key_path),
            "--client-ca",
            str(pki["ca"].cert_path),
            "--authorizations",
            str(auth),
        ]
        https = {"cert": pki["client"].pair, "verify": str(pki["ca"].cert_path)}
        client_tls = {
            "ca": str(pki["ca"].cert_path),
            "cert": str(pki["client"].cert_path),
            "key": str(pki["client"].key_path),
        }
    gw = GatewayProcess(
        work / f"{name}-{round_no}", workers=args.workers, extra_env=env, extra_args=extra, https=https
    ).start()
    total = args.clients * args.per_client
    try:
        warm = connect(gw.port, client_tls)
        for body in envelopes[total : total + 200]:
            warm.request("POST", PATH, body, {"Content-Type": "text/xml"})
            warm.getresponse().read()
        chunks = [envelopes[i * args.per_client : (i + 1) * args.per_client] for i in range(args.clients)]
        latencies, errors, elapsed = load_with_python_clients(gw.port, chunks, args.seconds, client_tls)
    finally:
        gw.stop()
    n = len(latencies)
    rate = n / elapsed
    print(
        f"{name:8s} round {round_no + 1}  {rate:8,.0f} req/s   p50 {latencies[n // 2] * 1000:6.2f} ms   "
        f"p99 {latencies[int(n * 0.99)] * 1000:6.2f} ms   requests {n}   errors {errors}",
        flush=True,
    )
    return rate


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=8)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--per-client", type=int, default=2500, help="certificates prepared (and signed) per client")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument(
        "--rounds",
        type=int,
        default=2,
        help="configurations run interleaved this many times; the median counts (shared machines are noisy)",
    )
    args = ap.parse_args()

    from tests.support.pki import TestCA

    work = Path(tempfile.mkdtemp(prefix="intygsgw-trust-bench-"))
    ca = TestCA(work / "pki")
    pki = {
        "ca": ca,
        "server": ca.server(),
        "client": ca.client(CALLER),
        "signer": ca.signer("SE2321000016-1R2F", key_kind="rsa"),
    }
    total = args.clients * args.per_client
    print(f"preparing and signing {total} distinct certificates ...", flush=True)
    envelopes = make_envelopes(total + 200, args.seed, pki["signer"])
    print(f"{args.clients} clients, {args.workers} workers, {args.seconds:.0f} s per configuration")
    configs = (
        ("off", False, False, False),
        ("log", False, True, False),
        ("tls", True, False, False),
        ("tls+log", True, True, False),
        ("all", True, True, True),
    )
    rates: dict[str, list[float]] = {name: [] for name, *_ in configs}
    for r in range(args.rounds):
        for name, tls, log, sig in configs:
            rates[name].append(run(name, work, envelopes, args, pki, tls, log, r, signatures=sig))
    median = {name: statistics.median(values) for name, values in rates.items()}
    base = median["off"]
    for name, rate in median.items():
        print(f"median {name:8s} {rate:8,.0f} req/s   ratio {name} / off: {rate / base:.2f}")


if __name__ == "__main__":
    main()

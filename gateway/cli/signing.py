"""``intygsgw keys create``, ``intygsgw verify FILE`` and ``intygsgw sign FILE``."""

from __future__ import annotations

import sys
from pathlib import Path

from lxml import etree

from intygsgw import ns
from intygsgw.signing.xml import NotXml, parse

SOAP11 = ns.SOAP11


def add_commands(sub) -> None:
    p = sub.add_parser("keys", help="development keys and certificates")
    keys_sub = p.add_subparsers(dest="keys_command", required=True)
    k = keys_sub.add_parser("create", help="a development CA with server, client and signing keys (not production)")
    k.add_argument("--dir", default="dev-keys", help="folder to write them to (default: dev-keys)")
    k.add_argument("--client-hsa-id", default="SE2321000016-DEV1", help="SERIALNUMBER of the client certificate")
    k.add_argument("--signer-hsa-id", default="SE2321000016-1R2F", help="SERIALNUMBER of the signing certificate")
    k.set_defaults(func=keys_create)

    p = sub.add_parser("verify", help="verify the signature of an intyg (or of a signed element); exit 1 if invalid")
    p.add_argument("file", help="an intyg, a RegisterCertificate element or a whole SOAP request")
    p.add_argument("--ca", help="PEM bundle(s) of trusted signing CAs, comma-separated; default: setting signing_ca")
    p.add_argument("--config", help="TOML settings file (for signing_ca)")
    p.add_argument(
        "--body",
        action="store_true",
        help="verify the enveloped signature over the SOAP body element (or the root), not the intyg's",
    )
    p.set_defaults(func=verify_file)

    p = sub.add_parser("sign", help="sign an intyg (into underskrift) or any other element (enveloped)")
    p.add_argument("file", help="one XML element: an intyg, or e.g. a RegisterCertificate element")
    p.add_argument("--key", required=True, help="PEM private key (RSA or EC)")
    p.add_argument("--cert", required=True, help="its PEM certificate (intermediates may follow)")
    p.add_argument("--out", help="write here instead of standard output")
    p.set_defaults(func=sign_file)


def keys_create(args) -> int:
    from intygsgw.devtools.devpki import create_dev_keys

    folder = Path(args.dir)
    keys = create_dev_keys(folder, client_hsa_id=args.client_hsa_id, signer_hsa_id=args.signer_hsa_id)
    for label, issued in (
        ("CA", keys.ca),
        ("server (localhost, 127.0.0.1)", keys.server),
        (f"client, HSA id {args.client_hsa_id}", keys.client),
        (f"signer (RSA), HSA id {args.signer_hsa_id}", keys.signer),
        ("gateway signer (EC), for outbound signing", keys.gateway_signer),
    ):
        print(f"{label:45} {issued.cert_path}  {issued.key_path}")
    d = folder
    print(f"""
Development keys only: the CA key is in {d} unprotected.
Try it:
  intygsgw serve --tls-cert {d}/server.crt --tls-key {d}/server.key --client-ca {d}/development_ca.crt \\
                 --authorizations authorizations.toml   # with consumer = "{args.client_hsa_id}"
  curl --cacert {d}/development_ca.crt --cert {d}/client.crt --key {d}/client.key https://127.0.0.1:8080/healthz
  intygsgw sign intyg.xml --key {d}/signer.key --cert {d}/signer.crt --out signed.xml
  intygsgw verify signed.xml --ca {d}/development_ca.crt
  INTYGSGW_SIGNING_CA={d}/development_ca.crt INTYGSGW_SIGNATURE_POLICY=require intygsgw serve""")
    return 0


def _trust(args):
    from intygsgw.signing.trust import load_trust_anchors

    bundles = args.ca
    if not bundles:
        from intygsgw.config.settings import load_settings

        bundles = load_settings(args.config).signing_ca
    if not bundles:
        from intygsgw.signing.trust import TrustError

        raise TrustError("give --ca or configure signing_ca")
    return load_trust_anchors(bundles)


def _read(path: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise SystemExit(f"cannot read {path}: {exc.strerror}") from None


def verify_file(args) -> int:
    from intygsgw.signing.trust import TrustError
    from intygsgw.signing.verify import verify_enveloped, verify_intyg_signature

    try:
        trust = _trust(args)
    except TrustError as exc:
        print(f"verify: {exc}", file=sys.stderr)
        return 2
    try:
        root = parse(_read(args.file))
    except NotXml as exc:
        print(f"INVALID: {exc}")
        return 1
    intyg = (
        None
        if args.body
        else root
        if etree.QName(root).localname == "intyg"
        else next(iter(root.xpath(".//*[local-name()='intyg']")), None)
    )
    if args.body:
        body = root.find(f"{{{SOAP11}}}Body")
        target = next(iter(body), root) if body is not None else root
        verdict = verify_enveloped(target, trust)
        what = etree.QName(target).localname
    elif intyg is not None:
        verdict = verify_intyg_signature(intyg, trust)
        what = "intyg"
    else:
        verdict = verify_enveloped(root, trust)
        what = etree.QName(root).localname
    if verdict.valid:
        print(f"VALID: {what} signed by {verdict.signer_subject}")
        print(f"  signer HSA id: {verdict.signer_hsa_id or '(none in SERIALNUMBER)'}")
        if verdict.signed_certificate_id:
            print(f"  certificate id: {verdict.signed_certificate_id}")
        print(f"  verified at: {verdict.verified_at.isoformat()}Z against {trust.describe()}")
        return 0
    print(f"INVALID: {what}: {'' if verdict.present else 'not signed: '}{verdict.reason}")
    return 1


def sign_file(args) -> int:
    from intygsgw.signing.sign import SigningError, load_signing_key, sign_enveloped

    data = _read(args.file)
    try:
        key = load_signing_key(args.key, args.cert)
        root = parse(data)
        signed = sign_enveloped(data, key, in_underskrift=etree.QName(root).localname == "intyg")
    except (SigningError, NotXml, ValueError) as exc:
        print(f"sign: {exc}", file=sys.stderr)
        return 2
    if args.out:
        Path(args.out).write_bytes(signed)
    else:
        sys.stdout.buffer.write(signed)
    return 0

"""Development keys and certificates: a CA, a server, clients and signers.

For trying mutual TLS and XML signatures locally (``intygsgw keys create``),
and for the tests and benchmarks. A client's or signer's subject carries its
HSA id in SERIALNUMBER, as on the national platform. EC P-256 keys keep
generation instant; RSA-2048 is there because most deployed signing
certificates are RSA. Nothing here is meant for production keys.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Issued:
    cert: x509.Certificate
    key: object  # an EC or RSA private key
    cert_path: Path
    key_path: Path

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def pair(self) -> tuple[str, str]:
        """What requests takes as ``cert=``."""
        return str(self.cert_path), str(self.key_path)


def new_key(kind: str = "ec"):
    if kind == "ec":
        return ec.generate_private_key(ec.SECP256R1())
    if kind == "rsa":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ValueError(f"key kind must be 'ec' or 'rsa', not {kind!r}")


def _write(folder: Path, name: str, cert: x509.Certificate, key) -> Issued:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)
    return Issued(cert, key, cert_path, key_path)


def subject_name(cn: str, hsa_id: str | None = None, organization: str = "Test") -> x509.Name:
    attrs = [
        x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ]
    if hsa_id:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, hsa_id))
    return x509.Name(attrs)


def _usage(*, sign: bool = False, ca: bool = False, encipher: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=sign,
        key_encipherment=encipher,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


class DevCA:
    """A self-signed CA that issues server, client and signing certificates into ``folder``."""

    def __init__(self, folder: Path, name: str = "Test CA", key_kind: str = "ec"):
        self.folder = Path(folder)
        key = new_key(key_kind)
        now = dt.datetime.now(dt.UTC)
        subject = subject_name(name)
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=365))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(_usage(ca=True), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .sign(key, hashes.SHA256())
        )
        self.issued = _write(self.folder, name.replace(" ", "_").lower(), cert, key)

    @property
    def cert_path(self) -> Path:
        return self.issued.cert_path

    def issue(
        self,
        name: str,
        subject: x509.Name,
        *,
        usage: x509.KeyUsage,
        eku=None,
        san=None,
        key_kind: str = "ec",
        not_before=None,
        not_after=None,
    ) -> Issued:
        key = new_key(key_kind)
        now = dt.datetime.now(dt.UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.issued.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before or now - dt.timedelta(days=1))
            .not_valid_after(not_after or now + dt.timedelta(days=90))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(usage, critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.issued.key.public_key()), critical=False
            )
        )
        if eku:
            builder = builder.add_extension(x509.ExtendedKeyUsage([eku]), critical=False)
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return _write(self.folder, name, builder.sign(self.issued.key, hashes.SHA256()), key)

    def server(self, name: str = "server") -> Issued:
        return self.issue(
            name,
            subject_name("localhost"),
            usage=_usage(encipher=True),
            eku=ExtendedKeyUsageOID.SERVER_AUTH,
            san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        )

    def client(self, hsa_id: str | None, name: str | None = None, expired: bool = False) -> Issued:
        return self.issue(
            name or f"client-{hsa_id or 'noserial'}{'-expired' if expired else ''}",
            subject_name(f"System {hsa_id or 'without serial'}", hsa_id),
            usage=_usage(encipher=True),
            eku=ExtendedKeyUsageOID.CLIENT_AUTH,
            **_window(expired),
        )

    def signer(
        self,
        hsa_id: str,
        name: str | None = None,
        *,
        key_kind: str = "ec",
        expired: bool = False,
        cn: str = "Ingrid Nilsson Läkare",
    ) -> Issued:
        """A personal signing certificate (digitalSignature + nonRepudiation), as a doctor's card holds."""
        return self.issue(
            name or f"signer-{hsa_id}-{key_kind}{'-expired' if expired else ''}",
            subject_name(cn, hsa_id),
            usage=_usage(sign=True),
            key_kind=key_kind,
            **_window(expired),
        )


def _window(expired: bool) -> dict:
    if not expired:
        return {}
    now = dt.datetime.now(dt.UTC)
    return {"not_before": now - dt.timedelta(days=30), "not_after": now - dt.timedelta(days=1)}


@dataclass
class DevKeys:
    ca: Issued
    server: Issued
    client: Issued
    signer: Issued
    gateway_signer: Issued


def create_dev_keys(
    folder: Path,
    *,
    client_hsa_id: str = "SE2321000016-DEV1",
    signer_hsa_id: str = "SE2321000016-1R2F",
    gateway_hsa_id: str = "SE2321000016-GW01",
) -> DevKeys:
    """Everything a newcomer needs to try mutual TLS and signatures, written to ``folder``."""
    ca = DevCA(Path(folder), "Development CA")
    return DevKeys(
        ca=ca.issued,
        server=ca.server("server"),
        client=ca.client(client_hsa_id, name="client"),
        signer=ca.signer(signer_hsa_id, name="signer", key_kind="rsa"),
        gateway_signer=ca.signer(gateway_hsa_id, name="gateway-signer", cn="intygsgw"),
    )

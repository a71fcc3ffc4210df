"""Test keys and certificates made on the spot: a CA, a server and clients.

A client's subject carries its HSA id in SERIALNUMBER, as the national
platform's client certificates do. EC P-256 keys keep generation instant.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass
class Issued:
    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_path: Path
    key_path: Path

    @property
    def pem(self) -> str:
        return self.cert.public_bytes(serialization.Encoding.PEM).decode()

    @property
    def pair(self) -> tuple[str, str]:
        """What requests takes as ``cert=``."""
        return str(self.cert_path), str(self.key_path)


def _write(folder: Path, name: str, cert: x509.Certificate, key) -> Issued:
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / f"{name}.crt", folder / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return Issued(cert, key, cert_path, key_path)


def _name(cn: str, serial: str | None = None) -> x509.Name:
    attrs = [x509.NameAttribute(NameOID.COUNTRY_NAME, "SE"), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Test"),
             x509.NameAttribute(NameOID.COMMON_NAME, cn)]
    if serial:
        attrs.append(x509.NameAttribute(NameOID.SERIAL_NUMBER, serial))
    return x509.Name(attrs)


class TestCA:
    __test__ = False  # not a pytest class

    def __init__(self, folder: Path, name: str = "Test CA"):
        self.folder = Path(folder)
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        subject = _name(name)
        cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
                .serial_number(x509.random_serial_number())
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=365))
                .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
                .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True,
                                             content_commitment=False, key_encipherment=False,
                                             data_encipherment=False, key_agreement=False, encipher_only=False,
                                             decipher_only=False), critical=True)
                .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
                .sign(key, hashes.SHA256()))
        self.issued = _write(self.folder, name.replace(" ", "_").lower(), cert, key)

    @property
    def cert_path(self) -> Path:
        return self.issued.cert_path

    def _issue(self, name: str, subject: x509.Name, usage, san=None, not_before=None, not_after=None) -> Issued:
        key = ec.generate_private_key(ec.SECP256R1())
        now = dt.datetime.now(dt.timezone.utc)
        builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(self.issued.cert.subject)
                   .public_key(key.public_key()).serial_number(x509.random_serial_number())
                   .not_valid_before(not_before or now - dt.timedelta(days=1))
                   .not_valid_after(not_after or now + dt.timedelta(days=90))
                   .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
                   .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
                   .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(
                       self.issued.key.public_key()), critical=False))
        if san:
            builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
        return _write(self.folder, name, builder.sign(self.issued.key, hashes.SHA256()), key)

    def server(self, name: str = "server") -> Issued:
        return self._issue(name, _name("localhost"), ExtendedKeyUsageOID.SERVER_AUTH,
                           san=[x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])

    def client(self, hsa_id: str | None, name: str | None = None, expired: bool = False) -> Issued:
        now = dt.datetime.now(dt.timezone.utc)
        window = {}
        if expired:
            window = {"not_before": now - dt.timedelta(days=30), "not_after": now - dt.timedelta(days=1)}
        return self._issue(name or f"client-{hsa_id or 'noserial'}{'-expired' if expired else ''}",
                           _name(f"System {hsa_id or 'without serial'}", hsa_id),
                           ExtendedKeyUsageOID.CLIENT_AUTH, **window)

"""Client certificates for outbound TLS, from PEM files or a PKCS#12 bundle.

The national platform hands out client certificates as PKCS#12; requests (and
the ssl module below it) load a certificate and key only from PEM files. A
bundle is therefore converted once per process into a private temporary
folder (mode 0700, files 0600), removed when the process exits, and never
written anywhere else.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, pkcs12

from intygsgw.errors import GatewayError


class ClientCertificateError(GatewayError, ValueError):
    pass


_lock = threading.Lock()
_converted: dict[tuple[str, int, str | None], tuple[str, str]] = {}
_folder: str | None = None


def _private_folder() -> str:
    global _folder
    if _folder is None:
        _folder = tempfile.mkdtemp(prefix="intygsgw-tls-")
        os.chmod(_folder, 0o700)
        atexit.register(shutil.rmtree, _folder, ignore_errors=True)
    return _folder


def _write_private(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def read_pkcs12(path: str, password: str | None) -> tuple[bytes, bytes]:
    """The bundle's certificate (followed by its chain) and key, as PEM."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ClientCertificateError(f"PKCS#12 file {path}: {exc.strerror or exc}") from None
    try:
        key, cert, chain = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError as exc:
        raise ClientCertificateError(f"PKCS#12 file {path} cannot be read (wrong password?): {exc}") from None
    if key is None or cert is None:
        raise ClientCertificateError(f"PKCS#12 file {path} must hold a certificate and its private key")
    cert_pem = cert.public_bytes(Encoding.PEM) + b"".join(c.public_bytes(Encoding.PEM) for c in chain or ())
    key_pem = key.private_bytes(Encoding.PEM, PrivateFormat.PKCS8, NoEncryption())
    return cert_pem, key_pem


def pkcs12_to_pem_files(path: str, password: str | None = None) -> tuple[str, str]:
    """(certificate file, key file) for requests' ``cert=``; converted once per bundle version."""
    try:
        mtime = os.stat(path).st_mtime_ns
    except OSError as exc:
        raise ClientCertificateError(f"PKCS#12 file {path}: {exc.strerror or exc}") from None
    key = (os.path.abspath(path), mtime, password)
    with _lock:
        if key not in _converted:
            cert_pem, key_pem = read_pkcs12(path, password)
            folder = Path(_private_folder())
            n = len(_converted)
            cert_file, key_file = folder / f"client-{n}.crt", folder / f"client-{n}.key"
            _write_private(cert_file, cert_pem)
            _write_private(key_file, key_pem)
            _converted[key] = (str(cert_file), str(key_file))
        return _converted[key]

"""Test keys and certificates made on the spot: a CA, a server, clients and signers.

The generator lives in intygsgw.devtools.devpki (``intygsgw keys create`` uses it too).
"""

from __future__ import annotations

from intygsgw.devtools.devpki import DevCA, Issued

__all__ = ["Issued", "TestCA"]


class TestCA(DevCA):
    __test__ = False  # not a pytest class

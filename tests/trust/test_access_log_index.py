"""The serving gateway keeps the access log's index by person up with the log, in the background."""

from __future__ import annotations

import time
import uuid

from sqlalchemy import create_engine, text

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from tests.support.server import running_gateway
from tests.support.soapclient import GatewayClient

PATIENT = "191212121212"


def test_a_logged_call_reaches_the_index_by_person_within_seconds(tmp_path):
    url = f"sqlite:///{tmp_path / 'gw.db'}"
    with running_gateway(tmp_path, db=url, extra_env={"INTYGSGW_ACCESS_LOG_INDEX_EVERY": "0.2"}) as gw:
        cid = str(uuid.uuid4())
        spec = CertificateSpec(certificate_id=cid, person_id=PATIENT)
        result, _ = GatewayClient(gw.base_url).call_raw("RegisterCertificate", 3, samples.register_certificate(spec))
        assert result.result.resultCode == "OK", result.result
        engine = create_engine(url)
        indexed: list = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not indexed:
            with engine.connect() as conn:
                indexed = conn.execute(
                    text(
                        "SELECT p.seq FROM access_log_person p JOIN access_log a ON a.seq = p.seq "
                        "WHERE p.person_id = :person AND a.certificate_ids LIKE :cid"
                    ),
                    {"person": PATIENT, "cid": f"%{cid}%"},
                ).all()
            time.sleep(0.2)
        engine.dispose()
    assert indexed, gw.log()

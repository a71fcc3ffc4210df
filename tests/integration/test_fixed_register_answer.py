"""RegisterCertificate's OK answer is built and checked once, then sent as the same bytes."""

from __future__ import annotations

from lxml import etree

from intygsgw.app import build_app
from intygsgw.config.settings import Settings
from intygsgw.devtools.samples.certificates import CertificateSpec
from intygsgw.devtools.samples.requests import register_certificate
from tests.support.published import assert_valid_answer

FIRST, SECOND = "6c0e2a4e-1f7b-4d8a-9a51-0c7e2b1d3f01", "6c0e2a4e-1f7b-4d8a-9a51-0c7e2b1d3f02"


def _body(envelope: bytes) -> etree._Element:
    return etree.fromstring(envelope).find("{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]


def test_every_ok_registration_gets_the_same_valid_answer_and_the_logs_still_say_ok(tmp_path):
    app = build_app(Settings(db=f"sqlite:///{tmp_path / 'f.db'}", delivery=False), migrate=True)
    first = app.dispatcher.handle(register_certificate(CertificateSpec(certificate_id=FIRST)))
    second = app.dispatcher.handle(register_certificate(CertificateSpec(certificate_id=SECOND)))
    assert first.status == second.status == 200
    assert bytes(second.body) == bytes(first.body)
    assert_valid_answer("RegisterCertificate", 3, _body(first.body))
    assert first.outcome == second.outcome == "OK"

    again = app.dispatcher.handle(register_certificate(CertificateSpec(certificate_id=SECOND)))
    # Not the fixed answer: a refusal is built for its call.
    assert again.outcome == "INFO"
    assert b"Certificate already exists" in bytes(again.body)
    assert_valid_answer("RegisterCertificate", 3, _body(again.body))

    with app.dispatcher.services.store.reading() as uow:
        logged = [e.entry.outcome for e in uow.access_log.entries()]
    assert logged == ["OK", "OK", "INFO"]
    app.dispatcher.services.store.engine.dispose()

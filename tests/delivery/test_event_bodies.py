"""A statistics event names its certificate instead of copying it; the body is read when it goes out."""

from __future__ import annotations

from intygsgw.app import build_app
from intygsgw.config.settings import Settings
from intygsgw.delivery.deliverer import Deliverer, DeliveryConfig
from intygsgw.devtools.samples.certificates import CertificateSpec
from intygsgw.devtools.samples.requests import register_certificate
from intygsgw.domain.events import BrokerEvent, decode
from intygsgw.domain.outcome import Outcome
from intygsgw.storage.outbox import DISCARDED, DONE

KEPT, ERASED = "0b7a1f5e-5d3c-4c1e-9d7a-5f0e2b6c1a01", "0b7a1f5e-5d3c-4c1e-9d7a-5f0e2b6c1a02"


class Recorder:
    def __init__(self) -> None:
        self.published: list[BrokerEvent] = []

    def publish_all(self, events: list[BrokerEvent]) -> tuple[int, Outcome]:
        self.published += events
        return len(events), Outcome("result", result_code="OK")


def test_the_body_is_the_stored_document_and_an_erased_certificates_event_is_discarded(tmp_path):
    app = build_app(Settings(db=f"sqlite:///{tmp_path / 'e.db'}", delivery=False, statistics=True), migrate=True)
    services = app.dispatcher.services
    for certificate_id in (KEPT, ERASED):
        answer = app.dispatcher.handle(register_certificate(CertificateSpec(certificate_id=certificate_id)))
        assert b"<core:resultCode>OK</core:resultCode>" in bytes(answer.body)
    with services.store.reading() as uow:
        queued = uow.outbox.find(limit=10)
        stored = uow.certificates.document(KEPT)
    assert stored is not None
    # The outbox holds the event's head only, not a second copy of the certificate.
    assert [decode(i.payload).body for i in queued] == [b"", b""]
    assert all(len(i.payload) < 500 for i in queued)

    with services.store.writing() as uow:
        uow.certificates.delete(ERASED)  # as an erase before the feed got to it
        uow.commit()
    broker = Recorder()
    Deliverer(
        services.store, services.outbound, services.clock, DeliveryConfig(event_linger_seconds=0), broker
    ).run_until_idle()

    assert [(e.properties["certificate-id"], e.properties["action"]) for e in broker.published] == [(KEPT, "created")]
    assert broker.published[0].body == stored.document
    with services.store.reading() as uow:
        states = {i.reference: (i.state, i.last_error) for i in uow.outbox.find(limit=10)}
    assert states[KEPT] == (DONE, None)
    assert states[ERASED] == (DISCARDED, "discarded: the certificate was erased before its event was published")
    services.store.engine.dispose()

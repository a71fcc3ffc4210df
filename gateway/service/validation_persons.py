"""Keeping validation persons' data no longer than its retention period."""

from __future__ import annotations

import datetime as dt
import logging

from intygsgw.service.services import Services

log = logging.getLogger(__name__)


def purge_validation_persons(svc: Services, received_before: dt.datetime) -> int:
    """Delete the validation persons' certificates received before the cut-off; returns how many."""
    if not svc.validation_persons:
        return 0
    with svc.store.writing() as uow:
        ids = uow.certificates.ids_for_persons(sorted(svc.validation_persons), received_before)
        for cid in ids:
            # Everything kept about the certificate goes, not just the certificate.
            uow.messages.delete_for(cid)
            uow.approved_receivers.replace(cid, [])
            uow.certificates.delete(cid)
        uow.commit()
    if ids:
        log.info("purged %d certificate(s) of validation persons received before %s", len(ids), received_before)
    return len(ids)

"""The id a consumer de-duplicates broker events on."""

from __future__ import annotations

import uuid

from intygsgw.domain.events import new_event_id, statistics_event


def test_an_event_id_is_a_version_4_uuid_in_its_canonical_text():
    for _ in range(2000):
        text = new_event_id()
        parsed = uuid.UUID(text)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == text  # lower-case hex, hyphens where a JMS consumer's UUID parser expects them


def test_every_event_gets_its_own_id():
    ids = {statistics_event("certificate.queue", "created", "c-1", "lisjp").event_id for _ in range(5000)}
    assert len(ids) == 5000

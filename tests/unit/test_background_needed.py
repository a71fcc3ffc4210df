"""Under mutual TLS the housekeeping runs in a process of its own, spawned only when it has work."""

from __future__ import annotations

import pytest

from intygsgw.config.settings import Settings
from intygsgw.serving.server import background_needed

POSTGRES = "postgresql+psycopg://gw@localhost/gw"


@pytest.mark.parametrize(
    ("settings", "needed"),
    [
        # SQLite's WAL is checkpointed there even when nothing is delivered.
        (Settings(db="sqlite:///gw.db", delivery=False), True),
        (Settings(db="sqlite:///gw.db", delivery=False, sqlite_checkpoint_every=0.0), False),
        (Settings(db=POSTGRES, delivery=False), False),
        (Settings(db=POSTGRES, delivery=True), True),
        # The certificate-service's events are consumed there, delivery or not.
        (Settings(db=POSTGRES, delivery=False, certificate_service_url="http://cs.example/api"), True),
        (Settings(db=POSTGRES, delivery=False, validation_persons="191212121212"), True),
        (Settings(db=POSTGRES, delivery=False, validation_persons="191212121212", validation_purge_every=0), False),
    ],
)
def test_the_background_process_is_spawned_when_it_has_work(settings, needed):
    assert background_needed(settings) is needed

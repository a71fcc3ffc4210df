"""An erase that dies half-way has erased whole certificates only, logged exactly those, and resumes."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys

from intygsgw import audit
from intygsgw.devtools.samples import CertificateSpec, unique_certificate_ids
from intygsgw.devtools.samples.exports import certificate_export
from intygsgw.service.care_provider import erase_care_provider, export_counts, import_certificates
from tests.internalapi.data import new_hsa, new_person
from tests.support.paths import REPO_ROOT


def exports(provider: str, n: int, seed: int):
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 123456)
    for cid in unique_certificate_ids(n, seed=seed):
        spec = CertificateSpec(
            certificate_id=cid, person_id=new_person(), care_giver_id=provider, signed_at="2026-01-01T10:00:00"
        )
        yield certificate_export(spec, at)


def erased_entries(services, provider_ids: set[str]) -> list[tuple[str, tuple[str, ...]]]:
    with services.store.reading() as uow:
        return [
            (s.entry.outcome, s.entry.all_certificate_ids())
            for s in uow.access_log.entries()
            if s.entry.outcome.startswith("ERASED:") and set(s.entry.all_certificate_ids()) & provider_ids
        ]


def test_an_erase_stopped_between_batches_continues_where_it_stopped(outbox_database):
    _, services = outbox_database
    provider = new_hsa("CG")
    report = import_certificates(services, exports(provider, 10, seed=1))
    assert report.restored == 10
    token = audit.begin(audit.Access("test", "", "", "test:erase", ""))
    try:
        assert erase_care_provider(services, provider, batch=3, stop_after=2) == 6
        assert export_counts(services, provider) == (4, 0)
        assert erase_care_provider(services, provider, batch=3) == 4
    finally:
        audit.end(token)
    assert export_counts(services, provider) == (0, 0)
    ids = set(unique_certificate_ids(10, seed=1))
    logged = erased_entries(services, ids)
    # One entry per batch, naming each patient with the certificates that went in it.
    assert sorted(c for _, cids in logged for c in cids) == sorted(ids)


def test_an_erase_killed_mid_run_resumes_and_the_log_counts_every_certificate(tmp_path):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    provider = new_hsa("CG")
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    from intygsgw.app import build_services
    from intygsgw.config.settings import Settings

    services = build_services(Settings(db=url), migrate=True)
    assert import_certificates(services, exports(provider, 3000, seed=2)).restored == 3000
    erase = [sys.executable, "-m", "intygsgw.cli", "erase", "--care-provider", provider, "--yes", "--db", url]
    proc = subprocess.Popen(erase, stderr=subprocess.PIPE, text=True, env=env)
    first = proc.stderr.readline()  # the first batch has committed when its progress is shown
    assert "certificates erased" in first, first
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    left, _ = export_counts(services, provider)
    assert 0 < left < 3000 and left % 500 == 0

    done = subprocess.run(erase, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert export_counts(services, provider) == (0, 0)
    ids = set(unique_certificate_ids(3000, seed=2))
    logged = erased_entries(services, ids)
    assert sorted(c for _, cids in logged for c in cids) == sorted(ids)
    services.store.engine.dispose()

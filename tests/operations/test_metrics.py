"""/metrics tells an operator what the gateway did, whichever worker answers the scrape."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import requests
from prometheus_client.parser import text_string_to_metric_families

from intygsgw.devtools import samples
from intygsgw.devtools.samples import CertificateSpec
from intygsgw.interactions import (
    GET_CERTIFICATE_2,
    REGISTER_CERTIFICATE_3,
    REVOKE_CERTIFICATE_2,
    SET_CERTIFICATE_STATUS_2,
)
from intygsgw.rules.catalog import DEFAULT_DIR as TYPES_DIR
from intygsgw.serving.server import remove_stale_metrics_folders
from tests.support.server import running_gateway
from tests.support.waiting import wait_until

XML = {"Content-Type": "text/xml; charset=UTF-8"}
REVOCATIONS = "RevokeCertificate:2 @ FKORG"


def scrape(gw) -> dict[tuple[str, tuple], float]:
    text = requests.get(gw.base_url + "/metrics", timeout=10).text
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(scraped: dict, name: str, **labels) -> float:
    return scraped.get((name, tuple(sorted(labels.items()))), 0.0)


def call(gw, interaction, body: bytes) -> None:
    assert requests.post(gw.url(interaction.path), headers=XML, timeout=30, data=body).status_code in (200, 500)


def test_calls_commits_deliveries_reloads_and_the_outbox_show_in_the_scrape(tmp_path):
    routes = tmp_path / "routes.toml"
    # A route to nowhere: the revocation fails, waits in the outbox, and is counted in both places.
    routes.write_text(
        '[[route]]\ncontract = "RevokeCertificate:2"\nlogical_address = "FKORG"\n'
        'url = "http://127.0.0.1:9/revoke"\nconnect_timeout = 0.2\n',
        encoding="utf-8",
    )
    types = tmp_path / "types"
    shutil.copytree(TYPES_DIR, types)
    env = {"INTYGSGW_ROUTES_FILE": str(routes), "INTYGSGW_CERTIFICATE_TYPES_DIR": str(types)}
    with running_gateway(tmp_path / "gw", workers=2, extra_env=env) as gw:
        before = scrape(gw)
        for n in range(6):  # spread over both workers
            call(gw, REGISTER_CERTIFICATE_3, samples.register_certificate(CertificateSpec(certificate_id=f"m-{n}")))
        call(gw, REGISTER_CERTIFICATE_3, samples.register_certificate(CertificateSpec(certificate_id="m-0")))
        call(gw, GET_CERTIFICATE_2, samples.get_certificate("none"))
        call(gw, SET_CERTIFICATE_STATUS_2, samples.set_certificate_status("m-1", "SENTTO", part="FKASSA"))
        call(gw, REVOKE_CERTIFICATE_2, samples.revoke_certificate("m-1"))
        calls = scrape(gw)

        # The parent process's deliverer tries the revocation and schedules a retry.
        wait_until(
            lambda: value(scrape(gw), "intygsgw_deliveries_total", destination=REVOCATIONS, outcome="retry") >= 1,
            what="the failed delivery counted",
        )

        # An operator's broken edit of the type folder is refused, and counted.
        (types / "broken.toml").write_text("id = ", encoding="utf-8")

        def reload_refused() -> bool:  # a registration reads the type set, which notices the edit
            call(gw, REGISTER_CERTIFICATE_3, samples.register_certificate(CertificateSpec(certificate_id="m-0")))
            return value(scrape(gw), "intygsgw_certificate_type_reloads_total", outcome="error") >= 1

        wait_until(reload_refused, what="the refused reload counted", timeout=20, every=0.5)
        after = scrape(gw)

    register, total = "RegisterCertificate:3", "intygsgw_requests_total"
    ok_before = value(before, total, contract=register, result="OK")
    assert value(calls, total, contract=register, result="OK") - ok_before == 6
    assert value(calls, total, contract=register, result="INFO") == 1
    assert value(calls, total, contract="GetCertificate:2", result="FAULT") == 1
    assert value(calls, "intygsgw_request_duration_seconds_count", contract=register) == 7
    assert value(calls, "intygsgw_group_commit_batch_size_count") >= 6
    assert value(after, "intygsgw_outbox_pending", destination=REVOCATIONS) == 1
    assert value(after, "intygsgw_outbox_oldest_pending_age_seconds", destination=REVOCATIONS) >= 0
    assert value(after, "intygsgw_outbox_dead", destination=REVOCATIONS) == 0


def test_a_killed_gateways_metrics_folder_is_removed_by_the_next_start_and_a_living_ones_kept(tmp_path):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale = tmp_path / f"intygsgw-metrics-{gone.pid}-abc"
    stale.mkdir()
    (stale / "counter_1.db").write_bytes(b"x")
    living = tmp_path / f"intygsgw-metrics-{os.getpid()}-def"
    living.mkdir()
    operators = tmp_path / "intygsgw-metrics-mine"  # not named by a gateway: not ours to judge
    operators.mkdir()

    assert remove_stale_metrics_folders(tmp_path) == [stale]
    assert not stale.exists() and living.is_dir() and operators.is_dir()

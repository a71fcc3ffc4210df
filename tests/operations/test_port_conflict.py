"""A second gateway on a port already served stops instead of sharing it."""

from __future__ import annotations

import subprocess
import sys

import requests

from intygsgw.devtools import samples
from intygsgw.interactions import REGISTER_CERTIFICATE_3
from tests.support.server import running_gateway


def test_a_second_serve_on_a_busy_port_stops_with_a_clear_message(tmp_path):
    with running_gateway(tmp_path / "first") as first:
        second = subprocess.run(
            [sys.executable, "-m", "intygsgw.cli", "serve", "--host", "127.0.0.1", "--port", str(first.port)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert second.returncode == 2
        assert f"port {first.port} on 127.0.0.1 is already in use" in second.stderr
        assert "Traceback" not in second.stderr
        # Nothing was started beside the first gateway: it alone answers, every time.
        assert not (tmp_path / "intygsgw.db").exists()
        for _ in range(10):
            assert requests.get(first.base_url + "/healthz", timeout=5).status_code == 200


def test_a_port_freed_by_a_stopped_gateway_can_be_served_again(tmp_path):
    # Connections the first gateway closed linger in TIME_WAIT; they must not
    # count as "in use" for the restart.
    with running_gateway(tmp_path / "a") as gw:
        port = gw.port
        answer = requests.post(
            gw.url(REGISTER_CERTIFICATE_3.path),
            data=samples.register_certificate(),
            headers={"Content-Type": "text/xml"},
            timeout=10,
        )
        assert answer.status_code == 200
    from intygsgw.serving.server import port_in_use

    assert port_in_use("127.0.0.1", port) is None

import datetime as dt
import random

import pytest

from intygsgw.delivery.schedule import RetrySchedule, parse_delays
from intygsgw.outbound.transport import classify

SOAP = "http://schemas.xmlsoap.org/soap/envelope/"
CORE = "urn:riv:clinicalprocess:healthcond:certificate:3"


def answer(code, error_id=None, text=None):
    parts = f"<c:resultCode>{code}</c:resultCode>"
    if text:
        parts += f"<c:resultText>{text}</c:resultText>"
    if error_id:
        parts += f"<c:errorId>{error_id}</c:errorId>"
    return (
        f'<s:Envelope xmlns:s="{SOAP}"><s:Body><r:XResponse xmlns:r="urn:x" xmlns:c="{CORE}">'
        f"<r:result>{parts}</r:result></r:XResponse></s:Body></s:Envelope>"
    ).encode()


def fault(code):
    return (
        f'<s:Envelope xmlns:s="{SOAP}"><s:Body><s:Fault><faultcode>s:{code}</faultcode>'
        f"<faultstring>boom</faultstring></s:Fault></s:Body></s:Envelope>"
    ).encode()


@pytest.mark.parametrize(
    "status, body, succeeded, retryable",
    [
        (200, answer("OK"), True, False),
        (200, answer("INFO", text="Certificate already exists"), True, False),
        (200, answer("ERROR", "TECHNICAL_ERROR", "later"), False, True),
        (200, answer("ERROR", "VALIDATION_ERROR", "bad"), False, False),
        (200, answer("ERROR", "APPLICATION_ERROR", "no"), False, False),
        (200, answer("ERROR", "REVOKED", "gone"), False, False),
        (500, fault("Server"), False, True),
        (500, fault("Client"), False, False),
        (503, b"Service Unavailable", False, True),
        (502, b"<html>bad gateway</html>", False, True),
    ],
)
def test_answers_are_classified_for_delivery(status, body, succeeded, retryable):
    outcome = classify(status, body)
    assert (outcome.succeeded, outcome.retryable) == (succeeded, retryable)


def test_default_ladder_then_hourly_with_bounded_jitter():
    schedule = RetrySchedule()
    rng = random.Random(7)
    for attempt, base in [(1, 60), (2, 300), (3, 1800), (4, 3600), (5, 3600), (12, 3600)]:
        delay = schedule.delay(attempt, rng)
        assert base * 0.9 <= delay <= base * 1.1


def test_jitter_spreads_retries():
    schedule = RetrySchedule()
    rng = random.Random(1)
    assert len({round(schedule.delay(1, rng), 3) for _ in range(20)}) > 10


def test_delay_ladder_parses_units():
    assert parse_delays("30s, 2m,1h") == (30.0, 120.0, 3600.0)
    with pytest.raises(ValueError):
        parse_delays("0m")


def test_next_attempt_is_in_the_future():
    now = dt.datetime(2026, 1, 1)
    assert RetrySchedule(jitter=0).next_attempt(now, 2) == now + dt.timedelta(minutes=5)

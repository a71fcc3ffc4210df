"""Housekeeping jobs: a failure that repeats is told once in full, then briefly, and so is its end."""

from __future__ import annotations

import logging
import threading

from intygsgw.service.periodic import PeriodicJob

LOGGER = "intygsgw.service.periodic"


def _run_until(job_runs: int, fail_first: int, quiet_for: float, caplog) -> list[logging.LogRecord]:
    runs = 0
    done = threading.Event()

    def job() -> None:
        nonlocal runs
        runs += 1
        if runs >= job_runs:
            done.set()
        if runs <= fail_first:
            raise OSError("database or disk is full\nsecond line of the message")

    periodic = PeriodicJob("probe", job, every=0.001, quiet_for=quiet_for)
    with caplog.at_level(logging.INFO, logger=LOGGER):
        periodic.start()
        assert done.wait(30), f"the job ran {runs} times"
        periodic.stop()
    return [r for r in caplog.records if r.name == LOGGER]


def test_a_failure_that_repeats_is_told_once_with_its_traceback_and_then_its_end(caplog):
    records = _run_until(job_runs=25, fail_first=20, quiet_for=3600, caplog=caplog)
    assert [r.getMessage() for r in records] == [
        "probe failed; trying again later",
        "probe works again after 20 failed runs",
    ]
    assert records[0].exc_info is not None and records[1].exc_info is None


def test_while_it_lasts_a_repeating_failure_is_one_line_per_quiet_period(caplog):
    records = _run_until(job_runs=5, fail_first=3, quiet_for=0, caplog=caplog)
    assert [r.getMessage() for r in records] == [
        "probe failed; trying again later",
        "probe still failing (2 runs in a row): OSError: database or disk is full",
        "probe still failing (3 runs in a row): OSError: database or disk is full",
        "probe works again after 3 failed runs",
    ]
    assert [r.exc_info is not None for r in records] == [True, False, False, False]

"""Serving the stub recipient under granian, as the gateway itself is served.

Exactly one worker process: the recorded messages, the rules and the down
switch live in that process's memory, and a second worker would split them.
Concurrency comes from the worker's blocking threads instead (a delay rule
holds one of them for its whole delay). The options reach the worker, a
separate process, as JSON in an environment variable.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from intygsgw.devtools.stub.rules import load_rules_file
from intygsgw.devtools.stub.store import DEFAULT_KEEP

OPTIONS_ENV = "INTYGSGW_STUB_OPTIONS"

log = logging.getLogger(__name__)


@dataclass
class StubOptions:
    port: int
    host: str = "127.0.0.1"
    name: str = "stub-recipient"
    rules_file: str | None = None
    store_file: str | None = None
    keep: int = DEFAULT_KEEP
    threads: int = 8

    def to_env(self) -> str:
        return json.dumps(dataclasses.asdict(self))

    @classmethod
    def from_env(cls) -> StubOptions:
        return cls(**json.loads(os.environ[OPTIONS_ENV]))


def serve(options: StubOptions) -> int:
    from granian import Granian
    from granian.constants import Interfaces

    # Fail in the parent, with a clear message, rather than in a worker that
    # granian would keep respawning: a bad rules file or an unwritable store.
    if options.rules_file:
        options.rules_file = str(Path(options.rules_file).resolve())
        rules = load_rules_file(options.rules_file)
        log.info("%d rule(s) from %s", len(rules), options.rules_file)
    if options.store_file:
        options.store_file = str(Path(options.store_file).resolve())
        open(options.store_file, "a").close()
    os.environ[OPTIONS_ENV] = options.to_env()
    log.info("stub recipient %r on http://%s:%d (API under /_stub/)", options.name, options.host, options.port)
    Granian(
        "intygsgw.devtools.stub.app:wsgi_app",
        address=options.host,
        port=options.port,
        interface=Interfaces.WSGI,
        workers=1,
        blocking_threads=options.threads,
        factory=True,
        log_access=False,
        workers_kill_timeout=5,
    ).serve()
    return 0

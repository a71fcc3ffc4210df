"""``intygsgw export``, ``erase`` and ``import``: a care provider's data when its contract ends.

The same service functions as the internal API's customer-termination
operations, run against the database directly, with a progress bar on
standard error. Each is written to the access log under the operator's login
name (caller ``cli:<user>``), as a call over the API would be.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from intygsgw import audit

ID_PATTERN = r"^[A-Za-z0-9._\-]{1,64}$"


class ProgressBar:
    """``[#####-----] 1234/5000 certificates, 812/s`` on standard error.

    Redrawn in place on a terminal; elsewhere (a log, CI) one line per tenth,
    so a long run still shows it is moving without flooding the file.
    """

    def __init__(self, total: int, what: str, stream=None, width: int = 30):
        self.total = max(total, 0)
        self.what = what
        self.stream = stream or sys.stderr
        self.width = width
        self.done = 0
        self.started = time.monotonic()
        self.tty = hasattr(self.stream, "isatty") and self.stream.isatty()
        self._last_tenth = -1

    def advance(self, n: int) -> None:
        self.done += n
        if self.tty:
            self.stream.write("\r" + self.line())
            self.stream.flush()
            return
        tenth = 10 * self.done // self.total if self.total else 10
        if tenth != self._last_tenth:
            self._last_tenth = tenth
            self.stream.write(self.line() + "\n")
            self.stream.flush()

    def line(self) -> str:
        filled = self.width if not self.total else min(self.width, self.width * self.done // self.total)
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        return f"[{'#' * filled}{'-' * (self.width - filled)}] {self.done}/{self.total} {self.what}, {rate:,.0f}/s"

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


@contextmanager
def _logged(contract: str):
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    token = audit.begin(audit.Access(f"cli:{user}"[:128], "", "", contract, ""))
    try:
        yield
    finally:
        audit.end(token)


def _services(args):
    from intygsgw.app import build_services
    from intygsgw.config.settings import load_settings

    settings = load_settings(args.config, {"db": args.db})
    return build_services(settings)


def _checked_id(value: str) -> str:
    import re

    if not re.fullmatch(ID_PATTERN, value or ""):
        raise argparse.ArgumentTypeError(f"not a care provider HSA id: {value!r}")
    return value


def export_command(args) -> int:
    from intygsgw.internalapi import export_format
    from intygsgw.service import care_provider

    svc = _services(args)
    out = Path(args.out)
    partial = out.with_name(out.name + ".partial")
    with _logged("cli:export"):
        counts = care_provider.export_counts(svc, args.care_provider)
        bar = ProgressBar(counts[0], "certificates exported")
        exports = care_provider.export_all(svc, args.care_provider)
        statuses = care_provider.export_rehab_statuses(svc, args.care_provider)
        # Written beside the target and renamed when whole: a run that stops leaves no file that looks complete.
        with open(partial, "wb") as f:
            lines = export_format.stream(args.care_provider, counts, svc.clock(), _counted(exports, bar), statuses)
            for chunk in lines:
                f.write(chunk)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, out)
        bar.finish()
    print(f"exported {bar.done} certificates of {args.care_provider} to {out}", file=sys.stderr)
    return 0


def _counted(exports, bar: ProgressBar):
    for export in exports:
        yield export
        bar.advance(1)


def erase_command(args) -> int:
    from intygsgw.service import care_provider

    svc = _services(args)
    total, _ = care_provider.export_counts(svc, args.care_provider)
    if total and not args.yes:
        if not sys.stdin.isatty():
            print("erase: give --yes to erase without being asked", file=sys.stderr)
            return 2
        answer = input(f"erase all {total} certificates of {args.care_provider}? type the id to confirm: ")
        if answer.strip() != args.care_provider:
            print("erase: not confirmed; nothing erased", file=sys.stderr)
            return 1
    bar = ProgressBar(total, "certificates erased")
    with _logged("cli:erase"):
        erased = care_provider.erase_care_provider(svc, args.care_provider, progress=bar.advance)
    bar.finish()
    print(f"erased {erased} certificates of {args.care_provider}", file=sys.stderr)
    return 0


def import_command(args) -> int:
    from intygsgw.internalapi import export_format
    from intygsgw.service import care_provider

    svc = _services(args)
    path = Path(args.input)
    total = _header_total(path)
    with open(path, "rb") as f:
        # Checked whole first (one line at a time): a cut or foreign file stores nothing.
        for _ in export_format.read(f):
            pass
    bar = ProgressBar(total, "certificates imported")
    with _logged("cli:import"), open(path, "rb") as f:
        report = care_provider.import_certificates(svc, export_format.read(f), progress=bar.advance)
    bar.finish()
    print(
        f"imported {report.restored} certificates, skipped {report.skipped} already stored; "
        f"{report.statuses} rehabilitation statuses",
        file=sys.stderr,
    )
    return 0


def _header_total(path: Path) -> int:
    import json

    with open(path, "rb") as f:
        first = f.readline()
    try:
        return int(json.loads(first).get("total", 0))
    except (ValueError, AttributeError):
        return 0


def add_commands(sub) -> None:
    p = sub.add_parser("export", help="write every certificate of a care provider to a file (JSON lines)")
    p.add_argument("--care-provider", required=True, type=_checked_id, help="the care provider's HSA id")
    p.add_argument("--out", required=True, help="the file to write (replaced only when the export is whole)")
    p.add_argument("--db")
    p.add_argument("--config")
    p.set_defaults(func=export_command)

    p = sub.add_parser("erase", help="erase every certificate of a care provider, in batches (run again to resume)")
    p.add_argument("--care-provider", required=True, type=_checked_id, help="the care provider's HSA id")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--db")
    p.add_argument("--config")
    p.set_defaults(func=erase_command)

    p = sub.add_parser("import", help="store the certificates of an export file back (ids already stored are skipped)")
    p.add_argument("--in", dest="input", required=True, help="a file written by export")
    p.add_argument("--db")
    p.add_argument("--config")
    p.set_defaults(func=import_command)

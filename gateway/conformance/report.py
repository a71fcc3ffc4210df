"""Conformance reports: a terminal line per case, JUnit XML for CI systems, one self-contained HTML page.

Person ids are redacted in everything written to a file or the terminal:
a report is passed around, and the test person may be a real one.
"""

from __future__ import annotations

import html
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from lxml import etree

from intygsgw.conformance.runner import Outcome

# yyyyMMddnnnn or yyyyMMdd-nnnn (with 19/20 first); ten digits with a dash or plus.
_PERSON_ID = re.compile(rb"(?<!\d)(?:(?:19|20)\d{6}[-+]?\d{4}|\d{6}[-+]\d{4})(?!\d)")


def redact(data: bytes) -> bytes:
    return _PERSON_ID.sub(b"[person-id]", data)


def redact_text(text: str) -> str:
    return redact(text.encode()).decode(errors="replace")


def progress_line(outcome: Outcome, index: int, total: int, out: TextIO = sys.stdout) -> None:
    mark = "SKIP" if outcome.skipped else "PASS" if outcome.passed else "FAIL"
    print(
        f"[{index:>3}/{total}] {mark} {outcome.case.file}: {outcome.case.name} ({outcome.seconds * 1000:.0f} ms)",
        file=out,
    )
    for reason in outcome.reasons:
        print(f"          - {redact_text(reason)}", file=out)


def summary(outcomes: list[Outcome], notes: Iterable[str] = (), out: TextIO = sys.stdout) -> None:
    failed = [o for o in outcomes if not o.passed]
    skipped = [o for o in outcomes if o.skipped]
    passed = len(outcomes) - len(failed) - len(skipped)
    for note in notes:
        print(f"note: {note}", file=out)
    slowest = max((e.seconds for o in outcomes for e in o.exchanges), default=0.0)
    print(
        f"\n{passed} passed, {len(failed)} failed, {len(skipped)} skipped; slowest answer {slowest * 1000:.0f} ms",
        file=out,
    )
    for o in failed:
        print(f"FAILED {o.case.file}: {o.case.name}: {redact_text('; '.join(o.reasons))}", file=out)


def write_junit(outcomes: list[Outcome], path: Path, suite_name: str) -> None:
    suites = etree.Element("testsuites")
    suite = etree.SubElement(
        suites,
        "testsuite",
        name=suite_name,
        tests=str(len(outcomes)),
        failures=str(sum(1 for o in outcomes if not o.passed)),
        errors="0",
        skipped=str(sum(1 for o in outcomes if o.skipped)),
        time=f"{sum(o.seconds for o in outcomes):.3f}",
    )
    for o in outcomes:
        case = etree.SubElement(
            suite, "testcase", classname=o.case.file.removesuffix(".toml"), name=o.case.name, time=f"{o.seconds:.3f}"
        )
        if o.skipped:
            etree.SubElement(case, "skipped", message=o.skipped)
        elif not o.passed:
            failure = etree.SubElement(case, "failure", message=redact_text(o.reasons[0] if o.reasons else "failed"))
            failure.text = redact_text("\n".join(o.reasons))
    path.write_bytes(etree.tostring(suites, xml_declaration=True, encoding="UTF-8", pretty_print=True))


def write_html(outcomes: list[Outcome], path: Path, title: str, notes: Iterable[str] = ()) -> None:
    failed = sum(1 for o in outcomes if not o.passed)
    rows = []
    for o in outcomes:
        state = "skip" if o.skipped else "pass" if o.passed else "fail"
        exchanges = "".join(
            f"<details><summary>{html.escape(e.contract)} → HTTP {e.status} in {e.seconds * 1000:.0f} ms "
            f"({html.escape(e.url)})</summary><h4>request</h4><pre>{_shown(e.request)}</pre>"
            f"<h4>answer</h4><pre>{_shown(e.answer)}</pre></details>"
            for e in o.exchanges
        )
        reasons = "".join(f"<li>{html.escape(redact_text(r))}</li>" for r in o.reasons) or (
            f"<li>{html.escape(o.skipped)}</li>" if o.skipped else ""
        )
        rows.append(
            f'<section class="{state}"><h3>{state.upper()} {html.escape(o.case.file)}: {html.escape(o.case.name)}</h3>'
            f"<p>{html.escape(o.case.description)}</p><ul>{reasons}</ul>{exchanges}</section>"
        )
    notes_html = "".join(f"<li>{html.escape(n)}</li>" for n in notes)
    page = f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em}} section{{border-left:6px solid #999;padding:0 1em;margin:1em 0}}
.pass{{border-color:#2a2}} .fail{{border-color:#c22}} .skip{{border-color:#aa2}}
pre{{white-space:pre-wrap;word-break:break-all;background:#f4f4f4;padding:.5em;max-height:30em;overflow:auto}}</style>
</head><body><h1>{html.escape(title)}</h1>
<p>{len(outcomes) - failed} of {len(outcomes)} cases passed. Person ids are shown as [person-id].</p>
<ul>{notes_html}</ul>{"".join(rows)}</body></html>"""
    path.write_text(page, encoding="utf-8")


def _shown(data: bytes, limit: int = 200_000) -> str:
    text = redact(data[:limit]).decode("utf-8", errors="replace")
    more = f"\n… ({len(data) - limit:,} more bytes)" if len(data) > limit else ""
    return html.escape(text + more)

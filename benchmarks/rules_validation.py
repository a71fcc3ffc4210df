"""Per-message validation time per certificate type: data-driven rules vs Schematron mode.

Both modes run in one process on the same seeded corpus (intygsgw.devtools.rules_corpus),
each message timed as the best of three runs (the modes in turn, message by message),
on already parsed documents, as RegisterCertificate does. Schematron mode is the
published .sch of the same type and major, translated and compiled once
(saxonche); its time includes handing the tree to Saxon, which is what the
mode costs per request. Prints p50/p90 per type and the ratio of the p50s.

The ``read`` column is what any validator working on the lxml tree must spend
at least: reading the ids of the answers and the values they hold, with no
rule evaluated. ``ceiling`` is Schematron p50 / read p50, the
ratio such a do-nothing validator would reach in this run; the data mode's
ratio cannot exceed it.

``--plain`` also times the same rules translated without candidate
selection (every pattern walks the whole tree, as a plain ISO Schematron
implementation does) and prints its p50 and the data mode's ratio to it. Schematron mode as served is
the faster translation, and the ``ratio`` column is against that.

``--check`` also runs the equivalence check on the whole corpus (default 500
messages per type) and prints the agreement counts per type.

    PYTHONPATH=$PWD python benchmarks/rules_validation.py [--count 500] [--check]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lxml import etree

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from intygsgw.devtools.rules_corpus import generate  # noqa: E402
from intygsgw.rules.catalog import DEFAULT_DIR, load_catalog  # noqa: E402
from intygsgw.rules.definitions import load_definition  # noqa: E402
from intygsgw.rules.schematron import SchematronValidator, translate  # noqa: E402
from tests.support.paths import SCHEMATRON_DIR  # noqa: E402

RG_INTYG = "{urn:riv:clinicalprocess:healthcond:certificate:RegisterCertificateResponder:3}intyg"
_GN = "{urn:riv:clinicalprocess:healthcond:certificate:3}"
_TP = "{urn:riv:clinicalprocess:healthcond:certificate:types:3}"
KEYED = (_GN + "svar", _GN + "delsvar")
VALUES = (_GN + "instans", *(_TP + n for n in ("code", "codeSystem", "displayName", "start", "end", "value", "unit")))


def read_answers(intyg) -> None:
    """The least a validator on the lxml tree does: the id and text of every svar and
    delsvar and the text of every element below them that holds a value, found by two
    tag-filtered walks in C. No rule is evaluated and nothing is kept."""
    for el in intyg.iter(KEYED):
        _ = el.get("id"), el.text
    for el in intyg.iter(VALUES):
        _ = el.text


@contextlib.contextmanager
def saxon_warnings_set_aside():
    """Saxon writes a warning to the process's stderr for every XPath error in a
    match pattern, which mutated messages cause by design; they would bury the
    figures. They go to a temporary file, and only their count is printed."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        counts = {"warnings": 0}
        try:
            yield counts
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            sink.seek(0)
            counts["warnings"] = sum(line.startswith(b"Warning") for line in sink)


def timed(runs, repeat: int = 3) -> list[list[float]]:
    """µs per message for each (function, messages) pair, best of ``repeat`` runs.

    The pairs are timed message by message in turn, not one after the other, so
    that the machine's speed drifting over seconds moves all of them alike and
    leaves their ratios alone."""
    out: list[list[float]] = [[] for _ in runs]
    for i in range(len(runs[0][1])):
        for (fn, items), times in zip(runs, out, strict=True):
            item = items[i]
            best = None
            for _ in range(repeat):
                t0 = time.perf_counter_ns()
                fn(item)
                elapsed = time.perf_counter_ns() - t0
                best = elapsed if best is None else min(best, elapsed)
            times.append(best / 1000)
    return out


def pct(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else values[0]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=500, help="corpus messages per type")
    parser.add_argument("--timed", type=int, default=200, help="messages per type that are timed")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--check", action="store_true", help="also compare verdicts on the whole corpus")
    parser.add_argument("--plain", action="store_true", help="also time the plain (whole-tree) Schematron translation")
    parser.add_argument("types", nargs="*")
    args = parser.parse_args(argv)
    catalog = load_catalog(DEFAULT_DIR)
    print(
        f"{'type':<16}{'msgs':>6}{'data p50 µs':>13}{'data p90':>10}{'sch p50 µs':>12}{'sch p90':>10}"
        f"{'ratio':>8}{'read µs':>9}{'ceiling':>9}"
        + (f"{'plain p50':>11}{'x plain':>9}" if args.plain else "")
        + ("   agree/total (valid)" if args.check else "")
    )
    failed = False
    with saxon_warnings_set_aside() as saxon:
        failed = run_types(args, catalog)
    if saxon["warnings"]:
        print(
            f"(Saxon printed {saxon['warnings']} warnings about XPath errors in match patterns on mutated "
            "messages; set aside)"
        )
    return 1 if failed else 0


def run_types(args, catalog) -> bool:
    failed = False
    for path in sorted(DEFAULT_DIR.glob("*/v*.toml")):
        definition = load_definition(path)
        if args.types and definition.type_id not in args.types:
            continue
        code = catalog.by_id(definition.type_id).code.lower().replace("-", "")
        oracle = SchematronValidator.from_file(SCHEMATRON_DIR / f"{code}.v{definition.major}.sch")
        samples = generate(definition, max(args.count, args.timed), seed=args.seed)
        roots = [etree.fromstring(s.xml) for s in samples]
        intygs = [r.find(RG_INTYG) for r in roots]
        oracle.validate(roots[0])  # warm up the per-thread Saxon executable
        # Same treatment for every mode: best of three runs per message, the modes in turn.
        n = args.timed
        modes = [(definition.validate, intygs[:n]), (oracle.validate, roots[:n]), (read_answers, intygs[:n])]
        if args.plain:
            modes.append(
                (plain_validator(SCHEMATRON_DIR / f"{code}.v{definition.major}.sch", roots[0]).validate, roots[:n])
            )
        data, sch, read, *plain = timed(modes)
        line = (
            f"{definition.type_id + ' v' + definition.major:<16}{args.timed:>6}{pct(data, 50):>13.1f}"
            f"{pct(data, 90):>10.1f}{pct(sch, 50):>12.1f}{pct(sch, 90):>10.1f}"
            f"{pct(sch, 50) / pct(data, 50):>7.0f}x{pct(read, 50):>9.1f}{pct(sch, 50) / pct(read, 50):>8.0f}x"
            + plain_columns(plain, data)
        )
        if args.check:
            agree = valid = 0
            for root, intyg in zip(roots, intygs, strict=True):
                theirs = oracle.validate(root)
                valid += not theirs
                agree += bool(definition.validate(intyg)) == bool(theirs)
            failed |= agree != len(roots)
            line += f"   {agree}/{len(roots)} ({valid})"
        print(line, flush=True)
    if not args.types or "lisjp" in args.types:
        sample_row(args.plain)
    return failed


def plain_validator(path: Path, warm_up_on) -> SchematronValidator:
    validator = SchematronValidator(translate(path, full_walk=True))
    validator.validate(warm_up_on)
    return validator


def plain_columns(plain: list[list[float]], data: list[float]) -> str:
    if not plain:
        return ""
    return f"{pct(plain[0], 50):>11.1f}{pct(plain[0], 50) / pct(data, 50):>8.0f}x"


def sample_row(with_plain: bool) -> None:
    """The realistic ~10 KB LISJP of intygsgw.devtools.samples, the size the tooling notes measured."""
    from intygsgw.devtools import samples

    envelope = etree.fromstring(samples.register_certificate(samples.CertificateSpec(certificate_id="bench")))
    register = next(envelope.iter("{*}RegisterCertificate"))
    intyg = register.find(RG_INTYG)
    definition = load_definition(DEFAULT_DIR / "lisjp" / "v1.toml")
    oracle = SchematronValidator.from_file(SCHEMATRON_DIR / "lisjp.v1.sch")
    assert not definition.validate(intyg) and not oracle.validate(register)
    modes = [(definition.validate, [intyg] * 200), (oracle.validate, [register] * 200), (read_answers, [intyg] * 200)]
    if with_plain:
        modes.append((plain_validator(SCHEMATRON_DIR / "lisjp.v1.sch", register).validate, [register] * 200))
    data, sch, read, *plain = timed(modes)
    size = len(etree.tostring(register))
    print(
        f"{'lisjp sample':<16}{1:>6}{pct(data, 50):>13.1f}{pct(data, 90):>10.1f}{pct(sch, 50):>12.1f}"
        f"{pct(sch, 90):>10.1f}{pct(sch, 50) / pct(data, 50):>7.0f}x{pct(read, 50):>9.1f}"
        f"{pct(sch, 50) / pct(read, 50):>8.0f}x"
        + plain_columns(plain, data)
        + f"   ({size} bytes, intygsgw.devtools.samples)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
